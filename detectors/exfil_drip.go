package detectors

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// Slow drips: data sent out a little at a time over one long connection,
// to stay under volume thresholds.
//
// Volume says nothing here, so the shape does: one TCP connection to an
// external address, open for dripMinDuration or more, over which the
// client sent data in at least dripMinActive separate seconds, slowly
// (at most dripMaxRate on average), at least dripMinBytes in all, and
// received far less (a quarter at most). Interactive sessions receive more
// than they send; a bulk upload is fast and judged by the upload rules.
// The finding is low: telemetry and log shipping look the same on the wire.
//
// The engine's flows give bytes and times; the seconds in which the client
// sent data are counted here, per packet, only for connections already
// open dripWarmup: short connections, nearly all of them, cost one
// comparison.

const (
	dripWarmup      = 30 * time.Second
	dripMinDuration = 2 * time.Minute
	dripMinActive   = 20
	dripMinBytes    = 16_000
	dripMaxRate     = 16_000 // bytes per second over the connection's life
	// dripMaxFlows bounds the long connections followed; it also bounds
	// the flows the tracker keeps alive after the flow table evicted them.
	dripMaxFlows = 1 << 16
)

// dripState is what the per-packet pass keeps for one long connection.
type dripState struct {
	lastSec int64
	active  int64 // seconds past dripWarmup in which the client sent payload
}

// dripTracker counts, per long TCP connection, the seconds in which its
// client sent data.
type dripTracker struct {
	flows map[*capture.Flow]*dripState
}

// packet is called for TCP packets with payload from the client.
func (t *dripTracker) packet(p *capture.Packet) {
	if p.Time.Sub(p.Flow.First) < dripWarmup {
		return
	}
	st := t.flows[p.Flow]
	if st == nil {
		if len(t.flows) >= dripMaxFlows {
			return
		}
		if t.flows == nil {
			t.flows = map[*capture.Flow]*dripState{}
		}
		st = &dripState{lastSec: -1}
		t.flows[p.Flow] = st
	}
	if s := p.Time.Unix(); s != st.lastSec {
		st.lastSec = s
		st.active++
	}
}

// findings reports the drips to external addresses, one finding per
// (client, server) pair, leaving out the pairs the upload rules already
// report (reported).
func (t *dripTracker) findings(ec ExfilConfig, reported map[addrPair]bool) []report.Finding {
	type drip struct {
		f      *capture.Flow
		client netip.AddrPort
		server netip.AddrPort
		up     uint64
		down   uint64
		active int64
	}
	byPair := map[addrPair][]drip{}
	for f, st := range t.flows {
		client, server, up, down, _ := orient(f)
		dur := f.Last.Sub(f.First)
		k := addrPair{client.Addr(), server.Addr()}
		if st.active < dripMinActive || dur < dripMinDuration || up < dripMinBytes || 4*down > up ||
			float64(up)/dur.Seconds() > dripMaxRate || reported[k] ||
			IsInternal(server.Addr(), ec.InternalNetworks) || !IsInternal(client.Addr(), ec.InternalNetworks) {
			continue
		}
		byPair[k] = append(byPair[k], drip{f, client, server, up, down, st.active})
	}
	out := make([]report.Finding, 0, len(byPair))
	for k, ds := range byPair {
		slices.SortFunc(ds, func(a, b drip) int { return cmp.Compare(b.up, a.up) })
		var up, down, packets uint64
		var active int64
		first, last := ds[0].f.First, ds[0].f.Last
		ports := []uint16{}
		conns := []string{}
		for _, d := range ds {
			up, down, active = up+d.up, down+d.down, active+d.active
			packets += d.f.Packets[0] + d.f.Packets[1]
			first, last = minTime(first, d.f.First), maxTime(last, d.f.Last)
			if !slices.Contains(ports, d.server.Port()) && len(ports) < exfilSampleMax {
				ports = append(ports, d.server.Port())
			}
			if len(conns) < exfilConnSamples {
				conns = append(conns, fmt.Sprintf("%s -> %s %d bytes over %s", d.client, d.server, d.up, d.f.Last.Sub(d.f.First).Round(time.Second)))
			}
		}
		slices.Sort(ports)
		dur := ds[0].f.Last.Sub(ds[0].f.First)
		what := "one connection"
		if len(ds) > 1 {
			what = fmt.Sprintf("%d long connections (the longest-lived carrying %s over %s)", len(ds), humanize.Bytes(ds[0].up), dur.Round(time.Second))
		} else {
			what += " open " + dur.Round(time.Second).String()
		}
		summary := fmt.Sprintf("%s sent %s to external %s (port %s) over %s, in %d separate seconds at %.0f bytes/s on average, %s back: a slow drip",
			k.src, humanize.Bytes(up), k.dst, joinPorts(ports, 5), what, active, float64(ds[0].up)/dur.Seconds(), humanize.Bytes(down))
		out = append(out, report.Finding{
			Type:       report.AttackDataExfiltration,
			Technique:  "slow_drip",
			Source:     k.src.String(),
			Target:     k.dst.String(),
			Severity:   report.SeverityLow,
			Confidence: report.ConfidenceMedium,
			Summary:    summary,
			FirstSeen:  first.UTC(),
			LastSeen:   last.UTC(),
			Counts: map[string]int64{
				report.CountUploadBytes:     int64(up),
				report.CountDownloadBytes:   int64(down),
				report.CountConnections:     int64(len(ds)),
				report.CountPackets:         int64(packets),
				report.CountActiveSeconds:   active,
				report.CountDurationSeconds: int64(last.Sub(first) / time.Second),
			},
			Samples: map[string][]string{
				report.SamplePorts:       portStrings(ports, exfilSampleMax),
				report.SampleConnections: conns,
			},
		})
	}
	slices.SortFunc(out, func(a, b report.Finding) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Target, b.Target))
	})
	return out
}
