package detectors

import (
	"cmp"
	stdmaps "maps"
	"slices"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/httpmethod"
)

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture.
//
// A (source, server) pair seen by both parts becomes one: counts add up,
// sets join, samples keep the earliest (see http_samples.go). The kept
// requests join in order of time. A connection both parts followed (a
// rotated capture cut it) is joined: the later part's head (what it could
// not parse, having met the connection mid-stream) is replayed through the
// earlier part's parser, and the answers the later part found no request
// for answer the earlier part's waiting requests, in order. What cannot
// be joined exactly (a head past its bound, requests pipelined across the
// cut) is counted in misfits.
func (d *httpDetector) merge(o *httpDetector, c *capture.Capture) {
	d.merging = true
	defer func() { d.merging = false }()

	// Pairs.
	same := map[*httpPair]*httpPair{}
	for _, pr := range o.order {
		k := httpPairKey{pr.src, pr.dst}
		if x := d.pairs[k]; x != nil {
			d.mergePair(x, pr)
			same[pr] = x
			continue
		}
		d.pairs[k] = pr
		d.order = append(d.order, pr)
	}

	// Kept requests: o's follow d's for now; sorted at the end.
	off := int32(d.reqs.n)
	for _, ch := range o.reqs.chunks {
		for _, r := range ch {
			d.reqs.add(r)
		}
	}
	for _, cn := range o.conns {
		cn.eachReq(func(q *pendingReq) {
			if x := same[q.pair]; x != nil {
				q.pair = x
			}
			if q.rec >= 0 {
				q.rec += off
			}
		})
	}
	d.dropped += o.dropped

	b, ob := &d.bounds, &o.bounds
	b.lineBytes += ob.lineBytes
	b.headBytes += ob.headBytes
	b.evictedConns += ob.evictedConns
	b.linesDropped += ob.linesDropped
	b.distinctFull = b.distinctFull || ob.distinctFull
	b.evictedPairs += ob.evictedPairs
	b.evictedRequests += ob.evictedRequests
	b.evictedHostile += ob.evictedHostile
	d.misfits += o.misfits

	// Connections, keyed by the merged capture's flows.
	lookup := func(f *capture.Flow) *capture.Flow {
		if m := c.Lookup(f); m != nil {
			return m
		}
		return f
	}
	conns := make(map[*capture.Flow]*httpConn, len(d.conns)+len(o.conns))
	heads := make(map[*capture.Flow]*httpHead, len(d.heads)+len(o.heads))
	for _, part := range []*httpDetector{d, o} {
		for f, cn := range part.conns {
			k := lookup(f)
			if x := conns[k]; x != nil {
				cn = d.join(x, cn)
			}
			conns[k] = cn
		}
	}
	for _, part := range []*httpDetector{d, o} {
		for f, hd := range part.heads {
			k := lookup(f)
			if x := heads[k]; x != nil {
				hd = d.joinHeads(x, hd)
			}
			heads[k] = hd
		}
	}
	for k, hd := range heads {
		if cn := conns[k]; cn != nil {
			conns[k] = d.join(cn, &httpConn{joined: true, head: hd, ends: hd.ends, firstT: hd.firstT, lastT: hd.lastT})
			delete(heads, k)
		}
	}
	d.conns, d.heads = conns, heads

	d.settleRecords()
	b.distinct, b.pairBytes = 0, 0
	for _, pr := range d.order {
		b.distinct += pr.distinctHeld()
		b.pairBytes += pr.bytes
	}
	for len(d.pairs) > b.maxPairs || b.pairBytes > b.maxPairBytes {
		d.evictPairs()
	}
	for len(d.conns) > b.maxConns {
		d.evictConns()
	}
	for len(d.heads) > b.maxConns {
		d.evictHeads()
	}
}

// eachReq calls fn on every request c refers to (the zero pendingReq
// of a field not in use is none).
func (c *httpConn) eachReq(fn func(*pendingReq)) {
	for i := range c.pending {
		fn(&c.pending[i])
	}
	for _, q := range []*pendingReq{&c.cur, &c.checkBuf, &c.answering} {
		if q.pair != nil {
			fn(q)
		}
	}
}

// settleRecords puts the kept requests in order of time (then frame
// number and connection) and keeps the first Config.HTTP.MaxRequests,
// as one pass keeps them.
func (h *httpDetector) settleRecords() {
	all := make([]HTTPRequest, 0, h.reqs.n)
	for _, ch := range h.reqs.chunks {
		all = append(all, ch...)
	}
	idx := make([]int32, len(all))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(i, j int32) int {
		x, y := &all[i], &all[j]
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.Packet, y.Packet), x.Source.Compare(y.Source),
			cmp.Compare(x.SourcePort, y.SourcePort), x.Destination.Compare(y.Destination), cmp.Compare(x.Port, y.Port))
	})
	pos := make([]int32, len(all))
	h.reqs.chunks, h.reqs.n = nil, 0
	for n, i := range idx {
		if n >= h.maxRequests {
			pos[i] = -1
			h.dropped++
			continue
		}
		pos[i] = int32(n)
		h.reqs.add(all[i])
	}
	for _, cn := range h.conns {
		cn.eachReq(func(q *pendingReq) {
			if q.rec >= 0 {
				q.rec = pos[q.rec]
			}
		})
	}
}

// mergePair folds y into x, the same (source, server).
func (h *httpDetector) mergePair(x, y *httpPair) {
	x.ports.merge(y.ports, httpMaxPorts, true)
	x.first, x.last = minTime(x.first, y.first), maxTime(x.last, y.last)
	x.requests += y.requests
	for m, n := range y.methods {
		_, ok := x.methods[m]
		if !ok && len(x.methods) >= httpMaxMethods && !httpmethod.Known([]byte(m)) {
			m = "OTHER"
		}
		x.methods[m] += n
	}
	for ua, a := range y.agents {
		if mine := x.agents[ua]; mine != nil {
			mine.count += a.count
			mine.first = minTime(mine.first, a.first)
			continue
		}
		x.keepAgent(a)
	}
	x.tools.merge(y.tools, httpMaxSamples, true)
	for k, v := range y.hosts {
		if len(x.hosts) >= 64 {
			break
		}
		x.hosts[k] = v
	}
	h.mergeHosts(x, y)
	x.hostSamples.merge(y.hostSamples, httpMaxSamples, true)
	mergeSet(&x.paths, &y.paths)
	x.pathSamples.merge(y.pathSamples, httpMaxSamples, true)
	x.bytes += y.bytes
	x.referers += y.referers
	x.scannerReqs += y.scannerReqs
	x.enumReqs += y.enumReqs
	x.enumMask |= y.enumMask
	x.sqli += y.sqli
	x.trav += y.trav
	x.xss += y.xss
	x.strongInject += y.strongInject
	x.injectSamples.merge(y.injectSamples, httpMaxSamples, false)
	x.answered += y.answered
	for k, n := range y.status {
		x.status[k] += n
	}
	x.exposed.merge(y.exposed, httpMaxSamples, true)
	x.exposedReqs += y.exposedReqs
	x.strongExposed += y.strongExposed
	x.enumMiss += y.enumMiss
	x.passwdLeaks += y.passwdLeaks
	x.otherMethods += y.otherMethods
	x.otherSamples.merge(y.otherSamples, httpMaxSamples, true)
	if yc := y.cred; yc != nil {
		xc := x.creds()
		xc.attempts += yc.attempts
		xc.failures += yc.failures
		xc.answeredN += yc.answeredN
		xc.passwords += yc.passwords
		mergeSet(&xc.distinct, &yc.distinct)
		for sig, n := range yc.answers {
			if _, ok := xc.answers[sig]; ok || len(xc.answers) < httpMaxMethods {
				xc.answers[sig] += n
			}
		}
		xc.paths.merge(yc.paths, 5, true)
	}
}

// mergeHosts joins the distinct Host values of y into x.
func (h *httpDetector) mergeHosts(x, y *httpPair) {
	x.hostsCapped = x.hostsCapped || y.hostsCapped
	if y.hostN == 0 {
		return
	}
	if x.hostN == 0 {
		x.host0, x.hostN, x.hostSet = y.host0, y.hostN, y.hostSet
		return
	}
	add := func(hv uint64) {
		if hv == x.host0 {
			return
		}
		if x.hostSet == nil {
			x.hostSet = make(map[uint64]struct{}, 8)
		}
		if _, ok := x.hostSet[hv]; ok {
			return
		}
		if len(x.hostSet)+1 >= httpMaxHostSet {
			x.hostsCapped = true
			return
		}
		x.hostSet[hv] = struct{}{}
		x.hostN++
	}
	add(y.host0)
	for _, hv := range slices.Sorted(stdmaps.Keys(y.hostSet)) {
		add(hv)
	}
}

// mergeSet adds y's members to x, within x's bound.
func mergeSet(x, y *cappedSet[uint64]) {
	x.capped = x.capped || y.capped
	x.max = min(x.max, y.max)
	for _, k := range slices.Sorted(stdmaps.Keys(y.m)) {
		x.add(k)
	}
}
