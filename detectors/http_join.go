package detectors

import "slices"

// Joining one connection as two parts of a rotated capture saw it (see
// http_heads.go and merge_http.go).

// join joins the states two parts kept of one connection, whichever part
// came first.
func (h *httpDetector) join(x, y *httpConn) *httpConn {
	if laterConn(x, y) {
		x, y = y, x
	}
	return h.joinConns(x, y)
}

// laterConn reports whether x's part came after y's: it began later, or
// at the same time having joined the connection mid-stream when y did not.
func laterConn(x, y *httpConn) bool {
	if c := x.firstT.Compare(y.firstT); c != 0 {
		return c > 0
	}
	if x.joined != y.joined {
		return x.joined
	}
	return x.lastT.After(y.lastT)
}

// joinHeads joins two heads of a flow no part followed as HTTP.
func (h *httpDetector) joinHeads(x, y *httpHead) *httpHead {
	if y.firstT.Before(x.firstT) {
		x, y = y, x
	}
	if y.ends[0] != x.ends[0] {
		y.flip()
	}
	x.lastT = maxTime(x.lastT, y.lastT)
	x.span[0].join(y.span[0])
	x.span[1].join(y.span[1])
	h.appendHead(x, y.segs, y.full)
	h.dropHead(y)
	return x
}

// appendHead adds segs to hd, within its bounds.
func (h *httpDetector) appendHead(hd *httpHead, segs []httpHeadSeg, full bool) {
	if hd.full {
		return
	}
	if full || len(hd.segs)+len(segs) > httpHeadSegs {
		h.dropHead(hd)
		hd.full = true
		return
	}
	for _, s := range segs {
		n := min(len(s.data), httpHeadBytes-hd.bytes)
		s.data = s.data[:n]
		hd.bytes += n
		h.bounds.headBytes += n
		hd.segs = append(hd.segs, s)
	}
}

// joinConns joins e, the state of a connection at the end of a part, with
// l, the state the next part kept of it.
func (h *httpDetector) joinConns(e, l *httpConn) *httpConn {
	if l.ends[0] != e.ends[0] {
		// The parts guessed the client differently (no handshake
		// told them): number l's directions as e's.
		l.flip()
	}
	if !l.joined {
		// l saw the connection begin with a handshake: the whole pass
		// started afresh there too.
		h.release(e)
		h.dropHead(e.head)
		l.firstT = minTime(e.firstT, l.firstT)
		return l
	}
	// What l could not parse goes through e's parser, for the directions
	// e knows; the rest stays a head for a part before e. The requests
	// go first: l's own requests, which it kept waiting, follow them in
	// the queue, before the answers are read.
	req := 0
	if e.dir[1].role == roleRequests || e.dir[0].role == roleResponses || l.dir[1].role == roleRequests {
		req = 1
	}
	var rest []httpHeadSeg
	replay := func(dir int) {
		hd := l.head
		if hd == nil {
			return
		}
		if hd.full && e.dir[dir].started && !e.dir[dir].skipHead(hd.span[dir]) {
			h.misfits++
		}
		for i := range hd.segs {
			if s := &hd.segs[i]; int(s.dir) == dir {
				if e.dir[dir].started {
					h.segment(e, dir, hd.packet(s))
				} else {
					rest = append(rest, *s)
				}
			}
		}
	}
	replay(req)
	shift := e.nextID
	l.eachReq(func(q *pendingReq) {
		if q.id != 0 {
			q.id += shift
		}
	})
	own := len(e.pending) // e's requests, before l's
	e.pending = append(e.pending, l.pending...)
	queued := len(e.pending)
	replay(1 - req)
	// Answers l found no request for answer e's waiting ones, when e
	// read its answers (or began with the connection) and none of e's
	// waits; else they wait, late, for a part before e, or for settle
	// when there is none.
	var left []httpOrphan
	consume := (!e.joined || e.dir[1-req].started) && !slices.ContainsFunc(e.orphans, func(o httpOrphan) bool { return o.late })
	lastFate, lastQ := 0, pendingReq{} // l's last orphan: 0 kept, 1 answered, 2 dropped
	for i, o := range l.orphans {
		fate := 0
		switch {
		case !consume:
			o.late = true
			left = append(left, o)
		case len(e.pending) > 0:
			q := e.pending[0]
			e.pending = e.pending[1:]
			h.answer(q, o)
			fate, lastQ = 1, q
		case e.joined:
			left = append(left, o)
		default:
			fate = 2
		}
		if i == len(l.orphans)-1 {
			lastFate = fate
		}
	}
	if own > queued-len(e.pending) && l.popped > 0 {
		// Requests pipelined across the cut: l matched answers to its
		// own requests that answered e's.
		h.misfits++
	}
	slices.SortStableFunc(rest, func(x, y httpHeadSeg) int { return x.t.Compare(y.t) })

	m := *l
	for d := range 2 {
		ld, ed := &l.dir[d], &e.dir[d]
		if !ld.started {
			h.bounds.lineBytes -= cap(ld.line)
			m.dir[d] = *ed
			continue
		}
		if !ld.fresh && ed.started && !ed.atStart(ld.startSeq) {
			h.misfits++
		}
		h.bounds.lineBytes -= cap(ed.line)
		ed.line = nil
	}
	if !l.dir[req].started {
		m.cur, m.bodyCheck = e.cur, e.bodyCheck
	}
	if !l.dir[1-req].started {
		m.passwdCheck, m.checkBuf, m.answering = e.passwdCheck, e.checkBuf, e.answering
		m.orphanCheck, m.orphanHeaders = e.orphanCheck, e.orphanHeaders
	}
	m.nextID = e.nextID + l.nextID
	m.pending = slices.Clone(e.pending)
	if n := len(m.pending); n > httpMaxPending {
		m.pending = m.pending[n-httpMaxPending:]
	}
	m.orphans = append(slices.Clone(e.orphans), left...)
	if len(m.orphans) > httpMaxPending {
		m.orphans, lastFate = m.orphans[:httpMaxPending], 2
	}
	if l.dir[1-req].started && lastFate != 0 {
		// The answer whose headers or body l was reading is no orphan
		// any more: read on as for an answer matched to its request.
		if lastFate == 1 {
			if l.orphanCheck && lastQ.traversal {
				m.passwdCheck, m.checkBuf = true, lastQ
			}
			if l.orphanHeaders && lastQ.cred {
				m.answering = lastQ
			}
		}
		m.orphanCheck, m.orphanHeaders = false, false
	}
	m.joined = e.joined
	m.head = e.head
	if len(rest) > 0 || l.head != nil && l.head.full {
		if m.head == nil {
			m.head = &httpHead{ends: l.head.ends, firstT: l.head.firstT}
		}
		m.head.lastT = maxTime(m.head.lastT, l.head.lastT)
		h.appendHead(m.head, rest, l.head.full)
	}
	if l.head != nil {
		h.dropHead(l.head)
	}
	m.popped = e.popped + l.popped
	m.firstT, m.lastT = minTime(e.firstT, l.firstT), maxTime(e.lastT, l.lastT)
	m.seen = max(e.seen, l.seen)
	m.fin |= e.fin
	m.reset = m.reset || e.reset
	return &m
}

// atStart reports whether the direction stands where a message may start
// at sequence number seq: between messages (or lost, looking for one),
// with no bytes before seq still to come.
func (d *httpDir) atStart(seq uint32) bool {
	switch {
	case d.state == httpLost:
	case d.state == httpIdle && len(d.line) == 0 && !d.overlong && !d.lineDropped:
	default:
		return false
	}
	return !d.synced || int32(seq-d.next) >= 0
}

// answer matches an answer the next part saw to req, the request it
// answered, as the parser would have had it seen both.
func (h *httpDetector) answer(req pendingReq, o httpOrphan) {
	h.response(req, o.code, o.t)
	if req.head && !o.noBody && o.length > 0 {
		// The next part skipped a body a HEAD answer does not have.
		h.misfits++
	}
	if req.cred && o.ended {
		length := o.length
		if o.noBody || req.head {
			length = 0
		}
		req.pair.creds().answer(o.code, length)
	}
	if req.traversal && o.code >= 200 && o.code < 300 && o.passwd {
		req.pair.passwdLeaks++
	}
}

// settle answers, once every part is merged, the answers a merge left
// waiting for a part before theirs (late): there is none, so they answer
// the requests their connection kept waiting, in order. It runs once,
// before the state is read.
func (h *httpDetector) settle() {
	h.settled.Do(func() {
		for _, c := range h.conns {
			kept := c.orphans[:0]
			for _, o := range c.orphans {
				switch {
				case !o.late:
					kept = append(kept, o)
				case len(c.pending) > 0:
					q := c.pending[0]
					c.pending = c.pending[1:]
					h.answer(q, o)
				}
			}
			c.orphans = kept
		}
	})
}

// flip swaps the two directions of c.
func (c *httpConn) flip() {
	c.dir[0], c.dir[1] = c.dir[1], c.dir[0]
	c.ends[0], c.ends[1] = c.ends[1], c.ends[0]
	c.fin = c.fin>>1&1 | c.fin&1<<1
	if c.head != nil {
		c.head.flip()
	}
}

// flip swaps the two directions of hd.
func (hd *httpHead) flip() {
	hd.ends[0], hd.ends[1] = hd.ends[1], hd.ends[0]
	hd.span[0], hd.span[1] = hd.span[1], hd.span[0]
	for i := range hd.segs {
		hd.segs[i].dir ^= 1
	}
}

// skipHead takes the sequence range s, what a later part saw of this
// direction before it found a message start and could not keep, as bytes
// the capture lacks: exact when they all lie in the body this direction is
// reading (a download that crosses a cut), as the parser skips bytes a
// capture misses. It reports whether the direction still knows where it
// stands.
func (d *httpDir) skipHead(s seqSpan) bool {
	if !s.have {
		return true
	}
	if !d.synced || int32(s.first-d.next) < 0 {
		return false
	}
	n := int64(s.end - d.next)
	if !d.skipMissing(n) {
		return false
	}
	d.next = s.end
	return true
}
