package detectors

import (
	stdmaps "maps"
	"math/rand/v2"
	"testing"
)

// TestNameSetMerge deals queries (with repeats, skewed toward a few
// names) at random to parts, merges the parts' samples in a random order
// and grouping, and checks that the result is the sample one pass over
// every query holds: the same level, hashes, counts and query total.
func TestNameSetMerge(t *testing.T) {
	for _, tc := range []struct {
		name            string
		distinct, total int
		capacity, parts int
		floor           uint8
	}{
		{"exact, below capacity", 300, 2000, 1000, 3, 0},
		{"sampled", 20000, 60000, 512, 4, 0},
		{"sampled, many parts", 50000, 80000, 256, 9, 0},
		{"one part", 5000, 9000, 128, 1, 0},
		{"with a floor", 8000, 20000, 4096, 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.distinct)))
			names := make([]uint64, tc.distinct)
			for i := range names {
				names[i] = r.Uint64()
			}
			var whole nameSet
			parts := make([]*nameSet, tc.parts)
			for i := range parts {
				parts[i] = &nameSet{}
			}
			for range tc.total {
				// Half the queries ask one of the first 50 names again.
				h := names[r.IntN(len(names))]
				if r.IntN(2) == 0 {
					h = names[r.IntN(50)]
				}
				whole.add(h, tc.floor, tc.capacity)
				parts[r.IntN(len(parts))].add(h, tc.floor, tc.capacity)
			}
			for len(parts) > 1 {
				i, j := r.IntN(len(parts)), r.IntN(len(parts)-1)
				if j >= i {
					j++
				}
				parts[i].merge(parts[j], tc.capacity)
				parts = append(parts[:j], parts[j+1:]...)
			}
			got := parts[0]
			if got.level != whole.level || got.queries != whole.queries || len(got.seen) != len(whole.seen) {
				t.Errorf("merged: level %d, %d queries, %d hashes; one pass: %d, %d, %d", got.level, got.queries, len(got.seen), whole.level, whole.queries, len(whole.seen))
			}
			if !stdmaps.Equal(got.seen, whole.seen) {
				t.Errorf("merged hashes or counts differ from one pass's")
			}
			if len(got.seen) > tc.capacity {
				t.Errorf("%d hashes past the capacity %d", len(got.seen), tc.capacity)
			}
			if tc.name != "exact, below capacity" && !whole.sampled() {
				t.Errorf("the case was meant to sample: %d distinct at capacity %d", tc.distinct, tc.capacity)
			}
		})
	}
}
