package detectors

// merge folds o, a sample of other queries under the same hash key, into
// s, keeping s within capacity: the sample one pass over both sets of
// queries would hold. One pass ends at the lowest level (at least the
// floor each part was given) whose sample fits capacity, with every kept
// hash counted from its first query; a hash kept at the higher of the two
// levels was kept by both parts from their first query for it, so adding
// the counts and raising until the union fits gives that same level and
// those same counts, in whichever order parts merge.
func (s *nameSet) merge(o *nameSet, capacity int) {
	if o.level > s.level {
		s.raise(o.level)
	}
	for h, n := range o.seen {
		if !sampledAt(h, s.level) {
			continue
		}
		if s.seen == nil {
			s.seen = make(map[uint64]uint32, len(o.seen))
		}
		m := s.seen[h]
		sum := uint64(m) + uint64(n)
		s.seen[h] = uint32(min(sum, uint64(^uint32(0))))
		s.queries += int64(n)
	}
	for len(s.seen) > capacity && s.level < 63 {
		s.raise(s.level + 1)
	}
}
