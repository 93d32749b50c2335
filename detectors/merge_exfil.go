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
		mine := e.pairs[k]
		if mine == nil {
			if or := e.orphans[k]; or != nil {
				delete(e.orphans, k)
				mine = &icmpPair{requester: k.src, responder: k.dst, minSize: -1, orphans: or}
			}
		}
		if mine != nil {
			ip = joinICMP(mine, ip)
		}
		if e.pairs == nil {
			e.pairs = map[addrPair]*icmpPair{}
		}
		e.pairs[k] = ip
	}
	for k, or := range o.orphans {
		if mine := e.pairs[k]; mine != nil {
			e.pairs[k] = joinICMP(mine, &icmpPair{requester: k.src, responder: k.dst, minSize: -1, orphans: or})
			continue
		}
		if e.orphans == nil {
			e.orphans = map[addrPair]*icmpOrphans{}
		}
		e.orphans[k] = joinOrphans(e.orphans[k], or)
	}
	if len(e.pairs) > icmpMaxPairs {
		for _, k := range firstKeys(e.pairs, func(ip *icmpPair) time.Time { return ip.first })[icmpMaxPairs:] {
			e.dropped += e.pairs[k].requests
			delete(e.pairs, k)
		}
	}
	if len(e.orphans) > icmpMaxOrphans {
		for _, k := range firstKeys(e.orphans, func(o *icmpOrphans) time.Time { return o.first })[icmpMaxOrphans:] {
			delete(e.orphans, k)
		}
	}
}

// firstKeys returns m's keys, those that began first (then by address)
// first.
func firstKeys[V any](m map[addrPair]V, first func(V) time.Time) []addrPair {
	keys := make([]addrPair, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y addrPair) int {
		return cmp.Or(first(m[x]).Compare(first(m[y])), x.src.Compare(y.src), x.dst.Compare(y.dst))
	})
	return keys
}

// joinOrphans joins the replies of a pair before any of its requests, seen
// by two parts.
func joinOrphans(a, b *icmpOrphans) *icmpOrphans {
	if a == nil || b == nil {
		return cmp.Or(a, b)
	}
	if cmp.Or(b.first.Compare(a.first), b.last.Compare(a.last)) < 0 {
		a, b = b, a
	}
	a.n += b.n
	a.bytes += b.bytes
	a.dataN += b.dataN
	a.first, a.last = minTime(a.first, b.first), maxTime(a.last, b.last)
	a.leads = head(append(a.leads, b.leads...), icmpMaxLeads)
	return a
}

// begin and end are when the pair's first and last packets in the part
// came.
func (ip *icmpPair) begin() time.Time {
	if ip.orphans != nil {
		return minTime(ip.first, ip.orphans.first)
	}
	return ip.first
}

func (ip *icmpPair) end() time.Time {
	if ip.orphans != nil {
		return maxTime(ip.last, ip.orphans.last)
	}
	return ip.last
}

// compareParts orders two parts' views of one pair in time; parts that
// began at the same instant, by when they ended, then the one holding
// requests first, so that the order never depends on which part
// receives the other.
func compareParts(x, y *icmpPair) int {
	return cmp.Or(x.begin().Compare(y.begin()), x.end().Compare(y.end()), cmp.Compare(y.requests, x.requests), cmp.Compare(y.replies, x.replies))
}

// joinICMP joins one pair's echoes seen by two parts of the capture (the
// files of a rotated capture: one before the other). The replies of the
// later part are matched with the latest requests of both, as one pass
// matches them, and its replies before its first request count if the
// earlier part holds a request.
func joinICMP(x, y *icmpPair) *icmpPair {
	early, late := x, y
	if compareParts(y, x) < 0 {
		early, late = y, x
	}
	if early.requests == 0 {
		// Nothing of early is counted: its replies come before every
		// packet of late.
		late.orphans = joinOrphans(early.orphans, late.orphans)
		return late
	}
	if or := late.orphans; or != nil {
		// Replies to early's requests.
		late.replies += or.n
		late.replyBytes += or.bytes
		late.ownData += or.dataN
		late.first, late.last = minTime(late.first, or.first), maxTime(late.last, or.last)
		late.leads = append(or.leads, late.leads...)
		late.orphans = nil
	}
	tail := early.recentOrder()
	leads := early.leads
	for _, ld := range late.leads {
		need := icmpRecent - ld.k // the earlier requests its window held
		if slices.Contains(tail[max(0, len(tail)-int(need)):], ld.hash) {
			late.echoed++
			if ld.data {
				late.ownData--
			}
			continue
		}
		if early.requests < need && len(leads) < icmpMaxLeads {
			ld.k += early.requests
			leads = append(leads, ld)
		}
	}
	late.leads = nil
	recent := append(tail, late.recentOrder()...)
	recent = recent[max(0, len(recent)-icmpRecent):]

	r := early
	r.requests += late.requests
	r.replies += late.replies
	r.reqBytes += late.reqBytes
	r.replyBytes += late.replyBytes
	switch {
	case r.minSize < 0:
		r.minSize = late.minSize
	case late.minSize >= 0:
		r.minSize = min(r.minSize, late.minSize)
	}
	r.maxSize = max(r.maxSize, late.maxSize)
	r.saturated = r.saturated || late.saturated
	if len(late.distinct) > 0 && r.distinct == nil {
		r.distinct = make(map[uint64]struct{}, len(late.distinct))
	}
	for h := range late.distinct {
		r.distinct[h] = struct{}{}
	}
	if len(r.distinct) >= icmpMaxDistinct {
		// As one pass: saturated at icmpMaxDistinct contents, the lowest
		// hashes kept so that the state does not depend on the order.
		r.saturated = true
		hs := make([]uint64, 0, len(r.distinct))
		for h := range r.distinct {
			hs = append(hs, h)
		}
		slices.Sort(hs)
		for _, h := range hs[icmpMaxDistinct:] {
			delete(r.distinct, h)
		}
	}
	r.echoed += late.echoed
	r.ownData += late.ownData
	r.first, r.last = minTime(r.first, late.first), maxTime(r.last, late.last)
	r.leads = leads
	// The ring as one pass would have left it after r.requests requests.
	r.recent = [icmpRecent]uint64{}
	r.recentN = len(recent)
	for i, h := range recent {
		n := r.requests - int64(len(recent)) + int64(i) // 0-based number of the request
		r.recent[int(n%icmpRecent)] = h
	}
	return r
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
