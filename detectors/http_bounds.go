package detectors

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
)

// The HTTP detector's memory is bounded by HTTPConfig: the connections
// followed at once, the bytes of partial lines they buffer, the (source,
// server) pairs counted and the distinct hashes those pairs hold. A
// table that fills drops its least useful quarter at once, so a flood
// costs a sort every quarter of the bound, not a scan per packet:
//
//   - connections: the finished (FIN both ways, or RST) first, then the
//     longest idle. A dropped connection that sends again starts afresh
//     at its next request line; the answers its pending requests were
//     waiting for go unmatched.
//   - pairs: those without a hostile signal first, the least active
//     among them; a pair dropped early that asks again is counted afresh.
//   - distinct hashes: past the bound no set grows beyond a floor that
//     stays well above the thresholds, so the counts turn lower bounds
//     (and say so) instead of memory growing.

// httpBounds holds the bounds and what they dropped.
type httpBounds struct {
	maxConns     int `partial:"-"`
	maxLineBytes int `partial:"-"`
	maxPairs     int `partial:"-"`
	maxDistinct  int `partial:"-"`
	maxPairBytes int `partial:"-"` // httpMaxPairBytes, a field for tests
	// distinctFloor is how many members every set may hold whatever the
	// budget: past PathThreshold, so a capped set still judges.
	distinctFloor int `partial:"-"`
	lineBytes     int // capacity of every partial-line buffer held
	headBytes     int // payload bytes the heads hold (http_heads.go), in the same budget
	distinct      int // hashes held by every pair's path, host and credential sets
	pairBytes     int // what every pair keeps: httpPairBase each, and its text

	evictedConns    int64 // connections dropped before they finished
	linesDropped    int64 // split lines not read for the line budget
	distinctFull    bool  // the distinct budget was reached
	evictedPairs    int64
	evictedRequests int64 // the requests the dropped pairs had counted
	evictedHostile  int64 // dropped pairs that had a hostile signal
}

func newHTTPBounds(cfg HTTPConfig) httpBounds {
	return httpBounds{
		maxConns:      cmp.Or(cfg.MaxConnections, 16_384),
		maxPairBytes:  httpMaxPairBytes,
		maxLineBytes:  cmp.Or(cfg.MaxBufferedBytes, 64<<20),
		maxPairs:      cmp.Or(cfg.MaxPairs, 50_000),
		maxDistinct:   cmp.Or(cfg.MaxDistinct, 4_000_000),
		distinctFloor: max(64, 4*cfg.PathThreshold),
	}
}

// httpPairBase is what a pair costs before its text: the struct and its
// small maps.
const httpPairBase = 1 << 10

// httpMaxPairBytes bounds what the pairs keep together (httpPairBase
// each, and the text of their samples, user agents, hosts and paths):
// past it the least significant pairs are dropped as past MaxPairs. A
// pair keeps at most about 50 KiB of text, so a flood of pairs each
// filled to the brim would otherwise take gigabytes.
const httpMaxPairBytes = 192 << 20

// text counts s as kept by pr, and returns it.
func (h *httpDetector) text(pr *httpPair, s string) string {
	pr.bytes += len(s)
	h.bounds.pairBytes += len(s)
	return s
}

// addDistinct adds k to one of pr's sets, within the budget over every
// pair, and reports whether it was new and kept.
func (h *httpDetector) addDistinct(s *cappedSet[uint64], k uint64) bool {
	b := &h.bounds
	if b.distinct >= b.maxDistinct && s.max > b.distinctFloor && s.len() >= b.distinctFloor {
		s.max = s.len()
		b.distinctFull = true
	}
	if !s.add(k) {
		return false
	}
	b.distinct++
	return true
}

// distinctRoom reports whether a set that holds n members may take one
// more under the budget (for the host set, which is not a cappedSet).
func (h *httpDetector) distinctRoom(n int) bool {
	b := &h.bounds
	if b.distinct < b.maxDistinct || n < b.distinctFloor {
		return true
	}
	b.distinctFull = true
	return false
}

// hostile reports whether a pair holds a signal that can make it a
// finding beyond volume.
func (pr *httpPair) hostile() bool {
	return pr.scannerReqs > 0 || pr.sqli+pr.trav+pr.xss > 0 || pr.enumReqs > 0 || pr.cred != nil ||
		pr.exposedReqs > 0 || pr.otherMethods > 0 || pr.hostN > 1
}

// distinctHeld is how many hashes pr's sets hold.
func (pr *httpPair) distinctHeld() int {
	n := pr.paths.len() + len(pr.hostSet)
	if pr.cred != nil {
		n += pr.cred.distinct.len()
	}
	return n
}

// evictPairs drops the least significant quarter of the pairs.
func (h *httpDetector) evictPairs() {
	n := max(1, len(h.order)/4)
	ranked := slices.Clone(h.order)
	rank := func(pr *httpPair) int64 {
		r := pr.requests + pr.otherMethods
		if pr.hostile() {
			r += 1 << 40
		}
		return r
	}
	slices.SortStableFunc(ranked, func(x, y *httpPair) int { return cmp.Compare(rank(x), rank(y)) })
	b := &h.bounds
	for _, pr := range ranked[:n] {
		pr.evicted = true
		b.evictedPairs++
		b.evictedRequests += pr.requests
		if pr.hostile() {
			b.evictedHostile++
		}
		b.distinct -= pr.distinctHeld()
		b.pairBytes -= pr.bytes
		delete(h.pairs, httpPairKey{pr.src, pr.dst})
	}
	h.order = slices.DeleteFunc(h.order, func(pr *httpPair) bool { return pr.evicted })
}

// evictConns drops a quarter of the connections: finished ones first,
// then the longest idle.
func (h *httpDetector) evictConns() {
	type entry struct {
		key  *capture.Flow
		c    *httpConn
		rank int64
	}
	all := make([]entry, 0, len(h.conns))
	for k, c := range h.conns {
		r := int64(c.seen)
		if c.done() {
			r -= 1 << 62
		}
		all = append(all, entry{k, c, r})
	}
	slices.SortFunc(all, func(x, y entry) int { return cmp.Compare(x.rank, y.rank) })
	for _, e := range all[:max(1, len(all)/4)] {
		if !e.c.done() {
			h.bounds.evictedConns++
		}
		h.release(e.c)
		delete(h.conns, e.key)
	}
}

// release returns the line buffers of c to the budget.
func (h *httpDetector) release(c *httpConn) {
	for i := range c.dir {
		h.bounds.lineBytes -= cap(c.dir[i].line)
		c.dir[i].line = nil
	}
}

// keep appends b to the partial line of d, up to httpMaxLine bytes and
// within the line budget over every connection: a line the budget
// cannot hold is dropped whole (see httpDir.lineDropped).
func (h *httpDetector) keep(d *httpDir, b []byte) {
	if d.lineDropped {
		return
	}
	room := httpMaxLine - len(d.line)
	if len(b) > room {
		b = b[:room]
		d.overlong = true
	}
	if need := len(d.line) + len(b); need > cap(d.line) {
		newCap := min(httpMaxLine, max(256, 2*need))
		if h.bounds.lineBytes-cap(d.line)+newCap > h.bounds.maxLineBytes {
			h.bounds.linesDropped++
			h.bounds.lineBytes -= cap(d.line)
			d.line, d.lineDropped, d.overlong = nil, true, true
			return
		}
		grown := make([]byte, len(d.line), newCap)
		copy(grown, d.line)
		h.bounds.lineBytes += newCap - cap(d.line)
		d.line = grown
	}
	d.line = append(d.line, b...)
}

// warnings says what the bounds dropped.
func (h *httpDetector) warnings() []string {
	var out []string
	b := &h.bounds
	if b.evictedConns > 0 {
		out = append(out, fmt.Sprintf("HTTP: %d unfinished connections were dropped past the bound of %d followed at once (HTTPConfig.MaxConnections), the longest idle first; requests they sent later were still counted",
			b.evictedConns, b.maxConns))
	}
	if b.linesDropped > 0 {
		out = append(out, fmt.Sprintf("HTTP: %d header or request lines split across segments were not read: the buffered bytes reached %d (HTTPConfig.MaxBufferedBytes)",
			b.linesDropped, b.maxLineBytes))
	}
	if b.evictedPairs > 0 {
		out = append(out, fmt.Sprintf("HTTP: %d (source, server) pairs with %d requests were dropped past the bound of %d (HTTPConfig.MaxPairs) or of %s kept for them, the least active without a hostile signal first (%d had one)",
			b.evictedPairs, b.evictedRequests, b.maxPairs, humanize.Bytes(b.maxPairBytes), b.evictedHostile))
	}
	if b.distinctFull {
		out = append(out, fmt.Sprintf("HTTP: the distinct paths, hosts and credentials of every pair reached %d hashes (HTTPConfig.MaxDistinct); past %d per pair the counts are lower bounds",
			b.maxDistinct, b.distinctFloor))
	}
	if h.misfits > 0 {
		out = append(out, fmt.Sprintf("HTTP: %d connections cut between the files or parts of the capture could not be joined exactly (a segment retransmitted across the cut, requests pipelined across it, or more than %d segments before a part found its place); their answers may be matched to the wrong requests",
			h.misfits, httpHeadSegs))
	}
	return out
}
