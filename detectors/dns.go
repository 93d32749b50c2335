package detectors

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/publicsuffix"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
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
// The pass keeps, per registered domain and per (client, domain), counters
// and a bounded set of 64-bit hashes of the names seen; the statistics of
// a name (label lengths, entropy, encoding) are measured once, the first
// time the pair sees the name. Memory grows with names, domains and
// clients up to the bounds below, never with packets.

const (
	// dnsMaxNamesPerSet bounds the name hashes one domain or one pair
	// keeps: beyond it new names are no longer told apart (queries are still
	// counted) and the unique count reads "at least".
	dnsMaxNamesPerSet = 50_000
	// dnsMaxHashes bounds the name hashes of all sets together.
	dnsMaxHashes = 2_000_000
	// dnsMaxDomains, dnsMaxPairs and dnsMaxClients bound the keyed state;
	// queries past them are counted in the totals only.
	dnsMaxDomains = 100_000
	dnsMaxPairs   = 200_000
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
	// encoded counts labels that look hex, base32 or base64.
	encoded int
	// entropy is the Shannon entropy (bits per character) of the
	// subdomain without its dots.
	entropy float64
	// reversedIP is set when the subdomain is a reversed IPv4 address or
	// IPv6 nibbles, as DNSBL lookups are.
	reversedIP bool
}

// nameAgg accumulates nameStats over the distinct names of a pair or a
// domain.
type nameAgg struct {
	unique        int64 // distinct names with a subdomain part
	capped        bool  // unique stopped counting at the bound
	labels        int64
	labelChars    int64
	maxLabel      int
	maxNameLen    int
	longestName   string // original case (a DNS name is at most 255 bytes)
	entropySum    float64
	entropyMax    float64
	encodedNames  int64 // names with at least one encoded-looking label
	encodedLabels int64
	reversedIP    int64
	seen          map[uint64]struct{}
}

func (g *nameAgg) add(st *nameStats, nameLen int, name []byte) {
	g.unique++
	g.labels += int64(st.labels)
	g.labelChars += int64(st.labelChars)
	g.maxLabel = max(g.maxLabel, st.maxLabel)
	g.entropySum += st.entropy
	g.entropyMax = max(g.entropyMax, st.entropy)
	if st.encoded > 0 {
		g.encodedNames++
	}
	g.encodedLabels += int64(st.encoded)
	if st.reversedIP {
		g.reversedIP++
	}
	if nameLen > g.maxNameLen {
		g.maxNameLen = nameLen
		g.longestName = string(name)
	}
}

func (g *nameAgg) meanLabel() float64 {
	if g.labels == 0 {
		return 0
	}
	return float64(g.labelChars) / float64(g.labels)
}

func (g *nameAgg) meanEntropy() float64 {
	if g.unique == 0 {
		return 0
	}
	return g.entropySum / float64(g.unique)
}

func (g *nameAgg) encodedShare() float64 {
	if g.unique == 0 {
		return 0
	}
	return float64(g.encodedNames) / float64(g.unique)
}

type dnsDomain struct {
	name      string
	index     int32
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

// dnsName is a query name's count and registered domain (nil past the
// domain bound), kept so a name asked again costs one map lookup.
type dnsName struct {
	count  int64
	domain *dnsDomain
}

type dnsPairKey struct {
	client netip.Addr
	domain int32
}

type dnsPair struct {
	client      netip.Addr
	domain      *dnsDomain
	queries     int64
	responses   int64
	nxdomain    int64
	qtypes      [qtCount]int64
	first, last time.Time
	resolvers   []netip.Addr
	moreRes     bool // more resolvers than dnsMaxResolvers
	samples     []string
	names       nameAgg
}

type dnsClient struct {
	queries     int64
	first, last time.Time
	domains     int
}

// dnsDetector is the DNS tunnelling analysis.
type dnsDetector struct {
	queries, responses int64
	roots              int64 // queries for the root or an empty name
	qtypes             map[uint16]int64
	rcodes             map[uint8]int64
	distinct           map[uint64]struct{}
	distinctCapped     bool
	names              map[string]*dnsName
	namesUntracked     int64 // queries for names beyond dnsMaxTrackedNames
	domains            map[string]*dnsDomain
	domainList         []*dnsDomain
	pairs              map[dnsPairKey]*dnsPair
	pairList           []*dnsPair
	clients            map[netip.Addr]*dnsClient
	untracked          int64 // queries past the domain, pair or client bounds
	hashes             int   // name hashes held by every set
	buf                []byte
}

func newDNSDetector() *dnsDetector {
	return &dnsDetector{
		qtypes:   map[uint16]int64{},
		rcodes:   map[uint8]int64{},
		distinct: map[uint64]struct{}{},
		names:    map[string]*dnsName{},
		domains:  map[string]*dnsDomain{},
		pairs:    map[dnsPairKey]*dnsPair{},
		clients:  map[netip.Addr]*dnsClient{},
		buf:      make([]byte, 0, 256),
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

// registeredDomain returns the registered domain of a lower-case name
// (the public suffix plus one label) as a suffix of name: "a.b.example.co.uk"
// gives "example.co.uk". A name that is itself a public suffix, or has a
// single label, is its own registered domain. Names outside the ICANN list
// take the list's default rule (the last label is the suffix), so
// "x.y.local" gives "y.local".
//
// Reverse lookups are grouped under in-addr.arpa and ip6.arpa, where the
// list would make every /8 a domain of its own.
func registeredDomain(name string) string {
	for _, z := range [...]string{"in-addr.arpa", "ip6.arpa"} {
		if len(name) > len(z) && strings.HasSuffix(name, z) && name[len(name)-len(z)-1] == '.' {
			return name[len(name)-len(z):]
		}
	}
	suffix, _ := publicsuffix.PublicSuffix(name)
	if len(suffix) >= len(name) {
		return name
	}
	rest := name[:len(name)-len(suffix)-1] // without ".suffix"
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
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
	h := fnv64(lower)
	if !d.distinctCapped {
		if _, ok := d.distinct[h]; !ok {
			if len(d.distinct) >= dnsMaxHashes/4 {
				d.distinctCapped = true
			} else {
				d.distinct[h] = struct{}{}
			}
		}
	}
	// Only read the map with the borrowed string: assigning to an existing
	// string key stores the key again, and it must not alias d.buf.
	var dom *dnsDomain
	if n, ok := d.names[bstr(lower)]; ok {
		n.count++
		dom = n.domain
	} else {
		// A name not seen before: the public suffix lookup allocates
		// once (it tries the name as an IP address first).
		dom = d.domain(bstr(lower))
		if len(d.names) < dnsMaxTrackedNames {
			d.names[string(lower)] = &dnsName{count: 1, domain: dom}
		} else {
			d.namesUntracked++
		}
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
	pr.addResolver(p.Dst)
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
	newToPair := d.remember(&pr.names, h)
	newToDomain := d.remember(&dom.names, h)
	if !newToPair && !newToDomain {
		return
	}
	st := measureSubdomain(orig[:subLen])
	if newToPair {
		pr.names.add(&st, len(orig), orig)
		if len(pr.samples) < dnsSampleNames {
			pr.samples = append(pr.samples, cutString(orig, dnsSampleLen))
		}
	}
	if newToDomain {
		dom.names.add(&st, len(orig), orig)
	}
}

// remember adds h to the set of g, reporting whether it is a name the set
// had not seen. Past the bounds nothing is new: the unique count stops.
func (d *dnsDetector) remember(g *nameAgg, h uint64) bool {
	if g.seen == nil {
		g.seen = make(map[uint64]struct{}, 8)
	}
	if _, ok := g.seen[h]; ok {
		return false
	}
	if len(g.seen) >= dnsMaxNamesPerSet || d.hashes >= dnsMaxHashes {
		g.capped = true
		return false
	}
	g.seen[h] = struct{}{}
	d.hashes++
	return true
}

func (d *dnsDetector) domain(lower string) *dnsDomain {
	reg := registeredDomain(lower)
	if dom, ok := d.domains[reg]; ok {
		return dom
	}
	if len(d.domains) >= dnsMaxDomains {
		return nil
	}
	name := strings.Clone(reg)
	dom := &dnsDomain{name: name, index: int32(len(d.domainList)), excluded: excludedDomain(name)}
	d.domains[name] = dom
	d.domainList = append(d.domainList, dom)
	return dom
}

func (d *dnsDetector) pair(client netip.Addr, dom *dnsDomain) *dnsPair {
	k := dnsPairKey{client: client, domain: dom.index}
	if pr, ok := d.pairs[k]; ok {
		return pr
	}
	if len(d.pairs) >= dnsMaxPairs {
		return nil
	}
	pr := &dnsPair{client: client, domain: dom}
	d.pairs[k] = pr
	d.pairList = append(d.pairList, pr)
	dom.clients++
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

func (pr *dnsPair) addResolver(a netip.Addr) {
	if slices.Contains(pr.resolvers, a) {
		return
	}
	if len(pr.resolvers) >= dnsMaxResolvers {
		pr.moreRes = true
		return
	}
	pr.resolvers = append(pr.resolvers, a)
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
	dom, ok := d.domains[registeredDomain(bstr(lower))]
	if !ok {
		return // a response whose query the capture does not hold
	}
	nx := m.ResponseCode == layers.DNSResponseCodeNXDomain
	dom.responses++
	if nx {
		dom.nxdomain++
	}
	if pr, ok := d.pairs[dnsPairKey{client: p.Dst, domain: dom.index}]; ok {
		pr.responses++
		if nx {
			pr.nxdomain++
		}
	}
}

// excludedDomain says why a registered domain is never judged a tunnel:
// its names are random-looking or unique by design, and nobody outside
// runs its authoritative servers.
func excludedDomain(reg string) string {
	switch {
	case reg == "arpa" || strings.HasSuffix(reg, ".arpa"):
		return "reverse_lookup"
	case reg == "local" || strings.HasSuffix(reg, ".local") || strings.HasPrefix(reg, "_"):
		return "local_service_discovery"
	}
	// The public suffix list names some platform zones as suffixes of
	// their own (dscx.akamaiedge.net is a registered domain), so every
	// parent of reg is looked up.
	for z := reg; ; {
		if _, ok := dnsInfrastructure[z]; ok {
			return "cdn_infrastructure"
		}
		if _, ok := dnsBlocklists[z]; ok {
			return "dnsbl"
		}
		i := strings.IndexByte(z, '.')
		if i < 0 {
			return ""
		}
		z = z[i+1:]
	}
}

// dnsInfrastructure lists registered domains of CDNs and large platforms
// whose host names are encoded by design (e1234.dscx.akamaiedge.net,
// d1abc2defgh.cloudfront.net, r3---sn-abc.googlevideo.com). The names are
// chosen by the platform, not by a client, so they cannot carry a tunnel.
var dnsInfrastructure = map[string]struct{}{
	"akamaiedge.net": {}, "akamai.net": {}, "akamaihd.net": {}, "akamaized.net": {}, "edgekey.net": {}, "edgesuite.net": {},
	"cloudfront.net": {}, "amazonaws.com": {}, "fbcdn.net": {}, "facebook.com": {}, "1e100.net": {}, "googlevideo.com": {},
	"gvt1.com": {}, "gvt2.com": {}, "googleusercontent.com": {}, "googleapis.com": {}, "gstatic.com": {}, "ytimg.com": {},
	"cloudflare.net": {}, "cloudflare.com": {}, "fastly.net": {}, "fastlylb.net": {}, "azureedge.net": {}, "msedge.net": {},
	"trafficmanager.net": {}, "windows.net": {}, "llnwd.net": {}, "cdn77.org": {}, "edgecastcdn.net": {}, "footprint.net": {},
	"apple.com": {}, "icloud.com": {}, "aaplimg.com": {}, "mzstatic.com": {}, "microsoft.com": {}, "live.com": {},
}

// dnsBlocklists lists DNSBL zones, queried with reversed addresses or hashes
// that are unique and encoded-looking by design.
var dnsBlocklists = map[string]struct{}{
	"spamhaus.org": {}, "spamcop.net": {}, "sorbs.net": {}, "barracudacentral.org": {}, "surbl.org": {},
	"uribl.com": {}, "senderscore.com": {}, "mailspike.net": {}, "abuseat.org": {}, "dnswl.org": {},
}

// measureSubdomain measures the subdomain part of a name.
func measureSubdomain(sub []byte) nameStats {
	var st nameStats
	var freq [256]uint16
	chars := 0
	numeric, nibbles := 0, 0
	start := 0
	for i := 0; i <= len(sub); i++ {
		if i < len(sub) && sub[i] != '.' {
			freq[sub[i]]++
			chars++
			continue
		}
		label := sub[start:i]
		start = i + 1
		st.labels++
		st.labelChars += len(label)
		st.maxLabel = max(st.maxLabel, len(label))
		if looksEncoded(label) {
			st.encoded++
		}
		// Leading runs: a DNSBL name is the reversed address, then the
		// list's zone (1.2.0.192.zen under spamhaus.org).
		if len(label) == 1 && isHexDigit(label[0]) && nibbles == st.labels-1 {
			nibbles++
		}
		if len(label) >= 1 && len(label) <= 3 && allDigits(label) && numeric == st.labels-1 {
			numeric++
		}
	}
	st.reversedIP = numeric >= 4 || nibbles >= 16
	if chars > 0 {
		n := float64(chars)
		for _, f := range freq {
			if f > 0 {
				q := float64(f) / n
				st.entropy -= q * math.Log2(q)
			}
		}
	}
	return st
}

// looksEncoded reports whether a label looks like hex, base32 or base64
// data rather than a word or a host name: at least dnsEncodedMinLen
// characters of the alphabet, with digits mixed in (and, for base64,
// both cases). Hyphenated host names (ec2-54-1-2-3, r3---sn-abc) are not
// encoded: a hyphen is only allowed in base64 with both cases present.
func looksEncoded(label []byte) bool {
	if len(label) < dnsEncodedMinLen {
		return false
	}
	var lower, upper, digit, other, b64 int
	hex := true
	for _, c := range label {
		switch {
		case 'a' <= c && c <= 'z':
			lower++
			hex = hex && c <= 'f'
		case 'A' <= c && c <= 'Z':
			upper++
			hex = hex && c <= 'F'
		case '0' <= c && c <= '9':
			digit++
		case c == '-' || c == '_' || c == '+' || c == '/' || c == '=':
			b64++
			hex = false
		default:
			other++
		}
	}
	switch {
	case other > 0:
		return false
	case hex && digit > 0 && lower+upper > 0:
		return true // hex
	case b64 == 0 && digit*10 >= len(label) && (lower == 0 || upper == 0):
		return true // base32 (or base36) in one case, digits at least a tenth
	case lower > 0 && upper > 0 && (digit > 0 || b64 > 0) && upper*10 >= len(label) && lower*10 >= len(label):
		return true // base64, both cases well mixed
	}
	return false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func cutString(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// dnsSignals is the judgement of one (client, domain) pair. Score counts
// the signals that hold, of two kinds:
//
// Shape of the names (the data is in them):
//   - long: a label of cfg.DNS.LongLabel characters or more;
//   - entropy: the mean entropy of the distinct subdomains at or above
//     cfg.DNS.EntropyThreshold (the mean, not the highest: one odd name
//     among a domain's host names must not count);
//   - encoded: at least a third of the distinct names carry a hex, base32
//     or base64-looking label.
//
// Behaviour of the client (a tunnel asks, it does not browse):
//   - qtype: TXT, NULL, CNAME and MX together are at least half of the
//     queries (records that carry data back);
//   - unique: at least 90% of the queries ask for a name asked once;
//   - rate: cfg.DNS.RatePerMinute queries per minute or more over the
//     pair's active span (a span under a minute counts as one minute, so
//     a short burst is not a rate);
//   - nxdomain: at least half of the answered queries are NXDOMAIN (a
//     one-way exfiltration whose server answers nothing real).
//
// A pair is flagged when it asked at least cfg.DNS.MinQueries queries for
// at least cfg.DNS.MinUniqueSubdomains distinct names, and at least one
// shape signal and one behaviour signal hold. It is high severity when
// four or more signals hold (clearly a tunnel), medium otherwise;
// confidence is high from four signals, medium at three, low at two.
type dnsSignals struct {
	Score    int
	Shape    int
	Behavior int
	Names    []string
	Rate     float64 // queries per minute
}

func judgeDNS(cfg DNSConfig, queries, answered, nx int64, qtypes *[qtCount]int64, g *nameAgg, first, last time.Time) dnsSignals {
	var s dnsSignals
	add := func(shape bool, name string) {
		s.Score++
		s.Names = append(s.Names, name)
		if shape {
			s.Shape++
		} else {
			s.Behavior++
		}
	}
	if g.maxLabel >= cfg.LongLabel {
		add(true, "long_labels")
	}
	if g.meanEntropy() >= cfg.EntropyThreshold {
		add(true, "high_entropy")
	}
	if g.unique > 0 && g.encodedNames*3 >= g.unique {
		add(true, "encoded_labels")
	}
	if queries > 0 && 2*(qtypes[qtTXT]+qtypes[qtNULL]+qtypes[qtCNAME]+qtypes[qtMX]) >= queries {
		add(false, "data_record_types")
	}
	if queries > 0 && 10*g.unique >= 9*queries {
		add(false, "unique_names")
	}
	s.Rate = float64(queries) / max(last.Sub(first).Minutes(), 1)
	if s.Rate >= cfg.RatePerMinute {
		add(false, "query_rate")
	}
	if answered > 0 && 2*nx >= answered {
		add(false, "nxdomain")
	}
	return s
}

// Findings flags each (client, domain) pair whose signals agree.
func (d *dnsDetector) Findings(cfg Config, _ *capture.Capture) []report.Finding {
	var out []report.Finding
	for _, pr := range d.pairList {
		dom := pr.domain
		if dom.excluded != "" || pr.queries < int64(cfg.DNS.MinQueries) || pr.names.unique < int64(cfg.DNS.MinUniqueSubdomains) {
			continue
		}
		// Reversed addresses under a zone are blocklist lookups.
		if 2*pr.names.reversedIP >= pr.names.unique {
			continue
		}
		s := judgeDNS(cfg.DNS, pr.queries, pr.responses, pr.nxdomain, &pr.qtypes, &pr.names, pr.first, pr.last)
		if s.Shape == 0 || s.Behavior == 0 {
			continue
		}
		out = append(out, pr.finding(s))
	}
	SortFindings(out)
	return out
}

func (pr *dnsPair) finding(s dnsSignals) report.Finding {
	sev, conf := report.SeverityMedium, report.ConfidenceLow
	switch {
	case s.Score >= 4:
		sev, conf = report.SeverityHigh, report.ConfidenceHigh
	case s.Score == 3:
		conf = report.ConfidenceMedium
	}
	target := "multiple_targets"
	if len(pr.resolvers) == 1 && !pr.moreRes {
		target = pr.resolvers[0].String()
	}
	g := &pr.names
	unique := strconv.FormatInt(g.unique, 10)
	if g.capped {
		unique = "at least " + unique
	}
	summary := fmt.Sprintf("%s sent %d DNS queries for %s distinct names under %s (longest label %d chars, mean label %.1f, mean entropy %.2f bits/char, %d%% encoded-looking, %s); %d of 7 tunnel signals: %s",
		pr.client, pr.queries, unique, pr.domain.name, g.maxLabel, g.meanLabel(), g.meanEntropy(),
		int(math.Round(100*g.encodedShare())), qtypeMix(&pr.qtypes), s.Score, strings.Join(s.Names, ", "))
	counts := map[string]int64{
		"queries":             pr.queries,
		"unique_subdomains":   g.unique,
		"max_label_len":       int64(g.maxLabel),
		"max_name_len":        int64(g.maxNameLen),
		"mean_label_len_x10":  int64(math.Round(10 * g.meanLabel())),
		"mean_entropy_x100":   int64(math.Round(100 * g.meanEntropy())),
		"max_entropy_x100":    int64(math.Round(100 * g.entropyMax)),
		"encoded_names":       g.encodedNames,
		"responses":           pr.responses,
		"nxdomain":            pr.nxdomain,
		"queries_per_minute":  int64(math.Round(s.Rate)),
		"score":               int64(s.Score),
		"duration_ms":         pr.last.Sub(pr.first).Milliseconds(),
		"resolvers":           int64(len(pr.resolvers)),
		"unique_capped":       b2i(g.capped),
		"data_record_queries": pr.qtypes[qtTXT] + pr.qtypes[qtNULL] + pr.qtypes[qtCNAME] + pr.qtypes[qtMX],
	}
	for i, n := range pr.qtypes {
		if n > 0 {
			counts["qtype_"+strings.ToLower(qtNames[i])] = n
		}
	}
	longest := g.longestName
	if len(longest) > dnsSampleLen {
		longest = longest[:dnsSampleLen]
	}
	res := make([]string, len(pr.resolvers))
	for i, a := range pr.resolvers {
		res[i] = a.String()
	}
	return report.Finding{
		Type:       report.AttackDNSTunneling,
		Technique:  dnsTechnique(&pr.qtypes, pr.queries),
		Source:     pr.client.String(),
		Target:     target,
		Severity:   sev,
		Confidence: conf,
		Summary:    summary,
		FirstSeen:  pr.first.UTC(),
		LastSeen:   pr.last.UTC(),
		Counts:     counts,
		Samples: map[string][]string{
			"domain":       {pr.domain.name},
			"names":        slices.Clone(pr.samples),
			"longest_name": {longest},
			"signals":      slices.Clone(s.Names),
			"resolvers":    res,
		},
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// dnsTechnique names the record type that carries most of the tunnel:
// "txt_records" when TXT is most of the queries, "mixed_records" when no
// type is.
func dnsTechnique(qt *[qtCount]int64, queries int64) string {
	best := 0
	for i := range qt {
		if qt[i] > qt[best] {
			best = i
		}
	}
	if 2*qt[best] <= queries {
		return "mixed_records"
	}
	return strings.ToLower(qtNames[best]) + "_records"
}

// qtypeMix writes the query types, most used first: "TXT 22" or "CNAME 191, A 127, ...".
func qtypeMix(qt *[qtCount]int64) string {
	idx := make([]int, 0, qtCount)
	for i, n := range qt {
		if n > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(qt[b], qt[a]) })
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = qtNames[j] + " " + strconv.FormatInt(qt[j], 10)
	}
	return strings.Join(parts, ", ")
}

// DNSReport is what the pass learned about DNS, for the analyze_dns tool:
// totals, the busiest names, domains and clients with their tunnel
// statistics, and domains under top-level domains known for abuse. Lists
// are cut to the configured TopN; the *_omitted fields count the rest.
type DNSReport struct {
	Queries   int64 `json:"queries"`
	Responses int64 `json:"responses"`
	// DistinctNames counts distinct query names (case-insensitive);
	// DistinctNamesCapped says the count stopped at its bound.
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
	// UntrackedQueries were counted in the totals only, past the bounds
	// on domains, (client, domain) pairs or clients.
	UntrackedQueries int64 `json:"untracked_queries"`
}

// DNSDomainStats describes one registered domain. Label, entropy and
// encoding statistics are over its distinct subdomains.
type DNSDomainStats struct {
	Domain           string           `json:"domain"`
	Queries          int64            `json:"queries"`
	Responses        int64            `json:"responses"`
	NXDomain         int64            `json:"nxdomain"`
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
	for _, d := range a.detectors {
		if dd, ok := d.(*dnsDetector); ok {
			return dd.report(a.Config)
		}
	}
	return DNSReport{QTypes: map[string]int64{}, RCodes: map[string]int64{}, TopNames: []NameCount{}, TopDomains: []DNSDomainStats{}, SuspiciousTLDs: []DNSTLDNote{}, Clients: []DNSClientStats{}}
}

func (d *dnsDetector) report(cfg Config) DNSReport {
	cfg = cfg.Defaults()
	n := cfg.TopN
	r := DNSReport{
		Queries:             d.queries,
		Responses:           d.responses,
		DistinctNames:       int64(len(d.distinct)),
		DistinctNamesCapped: d.distinctCapped,
		QTypes:              map[string]int64{},
		RCodes:              map[string]int64{},
		UntrackedQueries:    d.untracked,
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
		s := judgeDNS(cfg.DNS, pr.queries, pr.responses, pr.nxdomain, &pr.qtypes, &pr.names, pr.first, pr.last)
		if best[i] == nil || s.Score > bestSig[i].Score {
			best[i], bestSig[i] = pr, s
		}
	}
	for _, f := range d.Findings(cfg, nil) {
		if dom, ok := d.domains[f.Samples["domain"][0]]; ok {
			flagged[dom.index] = true
		}
	}
	doms := make([]DNSDomainStats, 0, len(d.domainList))
	for i, dom := range d.domainList {
		g := &dom.names
		st := DNSDomainStats{
			Domain: dom.name, Queries: dom.queries, Responses: dom.responses, NXDomain: dom.nxdomain,
			UniqueSubdomains: g.unique, UniqueCapped: g.capped, Clients: dom.clients,
			MaxLabelLen: g.maxLabel, MeanLabelLen: round2(g.meanLabel()), MaxNameLen: g.maxNameLen,
			LongestName: cutString([]byte(g.longestName), dnsSampleLen),
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

	res := map[netip.Addr][]string{}
	for _, pr := range d.pairList {
		for _, a := range pr.resolvers {
			s := a.String()
			if l := res[pr.client]; len(l) < dnsMaxResolvers && !slices.Contains(l, s) {
				res[pr.client] = append(l, s)
			}
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
