package detectors

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/gopacket/gopacket/layers"
)

// DNS tunnelling.
//
// A tunnel carries data in the names it asks for, so the client it runs on
// asks one domain (the tunnel's, whose authoritative server the attacker
// runs) for many names that are never asked twice, long, random-looking and
// often of record types that carry data back (TXT, NULL, CNAME, MX). Any
// one of these is common in honest traffic (CDN host names look random,
// DNSBL lookups are all unique, mail servers ask MX), so the detector
// flags a (client, registered domain) pair only when several agree. The
// score is the number of signals that hold; see dnsSignals.
//
// What tells a tunnel from a browser is where the names go and what
// comes back: a browser spreads random-looking CDN names over many
// registered domains, a few each, and gets addresses back; a tunnel asks
// one domain for many names filled with data and gets data records,
// NXDOMAIN or addresses nobody can use. Shape and volume without such a
// channel are a low note at most (see dnsSignals.verdict), except names
// so filled with data that the answers do not matter (a_query_exfil).
//
// The pass keeps, per registered domain and per (client, domain), counters
// and a bounded distinct sample of the names seen (nameSet, seeded
// hashes); the statistics of a name (label lengths, entropy, encoding)
// are measured once, the first time the pair's or the domain's sample
// takes the name, and kept with it (see dns_sample.go), so that parts of
// a capture accumulated apart merge to what one pass gives. Nothing kept
// depends on the order packets arrive in: what is kept of many (example
// names, resolvers, the names for the top list) is what was asked first,
// by packet time, then by content. Memory grows with names, domains and
// clients up to the bounds below, never with packets.

// dnsLimits are the bounds of the name samples. They are fields, not
// constants, so tests can reach them with a few thousand names.
type dnsLimits struct {
	// pairNames and domainNames bound one pair's and one domain's
	// sample: past them the sample keeps one name in two, then in four...
	pairNames, domainNames int
	// distinctNames bounds the sample behind the capture's distinct count.
	distinctNames int
	// hashes bounds the samples of every pair and domain together: past
	// it every sample takes one name in two more.
	hashes int
}

var dnsDefaultLimits = dnsLimits{pairNames: 4096, domainNames: 16384, distinctNames: 1 << 18, hashes: 2_000_000}

const (
	// dnsMaxClients bounds the per-client counters; the queries of
	// clients past it are counted in their pairs and the totals only.
	// (Domains and pairs are bounded by DNSConfig, with eviction.)
	dnsMaxClients = 100_000
	// dnsMaxTrackedNames bounds the full names kept for the top list and
	// as a cache of their registered domain.
	dnsMaxTrackedNames = 50_000
	// dnsSampleNames is how many example names a pair keeps.
	dnsSampleNames = 5
	// dnsSampleLen cuts example names (attacker-controlled) to this length.
	dnsSampleLen = 120
	// dnsMaxResolvers is how many distinct resolvers a pair lists.
	dnsMaxResolvers = 4
	// dnsDataLabelLen is the length of a label, or of a name's encoded
	// labels together, that says the name is filled with data:
	// exfiltration tools fill labels to 50-63 characters, CDN, ad and
	// tracking host names stop at a 32-hex hash.
	dnsDataLabelLen = 40
	// dnsDataVolume is how many characters of encoded labels, over every
	// distinct name a client asks under one domain, say data leaves even
	// in short labels (a 32 kB file in hex): more than a browser asks of
	// any ad or CDN domain.
	dnsDataVolume = 64 << 10
	// dnsEncodedMinLen is the shortest label judged hex/base32/base64:
	// shorter tokens (e1234, d1abc2defgh) are how CDNs name hosts.
	dnsEncodedMinLen = 16
)

// qtype buckets kept per pair and per domain, in a fixed array so the hot
// path does not touch a map.
const (
	qtA = iota
	qtAAAA
	qtTXT
	qtNULL
	qtCNAME
	qtMX
	qtANY
	qtPTR
	qtSRV
	qtNS
	qtHTTPS
	qtOther
	qtCount
)

var qtNames = [qtCount]string{"A", "AAAA", "TXT", "NULL", "CNAME", "MX", "ANY", "PTR", "SRV", "NS", "HTTPS", "other"}

func qtBucket(t layers.DNSType) int {
	switch t {
	case layers.DNSTypeA:
		return qtA
	case layers.DNSTypeAAAA:
		return qtAAAA
	case layers.DNSTypeTXT:
		return qtTXT
	case layers.DNSTypeNULL:
		return qtNULL
	case layers.DNSTypeCNAME:
		return qtCNAME
	case layers.DNSTypeMX:
		return qtMX
	case 255:
		return qtANY
	case layers.DNSTypePTR:
		return qtPTR
	case layers.DNSTypeSRV:
		return qtSRV
	case layers.DNSTypeNS:
		return qtNS
	case 65:
		return qtHTTPS
	}
	return qtOther
}

// nameStats is what one distinct name contributes: measured on the
// subdomain part (left of the registered domain) in its original case,
// since base64 tunnels carry data in the case.
type nameStats struct {
	// labels, labelChars, maxLabel describe the subdomain's labels.
	labels, labelChars, maxLabel int
	// encoded counts labels that look hex, base32, base64 or binary;
	// enc has bit k set when a label of encoding k (encHex...) is there.
	encoded int
	enc     uint8
	// encodedChars is the length of the encoded labels together.
	encodedChars int
	// entropy is the Shannon entropy (bits per character) of the
	// subdomain without its dots.
	entropy float64
	// reversedIP is set when the subdomain is a reversed IPv4 address or
	// IPv6 nibbles, as DNSBL lookups are.
	reversedIP bool
	// embedsDomain is set when the subdomain itself ends in a top-level
	// domain (cdn.example.com.corp.example): a name the resolver's search
	// list lengthened, whose NXDOMAIN says nothing about the domain.
	embedsDomain bool
}

type dnsDomain struct {
	name string
	// index is the domain's place in domainList, renumbered when domains
	// are evicted; evicted marks a domain dropped from the tables.
	index     int32
	evicted   bool
	queries   int64
	responses int64
	nxdomain  int64
	qtypes    [qtCount]int64
	clients   int
	// excluded says why the domain is never judged a tunnel ("" when it
	// can be): reverse lookups, local service discovery, CDN host names.
	excluded string
	names    nameAgg
}

// dnsName is a query name's count, registered domain and first query
// (UnixNano), kept so a name asked again costs one map lookup.
type dnsName struct {
	count  int64
	first  int64
	domain *dnsDomain
}

type dnsPairKey struct {
	client netip.Addr
	domain int32
}

type dnsPair struct {
	client    netip.Addr
	domain    *dnsDomain
	queries   int64
	responses int64
	nxdomain  int64
	// addrAnswers counts NOERROR answers to A and AAAA questions;
	// oddAnswers those of them that give no usable address (an A
	// question answered with nothing, or with 0.0.0.0/8, 127/8 or the
	// broadcast address; an AAAA answer of :: or ::1), as exfiltration
	// servers answer.
	addrAnswers, oddAnswers int64
	// failed counts SERVFAIL and REFUSED answers: a resolver that cannot
	// reach the tunnel's server, or will not ask it.
	failed      int64
	qtypes      [qtCount]int64
	first, last time.Time
	// resolvers are the dnsMaxResolvers asked first (resFirst holds when,
	// UnixNano), in that order, the smallest address first among equals.
	resolvers []netip.Addr
	resFirst  []int64
	moreRes   bool // more resolvers than dnsMaxResolvers
	// samples are the dnsSampleNames distinct names asked first
	// (sampleKeys: when, and the name's hash), in that order.
	samples    []string
	sampleKeys []dnsSampleKey
	names      nameAgg
}

type dnsSampleKey struct {
	first int64
	h     uint64
}

type dnsClient struct {
	queries     int64
	first, last time.Time
	domains     int
}

// dnsDetector is the DNS tunnelling analysis.
type dnsDetector struct {
	// hash keys the hashes of query names (Config.HashKey). The names are
	// the sender's: a keyed hash keeps them from choosing collisions or
	// which names the samples keep; parts of one analysis share the key,
	// so their samples merge by hash.
	hash sampleHash `partial:"-"`

	queries, responses int64
	roots              int64 // queries for the root or an empty name
	qtypes             map[uint16]int64
	rcodes             map[uint8]int64
	distinct           nameSet
	// names are the names first asked, at most dnsMaxTrackedNames once
	// trimmed (see trackName); namesCut is the (first, name) past which a
	// new name is not taken once the map has been trimmed.
	names       map[string]*dnsName
	namesCut    dnsNameKey
	namesCutSet bool
	domains     map[string]*dnsDomain
	domainList  []*dnsDomain
	pairs       map[dnsPairKey]*dnsPair
	pairList    []*dnsPair
	clients     map[netip.Addr]*dnsClient
	untracked   int64 // queries past the domain, pair or client bounds
	bounds      dnsBounds
	orphans     dnsOrphans // responses waiting for their domain or pair
	hashes      int        // name hashes held by every pair's and domain's sample
	level       uint8      // the lowest level of every sample (raised past lim.hashes)
	lim         dnsLimits  `partial:"-"`
	buf         []byte     `partial:"-"`
}

func newDNSDetector() *dnsDetector {
	return &dnsDetector{
		qtypes:  map[uint16]int64{},
		rcodes:  map[uint8]int64{},
		names:   map[string]*dnsName{},
		domains: map[string]*dnsDomain{},
		pairs:   map[dnsPairKey]*dnsPair{},
		clients: map[netip.Addr]*dnsClient{},
		lim:     dnsDefaultLimits,
		bounds:  dnsBounds{maxDomains: 100_000, maxPairs: 100_000},
		buf:     make([]byte, 0, 256),
	}
}

// Packet counts the questions of DNS queries and the rcodes of responses.
func (d *dnsDetector) Packet(p *capture.Packet) {
	if p.DNS == nil || p.Layers&capture.LayerDNS == 0 {
		return
	}
	m := p.DNS
	if m.QR {
		d.response(p, m)
		return
	}
	for i := range m.Questions {
		d.question(p, &m.Questions[i])
	}
}

// lowerName writes name, ASCII lower-cased and without its trailing dot,
// into d.buf (lengths are kept, so the original bytes line up).
func (d *dnsDetector) lowerName(name []byte) []byte {
	name = trimDot(name)
	b := d.buf[:0]
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	d.buf = b
	return b
}

func trimDot(name []byte) []byte {
	for len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	return name
}

// bstr views b as a string for a lookup that does not keep it: the public
// suffix list and map lookups take strings, and copying every name of
// every DNS packet would allocate on the hot path. The string must not
// outlive the call it is passed to; whatever is kept is cloned.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *dnsDetector) question(p *capture.Packet, q *layers.DNSQuestion) {
	d.queries++
	d.qtypes[uint16(q.Type)]++
	orig := trimDot(q.Name)
	lower := d.lowerName(q.Name)
	if len(lower) == 0 {
		d.roots++
		return
	}
	h := d.hash.bytes(lower)
	d.distinct.add(h, 0, d.lim.distinctNames)
	now := p.Time.UnixNano()
	// Only read the map with the borrowed string: assigning to an existing
	// string key stores the key again, and it must not alias d.buf.
	var dom *dnsDomain
	if n, ok := d.names[bstr(lower)]; ok {
		n.count++
		n.first = min(n.first, now)
		dom = n.domain
	} else {
		// A name not seen before: the public suffix lookup allocates
		// once (it tries the name as an IP address first).
		dom = d.domain(bstr(lower))
		d.trackName(lower, now, dom)
	}
	if dom == nil {
		d.untracked++
		return
	}
	client := p.Src
	pr := d.pair(client, dom)
	if pr == nil {
		d.untracked++
		return
	}
	qt := qtBucket(q.Type)
	dom.queries++
	dom.qtypes[qt]++
	pr.queries++
	pr.qtypes[qt]++
	if pr.queries == 1 || p.Time.Before(pr.first) {
		pr.first = p.Time
	}
	if p.Time.After(pr.last) {
		pr.last = p.Time
	}
	pr.addResolver(p.Dst, now)
	if c := d.client(client); c != nil {
		c.queries++
		if c.queries == 1 || p.Time.Before(c.first) {
			c.first = p.Time
		}
		if p.Time.After(c.last) {
			c.last = p.Time
		}
		if pr.queries == 1 {
			c.domains++
		}
	}

	subLen := len(lower) - len(dom.name) - 1
	if subLen <= 0 {
		return // the registered domain itself: no subdomain to measure
	}
	sub := orig[:subLen]
	pr.names.observe(orig, sub)
	dom.names.observe(orig, sub)
	pr.addSample(orig, h, now)
	newToPair := d.remember(&pr.names, h, d.lim.pairNames)
	newToDomain := d.remember(&dom.names, h, d.lim.domainNames)
	if !newToPair && !newToDomain {
		return
	}
	st := measureSubdomain(sub)
	s := packStat(&st, now)
	if newToPair {
		pr.names.take(h, s)
	}
	if newToDomain {
		dom.names.take(h, s)
	}
}

// dnsNameKey orders names for the bound on tracked names: the first
// asked, then the smallest.
type dnsNameKey struct {
	first int64
	name  string
}

func (k dnsNameKey) less(o dnsNameKey) bool {
	return k.first < o.first || k.first == o.first && k.name < o.name
}

// trackName takes a new name into d.names, unless the map was trimmed and
// the name comes after what it kept. The map keeps the
// dnsMaxTrackedNames names first asked (the smallest among names first
// asked at one instant), so it does not depend on the order in which
// packets or parts arrive; it is trimmed a quarter past its bound, so
// the sort is paid once per quarter.
func (d *dnsDetector) trackName(lower []byte, now int64, dom *dnsDomain) {
	if d.namesCutSet && !(dnsNameKey{now, bstr(lower)}).less(d.namesCut) {
		return
	}
	d.names[string(lower)] = &dnsName{count: 1, first: now, domain: dom}
	if len(d.names) > dnsMaxTrackedNames+dnsMaxTrackedNames/4 {
		d.trimNames()
	}
}

// trimNames keeps the dnsMaxTrackedNames names of d.names first asked.
func (d *dnsDetector) trimNames() {
	if len(d.names) <= dnsMaxTrackedNames {
		return
	}
	keys := make([]dnsNameKey, 0, len(d.names))
	for name, n := range d.names {
		keys = append(keys, dnsNameKey{n.first, name})
	}
	slices.SortFunc(keys, func(x, y dnsNameKey) int {
		return cmp.Or(cmp.Compare(x.first, y.first), strings.Compare(x.name, y.name))
	})
	for _, k := range keys[dnsMaxTrackedNames:] {
		delete(d.names, k.name)
	}
	d.namesCut, d.namesCutSet = keys[dnsMaxTrackedNames-1], true
}

// addSample offers a query's name to the pair's example names: the
// dnsSampleNames distinct names asked first.
func (pr *dnsPair) addSample(orig []byte, h uint64, now int64) {
	// The common case, a name asked again or after the examples were
	// chosen, must not allocate: cut only a name that may get in.
	earlier := func(k dnsSampleKey, name string) bool {
		return now < k.first || now == k.first && cutLess(orig, name)
	}
	n := len(pr.sampleKeys)
	i := slices.IndexFunc(pr.sampleKeys, func(k dnsSampleKey) bool { return k.h == h })
	if i >= 0 && earlier(pr.sampleKeys[i], pr.samples[i]) || i < 0 && (n < dnsSampleNames || earlier(pr.sampleKeys[n-1], pr.samples[n-1])) {
		pr.offerSample(cut(orig, dnsSampleLen), dnsSampleKey{first: now, h: h})
	}
}

// cutLess reports whether cut(name, dnsSampleLen) < s.
func cutLess(name []byte, s string) bool {
	if len(name) <= dnsSampleLen {
		return string(name) < s
	}
	return cut(name, dnsSampleLen) < s
}

// offerSample takes name, of key k, into the example names if it is among
// the dnsSampleNames first asked (the smallest name among equals).
func (pr *dnsPair) offerSample(name string, k dnsSampleKey) {
	for i, o := range pr.sampleKeys {
		if o.h == k.h {
			if k.first < o.first || k.first == o.first && name < pr.samples[i] {
				pr.samples[i], pr.sampleKeys[i] = name, k
				pr.sortSamples()
			}
			return
		}
	}
	if len(pr.samples) == dnsSampleNames {
		last := len(pr.samples) - 1
		if o := pr.sampleKeys[last]; k.first > o.first || k.first == o.first && name >= pr.samples[last] {
			return
		}
		pr.samples, pr.sampleKeys = pr.samples[:last], pr.sampleKeys[:last]
	}
	pr.samples = append(pr.samples, name)
	pr.sampleKeys = append(pr.sampleKeys, k)
	pr.sortSamples()
}

// sortSamples orders the example names by first query, then name.
func (pr *dnsPair) sortSamples() {
	idx := make([]int, len(pr.samples))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(pr.sampleKeys[a].first, pr.sampleKeys[b].first), strings.Compare(pr.samples[a], pr.samples[b]), cmp.Compare(pr.sampleKeys[a].h, pr.sampleKeys[b].h))
	})
	names, keys := make([]string, len(idx)), make([]dnsSampleKey, len(idx))
	for i, j := range idx {
		names[i], keys[i] = pr.samples[j], pr.sampleKeys[j]
	}
	pr.samples, pr.sampleKeys = names, keys
}

// remember counts a query for h in g's sample, reporting whether it is a
// name the sample takes for the first time. Past the bound on all
// samples, every sample keeps half as many names.
func (d *dnsDetector) remember(g *nameAgg, h uint64, capacity int) bool {
	isNew, delta := g.count(h, d.level, capacity)
	d.hashes += delta
	d.settleLevel()
	return isNew && sampledAt(h, d.level)
}

// settleLevel raises the level of every sample while they hold more
// hashes together than lim.hashes.
func (d *dnsDetector) settleLevel() {
	for d.hashes > d.lim.hashes && d.level < 63 {
		d.level++
		for _, pr := range d.pairList {
			d.hashes -= pr.names.raise(d.level)
		}
		for _, dom := range d.domainList {
			d.hashes -= dom.names.raise(d.level)
		}
	}
}

func (d *dnsDetector) domain(lower string) *dnsDomain {
	reg := registeredDomain(lower)
	if dom, ok := d.domains[reg]; ok {
		return dom
	}
	if len(d.domains) >= d.bounds.maxDomains {
		d.evictDomains()
	}
	name := strings.Clone(reg)
	dom := &dnsDomain{name: name, index: int32(len(d.domainList)), excluded: excludedDomain(name)}
	d.domains[name] = dom
	d.domainList = append(d.domainList, dom)
	d.adoptDomain(dom)
	return dom
}

func (d *dnsDetector) pair(client netip.Addr, dom *dnsDomain) *dnsPair {
	k := dnsPairKey{client: client, domain: dom.index}
	if pr, ok := d.pairs[k]; ok {
		return pr
	}
	if len(d.pairs) >= d.bounds.maxPairs {
		d.evictPairs()
	}
	pr := &dnsPair{client: client, domain: dom}
	d.pairs[k] = pr
	d.pairList = append(d.pairList, pr)
	dom.clients++
	d.adoptPair(pr)
	return pr
}

func (d *dnsDetector) client(a netip.Addr) *dnsClient {
	if c, ok := d.clients[a]; ok {
		return c
	}
	if len(d.clients) >= dnsMaxClients {
		return nil
	}
	c := &dnsClient{}
	d.clients[a] = c
	return c
}

// addResolver notes a query to resolver a at now (UnixNano): the pair
// lists the dnsMaxResolvers resolvers asked first.
func (pr *dnsPair) addResolver(a netip.Addr, now int64) {
	if i := slices.Index(pr.resolvers, a); i >= 0 {
		if now < pr.resFirst[i] {
			pr.resFirst[i] = now
			pr.sortResolvers()
		}
		return
	}
	if len(pr.resolvers) >= dnsMaxResolvers {
		pr.moreRes = true
		last := len(pr.resolvers) - 1
		if now > pr.resFirst[last] || now == pr.resFirst[last] && a.Compare(pr.resolvers[last]) > 0 {
			return
		}
		pr.resolvers, pr.resFirst = pr.resolvers[:last], pr.resFirst[:last]
	}
	pr.resolvers = append(pr.resolvers, a)
	pr.resFirst = append(pr.resFirst, now)
	pr.sortResolvers()
}

// sortResolvers orders the resolvers by first query, then address.
func (pr *dnsPair) sortResolvers() {
	for i := 1; i < len(pr.resolvers); i++ { // at most dnsMaxResolvers
		for j := i; j > 0; j-- {
			if cmp.Or(cmp.Compare(pr.resFirst[j-1], pr.resFirst[j]), pr.resolvers[j-1].Compare(pr.resolvers[j])) <= 0 {
				break
			}
			pr.resFirst[j-1], pr.resFirst[j] = pr.resFirst[j], pr.resFirst[j-1]
			pr.resolvers[j-1], pr.resolvers[j] = pr.resolvers[j], pr.resolvers[j-1]
		}
	}
}

// response counts the rcode, and charges it to the domain of the first
// question and to the pair of the client it goes back to.
func (d *dnsDetector) response(p *capture.Packet, m *layers.DNS) {
	d.responses++
	d.rcodes[uint8(m.ResponseCode)]++
	if len(m.Questions) == 0 {
		return
	}
	lower := d.lowerName(m.Questions[0].Name)
	if len(lower) == 0 {
		return
	}
	var dom *dnsDomain
	var reg string
	if n, ok := d.names[bstr(lower)]; ok {
		dom = n.domain
	}
	if dom == nil {
		reg = registeredDomain(bstr(lower))
		dom = d.domains[reg]
	}
	ans := answersOf(m)
	if dom == nil {
		// Its query is in another part, or not in the capture: the
		// response waits for the domain.
		d.orphan(p.Dst, reg, nil, &ans)
		return
	}
	dom.addAnswers(&ans)
	if pr, ok := d.pairs[dnsPairKey{client: p.Dst, domain: dom.index}]; ok {
		pr.addAnswers(&ans)
	} else {
		d.orphan(p.Dst, dom.name, dom, &ans)
	}
}

// oddAddressAnswer judges a NOERROR response to an A or AAAA question (ok
// is false for other questions): odd when it gives no address a client
// could connect to. An AAAA question answered with nothing is not odd:
// many hosts have no IPv6 address.
func oddAddressAnswer(m *layers.DNS) (odd, ok bool) {
	qt := m.Questions[0].Type
	if qt != layers.DNSTypeA && qt != layers.DNSTypeAAAA {
		return false, false
	}
	usable := false
	for i := range m.Answers {
		rr := &m.Answers[i]
		switch rr.Type {
		case layers.DNSTypeCNAME:
			usable = true // the address is the alias's
		case layers.DNSTypeA, layers.DNSTypeAAAA:
			a, okIP := netip.AddrFromSlice(rr.IP)
			if !okIP {
				return true, true
			}
			a = a.Unmap()
			if a.IsUnspecified() || a.IsLoopback() || a.Is4() && (a.As4()[0] == 0 || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
				return true, true
			}
			usable = true
		}
	}
	return !usable && qt == layers.DNSTypeA, true
}
