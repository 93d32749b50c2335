package detectors

// nameSet is a bounded distinct sample of name hashes. It is exact while
// it holds fewer than its capacity; past that it keeps only the hashes
// whose low level bits are zero, a uniform sample of one distinct name in
// 2^level (the hash is seeded, so the attacker who chooses the names
// cannot choose which are kept). The distinct count is then an estimate,
// len(seen) << level, and the share of queries asking for a name asked
// before is measured exactly within the sample: a name kept at the
// current level passed every lower level, so it was counted from its
// first query.
//
// This keeps a tunnel visible however many names it sends: a fixed
// cap would stop the distinct count while the query count goes on, and
// the names would look repeated.
type nameSet struct {
	seen    map[uint64]uint32 // sampled hash -> queries for it (saturating)
	level   uint8
	queries int64 // queries for the names in seen
}

// sampledAt reports whether h is kept at level.
func sampledAt(h uint64, level uint8) bool {
	return h&(uint64(1)<<level-1) == 0
}

// estimate is the number of distinct names (exact when level is 0).
func (s *nameSet) estimate() int64 {
	return int64(len(s.seen)) << s.level
}

// sampled says the distinct count is an estimate.
func (s *nameSet) sampled() bool { return s.level > 0 }

// uniqueShare is the share of the sampled queries that asked a name for
// the first time (1 when every query asked a new name).
func (s *nameSet) uniqueShare() float64 {
	if s.queries == 0 {
		return 0
	}
	return float64(len(s.seen)) / float64(s.queries)
}

// add counts a query for h, at a level of at least floor, and keeps the
// set within capacity. It reports whether h is a name the sample had
// not held (and still holds), and by how much the set's size changed.
func (s *nameSet) add(h uint64, floor uint8, capacity int) (isNew bool, delta int) {
	if s.level < floor {
		delta -= s.raise(floor)
	}
	if !sampledAt(h, s.level) {
		return false, delta
	}
	if s.seen == nil {
		s.seen = make(map[uint64]uint32, 8)
	}
	s.queries++
	if n, ok := s.seen[h]; ok {
		if n < ^uint32(0) {
			s.seen[h] = n + 1
		}
		return false, delta
	}
	s.seen[h] = 1
	delta++
	for len(s.seen) > capacity && s.level < 63 {
		delta -= s.raise(s.level + 1)
	}
	return sampledAt(h, s.level), delta
}

// raise drops the hashes not kept at level (and their queries), and
// returns how many it dropped.
func (s *nameSet) raise(level uint8) int {
	if level <= s.level {
		return 0
	}
	s.level = level
	n := len(s.seen)
	for h, c := range s.seen {
		if !sampledAt(h, level) {
			s.queries -= int64(c)
			delete(s.seen, h)
		}
	}
	return n - len(s.seen)
}
