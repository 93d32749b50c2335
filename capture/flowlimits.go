package capture

import "fmt"

// DefaultMaxFlows is the flow table's bound when Config.MaxFlows is zero.
// A flow costs the table about 300 bytes and the detectors' judging after
// the pass about as much again, so the default keeps a capture of any
// number of connections well under 1 GiB.
const DefaultMaxFlows = 1 << 18

// Config bounds what one pass keeps. The zero value is ready to use.
type Config struct {
	// MaxFlows bounds the TCP and UDP flows the table holds at once. When
	// a new flow would pass it, the table evicts an eighth of its flows:
	// those one side never answered first (a SYN flood's half-open
	// connections, probes), then closed ones (FIN both ways, or a reset),
	// then the least recently active; analyzers that implement
	// FlowEvictor see each evicted flow with its final counters first.
	// The capture's packet, byte and protocol counts never depend on it.
	// Zero means DefaultMaxFlows; a negative value is treated as zero.
	MaxFlows int
	// Filter, when not nil, decides which packets the analyzers see: a
	// packet it refuses is read and numbered (frame numbers stay those of
	// the file) but neither counted in Packets, nor put in a flow, nor
	// handed to any analyzer. Capture.Read counts every packet read.
	Filter Filter
	// Progress, when not nil, is called from the scanning goroutine every
	// few thousand packets and at the end of each file with the bytes of
	// the files consumed so far (for gzip, compressed bytes) and their
	// total size. It must be quick: the scan waits for it.
	Progress func(done, total int64)
	// HoldFragments, when true, hands the fragments of a fragmented IP
	// datagram to the analyzers only once the datagram settles (see
	// defrag_hold.go): so that a pass over the whole capture and parts
	// of it merged hand the analyzers the same packets. The analyzers
	// then see those fragments later than their frame order. False hands
	// each packet when it is read, in frame order.
	HoldFragments bool
	// KeepPending, when true, implies HoldFragments and leaves the
	// datagrams still incomplete at the end of the scan pending in the
	// Capture, with their fragments, for a part of a capture that is to
	// be merged (Merge, HandPending) and settled (Settle) with the others.
	// The Filter's verdict on each held fragment is kept with it; a
	// datagram that only a merge completes is judged by the Filter of the
	// capture merged into, and kept when there is none (a Filter is not
	// part of an encoded part).
	KeepPending bool
}

// Filter selects packets; filter.Expr is one. frame is the packet's
// frame number.
type Filter interface {
	Match(p *Packet, frame int) bool
}

func (c Config) maxFlows() int {
	if c.MaxFlows <= 0 {
		return DefaultMaxFlows
	}
	return c.MaxFlows
}

// FlowEvictor is an Analyzer that keeps what it learns from the flows
// after the pass (reading Capture.Flows): it must also learn it from the
// flows the table evicts during the pass. FlowEvicted is called once for
// each evicted flow, with its final counters, before the table forgets
// it; like Packet, it must not keep f past the call.
type FlowEvictor interface {
	FlowEvicted(f *Flow)
}

// FlowStats says how many flows the pass opened and how many the bounded
// table evicted.
type FlowStats struct {
	// Total counts every flow the pass opened, evicted ones included (a
	// connection that came back after its flow was evicted counts again).
	Total int
	// Evicted counts the flows the table evicted; Unanswered of them had
	// one side that never sent anything (half-open SYNs, probes).
	Evicted, Unanswered int
	// Limit is the table's bound (Config.MaxFlows with its default).
	Limit int
}

// warning says what the bound cost, or "" when nothing was evicted.
func (s FlowStats) warning() string {
	if s.Evicted == 0 {
		return ""
	}
	return fmt.Sprintf("flow table full at %d flows: %d of %d flows evicted (%d of them unanswered or half-open, evicted first, then closed and idle ones); their packets and bytes are counted in the totals, and the summary and detectors aggregated them (MaxFlows raises the bound)",
		s.Limit, s.Evicted, s.Total, s.Unanswered)
}

// evictRank orders flows for eviction: lowest first.
func evictRank(f *Flow) int {
	switch {
	case f.Packets[0] == 0 || f.Packets[1] == 0:
		return 0 // one side never answered: a half-open SYN, a probe, a spoofed packet
	case f.Proto == 6 && ((f.Flags[0]|f.Flags[1])&FlagRST != 0 || f.Flags[0]&f.Flags[1]&FlagFIN != 0):
		return 1 // closed
	}
	return 2
}

// evictBuckets is the time resolution of eviction within one rank.
const evictBuckets = 1024

// evict removes n flows from the table, lowest rank and least recently
// active first, and hands each to onEvict. It costs two passes over the
// table (a histogram of rank and last activity, then the eviction), not a
// sort, so a flood that fills the table again and again stays linear.
func (t *flowTable) evict(n int) {
	if n <= 0 || len(t.order) == 0 {
		return
	}
	lo, hi := t.order[0].Last, t.order[0].Last
	for _, f := range t.order {
		if f.Last.Before(lo) {
			lo = f.Last
		}
		if f.Last.After(hi) {
			hi = f.Last
		}
	}
	span := hi.Sub(lo)
	key := func(f *Flow) int {
		b := 0
		if span > 0 {
			b = int(float64(f.Last.Sub(lo)) / float64(span) * (evictBuckets - 1))
		}
		return evictRank(f)*evictBuckets + b
	}
	var hist [3 * evictBuckets]int
	for _, f := range t.order {
		hist[key(f)]++
	}
	cut, below := 0, 0 // evict every key below cut, and the first n-below of key cut
	for cut = range hist {
		if below+hist[cut] >= n {
			break
		}
		below += hist[cut]
	}
	atCut := n - below
	kept := t.order[:0]
	for _, f := range t.order {
		k := key(f)
		if k > cut || (k == cut && atCut == 0) {
			kept = append(kept, f)
			continue
		}
		if k == cut {
			atCut--
		}
		delete(t.m, keyOf(f))
		t.stats.Evicted++
		if f.Packets[0] == 0 || f.Packets[1] == 0 {
			t.stats.Unanswered++
		}
		if t.onEvict != nil {
			t.onEvict(f)
		}
	}
	clear(t.order[len(kept):]) // let the evicted flows go
	t.order = kept
}

// keyOf is the table key of f, as lookup builds it from a packet.
func keyOf(f *Flow) flowKey {
	k := flowKey{a: f.Client.Addr(), b: f.Server.Addr(), pa: f.Client.Port(), pb: f.Server.Port(), proto: f.Proto}
	if c := k.a.Compare(k.b); c > 0 || (c == 0 && k.pa > k.pb) {
		k.a, k.b, k.pa, k.pb = k.b, k.a, k.pb, k.pa
	}
	return k
}
