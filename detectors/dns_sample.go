package detectors

import "cmp"

// A pair's or a domain's name statistics are sums over the names its
// sample (nameSet) holds now, not over every name it ever took: each
// sampled name keeps its own packed measurement, taken back out when the
// sample drops the name, and counted once when two parts' samples both
// hold it. So the statistics of a merged sample are those one pass gives
// (the sample is: see nameSet.merge), and a uniform sample of names gives
// unbiased means and shares. Maxima of lengths are over every query (a
// long label cannot fall out of a sample); the highest entropy is over
// the sample, as the mean is.

// entropyScale is the fixed point of a measured entropy: integer sums
// add up to the same total in any order, which float sums do not.
const entropyScale = 1 << 24

// nameStat is what one sampled name contributes to a nameAgg, packed (a
// sample holds up to DNSConfig.MaxSampledNames of them).
type nameStat struct {
	// first is the time of the name's first query the sample saw
	// (UnixNano): when two parts measured one name differently (its case
	// differs), the earlier query's measurement is kept, as one pass does.
	first                                       int64
	entropy                                     uint32 // bits per character × entropyScale
	labels, labelChars, encodedLabels, encChars uint16
	enc                                         uint8
	flags                                       uint8 // statReversedIP, statEmbedded, statData
}

const (
	statReversedIP = 1 << iota
	statEmbedded
	statData
)

func sat16(n int) uint16 { return uint16(min(n, 1<<16-1)) }

// packStat packs st, measured on a query at time first (UnixNano).
func packStat(st *nameStats, first int64) nameStat {
	s := nameStat{
		first: first, entropy: uint32(st.entropy*entropyScale + 0.5),
		labels: sat16(st.labels), labelChars: sat16(st.labelChars), encodedLabels: sat16(st.encoded), encChars: sat16(st.encodedChars),
		enc: st.enc,
	}
	if st.reversedIP {
		s.flags |= statReversedIP
	}
	if st.embedsDomain {
		s.flags |= statEmbedded
	}
	if st.maxLabel >= dnsDataLabelLen || st.encodedChars >= dnsDataLabelLen {
		s.flags |= statData
	}
	return s
}

// before orders two measurements of one name: the earlier query's first,
// then by content, so that the choice never depends on arrival.
func (s nameStat) before(o nameStat) bool {
	return cmp.Or(cmp.Compare(s.first, o.first), cmp.Compare(s.entropy, o.entropy), cmp.Compare(s.labels, o.labels),
		cmp.Compare(s.labelChars, o.labelChars), cmp.Compare(s.encodedLabels, o.encodedLabels), cmp.Compare(s.encChars, o.encChars),
		cmp.Compare(s.enc, o.enc), cmp.Compare(s.flags, o.flags)) < 0
}

// nameAgg accumulates the statistics of the distinct names of a pair or
// a domain (those with a subdomain part).
type nameAgg struct {
	set   nameSet             // the distinct names, sampled past its capacity
	stats map[uint64]nameStat // the measurement of each name in set
	// measured is len(stats); the sums below are over stats.
	measured      int64
	labels        int64
	labelChars    int64
	entropySum    int64 // × entropyScale
	encodedNames  int64 // names with at least one encoded-looking label
	encodedLabels int64
	reversedIP    int64
	embedded      int64           // names with embedsDomain
	dataNames     int64           // names filled with data: see dnsDataLabelLen
	encodedChars  int64           // characters of encoded labels
	encodings     [encCount]int64 // names with a label of each encoding
	// entropyMax is the highest entropy in stats (bits per character).
	entropyMax float64
	// maxLabel, maxNameLen and longestName are over every query: the
	// longest name, the smallest of equals, in its case, cut at 255 bytes.
	maxLabel    int
	maxNameLen  int
	longestName string
}

// unique is the number of distinct names (an estimate once sampled).
func (g *nameAgg) unique() int64 { return g.set.estimate() }

// count counts a query for h (see nameSet.add), dropping the
// measurements of the names the sample drops.
func (g *nameAgg) count(h uint64, floor uint8, capacity int) (isNew bool, delta int) {
	level := g.set.level
	isNew, delta = g.set.add(h, floor, capacity)
	if g.set.level != level {
		g.prune()
	}
	return isNew, delta
}

// raise raises the sample's level (see nameSet.raise).
func (g *nameAgg) raise(level uint8) int {
	n := g.set.raise(level)
	if n > 0 {
		g.prune()
	}
	return n
}

// observe takes a query's name (its subdomain is sub) into the maxima.
func (g *nameAgg) observe(name, sub []byte) {
	g.maxLabel = max(g.maxLabel, maxLabelLen(sub))
	g.longest(len(name), name[:min(len(name), 255)])
}

// longest keeps the longer name, or the smaller of two as long.
func (g *nameAgg) longest(n int, name []byte) {
	// A name on the wire is at most 255 bytes, but the decoder does not
	// hold every packet to it: keep no more.
	if n > g.maxNameLen || n == g.maxNameLen && n > 0 && string(name) < g.longestName {
		g.maxNameLen = n
		g.longestName = string(name)
	}
}

// take adds the measurement of h, a name the sample holds and has not
// measured.
func (g *nameAgg) take(h uint64, s nameStat) {
	if g.stats == nil {
		g.stats = make(map[uint64]nameStat, 8)
	}
	g.stats[h] = s
	g.sum(s, 1)
	g.entropyMax = max(g.entropyMax, float64(s.entropy)/entropyScale)
}

// sum adds s to the sums (sign 1), or takes it out (-1).
func (g *nameAgg) sum(s nameStat, sign int64) {
	g.measured += sign
	g.labels += sign * int64(s.labels)
	g.labelChars += sign * int64(s.labelChars)
	g.entropySum += sign * int64(s.entropy)
	if s.encodedLabels > 0 {
		g.encodedNames += sign
	}
	g.encodedLabels += sign * int64(s.encodedLabels)
	for k := range g.encodings {
		if s.enc&(1<<k) != 0 {
			g.encodings[k] += sign
		}
	}
	if s.flags&statReversedIP != 0 {
		g.reversedIP += sign
	}
	if s.flags&statEmbedded != 0 {
		g.embedded += sign
	}
	if s.flags&statData != 0 {
		g.dataNames += sign
	}
	g.encodedChars += sign * int64(s.encChars)
}

// prune drops the measurements of the names the sample no longer holds.
func (g *nameAgg) prune() {
	var top uint32
	for h, s := range g.stats {
		if _, ok := g.set.seen[h]; !ok {
			g.sum(s, -1)
			delete(g.stats, h)
			continue
		}
		top = max(top, s.entropy)
	}
	g.entropyMax = float64(top) / entropyScale
}

// merge folds o, the same pair's or domain's names in other packets,
// into g, at a level of at least floor; it returns by how much the
// sample's size changed.
func (g *nameAgg) merge(o *nameAgg, floor uint8, capacity int) int {
	delta := g.set.merge(&o.set, floor, capacity)
	g.prune()
	for h, s := range o.stats {
		if _, ok := g.set.seen[h]; !ok {
			continue
		}
		if mine, ok := g.stats[h]; ok {
			if !s.before(mine) {
				continue
			}
			g.sum(mine, -1)
			delete(g.stats, h)
		}
		g.take(h, s)
	}
	g.prune() // entropyMax of what is left
	g.maxLabel = max(g.maxLabel, o.maxLabel)
	g.longest(o.maxNameLen, []byte(o.longestName))
	return delta
}

func (g *nameAgg) meanLabel() float64 {
	if g.labels == 0 {
		return 0
	}
	return float64(g.labelChars) / float64(g.labels)
}

func (g *nameAgg) meanEntropy() float64 {
	if g.measured == 0 {
		return 0
	}
	return float64(g.entropySum) / entropyScale / float64(g.measured)
}

func (g *nameAgg) encodedShare() float64 {
	if g.measured == 0 {
		return 0
	}
	return float64(g.encodedNames) / float64(g.measured)
}

// maxLabelLen is the length of the longest label of a name.
func maxLabelLen(name []byte) int {
	best, n := 0, 0
	for _, c := range name {
		if c == '.' {
			best, n = max(best, n), 0
			continue
		}
		n++
	}
	return max(best, n)
}
