package detectors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// The DNS detector's keyed tables are bounded (DNSConfig.MaxDomains,
// MaxPairs). A table that fills drops its least significant quarter at
// once, so the cost of a flood is a sort every quarter of the bound, not
// a scan per query. Significance is what a tunnel piles up and a flood
// of random names does not: queries and distinct names under one key. A
// tunnel's domain asked a thousand times outranks a thousand domains
// asked once each, and a domain dropped early comes back, counted
// afresh, at its next query.

// dnsBounds holds the table bounds and what eviction dropped.
type dnsBounds struct {
	maxDomains int `partial:"-"`
	maxPairs   int `partial:"-"`
	// evictedDomains and evictedPairs count the entries dropped;
	// evictedQueries the queries they had counted (the capture's totals
	// keep them).
	evictedDomains, evictedPairs int64
	evictedDomainQueries         int64
	evictedPairQueries           int64
}

// configure takes the bounds of cfg, a zero bound meaning its default.
func (d *dnsDetector) configure(cfg DNSConfig) *dnsDetector {
	d.bounds.maxDomains = cmp.Or(cfg.MaxDomains, 100_000)
	d.bounds.maxPairs = cmp.Or(cfg.MaxPairs, 100_000)
	d.lim.hashes = cmp.Or(cfg.MaxSampledNames, dnsDefaultLimits.hashes)
	return d
}

// dnsSignificance ranks a domain or a pair for eviction.
func dnsSignificance(queries int64, names *nameAgg) int64 {
	return queries + names.unique()
}

// evictDomains drops the least significant quarter of the domains with
// their pairs and cached names, and renumbers the rest.
func (d *dnsDetector) evictDomains() {
	n := max(1, len(d.domainList)/4)
	ranked := slices.Clone(d.domainList)
	// Among equals by name, not by age: parts merged in any order rank
	// alike.
	slices.SortFunc(ranked, func(x, y *dnsDomain) int {
		return cmp.Or(cmp.Compare(dnsSignificance(x.queries, &x.names), dnsSignificance(y.queries, &y.names)), strings.Compare(x.name, y.name))
	})
	for _, dom := range ranked[:n] {
		dom.evicted = true
		d.bounds.evictedDomains++
		d.bounds.evictedDomainQueries += dom.queries
		d.hashes -= len(dom.names.set.seen)
		delete(d.domains, dom.name)
	}
	d.domainList = slices.DeleteFunc(d.domainList, func(dom *dnsDomain) bool { return dom.evicted })
	for i, dom := range d.domainList {
		dom.index = int32(i)
	}
	d.dropPairs(func(pr *dnsPair) bool { return pr.domain.evicted })
	// The pair keys hold the domains' indexes: rebuild them.
	clear(d.pairs)
	for _, pr := range d.pairList {
		d.pairs[dnsPairKey{client: pr.client, domain: pr.domain.index}] = pr
	}
	for name, e := range d.names {
		if e.domain != nil && e.domain.evicted {
			delete(d.names, name)
		}
	}
}

// evictPairs drops the least significant quarter of the pairs.
func (d *dnsDetector) evictPairs() {
	n := max(1, len(d.pairList)/4)
	ranked := slices.Clone(d.pairList)
	slices.SortFunc(ranked, func(x, y *dnsPair) int {
		return cmp.Or(cmp.Compare(dnsSignificance(x.queries, &x.names), dnsSignificance(y.queries, &y.names)),
			strings.Compare(x.domain.name, y.domain.name), x.client.Compare(y.client))
	})
	drop := make(map[*dnsPair]bool, n)
	for _, pr := range ranked[:n] {
		drop[pr] = true
	}
	d.dropPairs(func(pr *dnsPair) bool { return drop[pr] })
}

// dropPairs removes the pairs gone says, from the list and the map, and
// takes them out of their domain's and client's counts.
func (d *dnsDetector) dropPairs(gone func(*dnsPair) bool) {
	d.pairList = slices.DeleteFunc(d.pairList, func(pr *dnsPair) bool {
		if !gone(pr) {
			return false
		}
		d.bounds.evictedPairs++
		d.bounds.evictedPairQueries += pr.queries
		d.hashes -= len(pr.names.set.seen)
		if !pr.domain.evicted {
			pr.domain.clients--
			delete(d.pairs, dnsPairKey{client: pr.client, domain: pr.domain.index})
		}
		if c := d.clients[pr.client]; c != nil {
			c.domains--
		}
		return true
	})
}

// warnings says what the bounds dropped.
func (d *dnsDetector) warnings() []string {
	var out []string
	b := &d.bounds
	if b.evictedDomains > 0 {
		out = append(out, fmt.Sprintf("DNS: %d registered domains (%d queries) were dropped past the bound of %d (DNSConfig.MaxDomains), the least asked first; the totals still count their queries",
			b.evictedDomains, b.evictedDomainQueries, b.maxDomains))
	}
	if b.evictedPairs > 0 {
		out = append(out, fmt.Sprintf("DNS: %d (client, domain) pairs (%d queries) were dropped past the bound of %d (DNSConfig.MaxPairs) or with their domain, the least active first",
			b.evictedPairs, b.evictedPairQueries, b.maxPairs))
	}
	if n := d.orphans.dropped; n > 0 {
		out = append(out, fmt.Sprintf("DNS: %d responses that came before their query (in another file, or before the capture began) were not counted: more than %d domains or (client, domain) pairs had such responses",
			n, dnsMaxOrphans))
	}
	if d.level > 0 {
		out = append(out, fmt.Sprintf("DNS: distinct-name counts are estimates: past %d sampled names (DNSConfig.MaxSampledNames) every sample keeps one name in %d",
			d.lim.hashes, uint64(1)<<d.level))
	}
	return out
}
