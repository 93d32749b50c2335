package detectors

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// What the HTTP detector keeps of "the first few" (sample paths, user
// agents, ports, ...) is the few EARLIEST by packet time, ties broken by
// the value, not the first to arrive: parts of a capture read apart and
// merged (merge_http.go) then keep what one pass over every packet keeps,
// whatever part is merged into which.

// timed is a value and the time of the packet it was first seen in.
type timed[T cmp.Ordered] struct {
	t time.Time
	v T
}

func compareTimed[T cmp.Ordered](a, b timed[T]) int {
	return cmp.Or(a.t.Compare(b.t), cmp.Compare(a.v, b.v))
}

// timedList holds at most n values, the earliest by (time, value), in
// that order. A distinct list holds each value once, at its earliest time.
type timedList[T cmp.Ordered] []timed[T]

// add offers v seen at t to a list of at most n; it reports whether v is
// newly held (not held before, and among the n earliest).
func (l *timedList[T]) add(t time.Time, v T, n int, distinct bool) bool {
	if distinct {
		if i := slices.IndexFunc(*l, func(e timed[T]) bool { return e.v == v }); i >= 0 {
			if t.Before((*l)[i].t) {
				*l = slices.Delete(*l, i, i+1)
				l.insert(timed[T]{t, v}, n)
			}
			return false
		}
	}
	return l.insert(timed[T]{t, v}, n)
}

func (l *timedList[T]) insert(e timed[T], n int) bool {
	i, _ := slices.BinarySearchFunc(*l, e, compareTimed[T])
	if i >= n {
		return false
	}
	*l = slices.Insert(*l, i, e)
	if len(*l) > n {
		*l = (*l)[:n]
	}
	return true
}

// admits reports whether a value seen at t may be among the n earliest:
// a caller skips making a sample string that would not be kept.
func (l timedList[T]) admits(t time.Time, n int) bool {
	return len(l) < n || !t.After(l[len(l)-1].t)
}

// merge folds o into l: the n earliest of both.
func (l *timedList[T]) merge(o timedList[T], n int, distinct bool) {
	for _, e := range o {
		l.add(e.t, e.v, n, distinct)
	}
}

// values returns the values in order; nil when empty.
func (l timedList[T]) values() []T {
	if len(l) == 0 {
		return nil
	}
	out := make([]T, len(l))
	for i, e := range l {
		out[i] = e.v
	}
	return out
}

// has reports whether v is held.
func (l timedList[T]) has(v T) bool {
	return slices.ContainsFunc(l, func(e timed[T]) bool { return e.v == v })
}

// httpHash hashes a path, a Host value or a credential for the distinct
// counts. It is the same in every process (a random seed per detector
// would make the parts of a split capture count one path twice), and
// SHA-256 so that crafted paths cannot collide to hide from the counts.
func httpHash(b []byte) uint64 {
	s := sha256.Sum256(b)
	return binary.LittleEndian.Uint64(s[:8])
}

// sample offers s, seen at t, to one of pr's sample lists of
// httpMaxSamples, counting its text when kept.
func (h *httpDetector) sample(pr *httpPair, l *timedList[string], t time.Time, s string, distinct bool) {
	if l.add(t, s, httpMaxSamples, distinct) {
		h.text(pr, s)
	}
}

// keepAgent puts a new user agent among the pair's counted ones, which
// are the httpMaxAgents earliest (first time, then text): a later one
// past the bound is not counted, an earlier one (a packet out of time
// order) takes the latest one's place. It reports whether a is kept.
func (pr *httpPair) keepAgent(a *httpAgent) bool {
	if len(pr.agents) >= httpMaxAgents {
		var last *httpAgent
		for _, b := range pr.agents {
			if last == nil || compareAgents(b, last) > 0 {
				last = b
			}
		}
		if compareAgents(a, last) > 0 {
			return false
		}
		delete(pr.agents, last.ua)
	}
	pr.agents[a.ua] = a
	return true
}

func compareAgents(a, b *httpAgent) int {
	return cmp.Or(a.first.Compare(b.first), cmp.Compare(a.ua, b.ua))
}

// agentList returns the pair's counted user agents, earliest first.
func (pr *httpPair) agentList() []*httpAgent {
	out := make([]*httpAgent, 0, len(pr.agents))
	for _, a := range pr.agents {
		out = append(out, a)
	}
	slices.SortFunc(out, compareAgents)
	return out
}
