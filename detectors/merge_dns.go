package detectors

import (
	"cmp"
	stdmaps "maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
)

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture.
//
// Per domain, per pair and per client the counters add up, times widen,
// and the name samples merge (nameAgg.merge), so below the bounds the
// result is what one pass over both parts' packets gives. The bounds hold
// after the merge: the samples' common level rises as one pass would
// raise it, and the tables evict, least significant first, as one pass
// does (past a bound one pass drops entries as they come, so the merged
// tables can then differ from one pass; the warnings say what was
// dropped). o must not be used afterwards: its domains and pairs are
// taken over.
func (d *dnsDetector) merge(o *dnsDetector, _ *capture.Capture) {
	if o == nil {
		return
	}
	d.queries += o.queries
	d.responses += o.responses
	d.roots += o.roots
	d.untracked += o.untracked
	for t, n := range o.qtypes {
		d.qtypes[t] += n
	}
	for rc, n := range o.rcodes {
		d.rcodes[rc] += n
	}
	d.distinct.merge(&o.distinct, 0, d.lim.distinctNames)
	d.bounds.evictedDomains += o.bounds.evictedDomains
	d.bounds.evictedPairs += o.bounds.evictedPairs
	d.bounds.evictedDomainQueries += o.bounds.evictedDomainQueries
	d.bounds.evictedPairQueries += o.bounds.evictedPairQueries

	if o.level > d.level {
		d.level = o.level
		for _, pr := range d.pairList {
			pr.names.raise(d.level)
		}
		for _, dom := range d.domainList {
			dom.names.raise(d.level)
		}
	}
	same := d.mergeDomains(o)
	d.mergePairs(o, same)
	d.mergeNames(o, same)
	d.mergeClients(o)
	d.mergeOrphans(o)

	d.hashes = 0
	for _, pr := range d.pairList {
		d.hashes += len(pr.names.set.seen)
	}
	for _, dom := range d.domainList {
		d.hashes += len(dom.names.set.seen)
	}
	d.settleLevel()
	for len(d.domains) > d.bounds.maxDomains {
		d.evictDomains()
	}
	for len(d.pairs) > d.bounds.maxPairs {
		d.evictPairs()
	}
	d.recount()
}

// mergeDomains takes o's domains into d's, and returns, for each of o's,
// the domain of d it now is.
func (d *dnsDetector) mergeDomains(o *dnsDetector) map[*dnsDomain]*dnsDomain {
	same := make(map[*dnsDomain]*dnsDomain, len(o.domainList))
	for _, od := range o.domainList {
		dom := d.domains[od.name]
		if dom == nil {
			od.names.raise(d.level)
			d.domains[od.name] = od
			d.domainList = append(d.domainList, od)
			same[od] = od
			continue
		}
		dom.queries += od.queries
		dom.responses += od.responses
		dom.nxdomain += od.nxdomain
		for i, n := range od.qtypes {
			dom.qtypes[i] += n
		}
		dom.names.merge(&od.names, d.level, d.lim.domainNames)
		same[od] = dom
	}
	// In name order, the order no packet decides.
	slices.SortFunc(d.domainList, func(x, y *dnsDomain) int { return strings.Compare(x.name, y.name) })
	for i, dom := range d.domainList {
		dom.index = int32(i)
	}
	return same
}

// mergePairs takes o's pairs into d's; same maps o's domains to d's.
func (d *dnsDetector) mergePairs(o *dnsDetector, same map[*dnsDomain]*dnsDomain) {
	clear(d.pairs)
	for _, pr := range d.pairList {
		d.pairs[dnsPairKey{client: pr.client, domain: pr.domain.index}] = pr
	}
	for _, op := range o.pairList {
		op.domain = same[op.domain]
		k := dnsPairKey{client: op.client, domain: op.domain.index}
		pr := d.pairs[k]
		if pr == nil {
			op.names.raise(d.level)
			d.pairs[k] = op
			d.pairList = append(d.pairList, op)
			continue
		}
		pr.merge(op, d.level, d.lim.pairNames)
	}
	slices.SortFunc(d.pairList, func(x, y *dnsPair) int {
		return cmp.Or(cmp.Compare(x.domain.index, y.domain.index), x.client.Compare(y.client))
	})
}

// merge folds o, the same client's queries under the same domain in
// other packets, into pr.
func (pr *dnsPair) merge(o *dnsPair, floor uint8, capacity int) {
	pr.queries += o.queries
	pr.responses += o.responses
	pr.nxdomain += o.nxdomain
	pr.addrAnswers += o.addrAnswers
	pr.oddAnswers += o.oddAnswers
	pr.failed += o.failed
	for i, n := range o.qtypes {
		pr.qtypes[i] += n
	}
	if o.first.Before(pr.first) {
		pr.first = o.first
	}
	if o.last.After(pr.last) {
		pr.last = o.last
	}
	for i, a := range o.resolvers {
		pr.addResolver(a, o.resFirst[i])
	}
	pr.moreRes = pr.moreRes || o.moreRes
	for i, name := range o.samples {
		pr.offerSample(name, o.sampleKeys[i])
	}
	pr.names.merge(&o.names, floor, capacity)
}

// mergeNames joins the tracked names: counts add up, and past the bound
// the names first asked stay (see trackName).
func (d *dnsDetector) mergeNames(o *dnsDetector, same map[*dnsDomain]*dnsDomain) {
	for name, on := range o.names {
		if n := d.names[name]; n != nil {
			n.count += on.count
			n.first = min(n.first, on.first)
			continue
		}
		if on.domain != nil {
			on.domain = same[on.domain]
		}
		d.names[name] = on
	}
	// A part that trimmed its names had the bound's worth before its
	// cut; the whole keeps the same first ones.
	hadCut := d.namesCutSet || o.namesCutSet
	if hadCut || len(d.names) > dnsMaxTrackedNames+dnsMaxTrackedNames/4 {
		d.namesCutSet = false
		d.trimNames()
		if !d.namesCutSet && hadCut {
			d.setNamesCut()
		}
	}
}

// setNamesCut sets the cut to the last of the names d.names holds.
func (d *dnsDetector) setNamesCut() {
	var last dnsNameKey
	for name, n := range d.names {
		if k := (dnsNameKey{n.first, name}); !d.namesCutSet || last.less(k) {
			last, d.namesCutSet = k, true
		}
	}
	d.namesCut = last
}

// mergeClients joins the per-client counters; past dnsMaxClients the
// clients that asked first stay.
func (d *dnsDetector) mergeClients(o *dnsDetector) {
	for a, oc := range o.clients {
		c := d.clients[a]
		if c == nil {
			d.clients[a] = oc
			continue
		}
		c.queries += oc.queries
		if oc.first.Before(c.first) {
			c.first = oc.first
		}
		if oc.last.After(c.last) {
			c.last = oc.last
		}
	}
	if len(d.clients) <= dnsMaxClients {
		return
	}
	all := slices.Collect(stdmaps.Keys(d.clients))
	slices.SortFunc(all, func(x, y netip.Addr) int {
		return cmp.Or(d.clients[x].first.Compare(d.clients[y].first), x.Compare(y))
	})
	for _, a := range all[dnsMaxClients:] {
		delete(d.clients, a)
	}
}

// recount sets each domain's and client's count of pairs from the pairs
// the tables hold.
func (d *dnsDetector) recount() {
	for _, dom := range d.domainList {
		dom.clients = 0
	}
	for _, c := range d.clients {
		c.domains = 0
	}
	for _, pr := range d.pairList {
		pr.domain.clients++
		if c := d.clients[pr.client]; c != nil {
			c.domains++
		}
	}
}
