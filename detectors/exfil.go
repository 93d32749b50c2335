package detectors

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/netscope"
	"github.com/agents-of-shield/reconpcap/report"
)

// Data exfiltration.
//
// An upload is the TCP payload the side that opened a connection sent (the
// engine counts it from the IP lengths, so a snap length does not hide it);
// what the responder sends is a download and never exfiltration. Uploads
// are summed per (source, destination) over all their connections, from
// the flows the engine keeps: nothing is done per packet.
//
// Active-mode FTP reverses the roles: the server opens the data connection
// from port 20 to the client, so on a connection between port 20 and an
// unprivileged port the side away from port 20 is taken as the client.
//
// A pair is reported when its uploads reach Exfil.ThresholdBytes (medium),
// or Exfil.HighBytes (high). The technique and confidence follow where the
// data went (internal: see IsInternal):
//
//   - internal to external: "outbound_upload", confidence high.
//   - internal to internal: "internal_staging" (data gathered on one host
//     before it leaves, or lateral copying), confidence low, medium from
//     HighBytes.
//   - external to external: "upload", confidence medium: the capture does
//     not say which side is ours.
//   - external to internal: not reported. That is data coming in (a
//     customer uploading to one of our servers), the opposite of
//     exfiltration; Transfers still lists it.
//   - a host to itself (loopback, one address): not reported, nothing left
//     the host.
//
// Only TCP is counted, as the issue asks: UDP carries little bulk data
// except QUIC, whose uploads this detector does not see.

const (
	// exfilSampleMax bounds the sample lists of a finding and the ports a
	// Transfer lists.
	exfilSampleMax = 20
	// exfilConnSamples is how many connections a finding describes.
	exfilConnSamples = 10
)

// IsInternal reports whether addr is in a private network (RFC 1918,
// 100.64.0.0/10, loopback, link-local, IPv6 ULA) or in one of extra.
// IPv4-mapped IPv6 addresses are judged as IPv4.
func IsInternal(addr netip.Addr, extra []netip.Prefix) bool {
	return netscope.Internal(addr, extra)
}

func scope(addr netip.Addr, extra []netip.Prefix) string {
	if IsInternal(addr, extra) {
		return "internal"
	}
	return "external"
}

// exfilDetector does nothing per packet: it reads the flows after the pass.
type exfilDetector struct {
	once   sync.Once
	aggFor *capture.Capture
	agg    []*exfilPair
}

func newExfilDetector() *exfilDetector { return &exfilDetector{} }

// Packet is a no-op: the engine's flows already count payload bytes.
func (d *exfilDetector) Packet(*capture.Packet) {}

// exfilPair is every TCP connection from one client to one server.
type exfilPair struct {
	src, dst         netip.Addr
	upload, download uint64
	conns            int64
	packets          uint64
	ports            []uint16 // server ports, at most exfilSampleMax
	ftpActive        bool     // some connection was active-mode FTP data
	first, last      time.Time
}

type exfilConn struct {
	client, server netip.AddrPort
	upload         uint64
}

// orient returns the logical client and server of a TCP flow and the
// payload each sent.
func orient(f *capture.Flow) (client, server netip.AddrPort, up, down uint64, ftp bool) {
	client, server, up, down = f.Client, f.Server, f.Payload[0], f.Payload[1]
	if client.Port() == 20 && server.Port() >= 1024 {
		// Active FTP data: the FTP server connected from port 20.
		return server, client, down, up, true
	}
	return client, server, up, down, false
}

func (d *exfilDetector) pairs(c *capture.Capture) []*exfilPair {
	d.once.Do(func() {
		d.aggFor = c
		d.agg = buildExfil(c)
	})
	if d.aggFor == c {
		return d.agg
	}
	return buildExfil(c)
}

func buildExfil(c *capture.Capture) []*exfilPair {
	if c == nil {
		return nil
	}
	m := map[addrPair]*exfilPair{}
	var out []*exfilPair
	for _, f := range c.Flows() {
		if f.Proto != 6 {
			continue
		}
		client, server, up, down, ftp := orient(f)
		k := addrPair{client.Addr(), server.Addr()}
		p := m[k]
		if p == nil {
			p = &exfilPair{src: k.src, dst: k.dst, first: f.First, last: f.Last}
			m[k] = p
			out = append(out, p)
		}
		p.upload += up
		p.ftpActive = p.ftpActive || ftp
		p.download += down
		p.conns++
		p.packets += f.Packets[0] + f.Packets[1]
		if len(p.ports) < exfilSampleMax && !slices.Contains(p.ports, server.Port()) {
			p.ports = append(p.ports, server.Port())
		}
		p.first, p.last = minTime(p.first, f.First), maxTime(p.last, f.Last)
	}
	slices.SortFunc(out, func(a, b *exfilPair) int {
		return cmp.Or(a.src.Compare(b.src), a.dst.Compare(b.dst))
	})
	return out
}

// topConns returns, for each pair in want, its largest uploads (at most
// exfilConnSamples). It reads the flows again, only for the few pairs
// reported, rather than keeping a list for every pair of the capture.
func topConns(c *capture.Capture, want map[addrPair]bool) map[addrPair][]exfilConn {
	out := map[addrPair][]exfilConn{}
	if c == nil || len(want) == 0 {
		return out
	}
	for _, f := range c.Flows() {
		if f.Proto != 6 {
			continue
		}
		client, server, up, _, _ := orient(f)
		k := addrPair{client.Addr(), server.Addr()}
		if up == 0 || !want[k] {
			continue
		}
		out[k] = append(out[k], exfilConn{client, server, up})
	}
	for k, cs := range out {
		slices.SortStableFunc(cs, func(x, y exfilConn) int { return cmp.Compare(y.upload, x.upload) })
		out[k] = head(cs, exfilConnSamples)
	}
	return out
}

// Findings reports every pair whose uploads reach the threshold.
func (d *exfilDetector) Findings(cfg Config, c *capture.Capture) []report.Finding {
	ec := cfg.Exfil
	type judged struct {
		p        *exfilPair
		tech, at string
		sev      report.Severity
		conf     report.Confidence
	}
	var js []judged
	for _, p := range d.pairs(c) {
		if p.upload < uint64(ec.ThresholdBytes) || p.src == p.dst || (p.src.IsLoopback() && p.dst.IsLoopback()) {
			continue
		}
		srcIn, dstIn := IsInternal(p.src, ec.InternalNetworks), IsInternal(p.dst, ec.InternalNetworks)
		high := p.upload >= uint64(ec.HighBytes)
		sev := report.SeverityMedium
		if high {
			sev = report.SeverityHigh
		}
		var tech, where string
		var conf report.Confidence
		switch {
		case srcIn && !dstIn:
			tech, where, conf = "outbound_upload", "external", report.ConfidenceHigh
		case srcIn && dstIn:
			tech, where, conf = "internal_staging", "internal", report.ConfidenceLow
			if high {
				conf = report.ConfidenceMedium
			}
		case !srcIn && !dstIn:
			tech, where, conf = "upload", "", report.ConfidenceMedium
		default:
			continue // inbound: data coming in is not exfiltration
		}
		js = append(js, judged{p, tech, where, sev, conf})
	}
	want := map[addrPair]bool{}
	for _, j := range js {
		want[addrPair{j.p.src, j.p.dst}] = true
	}
	top := topConns(c, want)
	out := make([]report.Finding, 0, len(js))
	for _, j := range js {
		out = append(out, j.p.finding(j.tech, j.at, j.sev, j.conf, top[addrPair{j.p.src, j.p.dst}]))
	}
	SortFindings(out)
	return out
}

func (p *exfilPair) finding(tech, where string, sev report.Severity, conf report.Confidence, top []exfilConn) report.Finding {
	ports := slices.Sorted(slices.Values(p.ports))
	dst := p.dst.String()
	if where != "" {
		dst = where + " " + dst
	}
	summary := fmt.Sprintf("%s uploaded %s to %s over %s (port %s)", p.src, humanBytes(p.upload), dst, plural(int(p.conns), "connection"), joinPorts(ports, 5))
	if len(ports) > 1 {
		summary = fmt.Sprintf("%s uploaded %s to %s over %s (ports %s)", p.src, humanBytes(p.upload), dst, plural(int(p.conns), "connection"), joinPorts(ports, 5))
	}
	summary += fmt.Sprintf(", %s back", humanBytes(p.download))
	if p.ftpActive {
		summary += "; active-mode FTP data (the FTP server opened the connection from port 20)"
	}
	if tech == "internal_staging" {
		summary += "; both hosts are internal: staging or lateral copying"
	}
	conns := make([]string, len(top))
	for i, c := range top {
		conns[i] = fmt.Sprintf("%s -> %s %d bytes", c.client, c.server, c.upload)
	}
	return report.Finding{
		Type:       report.AttackDataExfiltration,
		Technique:  tech,
		Source:     p.src.String(),
		Target:     p.dst.String(),
		Severity:   sev,
		Confidence: conf,
		Summary:    summary,
		FirstSeen:  p.first.UTC(),
		LastSeen:   p.last.UTC(),
		Counts: map[string]int64{
			"upload_bytes":   int64(p.upload),
			"download_bytes": int64(p.download),
			"connections":    p.conns,
			"packets":        int64(p.packets),
		},
		Samples: map[string][]string{
			"ports":       portStrings(ports, exfilSampleMax),
			"connections": conns,
		},
	}
}

// humanBytes writes n in decimal units (1 MB = 10^6 bytes), as the
// thresholds are.
func humanBytes(n uint64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(float64(n)/1e9, 'f', 2, 64) + " GB"
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + " MB"
	case n >= 1e3:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 2, 64) + " kB"
	}
	return strconv.FormatUint(n, 10) + " bytes"
}

// Transfer is the TCP payload between one client and one server over all
// their connections.
type Transfer struct {
	// Source opened the connections (for active FTP data, the FTP client);
	// Destination answered them.
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// UploadBytes is what Source sent, DownloadBytes what it received.
	UploadBytes   int64 `json:"upload_bytes"`
	DownloadBytes int64 `json:"download_bytes"`
	Connections   int64 `json:"connections"`
	Packets       int64 `json:"packets"`
	// Ports are Destination's ports (at most 20).
	Ports []uint16  `json:"ports"`
	First time.Time `json:"first_seen"`
	Last  time.Time `json:"last_seen"`
	// SourceScope and DestinationScope are "internal" or "external"
	// (IsInternal with the analysis's Exfil.InternalNetworks); Direction
	// is "outbound", "inbound", "internal" or "external" accordingly.
	SourceScope      string `json:"source_scope"`
	DestinationScope string `json:"destination_scope"`
	Direction        string `json:"direction"`
}

// Transfers lists every (client, server) pair whose uploads and downloads
// together reach minBytes, the largest first. The exfiltration findings are
// the uploads among them that cross the thresholds.
func (a *Analysis) Transfers(minBytes int64) []Transfer {
	var d *exfilDetector
	for _, det := range a.detectors {
		if e, ok := det.(*exfilDetector); ok {
			d = e
		}
	}
	if d == nil {
		return nil
	}
	extra := a.Config.Exfil.InternalNetworks
	var out []Transfer
	for _, p := range d.pairs(a.capture) {
		if int64(p.upload+p.download) < minBytes {
			continue
		}
		ss, ds := scope(p.src, extra), scope(p.dst, extra)
		dir := "external"
		switch {
		case ss == "internal" && ds == "external":
			dir = "outbound"
		case ss == "external" && ds == "internal":
			dir = "inbound"
		case ss == "internal":
			dir = "internal"
		}
		out = append(out, Transfer{
			Source: p.src.String(), Destination: p.dst.String(),
			UploadBytes: int64(p.upload), DownloadBytes: int64(p.download),
			Connections: p.conns, Packets: int64(p.packets),
			Ports: slices.Sorted(slices.Values(p.ports)), First: p.first.UTC(), Last: p.last.UTC(),
			SourceScope: ss, DestinationScope: ds, Direction: dir,
		})
	}
	slices.SortStableFunc(out, func(x, y Transfer) int {
		return cmp.Or(cmp.Compare(y.UploadBytes+y.DownloadBytes, x.UploadBytes+x.DownloadBytes),
			cmp.Compare(y.UploadBytes, x.UploadBytes), cmp.Compare(x.Source, y.Source), cmp.Compare(x.Destination, y.Destination))
	})
	return out
}
