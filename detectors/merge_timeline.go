package detectors

import "github.com/agents-of-shield/reconpcap/capture"

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture. Buckets add up slot by slot, both at the wider unit of
// the two. One pass widens its unit only when the distinct slots outgrow
// the bound, so it ends at the narrowest unit of the ladder whose slots
// fit; each part's unit is at most that one (a part holds fewer slots),
// and widening the sum until it fits reaches the same unit. New flows
// need nothing here: they are counted from the merged flow table when
// the timeline is cut.
func (d *timelineAnalyzer) merge(o *timelineAnalyzer, c *capture.Capture) {
	for d.unit < o.unit {
		d.coarsen()
	}
	oc := *o // o's buckets are widened on a copy of its header: o is not used again, but its map is
	for oc.unit < d.unit {
		oc.coarsen()
	}
	for s, b := range oc.buckets {
		mine := d.buckets[s]
		if mine == nil {
			cp := *b
			d.buckets[s] = &cp
			continue
		}
		mine.packets += b.packets
		mine.bytes += b.bytes
		mine.evicted += b.evicted
		for i, n := range b.protos {
			mine.protos[i] += n
		}
	}
	d.coarsened = max(d.coarsened, oc.coarsened)
	for len(d.buckets) > d.max {
		d.coarsen()
	}
	d.last = nil
}
