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
//
// A part of a capture (one file of a rotated capture) may see a
// connection from its middle: its flow then begins where the part does,
// and the seconds past the part's warm-up are not all the seconds past the
// connection's. So for a connection whose client sent no SYN in the part,
// the seconds of its first dripWarmup in the part are kept too (dripHead),
// and judged once the parts are merged and the connection's first packet
// is known.

const (
	dripWarmup      = 30 * time.Second
	dripMinDuration = 2 * time.Minute
	dripMinActive   = 20
	dripMinBytes    = 16_000
	dripMaxRate     = 16_000 // bytes per second over the connection's life
	// dripMaxFlows bounds the long connections followed; it also bounds
	// the flows the tracker keeps alive after the flow table evicted them.
	dripMaxFlows = 1 << 16
	// dripMaxHeads bounds the connections seen from their middle whose
	// first seconds are kept (at most dripWarmup+1 seconds each).
	dripMaxHeads = 1 << 14
)

// dripSpan counts the seconds in which a client sent payload, past the
// warm-up, in one part of a capture: from first to last, n of them.
type dripSpan struct {
	first, last int64 // Unix seconds
	n           int64
}

// dripState is what the per-packet pass keeps for one long connection.
type dripState struct {
	// entry is the time of the packet that began following the
	// connection: past the bound, the earliest are kept.
	entry time.Time
	// spans holds one span per part that followed the connection (one
	// in a pass), in order of time.
	spans []dripSpan
}

// dripTick is the latest packet of one second in which a client sent
// payload.
type dripTick struct {
	sec  int64 // Unix seconds
	nsec int32
}

func (k dripTick) time() time.Time { return time.Unix(k.sec, int64(k.nsec)) }

// dripHead is what a part keeps of the first dripWarmup of a connection
// it saw from the middle: the seconds in which the client sent payload,
// in order.
type dripHead struct {
	ticks []dripTick
}

// dripTracker counts, per long TCP connection, the seconds in which its
// client sent data.
type dripTracker struct {
	flows map[*capture.Flow]*dripState
	heads map[*capture.Flow]*dripHead
}

// packet is called for TCP packets with payload from the client.
func (t *dripTracker) packet(p *capture.Packet) {
	if p.Time.Sub(p.Flow.First) < dripWarmup {
		if p.Flow.Flags[0]&capture.FlagSYN == 0 {
			t.head(p)
		}
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
		st = &dripState{entry: p.Time, spans: []dripSpan{{}}}
		t.flows[p.Flow] = st
	}
	sp := &st.spans[len(st.spans)-1]
	if s := p.Time.Unix(); sp.n == 0 || s != sp.last {
		if sp.n == 0 {
			sp.first = s
		}
		sp.last = s
		sp.n++
	}
}

// head notes a second of a connection's first dripWarmup in the part, for
// a connection whose opening the part did not see.
func (t *dripTracker) head(p *capture.Packet) {
	h := t.heads[p.Flow]
	if h == nil {
		if len(t.heads) >= dripMaxHeads {
			return
		}
		if t.heads == nil {
			t.heads = map[*capture.Flow]*dripHead{}
		}
		h = &dripHead{}
		t.heads[p.Flow] = h
	}
	h.add(dripTick{p.Time.Unix(), int32(p.Time.Nanosecond())})
}

// add notes tick k, keeping the latest tick of each second, in order.
func (h *dripHead) add(k dripTick) {
	i, found := slices.BinarySearchFunc(h.ticks, k.sec, func(e dripTick, s int64) int { return cmp.Compare(e.sec, s) })
	if found {
		h.ticks[i].nsec = max(h.ticks[i].nsec, k.nsec)
		return
	}
	h.ticks = slices.Insert(h.ticks, i, k)
}

// active counts the seconds past dripWarmup from f's first packet in
// which the client sent payload: those its parts counted past their own
// warm-up (a part's span begins dripWarmup after its first packet of the
// connection, so no two spans share a second), and the seconds of the
// parts' heads that lie past it and in no span (the second a file
// boundary cuts in two).
func (t *dripTracker) active(f *capture.Flow) int64 {
	var n int64
	var spans []dripSpan
	if st := t.flows[f]; st != nil {
		spans = st.spans
		for _, sp := range spans {
			n += sp.n
		}
	}
	if h := t.heads[f]; h != nil {
		from := f.First.Add(dripWarmup)
		for _, k := range h.ticks {
			if k.time().Before(from) || slices.ContainsFunc(spans, func(sp dripSpan) bool { return sp.n > 0 && k.sec >= sp.first && k.sec <= sp.last }) {
				continue
			}
			n++
		}
	}
	return n
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
	seen := map[*capture.Flow]bool{}
	for f := range t.flows {
		seen[f] = true
	}
	for f := range t.heads {
		seen[f] = true
	}
	for f := range seen {
		active := t.active(f)
		client, server, up, down, _ := orient(f)
		dur := f.Last.Sub(f.First)
		k := addrPair{client.Addr(), server.Addr()}
		if active < dripMinActive || dur < dripMinDuration || up < dripMinBytes || 4*down > up ||
			float64(up)/dur.Seconds() > dripMaxRate || reported[k] ||
			IsInternal(server.Addr(), ec.InternalNetworks) || !IsInternal(client.Addr(), ec.InternalNetworks) {
			continue
		}
		byPair[k] = append(byPair[k], drip{f, client, server, up, down, active})
	}
	out := make([]report.Finding, 0, len(byPair))
	for k, ds := range byPair {
		slices.SortFunc(ds, func(a, b drip) int {
			return cmp.Or(cmp.Compare(b.up, a.up), a.f.First.Compare(b.f.First), a.client.Compare(b.client), a.server.Compare(b.server))
		})
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
