package detectors

// merge folds o, a sample of other queries drawn with the same seeded
// hash, into s, and keeps s within capacity at a level of at least floor.
// It returns by how much s's size changed.
//
// The merge is exact: a hash s keeps at the merged level passed every
// lower level, so both parts kept it from its first query and its count
// is the sum of theirs; a hash one part dropped is below that part's
// level, hence below the merged level too. The merged level is the
// lowest at which the union of the distinct hashes fits capacity, the
// level one pass over all the queries reaches (each part's level is at
// most that one). So merging in any order or grouping gives the set one
// pass gives, as long as the floor is the same.
func (s *nameSet) merge(o *nameSet, floor uint8, capacity int) (delta int) {
	if o == nil {
		return 0
	}
	n := len(s.seen)
	level := max(s.level, o.level, floor)
	s.raise(level)
	if s.seen == nil && len(o.seen) > 0 {
		s.seen = make(map[uint64]uint32, len(o.seen))
	}
	for h, c := range o.seen {
		if !sampledAt(h, level) {
			continue
		}
		s.queries += int64(c)
		m := s.seen[h]
		if sum := uint64(m) + uint64(c); sum < uint64(^uint32(0)) {
			s.seen[h] = uint32(sum)
		} else {
			s.seen[h] = ^uint32(0)
		}
	}
	for len(s.seen) > capacity && s.level < 63 {
		s.raise(s.level + 1)
	}
	return len(s.seen) - n
}
