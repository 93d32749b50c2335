package detectors

import (
	"cmp"
	"slices"

	"github.com/agents-of-shield/reconpcap/capture"
)

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture. Everything the summary keeps is a sum, a union or a
// minimum and maximum, so below the bounds merging gives what one pass
// gives; past them the tables are cut by the same rules as in a pass
// (the smallest folded first), which need not pick what one pass would.
func (d *summaryAnalyzer) merge(o *summaryAnalyzer, c *capture.Capture) {
	for i, n := range o.layers {
		d.layers[i] += n
	}
	d.ipv4 += o.ipv4
	d.ipv6 += o.ipv6
	mergeConvs(d.pairs, o.pairs)
	d.pairs = d.bounds.foldConvs(d.pairs)
	d.mergeNames(o)
	d.bounds.merge(o.bounds)
}

// mergeConvs adds the conversations of o to m.
func mergeConvs(m, o map[pairKey]*convAcc) {
	for k, a := range o {
		mine := m[k]
		if mine == nil {
			cp := *a
			m[k] = &cp
			continue
		}
		mine.sentAt(a.first, a.start)
		for d := range 2 {
			mine.packets[d] += a.packets[d]
			mine.bytes[d] += a.bytes[d]
		}
		mine.flows += a.flows
		mine.last = maxTime(mine.last, a.last)
	}
}

// mergeNames adds o's query counts per name to d's. Past maxDNSNames the
// names asked least (then the last in order) are the ones left out, so
// the result does not depend on the order of merging.
func (d *summaryAnalyzer) mergeNames(o *summaryAnalyzer) {
	for n, k := range o.dnsNames {
		d.dnsNames[n] += k
	}
	d.dnsOver += o.dnsOver
	if len(d.dnsNames) <= maxDNSNames {
		return
	}
	names := make([]NameCount, 0, len(d.dnsNames))
	for n, k := range d.dnsNames {
		names = append(names, NameCount{Name: n, Count: k})
	}
	slices.SortFunc(names, func(x, y NameCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Name, y.Name))
	})
	for _, nc := range names[maxDNSNames:] {
		delete(d.dnsNames, nc.Name)
		d.dnsOver += nc.Count
	}
}

// merge folds o's bounded state into b's.
func (b *summaryBounds) merge(o *summaryBounds) {
	b.evicted += o.evicted
	b.foldedConvs += o.foldedConvs
	b.droppedHosts += o.droppedHosts
	b.droppedPkts += o.droppedPkts
	for k, pc := range o.ports {
		mine := b.ports[k]
		if mine == nil {
			cp := *pc
			b.ports[k] = &cp
			continue
		}
		mine.Flows += pc.Flows
		mine.Packets += pc.Packets
		mine.Bytes += pc.Bytes
	}
	mergeConvs(b.convs, o.convs)
	b.convs = b.foldConvs(b.convs)
	for a, h := range o.hosts {
		mine := b.hosts[a]
		if mine == nil {
			cp := *h
			b.hosts[a] = &cp
			continue
		}
		for d := range 2 {
			mine.packets[d] += h.packets[d]
			mine.bytes[d] += h.bytes[d]
		}
	}
	b.pruneHosts()
	b.ips.merge(&o.ips, 0, hostCapacity)
}
