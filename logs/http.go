package logs

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
)

// HTTPSchema is http.log: one record per HTTP request, as the HTTP
// detector read it, in capture order. trans_depth numbers the requests of
// one connection from 1; status_code is unset when no response was seen.
// uri is cut at 2 KiB and user_agent at 512 bytes, as the detector keeps
// them.
var HTTPSchema = Schema{Path: "http", Fields: withID(
	Field{"trans_depth", "count"}, Field{"method", "string"}, Field{"host", "string"},
	Field{"uri", "string"}, Field{"user_agent", "string"}, Field{"status_code", "count"},
)}

// logMaxRecords is how many HTTP requests and TLS handshakes one pass
// keeps for the logs (the detectors' listings keep fewer); beyond it the
// rest are counted in a warning. The records are kept until the pass
// ends: at most 100,000 of them (a request keeps up to 2.5 KiB of text)
// holds memory near 256 MiB whatever the capture sends.
const logMaxRecords = 100_000

// analyze runs every detector over the capture, keeping up to
// logMaxRecords requests and handshakes. The logs hold no findings, so
// the pass that locates their evidence frames is left out: one read.
func analyze(ctx context.Context, path string) (*detectors.Analysis, flowIndex, error) {
	cfg := detectors.Config{NoFrames: true}
	cfg.HTTP.MaxRequests = logMaxRecords
	cfg.TLS.MaxHandshakes = logMaxRecords
	a, err := detectors.Analyze(ctx, path, cfg)
	if a == nil {
		return nil, nil, err
	}
	return a, newFlowIndex(a.Capture()), err
}

func writeHTTP(ctx context.Context, path string, w *Writer) ([]string, error) {
	a, idx, err := analyze(ctx, path)
	if a == nil {
		return nil, err
	}
	warnings := append([]string{}, a.Warnings...)
	if cut, dropped := a.HTTPRequestsTruncated(); cut {
		warnings = append(warnings, fmt.Sprintf("%d HTTP requests beyond the first %d are not in the log", dropped, logMaxRecords))
	}
	depth := map[flowEnds]uint64{}
	for _, r := range a.HTTPRequests() {
		client, server := netip.AddrPortFrom(r.Source, r.SourcePort), netip.AddrPortFrom(r.Destination, r.Port)
		f := idx.lookup(6, client, server)
		k := ends(6, client, server)
		depth[k]++
		v := append(connID(f, r.Time, client, server), depth[k], r.Method, r.Host, r.URI, r.UserAgent, nil)
		if r.Status != 0 {
			v[len(v)-1] = uint64(r.Status)
		}
		if werr := w.Write(v); werr != nil {
			return warnings, werr
		}
	}
	return warnings, err
}

// connID is a record's ts, uid and id fields: the connection's
// endpoints, originator first, when the capture has it; else the
// record's own.
func connID(f *capture.Flow, ts time.Time, client, server netip.AddrPort) Values {
	uid := any(nil)
	if f != nil {
		uid = UID(f)
		client, server = f.Client, f.Server
	}
	return Values{ts, uid, client.Addr(), client.Port(), server.Addr(), server.Port()}
}
