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
// each from its own first packets: a ClientHello in one file and the
// ServerHello in the next are listed without the server's answer, and a
// hello cut by the file boundary is unreadable in the first file.
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
	for _, t := range [2]*tlsAnalyzer{d, o} {
		for f, cn := range t.conns {
			if g := c.Lookup(f); g != nil {
				f = g
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
