package detectors

import (
	stdmaps "maps"
	"math/rand/v2"
	"testing"
)

// TestNameSetMerge checks that a set merged from parts, in any order and
// grouping, is the set one pass over every query gives, and that below
// its capacity it counts the distinct names exactly (a plain map says how
// many).
func TestNameSetMerge(t *testing.T) {
	tests := []struct {
		name      string
		distinct  int // distinct hashes drawn from
		queries   int
		capacity  int
		floor     uint8
		parts     int
		wantExact bool
	}{
		{"below capacity", 300, 2000, 1024, 0, 3, true},
		{"at capacity", 1024, 5000, 1024, 0, 3, true},
		{"sampled", 20000, 60000, 1024, 0, 5, false},
		{"floor", 500, 3000, 1024, 2, 4, false},
		{"one part empty", 50, 200, 64, 0, 7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tt.distinct)))
			pool := make([]uint64, tt.distinct)
			for i := range pool {
				pool[i] = r.Uint64()
			}
			var whole nameSet
			parts := make([]nameSet, tt.parts)
			truth := map[uint64]bool{}
			for range tt.queries {
				h := pool[r.IntN(len(pool))]
				truth[h] = true
				whole.add(h, tt.floor, tt.capacity)
				// The last part gets nothing: merging an empty part changes nothing.
				parts[r.IntN(max(1, tt.parts-1))].add(h, tt.floor, tt.capacity)
			}
			if tt.wantExact && whole.estimate() != int64(len(truth)) {
				t.Fatalf("one pass counts %d distinct, want %d", whole.estimate(), len(truth))
			}
			clone := func(s nameSet) *nameSet {
				s.seen = stdmaps.Clone(s.seen)
				return &s
			}
			orders := [][]int{}
			fwd, rev := make([]int, tt.parts), make([]int, tt.parts)
			for i := range tt.parts {
				fwd[i], rev[i] = i, tt.parts-1-i
			}
			orders = append(orders, fwd, rev, r.Perm(tt.parts))
			for _, order := range orders {
				m := clone(parts[order[0]])
				for _, i := range order[1:] {
					m.merge(clone(parts[i]), tt.floor, tt.capacity)
				}
				checkNameSet(t, "left fold", m, &whole)
			}
			// Grouped: (0 with 1) into (2 with 3 ...).
			a := clone(parts[0])
			a.merge(clone(parts[1]), tt.floor, tt.capacity)
			b := clone(parts[2])
			for _, p := range parts[3:] {
				b.merge(clone(p), tt.floor, tt.capacity)
			}
			b.merge(a, tt.floor, tt.capacity)
			checkNameSet(t, "grouped", b, &whole)
		})
	}
}

func checkNameSet(t *testing.T, how string, got, want *nameSet) {
	t.Helper()
	if got.level != want.level || got.queries != want.queries || !stdmaps.Equal(got.seen, want.seen) {
		t.Errorf("%s: merged set level %d, %d queries, %d hashes; one pass: level %d, %d queries, %d hashes",
			how, got.level, got.queries, len(got.seen), want.level, want.queries, len(want.seen))
	}
}
