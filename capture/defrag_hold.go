package capture

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Held fragments: a datagram that parts of a capture share.
//
// A rotated capture cut between two fragments of one datagram leaves each
// file with fragments that complete nothing. To give the verdict of one
// pass, the analyzers of a scan with Config.HoldFragments see the
// fragments of a datagram only once it settles: when it completes, its
// fragments in the order read and then the datagram (in place of the
// fragment that completed it); when it is given up (timed out, evicted,
// overlapping, oversized, or still incomplete at the end), its fragments
// as they are. With Config.KeepPending the datagrams incomplete at the
// end stay pending in the Capture, frames included: Merge joins those of
// two parts by datagram, HandPending hands what the join settled to the
// merged analyzers, and Settle gives up what is left once every part is
// in. The held frames count in the defragmenter's bound on memory.

// fragJoin is a datagram that several merged parts held pending.
type fragJoin struct {
	key    fragKey
	frames []heldFrame
}

// heldFrame is one fragment's frame, kept until its datagram settles.
type heldFrame struct {
	Index                 int
	Time                  time.Time
	Length, CaptureLength int
	LinkType              layers.LinkType
	Data                  []byte
	// Refused is true when the scan's Filter refused the fragment: it
	// is reassembled but handed to no analyzer.
	Refused bool
}

// release moves dg's held frames to the frames to hand next.
func (df *defragmenter) release(dg *fragDatagram) {
	for _, h := range dg.held {
		df.bytes -= cap(h.Data)
	}
	df.out = append(df.out, dg.held...)
	dg.held = nil
}

// heldBytes is what dg holds in memory.
func (dg *fragDatagram) heldBytes() int {
	n := cap(dg.data)
	for _, h := range dg.held {
		n += cap(h.Data)
	}
	return n
}

// decoderForHeld returns the decoder of handed fragments: not the pass's,
// whose layers the packet being handled still points into.
func (c *Capture) decoderForHeld() *decoder {
	if c.hdec == nil {
		c.hdec = newDecoder()
	}
	return c.hdec
}

// handOut hands the settled held frames to the analyzers, as fragments.
func (c *Capture) handOut(analyzers []Analyzer) {
	df := c.defrag
	if df == nil || len(df.out) == 0 {
		return
	}
	dec := c.decoderForHeld()
	for i, h := range df.out {
		if !h.Refused {
			p := h.packet()
			dec.decode(&p, p.Data)
			c.deliver(&p, analyzers, false)
		}
		df.out[i] = heldFrame{}
	}
	df.out = df.out[:0]
}

func (h heldFrame) packet() Packet {
	p := Packet{Index: h.Index, Time: h.Time, Length: h.Length, CaptureLength: h.CaptureLength, LinkType: h.LinkType, Data: h.Data}
	if p.Length < p.CaptureLength {
		p.Length = p.CaptureLength
	}
	return p
}

// finishDefrag ends the scan's reassembly: the datagrams still in flight
// are given up and their held fragments handed to analyzers, unless the
// scan keeps them pending (Config.KeepPending).
func (c *Capture) finishDefrag(analyzers []Analyzer) {
	df := c.defrag
	if df == nil {
		return
	}
	if c.keep {
		df.compact()
		return
	}
	for _, dg := range df.queue {
		df.forget(&c.Fragments, dg)
	}
	df.queue = nil
	c.handOut(analyzers)
}

// compact drops from the queue the datagrams no longer in flight, and
// orders it by first fragment (then by key, so the order is the same
// whichever part was merged into which).
func (df *defragmenter) compact() {
	q := df.queue[:0]
	seen := make(map[*fragDatagram]bool, len(df.m))
	for _, dg := range df.queue {
		if df.m[dg.key] == dg && !seen[dg] {
			seen[dg] = true
			q = append(q, dg)
		}
	}
	clear(df.queue[len(q):])
	slices.SortStableFunc(q, func(x, y *fragDatagram) int {
		return cmp.Or(x.first.Compare(y.first), compareFragKeys(x.key, y.key))
	})
	df.queue = q
}

func compareFragKeys(x, y fragKey) int {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	return cmp.Or(x.src.Compare(y.src), x.dst.Compare(y.dst), cmp.Compare(x.id, y.id), cmp.Compare(x.proto, y.proto), cmp.Compare(b(x.v6), b(y.v6)))
}

// Pending reports how many fragmented datagrams the capture keeps pending
// (Config.KeepPending) or has yet to hand after a Merge.
func (c *Capture) Pending() int {
	df := c.defrag
	if df == nil {
		return 0
	}
	return len(df.m) + len(df.joins)
}

// HandPending hands to analyzers what Merge settled: the datagrams whose
// fragments two parts held are reassembled as one pass over both would
// have (completed, handed with their fragments, or given up), and the
// frames of those given up are handed as fragments. The analyzers are the
// merged ones: Merge joins the datagrams, the caller merges its analyzers'
// state, then calls HandPending. The datagrams still incomplete stay
// pending; Settle gives them up. When more are pending than the
// defragmenter's bound, the oldest are given up.
func (c *Capture) HandPending(analyzers ...Analyzer) {
	df := c.defrag
	if df == nil || (len(df.joins) == 0 && len(df.out) == 0 && len(df.m) <= FragMaxDatagrams && df.bytes <= fragMaxBytes) {
		return
	}
	c.handOut(analyzers)
	dec := newDecoder()
	for _, g := range df.joins {
		for _, h := range g.frames {
			p := h.packet()
			dec.decode(&p, p.Data)
			if p.Layers&LayerFragment == 0 {
				continue // cannot be: it was read as a fragment
			}
			held, _ := df.take(&c.Fragments, dec, &p, nil, h.Refused, true)
			c.handOut(analyzers)
			if held {
				continue
			}
			if p.Fragments > 0 {
				// The datagram completed: the filter judges it whole.
				if c.filter != nil && !c.filter.Match(&p, p.Index) {
					continue
				}
			} else if h.Refused {
				continue
			}
			c.deliver(&p, analyzers, p.Fragments > 0)
		}
	}
	df.joins = nil
	df.compact()
	for len(df.m) > FragMaxDatagrams || df.bytes > fragMaxBytes {
		if !df.evictOldest(&c.Fragments) {
			break
		}
	}
	c.handOut(analyzers)
	df.compact()
	c.settle(nil)
}

// Settle gives up the datagrams a capture scanned with Config.KeepPending
// still has pending once every part is merged (HandPending first): their
// fragments are handed to analyzers as fragments, they count as
// incomplete, and the warnings are written again. It does nothing for a
// capture with nothing pending, such as one scanned whole.
func (c *Capture) Settle(analyzers ...Analyzer) {
	df := c.defrag
	if df == nil || (len(df.m) == 0 && len(df.joins) == 0 && len(df.out) == 0) {
		return
	}
	c.HandPending(analyzers...)
	for _, dg := range df.queue {
		df.forget(&c.Fragments, dg)
	}
	df.queue = nil
	c.handOut(analyzers)
	c.keep = false
	c.settle(nil)
}

// mergeDefrag joins o's fragmented datagrams into c's: the overlaps by
// address pair, and the pending datagrams by datagram. A datagram both
// hold pending becomes a join for HandPending; one that one part dropped
// (overlapping, oversized) absorbs the other's fragments, as it would
// have in one pass.
func (c *Capture) mergeDefrag(o *Capture) {
	od := o.defrag
	if od == nil {
		return
	}
	if c.defrag == nil {
		c.defrag = newDefragmenter(c.hold || o.hold)
	}
	cd := c.defrag
	cd.hold = cd.hold || od.hold
	for _, k := range od.overlapOrder {
		ov := od.overlaps[k]
		mine := cd.overlaps[k]
		if mine == nil {
			if len(cd.overlaps) >= fragMaxOverlapPairs {
				continue
			}
			cp := *ov
			cd.overlaps[k] = &cp
			cd.overlapOrder = append(cd.overlapOrder, k)
			continue
		}
		mine.Datagrams += ov.Datagrams
		mine.Conflicting += ov.Conflicting
		mine.Oversized += ov.Oversized
		mine.First, mine.Last = minTime(mine.First, ov.First), maxTime(mine.Last, ov.Last)
	}
	// The order of first sight, whichever part was merged into which.
	slices.SortStableFunc(cd.overlapOrder, func(x, y hostPair) int {
		a, b := cd.overlaps[x], cd.overlaps[y]
		return cmp.Or(a.First.Compare(b.First), x.src.Compare(y.src), x.dst.Compare(y.dst))
	})
	cd.out = append(cd.out, od.out...)
	// A datagram held in several parts gathers all their frames in one
	// join, however the parts are grouped.
	joined := map[fragKey]int{}
	for i, g := range cd.joins {
		joined[g.key] = i
	}
	join := func(k fragKey, frames ...[]heldFrame) {
		i, ok := joined[k]
		if !ok {
			i = len(cd.joins)
			joined[k] = i
			cd.joins = append(cd.joins, fragJoin{key: k})
		}
		g := &cd.joins[i]
		for _, f := range frames {
			g.frames = append(g.frames, f...)
		}
		// In the order one pass reads them: by time, then by frame
		// number (numbered on across the parts by MergePartials).
		slices.SortStableFunc(g.frames, func(x, y heldFrame) int {
			return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.Index, y.Index), bytes.Compare(x.Data, y.Data))
		})
	}
	for _, g := range od.joins {
		if mine := cd.m[g.key]; mine != nil && !mine.dead {
			cd.bytes -= mine.heldBytes()
			delete(cd.m, g.key)
			join(g.key, mine.held, g.frames)
			continue
		}
		join(g.key, g.frames)
	}
	od.compact()
	for _, dg := range od.queue {
		if _, ok := joined[dg.key]; ok && !dg.dead {
			join(dg.key, dg.held)
			continue
		}
		mine := cd.m[dg.key]
		switch {
		case mine == nil:
			cd.m[dg.key] = dg
			cd.queue = append(cd.queue, dg)
			cd.bytes += dg.heldBytes()
		case mine.dead && dg.dead:
			mine.first = minTime(mine.first, dg.first)
		case mine.dead || dg.dead:
			live := dg
			if dg.dead {
				live = mine
				cd.m[dg.key] = dg
				cd.queue = append(cd.queue, dg)
				cd.bytes -= mine.heldBytes()
			}
			cd.out = append(cd.out, live.held...)
			live.held = nil
		default:
			cd.bytes -= mine.heldBytes()
			delete(cd.m, dg.key)
			join(dg.key, mine.held, dg.held)
		}
	}
	cd.compact()
}

// fragMode sets c up to hold fragments as cfg asks, and returns c.
func (cfg Config) fragMode(c *Capture) *Capture {
	c.hold = cfg.HoldFragments || cfg.KeepPending
	c.keep = cfg.KeepPending
	c.filter = cfg.Filter
	return c
}

// lateFlow puts p, a packet handed after packets that followed it in the
// capture, in its flow as Merge joins flows: counted in a flow of its own,
// then merged into the table's, so the flow (its client, first and last
// packet) is the one one pass would have made.
func (c *Capture) lateFlow(p *Packet) {
	if c.flows == nil {
		c.flows = newFlowTable(DefaultMaxFlows)
	}
	own := &flowTable{m: map[flowKey]*Flow{}, max: 1}
	own.lookup(p)
	countFlow(p)
	f := p.Flow
	k := keyOf(f)
	t := c.flows
	mine := t.m[k]
	if mine == nil {
		p.NewFlow = true
		t.stats.Total++
		t.m[k] = f
		i, _ := slices.BinarySearchFunc(t.order, f, func(x, y *Flow) int {
			return cmp.Or(x.First.Compare(y.First), compareKeys(keyOf(x), keyOf(y)))
		})
		t.order = slices.Insert(t.order, i, f)
		return
	}
	mine.merge(f)
	p.Flow, p.NewFlow = mine, false
	p.FromClient = (p.Src == mine.Client.Addr() && p.SrcPort == mine.Client.Port()) || mine.Client == mine.Server
}

// ShiftFrames adds n to the frame numbers of the fragments c holds
// pending: its part comes after n frames of other parts, and frame
// numbers run on across the parts as over files read one after another.
func (c *Capture) ShiftFrames(n int) {
	df := c.defrag
	if df == nil || n == 0 {
		return
	}
	shift := func(hs []heldFrame) {
		for i := range hs {
			hs[i].Index += n
		}
	}
	for _, dg := range df.m {
		shift(dg.held)
	}
	shift(df.out)
	for _, g := range df.joins {
		shift(g.frames)
	}
}
