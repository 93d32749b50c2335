package detectors

import (
	"cmp"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture.
//
// The uploads are counted from c's flows after the merge, so only what
// the parts kept of their evicted flows merges here; the ICMP pairs and
// the long connections merge per pair and per connection: one part holds
// them all when the parts split the capture by address pair, several when
// they are the files of a rotated capture (in order of time, then).
func (d *exfilDetector) merge(o *exfilDetector, c *capture.Capture) {
	switch {
	case d.live == nil:
		d.live = o.live
	case o.live != nil:
		d.live.merge(o.live, d.lim.MaxHosts)
	}
	d.icmp.merge(&o.icmp)
	d.drip.merge(&o.drip, c)
}

// merge folds o into l; max bounds the pairs.
func (l *exfilLive) merge(o *exfilLive, max int) {
	for port, u := range o.users {
		mine := l.users[port]
		if mine == nil {
			l.users[port] = u
			continue
		}
		for _, a := range u.addrs[:u.n] {
			mine.add(a)
		}
	}
	for k, p := range o.byPair {
		mine := l.byPair[k]
		if mine == nil {
			l.byPair[k] = p
			continue
		}
		mine.add(p)
		// The pair is one client of its destination, not two.
		l.dstClients[k.dst]--
	}
	for a, n := range o.dstClients {
		l.dstClients[a] += n
	}
	l.dropped += o.dropped
	l.bound(max)
}

// add folds o, the same pair's other connections, into p.
func (p *exfilPair) add(o *exfilPair) {
	p.upload += o.upload
	p.download += o.download
	p.conns += o.conns
	p.packets += o.packets
	for _, e := range o.ports {
		p.addPort(e.port, e.first)
	}
	p.ftpActive = p.ftpActive || o.ftpActive
	p.first, p.last = minTime(p.first, o.first), maxTime(p.last, o.last)
	p.upConns += o.upConns
	p.maxConn = max(p.maxConn, o.maxConn)
	p.oddUpload += o.oddUpload
	p.fileUpload += o.fileUpload
	p.fileConns += o.fileConns
	p.ftpControl = p.ftpControl || o.ftpControl
}

// merge folds o's echo pairs into e's. Past icmpMaxPairs the pairs that
// began first are kept and the others' requests counted as dropped.
func (e *icmpEcho) merge(o *icmpEcho) {
	e.dropped += o.dropped
	for k, ip := range o.pairs {
		if e.pairs == nil {
			e.pairs = map[addrPair]*icmpPair{}
		}
		mine := e.pairs[k]
		if mine == nil {
			e.pairs[k] = ip
			continue
		}
		mine.merge(ip)
	}
	if len(e.pairs) <= icmpMaxPairs {
		return
	}
	keys := make([]addrPair, 0, len(e.pairs))
	for k := range e.pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y addrPair) int {
		return cmp.Or(e.pairs[x].first.Compare(e.pairs[y].first), x.src.Compare(y.src), x.dst.Compare(y.dst))
	})
	for _, k := range keys[icmpMaxPairs:] {
		e.dropped += e.pairs[k].requests
		delete(e.pairs, k)
	}
}

// merge folds o, the same pair's echoes in another part of the capture,
// into ip. The parts are taken in order of time: the replies of the later
// are compared with the latest requests of both. A reply of the later
// part to a request of the earlier one, and a reply before the later
// part's first request, are not matched across the parts.
func (ip *icmpPair) merge(o *icmpPair) {
	early, late := ip, o
	if o.first.Before(ip.first) {
		early, late = o, ip
	}
	recent := append(early.recentOrder(), late.recentOrder()...)
	recent = recent[max(0, len(recent)-icmpRecent):]

	ip.requests += o.requests
	ip.replies += o.replies
	ip.reqBytes += o.reqBytes
	ip.replyBytes += o.replyBytes
	switch {
	case ip.minSize < 0:
		ip.minSize = o.minSize
	case o.minSize >= 0:
		ip.minSize = min(ip.minSize, o.minSize)
	}
	ip.maxSize = max(ip.maxSize, o.maxSize)
	ip.saturated = ip.saturated || o.saturated
	if len(o.distinct) > 0 && ip.distinct == nil {
		ip.distinct = make(map[uint64]struct{}, len(o.distinct))
	}
	for h := range o.distinct {
		ip.distinct[h] = struct{}{}
	}
	if len(ip.distinct) >= icmpMaxDistinct {
		// As one pass: saturated at icmpMaxDistinct contents, the lowest
		// hashes kept so that the state does not depend on the order.
		ip.saturated = true
		hs := make([]uint64, 0, len(ip.distinct))
		for h := range ip.distinct {
			hs = append(hs, h)
		}
		slices.Sort(hs)
		for _, h := range hs[icmpMaxDistinct:] {
			delete(ip.distinct, h)
		}
	}
	ip.echoed += o.echoed
	ip.ownData += o.ownData
	ip.first, ip.last = minTime(ip.first, o.first), maxTime(ip.last, o.last)
	// The ring as one pass would have left it after ip.requests requests.
	ip.recent = [icmpRecent]uint64{}
	ip.recentN = len(recent)
	for i, h := range recent {
		n := ip.requests - int64(len(recent)) + int64(i) // 0-based number of the request
		ip.recent[int(n%icmpRecent)] = h
	}
}

// recentOrder returns the hashes of the pair's latest requests, oldest
// first.
func (ip *icmpPair) recentOrder() []uint64 {
	out := make([]uint64, 0, ip.recentN)
	for i := ip.requests - int64(ip.recentN); i < ip.requests; i++ {
		out = append(out, ip.recent[int(i%icmpRecent)])
	}
	return out
}

// merge folds o's long connections into t's; c is the merged capture,
// whose flows replace the parts' (a connection both parts saw is one).
func (t *dripTracker) merge(o *dripTracker, c *capture.Capture) {
	flows := map[*capture.Flow]*dripState{}
	for _, m := range []map[*capture.Flow]*dripState{t.flows, o.flows} {
		for f, st := range m {
			s := survivor(c, f)
			mine := flows[s]
			if mine == nil {
				flows[s] = st
				continue
			}
			mine.entry = minTime(mine.entry, st.entry)
			mine.spans = append(mine.spans, st.spans...)
			slices.SortFunc(mine.spans, func(a, b dripSpan) int { return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(a.last, b.last)) })
		}
	}
	heads := map[*capture.Flow]*dripHead{}
	for _, m := range []map[*capture.Flow]*dripHead{t.heads, o.heads} {
		for f, h := range m {
			s := survivor(c, f)
			mine := heads[s]
			if mine == nil {
				heads[s] = h
				continue
			}
			for _, k := range h.ticks {
				mine.add(k)
			}
		}
	}
	t.flows = keepFirst(flows, dripMaxFlows, func(f *capture.Flow, st *dripState) flowAt { return flowAt{st.entry, f} })
	t.heads = keepFirst(heads, dripMaxHeads, func(f *capture.Flow, h *dripHead) flowAt { return flowAt{h.ticks[0].time(), f} })
	if len(t.flows) == 0 {
		t.flows = nil
	}
	if len(t.heads) == 0 {
		t.heads = nil
	}
}

// survivor returns the flow of the merged capture c that holds f's
// connection; f itself when c holds none (a flow the table evicted).
func survivor(c *capture.Capture, f *capture.Flow) *capture.Flow {
	if s := c.Lookup(f); s != nil {
		return s
	}
	return f
}

// flowAt orders the connections a bound keeps: the earliest, then by
// address.
type flowAt struct {
	at time.Time
	f  *capture.Flow
}

func compareFlowAt(x, y flowAt) int {
	return cmp.Or(x.at.Compare(y.at), x.f.Client.Compare(y.f.Client), x.f.Server.Compare(y.f.Server))
}

// keepFirst returns m with at most max entries: those whose key comes
// first by at.
func keepFirst[V any](m map[*capture.Flow]V, max int, at func(*capture.Flow, V) flowAt) map[*capture.Flow]V {
	if len(m) <= max {
		return m
	}
	ks := make([]flowAt, 0, len(m))
	for f, v := range m {
		ks = append(ks, at(f, v))
	}
	slices.SortFunc(ks, compareFlowAt)
	for _, k := range ks[max:] {
		delete(m, k.f)
	}
	return m
}
