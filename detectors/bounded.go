package detectors

import (
	"cmp"
	"slices"
)

// prune keeps a map under its bound the way a heavy-hitters sketch does:
// when m holds more than max entries, every entry whose weight is at most
// the median weight is handed to drop, and prune returns a new map of the
// others (m otherwise). Entries that keep growing (a flood's target, a
// scanner) outweigh the ones that appear once (spoofed sources) and
// survive every pruning; the ones dropped are what drop folds into coarser
// totals. It frees at least half the map, so its cost (a sort of the
// weights) is spread over as many insertions; the survivors go to a new
// map because a map that is half emptied again and again fills with
// deleted slots that every lookup must step over.
func prune[K comparable, V any](m map[K]V, max int, weight func(V) uint64, drop func(K, V)) map[K]V {
	if len(m) <= max {
		return m
	}
	ws := make([]uint64, 0, len(m))
	for _, v := range m {
		ws = append(ws, weight(v))
	}
	slices.SortFunc(ws, cmp.Compare[uint64])
	cut := ws[len(ws)/2]
	kept := make(map[K]V, len(m)/2)
	for k, v := range m {
		if weight(v) <= cut {
			drop(k, v)
		} else {
			kept[k] = v
		}
	}
	return kept
}
