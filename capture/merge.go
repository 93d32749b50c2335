package capture

import (
	"cmp"
	"fmt"
	"slices"

	"time"

	"github.com/agents-of-shield/reconpcap/internal/humanize"
)

// settle writes the warnings that follow from the counters (flows
// evicted, fragments dropped, damaged timestamps, an empty capture) after
// those the read itself gave. err is the error that ended the read, if
// any. Merge calls it again, so the warnings always describe the counters
// of the whole.
func (c *Capture) settle(err error) {
	c.Warnings = c.Warnings[:len(c.Warnings)-c.derived]
	n := len(c.Warnings)
	if err == nil && !c.Stopped && !c.Truncated && c.Read == 0 {
		c.Warnings = append(c.Warnings, "the capture holds no packets")
	}
	if c.flows != nil {
		if w := c.flows.stats.warning(); w != "" {
			c.Warnings = append(c.Warnings, w)
		}
	}
	st := c.Fragments
	if st.Overlapping > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s had overlapping IP fragments (%d with differing bytes): dropped, as Linux does; overlapping fragments are crafted to evade inspection", humanize.Count(st.Overlapping, "datagram"), st.Conflicting))
	}
	if st.Oversized > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s of IP fragments reached past 65,535 bytes (ping of death): dropped", humanize.Count(st.Oversized, "datagram")))
	}
	if st.Incomplete > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s of IP fragments never completed (a fragment missing from the capture, or lost)", humanize.Count(st.Incomplete, "datagram")))
	}
	if c.badTimes > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d packets had a timestamp outside the years 1-9999 (damaged, or a wrong timestamp resolution); each was given the time of the packet before it", c.badTimes))
	}
	c.derived = len(c.Warnings) - n
}

// Merge folds o into c: the capture of other packets of the same traffic,
// read by another worker or from another file. Counts add up, the time
// range widens, the flow tables join (a connection both saw becomes one
// flow, see Flow.merge), fragment statistics and link types join, and the
// warnings are written again for the whole. The result does not depend on
// which of the two is c, nor on the order in which several are merged.
//
// What names the input (Path, Files, Format) is c's unless it has none:
// the caller that split the input names the whole. c takes o's flows
// over (the same *Flow values, so state that analyzers keep per flow still
// points at them); o must not be used afterwards.
func (c *Capture) Merge(o *Capture) {
	if o == nil {
		return
	}
	if c.Path == "" {
		c.Path, c.Files, c.Format = o.Path, o.Files, o.Format
	}
	c.Compressed = c.Compressed || o.Compressed
	c.Nanosecond = c.Nanosecond || o.Nanosecond
	for _, t := range o.LinkTypes {
		if !containsLinkType(c.LinkTypes, t) {
			c.LinkTypes = append(c.LinkTypes, t)
		}
	}
	c.Interfaces = max(c.Interfaces, o.Interfaces)
	c.Read += o.Read
	c.Packets += o.Packets
	c.Bytes += o.Bytes
	c.Captured += o.Captured
	if c.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(c.Start)) {
		c.Start = o.Start
	}
	if o.End.After(c.End) {
		c.End = o.End
	}
	c.Truncated = c.Truncated || o.Truncated
	c.Stopped = c.Stopped || o.Stopped
	c.Malformed += o.Malformed
	c.badTimes += o.badTimes
	c.Fragments.Packets += o.Fragments.Packets
	c.Fragments.Reassembled += o.Fragments.Reassembled
	c.Fragments.Overlapping += o.Fragments.Overlapping
	c.Fragments.Conflicting += o.Fragments.Conflicting
	c.Fragments.Incomplete += o.Fragments.Incomplete
	c.Fragments.Oversized += o.Fragments.Oversized
	c.hold, c.keep = c.hold || o.hold, c.keep || o.keep
	if c.filter == nil {
		c.filter = o.filter
	}
	c.mergeDefrag(o)
	c.mergeFlows(o)
	// The read's own warnings (damage, truncation, a deadline) of both,
	// once each; the derived ones are written again from the sums.
	mine := c.Warnings[:len(c.Warnings)-c.derived]
	for _, w := range o.Warnings[:len(o.Warnings)-o.derived] {
		if !slices.Contains(mine, w) {
			mine = append(mine, w)
		}
	}
	c.Warnings, c.derived = mine, 0
	c.settle(nil)
}

// mergeFlows joins o's flow table into c's.
func (c *Capture) mergeFlows(o *Capture) {
	if o.flows == nil {
		return
	}
	if c.flows == nil {
		c.flows = newFlowTable(o.flows.max)
		c.flows.stats.Limit = 0
	}
	t := c.flows
	t.stats.Total += o.flows.stats.Total
	t.stats.Evicted += o.flows.stats.Evicted
	t.stats.Unanswered += o.flows.stats.Unanswered
	t.stats.Limit += o.flows.stats.Limit
	t.max += o.flows.max
	for _, f := range o.flows.order {
		k := keyOf(f)
		if mine := t.m[k]; mine != nil {
			mine.merge(f)
			t.stats.Total-- // one connection, seen by both
			continue
		}
		t.m[k] = f
		t.order = append(t.order, f)
	}
	// The order of first packet, as one pass would have it; flows that
	// began at the same instant in order of their addresses.
	slices.SortStableFunc(t.order, func(x, y *Flow) int {
		return cmp.Or(x.First.Compare(y.First), compareKeys(keyOf(x), keyOf(y)))
	})
}

func compareKeys(x, y flowKey) int {
	return cmp.Or(x.a.Compare(y.a), x.b.Compare(y.b), cmp.Compare(x.pa, y.pa), cmp.Compare(x.pb, y.pb), cmp.Compare(x.proto, y.proto))
}

// merge folds o, the same connection seen in other packets, into f: as
// one pass over both would have counted it. The side whose first packet
// is the earlier decides who the client is, unless only the other saw a
// handshake say so.
func (f *Flow) merge(o *Flow) {
	first, later := f, o
	if o.First.Before(f.First) {
		first, later = o, f
	}
	m := *first
	if !m.ClientKnown && later.ClientKnown && later.Client != m.Client {
		// A handshake in the later packets turns the connection round,
		// as the table does when a SYN follows mid-connection packets.
		m.flip()
		m.HasClientMAC, m.ClientMACVaries = false, false
	}
	m.ClientKnown = m.ClientKnown || later.ClientKnown
	l := *later
	if l.Client != m.Client {
		l.flip()
		l.HasClientMAC, l.ClientMACVaries = false, false
	}
	for d := range 2 {
		m.Packets[d] += l.Packets[d]
		m.Bytes[d] += l.Bytes[d]
		m.Payload[d] += l.Payload[d]
		m.Flags[d] |= l.Flags[d]
		m.Fragmented[d] += l.Fragmented[d]
	}
	m.SYNs += l.SYNs
	m.Last = maxTime(m.Last, l.Last)
	if l.HasClientMAC {
		if !m.HasClientMAC {
			m.ClientMAC, m.HasClientMAC = l.ClientMAC, true
		} else if m.ClientMAC != l.ClientMAC {
			m.ClientMACVaries = true
		}
	}
	m.ClientMACVaries = m.ClientMACVaries || l.ClientMACVaries
	*f = m
}

// flip swaps the two sides of f.
func (f *Flow) flip() {
	f.Client, f.Server = f.Server, f.Client
	f.Packets[0], f.Packets[1] = f.Packets[1], f.Packets[0]
	f.Bytes[0], f.Bytes[1] = f.Bytes[1], f.Bytes[0]
	f.Payload[0], f.Payload[1] = f.Payload[1], f.Payload[0]
	f.Flags[0], f.Flags[1] = f.Flags[1], f.Flags[0]
	f.Fragmented[0], f.Fragmented[1] = f.Fragmented[1], f.Fragmented[0]
	f.ServerFirst = !f.ServerFirst
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Lookup returns the flow c's table holds for f's connection (the same
// five-tuple, either way round), or nil. After Merge, a flow of the part
// merged in that c already had is absorbed into c's: analyzers that keep
// state per *Flow find the survivor here.
func (c *Capture) Lookup(f *Flow) *Flow {
	if c.flows == nil || f == nil {
		return nil
	}
	return c.flows.m[keyOf(f)]
}
