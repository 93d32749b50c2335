package detectors

// cappedSet is a set that stops growing at max members and remembers that
// it did, so its size is then a lower bound. Every set a sender can grow
// without limit (a client's paths, its credentials) is one: memory follows
// the bound, never the attacker.
type cappedSet[K comparable] struct {
	m      map[K]struct{}
	max    int
	capped bool
}

func newCappedSet[K comparable](max int) cappedSet[K] {
	return cappedSet[K]{m: map[K]struct{}{}, max: max}
}

// add puts k in the set and reports whether it was new and kept; a new
// member past the bound is not kept, and the set is marked capped.
func (s *cappedSet[K]) add(k K) bool {
	if _, ok := s.m[k]; ok {
		return false
	}
	if len(s.m) >= s.max {
		s.capped = true
		return false
	}
	s.m[k] = struct{}{}
	return true
}

// len is the number of members kept: exact unless capped.
func (s *cappedSet[K]) len() int { return len(s.m) }
