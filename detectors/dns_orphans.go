package detectors

import (
	"cmp"
	stdmaps "maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// A response can come before the tables hold its query's domain or
// (client, domain) pair: its query is in another file of a rotated
// capture, or was sent before the capture began, or the packets are out
// of order. Such responses wait in dnsOrphans and count as soon as the
// domain or the pair appears, so that a response counts for its domain
// and client whatever the order of the packets, and the parts of a
// capture merge to what one pass gives.

// dnsMaxOrphans bounds the domains and the pairs whose responses wait.
const dnsMaxOrphans = 50_000

// dnsAnswers counts responses to one client (or for one domain).
type dnsAnswers struct {
	responses, nxdomain, failed int64
	addrAnswers, oddAnswers     int64
}

// answersOf counts one response.
func answersOf(m *layers.DNS) dnsAnswers {
	a := dnsAnswers{responses: 1}
	switch m.ResponseCode {
	case layers.DNSResponseCodeNXDomain:
		a.nxdomain = 1
	case layers.DNSResponseCodeServFail, layers.DNSResponseCodeRefused:
		a.failed = 1
	case layers.DNSResponseCodeNoErr:
		if odd, ok := oddAddressAnswer(m); ok {
			a.addrAnswers = 1
			if odd {
				a.oddAnswers = 1
			}
		}
	}
	return a
}

func (a *dnsAnswers) add(o *dnsAnswers) {
	a.responses += o.responses
	a.nxdomain += o.nxdomain
	a.failed += o.failed
	a.addrAnswers += o.addrAnswers
	a.oddAnswers += o.oddAnswers
}

func (pr *dnsPair) addAnswers(a *dnsAnswers) {
	pr.responses += a.responses
	pr.nxdomain += a.nxdomain
	pr.failed += a.failed
	pr.addrAnswers += a.addrAnswers
	pr.oddAnswers += a.oddAnswers
}

func (dom *dnsDomain) addAnswers(a *dnsAnswers) {
	dom.responses += a.responses
	dom.nxdomain += a.nxdomain
}

type dnsOrphanKey struct {
	client netip.Addr
	domain string
}

// dnsOrphans holds the responses waiting for their domain or pair.
type dnsOrphans struct {
	domains map[string]*dnsAnswers
	pairs   map[dnsOrphanKey]*dnsAnswers
	// dropped counts the responses that found no room past dnsMaxOrphans.
	dropped int64
}

// orphan keeps a response to client for reg, a registered domain the
// tables do not hold (dom nil), or whose pair they do not hold.
func (d *dnsDetector) orphan(client netip.Addr, reg string, dom *dnsDomain, a *dnsAnswers) {
	o := &d.orphans
	if dom == nil {
		if e := o.domains[reg]; e != nil {
			e.add(a)
		} else if len(o.domains) < dnsMaxOrphans {
			if o.domains == nil {
				o.domains = map[string]*dnsAnswers{}
			}
			e := *a
			o.domains[strings.Clone(reg)] = &e
		} else {
			o.dropped += a.responses
			return
		}
	}
	k := dnsOrphanKey{client, reg}
	if e := o.pairs[k]; e != nil {
		e.add(a)
		return
	}
	if len(o.pairs) >= dnsMaxOrphans {
		o.dropped += a.responses
		return
	}
	if o.pairs == nil {
		o.pairs = map[dnsOrphanKey]*dnsAnswers{}
	}
	e := *a
	k.domain = strings.Clone(reg)
	o.pairs[k] = &e
}

// adoptDomain counts the responses that waited for dom.
func (d *dnsDetector) adoptDomain(dom *dnsDomain) {
	if a := d.orphans.domains[dom.name]; a != nil {
		dom.addAnswers(a)
		delete(d.orphans.domains, dom.name)
	}
}

// adoptPair counts the responses that waited for pr.
func (d *dnsDetector) adoptPair(pr *dnsPair) {
	k := dnsOrphanKey{pr.client, pr.domain.name}
	if a := d.orphans.pairs[k]; a != nil {
		pr.addAnswers(a)
		delete(d.orphans.pairs, k)
	}
}

// mergeOrphans joins o's waiting responses to d's, and counts those
// whose domain or pair d's tables now hold; past dnsMaxOrphans the
// smallest keys stay.
func (d *dnsDetector) mergeOrphans(o *dnsDetector) {
	d.orphans.dropped += o.orphans.dropped
	for reg, a := range o.orphans.domains {
		if e := d.orphans.domains[reg]; e != nil {
			e.add(a)
			continue
		}
		if d.orphans.domains == nil {
			d.orphans.domains = map[string]*dnsAnswers{}
		}
		d.orphans.domains[reg] = a
	}
	for k, a := range o.orphans.pairs {
		if e := d.orphans.pairs[k]; e != nil {
			e.add(a)
			continue
		}
		if d.orphans.pairs == nil {
			d.orphans.pairs = map[dnsOrphanKey]*dnsAnswers{}
		}
		d.orphans.pairs[k] = a
	}
	for _, dom := range d.domainList {
		d.adoptDomain(dom)
	}
	for _, pr := range d.pairList {
		d.adoptPair(pr)
	}
	if n := len(d.orphans.domains) - dnsMaxOrphans; n > 0 {
		keys := slices.Sorted(stdmaps.Keys(d.orphans.domains))
		for _, k := range keys[dnsMaxOrphans:] {
			d.orphans.dropped += d.orphans.domains[k].responses
			delete(d.orphans.domains, k)
		}
	}
	if n := len(d.orphans.pairs) - dnsMaxOrphans; n > 0 {
		keys := slices.SortedFunc(stdmaps.Keys(d.orphans.pairs), func(x, y dnsOrphanKey) int {
			return cmp.Or(strings.Compare(x.domain, y.domain), x.client.Compare(y.client))
		})
		for _, k := range keys[dnsMaxOrphans:] {
			d.orphans.dropped += d.orphans.pairs[k].responses
			delete(d.orphans.pairs, k)
		}
	}
}
