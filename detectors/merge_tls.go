package detectors

import (
	"slices"

	"github.com/agents-of-shield/reconpcap/capture"
)

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture. The counts add up; the kept handshakes are the max
// earliest of both lists (handshakeOrder), as one pass keeps them; the
// connections still being read move under the flow c holds for them.
//
// A connection two parts both saw (a capture cut into files) is read by
// each from its own first packets. A ClientHello in one file and its
// ServerHello at the start of the server's bytes in the next are joined
// (joinAnswers). Two cuts are not: a hello cut in two by the boundary is
// unreadable in the first file and not read in the second, and a
// certificate that follows its ServerHello into the next file is not
// read; either costs at most the connections open at the boundary.
func (d *tlsAnalyzer) merge(o *tlsAnalyzer, c *capture.Capture) {
	d.stats.ClientHellos += o.stats.ClientHellos
	d.stats.ServerHellos += o.stats.ServerHellos
	d.stats.Certificates += o.stats.Certificates
	d.stats.Unreadable += o.stats.Unreadable
	d.stats.Skipped += o.stats.Skipped
	kept := make([]*TLSHandshake, 0, min(d.max, len(d.kept)+len(o.kept)))
	i, j := 0, 0
	for len(kept) < d.max && (i < len(d.kept) || j < len(o.kept)) {
		if j == len(o.kept) || i < len(d.kept) && handshakeOrder(d.kept[i], o.kept[j]) <= 0 {
			kept = append(kept, d.kept[i])
			i++
		} else {
			kept = append(kept, o.kept[j])
			j++
		}
	}
	d.kept = slices.Clip(kept)
	if len(kept) == 0 {
		d.kept = nil // as a pass that kept none
	}
	d.stats.Kept = len(d.kept)
	d.stats.Dropped = d.stats.ClientHellos - int64(len(d.kept))

	conns := make(map[*capture.Flow]*tlsConn, len(d.conns)+len(o.conns))
	answers := make(map[*capture.Flow]*TLSHandshake, len(d.answers)+len(o.answers))
	answer := func(f *capture.Flow, hs *TLSHandshake) {
		if a := answers[f]; a == nil || hs.Time.Before(a.Time) {
			answers[f] = hs
		}
	}
	for _, t := range [2]*tlsAnalyzer{d, o} {
		for f, hs := range t.answers {
			if g := c.Lookup(f); g != nil {
				f = g
			}
			answer(f, hs)
		}
		for f, cn := range t.conns {
			if g := c.Lookup(f); g != nil {
				f = g
			}
			if cn.answer {
				// Nothing more comes after a merge: what the server's
				// side said so far is the answer.
				if cn.hs.ServerHello {
					answer(f, cn.hs)
				}
				cn = t.closed
			}
			if cn == t.closed {
				cn = d.closed
			} else {
				cn.flow = f
			}
			mine, ok := conns[f]
			if ok && connRank(d, mine) >= connRank(d, cn) {
				cn, mine = mine, cn
			}
			conns[f] = cn
			if ok && mine != d.closed && mine.hs == nil {
				// Two hellos on one 5-tuple, one never read whole: the
				// later SYN would have closed the first, counting it.
				d.stats.Unreadable++
			}
		}
	}
	d.conns = conns
	d.answers = answers
	d.joinAnswers()
	d.open = 0
	for _, cn := range conns {
		if cn.open {
			d.open++
		}
	}
}

// connRank orders what two parts know of one connection: being read
// (pending) above read (hs) above closed, so the one that says more is
// the one kept.
func connRank(t *tlsAnalyzer, c *tlsConn) int {
	switch {
	case c == t.closed:
		return 0
	case c.hs != nil:
		return 1
	}
	return 2
}

// joinAnswers gives each handshake whose ClientHello was read and whose
// server had not answered yet the answer another part read (the
// ServerHello in the next file of a rotated capture), as one pass over
// both would have read it.
func (t *tlsAnalyzer) joinAnswers() {
	for f, cn := range t.conns {
		a := t.answers[f]
		if a == nil || cn == t.closed || cn.hs == nil || cn.hs.ServerHello || cn.dir[1].started || a.Time.Before(cn.hs.Time) {
			continue
		}
		hs := cn.hs
		hs.ServerHello, hs.HelloRetry = true, a.HelloRetry
		hs.ChosenVersion, hs.ChosenSuite, hs.ServerALPN = a.ChosenVersion, a.ChosenSuite, a.ServerALPN
		hs.JA3S, hs.JA3SHash, hs.Certificate = a.JA3S, a.JA3SHash, a.Certificate
		t.stats.ServerHellos++
		if a.Certificate != nil {
			t.stats.Certificates++
		}
		cn.dir[1].started = true // answered: a later part's answer is not this one's
		delete(t.answers, f)
	}
}
