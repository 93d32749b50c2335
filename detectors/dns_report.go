package detectors

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/report"
)

// DNSReport is what the pass learned about DNS, for the analyze_dns tool:
// totals, the busiest names, domains and clients with their tunnel
// statistics, and domains under top-level domains known for abuse. Lists
// are cut to the configured TopN; the *_omitted fields count the rest.
type DNSReport struct {
	Queries   int64 `json:"queries"`
	Responses int64 `json:"responses"`
	// DistinctNames counts distinct query names (case-insensitive);
	// DistinctNamesCapped says there were more than the exact count's
	// bound, and the count is an estimate from a uniform sample.
	DistinctNames       int64            `json:"distinct_names"`
	DistinctNamesCapped bool             `json:"distinct_names_capped"`
	QTypes              map[string]int64 `json:"qtypes"`
	RCodes              map[string]int64 `json:"rcodes"`
	TopNames            []NameCount      `json:"top_names"`
	NamesOmitted        int              `json:"names_omitted"`
	// TopDomains lists registered domains, those with the highest tunnel
	// score first, then by queries.
	TopDomains     []DNSDomainStats `json:"top_domains"`
	DomainsOmitted int              `json:"domains_omitted"`
	// SuspiciousTLDs is context, not a finding: ordinary lookups of
	// domains under top-level domains that are cheap and often abused.
	SuspiciousTLDs        []DNSTLDNote     `json:"suspicious_tlds"`
	SuspiciousTLDsOmitted int              `json:"suspicious_tlds_omitted"`
	Clients               []DNSClientStats `json:"clients"`
	ClientsOmitted        int              `json:"clients_omitted"`
	// UntrackedQueries were counted in the totals only: those of the
	// domains and (client, domain) pairs dropped past DNSConfig.MaxDomains
	// and MaxPairs (a pair's queries still count in its domain).
	UntrackedQueries int64 `json:"untracked_queries"`
}

// DNSDomainStats describes one registered domain. Label, entropy and
// encoding statistics are over its distinct subdomains.
type DNSDomainStats struct {
	Domain    string `json:"domain"`
	Queries   int64  `json:"queries"`
	Responses int64  `json:"responses"`
	NXDomain  int64  `json:"nxdomain"`
	// UniqueSubdomains is estimated from a uniform sample when
	// UniqueCapped says the domain had more names than the exact bound.
	UniqueSubdomains int64            `json:"unique_subdomains"`
	UniqueCapped     bool             `json:"unique_capped"`
	Clients          int              `json:"clients"`
	MaxLabelLen      int              `json:"max_label_len"`
	MeanLabelLen     float64          `json:"mean_label_len"`
	MaxNameLen       int              `json:"max_name_len"`
	LongestName      string           `json:"longest_name"`
	MeanEntropy      float64          `json:"mean_entropy"`
	MaxEntropy       float64          `json:"max_entropy"`
	EncodedShare     float64          `json:"encoded_share"`
	QTypes           map[string]int64 `json:"qtypes"`
	// Excluded says why the domain is never judged a tunnel
	// (reverse_lookup, local_service_discovery, cdn_infrastructure, dnsbl).
	Excluded string `json:"excluded,omitempty"`
	// Score and Signals are those of the domain's most suspicious client
	// (see the finding's summary for what each signal means).
	Score   int      `json:"score"`
	Signals []string `json:"signals"`
	// Flagged is true when that client's pair is a finding.
	Flagged bool `json:"flagged"`
}

// DNSTLDNote notes a domain under a suspicious top-level domain.
type DNSTLDNote struct {
	TLD      string          `json:"tld"`
	Domain   string          `json:"domain"`
	Queries  int64           `json:"queries"`
	Clients  int             `json:"clients"`
	Severity report.Severity `json:"severity"`
	Note     string          `json:"note"`
}

// DNSClientStats describes one address that sent queries.
type DNSClientStats struct {
	Client           string   `json:"client"`
	Queries          int64    `json:"queries"`
	Domains          int      `json:"domains"`
	QueriesPerMinute float64  `json:"queries_per_minute"`
	Resolvers        []string `json:"resolvers"`
}

// suspiciousTLDs are top-level domains that abuse reports (Spamhaus,
// Interisle) rank as cheap and heavily abused, or whose names pass for file
// names (.zip, .mov). A lookup under one is worth a look, nothing more.
var suspiciousTLDs = map[string]struct{}{
	"tk": {}, "ml": {}, "ga": {}, "cf": {}, "gq": {}, "xyz": {}, "top": {}, "zip": {}, "mov": {},
	"click": {}, "country": {}, "kim": {}, "work": {}, "cam": {}, "rest": {}, "icu": {}, "buzz": {},
	"monster": {}, "quest": {}, "loan": {}, "win": {}, "bid": {}, "date": {}, "racing": {}, "review": {},
	"stream": {}, "download": {}, "men": {}, "party": {}, "science": {}, "trade": {}, "accountant": {},
	"faith": {}, "cricket": {}, "su": {}, "cyou": {}, "sbs": {}, "cfd": {},
}

// DNS returns the DNS statistics of the capture, with lists cut to the
// Analysis's Config.TopN.
func (a *Analysis) DNS() DNSReport {
	if a.dets.dns != nil {
		return a.dets.dns.report(a.Config)
	}
	return DNSReport{QTypes: map[string]int64{}, RCodes: map[string]int64{}, TopNames: []NameCount{}, TopDomains: []DNSDomainStats{}, SuspiciousTLDs: []DNSTLDNote{}, Clients: []DNSClientStats{}}
}

func (d *dnsDetector) report(cfg Config) DNSReport {
	cfg = cfg.Defaults()
	n := cfg.TopN
	r := DNSReport{
		Queries:             d.queries,
		Responses:           d.responses,
		DistinctNames:       d.distinct.estimate(),
		DistinctNamesCapped: d.distinct.sampled(),
		QTypes:              map[string]int64{},
		RCodes:              map[string]int64{},
		UntrackedQueries:    d.untracked + d.bounds.evictedDomainQueries,
	}
	for t, c := range d.qtypes {
		r.QTypes[qtypeName(t)] += c
	}
	for rc, c := range d.rcodes {
		r.RCodes[rcodeName(rc)] += c
	}

	names := make([]NameCount, 0, len(d.names))
	for k, v := range d.names {
		names = append(names, NameCount{Name: k, Count: v.count})
	}
	slices.SortFunc(names, func(x, y NameCount) int { return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Name, y.Name)) })
	r.TopNames, r.NamesOmitted = cutList(names, n)
	for i := range r.TopNames {
		if len(r.TopNames[i].Name) > dnsSampleLen {
			r.TopNames[i].Name = r.TopNames[i].Name[:dnsSampleLen]
		}
	}

	// The most suspicious pair of each domain gives the domain its score.
	best := make([]*dnsPair, len(d.domainList))
	bestSig := make([]dnsSignals, len(d.domainList))
	flagged := make([]bool, len(d.domainList))
	for _, pr := range d.pairList {
		i := pr.domain.index
		s := judgeDNS(cfg.DNS, pr)
		// The busiest client among equals, then the smallest address.
		if b := best[i]; b == nil || cmp.Or(cmp.Compare(s.Score, bestSig[i].Score), cmp.Compare(pr.queries, b.queries), b.client.Compare(pr.client)) > 0 {
			best[i], bestSig[i] = pr, s
		}
	}
	for _, f := range d.Findings(cfg, nil) {
		if dom, ok := d.domains[f.Samples[report.SampleDomain][0]]; ok {
			flagged[dom.index] = true
		}
	}
	doms := make([]DNSDomainStats, 0, len(d.domainList))
	for i, dom := range d.domainList {
		g := &dom.names
		st := DNSDomainStats{
			Domain: dom.name, Queries: dom.queries, Responses: dom.responses, NXDomain: dom.nxdomain,
			UniqueSubdomains: g.unique(), UniqueCapped: g.set.sampled(), Clients: dom.clients,
			MaxLabelLen: g.maxLabel, MeanLabelLen: round2(g.meanLabel()), MaxNameLen: g.maxNameLen,
			LongestName: cut([]byte(g.longestName), dnsSampleLen),
			MeanEntropy: round2(g.meanEntropy()), MaxEntropy: round2(g.entropyMax), EncodedShare: round2(g.encodedShare()),
			QTypes: map[string]int64{}, Excluded: dom.excluded, Signals: []string{}, Flagged: flagged[i],
		}
		for j, c := range dom.qtypes {
			if c > 0 {
				st.QTypes[qtNames[j]] = c
			}
		}
		if dom.excluded == "" && best[i] != nil {
			st.Score = bestSig[i].Score
			st.Signals = slices.Clone(bestSig[i].Names)
		}
		if st.Signals == nil {
			st.Signals = []string{}
		}
		doms = append(doms, st)
	}
	slices.SortFunc(doms, func(x, y DNSDomainStats) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), cmp.Compare(y.Queries, x.Queries), cmp.Compare(x.Domain, y.Domain))
	})
	r.TopDomains, r.DomainsOmitted = cutList(doms, n)

	var notes []DNSTLDNote
	for _, dom := range d.domainList {
		tld := dom.name[strings.LastIndexByte(dom.name, '.')+1:]
		if _, ok := suspiciousTLDs[tld]; ok && dom.name != tld {
			notes = append(notes, DNSTLDNote{
				TLD: tld, Domain: dom.name, Queries: dom.queries, Clients: dom.clients, Severity: report.SeverityLow,
				Note: "." + tld + " is a top-level domain often used for abuse; context for the analyst, not an attack by itself",
			})
		}
	}
	slices.SortFunc(notes, func(x, y DNSTLDNote) int {
		return cmp.Or(cmp.Compare(y.Queries, x.Queries), cmp.Compare(x.Domain, y.Domain))
	})
	r.SuspiciousTLDs, r.SuspiciousTLDsOmitted = cutList(notes, n)

	// A client's resolvers: the dnsMaxResolvers it asked first, over
	// every domain.
	type asked struct {
		a     netip.Addr
		first int64
	}
	byClient := map[netip.Addr][]asked{}
	for _, pr := range d.pairList {
		l := byClient[pr.client]
	next:
		for j, a := range pr.resolvers {
			for k := range l {
				if l[k].a == a {
					l[k].first = min(l[k].first, pr.resFirst[j])
					continue next
				}
			}
			l = append(l, asked{a, pr.resFirst[j]})
		}
		byClient[pr.client] = l
	}
	res := map[netip.Addr][]string{}
	for c, l := range byClient {
		slices.SortFunc(l, func(x, y asked) int { return cmp.Or(cmp.Compare(x.first, y.first), x.a.Compare(y.a)) })
		for _, r := range l[:min(len(l), dnsMaxResolvers)] {
			res[c] = append(res[c], r.a.String())
		}
	}
	clients := make([]DNSClientStats, 0, len(d.clients))
	for a, c := range d.clients {
		rs := slices.Clone(res[a])
		slices.Sort(rs)
		if rs == nil {
			rs = []string{}
		}
		clients = append(clients, DNSClientStats{
			Client: a.String(), Queries: c.queries, Domains: c.domains,
			QueriesPerMinute: round2(float64(c.queries) / max(c.last.Sub(c.first).Minutes(), 1)),
			Resolvers:        rs,
		})
	}
	slices.SortFunc(clients, func(x, y DNSClientStats) int {
		return cmp.Or(cmp.Compare(y.Queries, x.Queries), cmp.Compare(x.Client, y.Client))
	})
	r.Clients, r.ClientsOmitted = cutList(clients, n)
	return r
}

// cutList keeps the first n of l (never nil, for JSON) and says how many
// it left out.
func cutList[T any](l []T, n int) ([]T, int) {
	if l == nil {
		return []T{}, 0
	}
	if len(l) > n {
		return l[:n], len(l) - n
	}
	return l, 0
}

func qtypeName(t uint16) string {
	switch t {
	case 255:
		return "ANY"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	}
	if s := layers.DNSType(t).String(); s != "Unknown" {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

var rcodeNames = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}

func rcodeName(rc uint8) string {
	if int(rc) < len(rcodeNames) {
		return rcodeNames[rc]
	}
	return "RCODE" + strconv.Itoa(int(rc))
}
