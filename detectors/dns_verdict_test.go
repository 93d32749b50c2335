package detectors

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/report"
)

// lookup adds a query and its answer: rcode, and for NOERROR the address
// answer (none when answer is "").
func lookup(msgs []dnsPacket, at time.Duration, client, resolver, name string, qt layers.DNSType, rcode layers.DNSResponseCode, answer string) []dnsPacket {
	return append(msgs,
		dnsPacket{at: at, src: client, dst: resolver, name: name, qtype: qt},
		dnsPacket{at: at + 15*time.Millisecond, src: resolver, dst: client, name: name, qtype: qt, response: true, rcode: rcode, answer: answer})
}

func randLabel(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	b36Alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	hexAlpha = "0123456789abcdef"
	b32Alpha = "abcdefghijklmnopqrstuvwxyz234567"
)

// cdnBrowsing is a browser's afternoon: 60 registered domains nobody
// listed, 3 to 12 CDN-style names each (base36 ids of 14-24 characters,
// 32-hex hashes, UUID-like ids, numbered shards), each asked A and AAAA
// and answered with addresses, the popular ones again; plus one ad
// domain asked for 40 hashed names within a minute. suffix, when set, is
// appended to every name (a search list), answered NXDOMAIN.
func cdnBrowsing(client, resolver, suffix string) []dnsPacket {
	r := rand.New(rand.NewPCG(7, 11))
	var names []string
	shape := func(dom string) string {
		switch r.IntN(5) {
		case 0:
			return randLabel(r, hexAlpha, 32) + "." + dom
		case 1:
			return randLabel(r, b36Alpha, 14+r.IntN(11)) + "." + dom
		case 2:
			return randLabel(r, b36Alpha, 20) + ".cdn." + dom
		case 3:
			return randLabel(r, hexAlpha, 8) + "-" + randLabel(r, hexAlpha, 4) + "-" + randLabel(r, hexAlpha, 12) + "." + dom
		}
		return fmt.Sprintf("img%d.%s", r.IntN(40), dom)
	}
	for i := range 60 {
		dom := fmt.Sprintf("edge%02d-cdn%d.net", i, i%3)
		for range 3 + r.IntN(10) {
			names = append(names, shape(dom))
		}
	}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	names = append(names, names[:len(names)/8]...)
	var msgs []dnsPacket
	at := time.Duration(0)
	ask := func(name string) {
		rcode, a4, a6 := layers.DNSResponseCodeNoErr, "198.51.100.7", "2001:db8::7"
		if suffix != "" {
			name += suffix
			rcode, a4, a6 = layers.DNSResponseCodeNXDomain, "", ""
		}
		msgs = lookup(msgs, at, client, resolver, name, layers.DNSTypeA, rcode, a4)
		msgs = lookup(msgs, at+5*time.Millisecond, client, resolver, name, layers.DNSTypeAAAA, rcode, a6)
		at += 400 * time.Millisecond
	}
	for _, n := range names {
		ask(n)
	}
	// A busy ad domain: 40 hashed names in 40 seconds.
	for range 40 {
		ask(randLabel(r, hexAlpha, 32) + ".sf.ads-example.com")
		at += 600 * time.Millisecond
	}
	return msgs
}

// blockedAds is a browser asking an ad domain for 60 hashed names
// (32 hex) in a minute, A only, through a resolver that blocks the
// domain with rcode and answer (as Pi-hole and RPZ firewalls do).
func blockedAds(client, resolver string, rcode layers.DNSResponseCode, answer string) []dnsPacket {
	r := rand.New(rand.NewPCG(9, 9))
	var msgs []dnsPacket
	for i := range 60 {
		msgs = lookup(msgs, time.Duration(i)*time.Second, client, resolver, randLabel(r, hexAlpha, 32)+".safeframe.ads-example.com", layers.DNSTypeA, rcode, answer)
	}
	return msgs
}

// forwarded adds, for every exchange between a client and resolver, the
// resolver's own exchange with upstream (a forwarding resolver, captured
// on both sides).
func forwarded(msgs []dnsPacket, resolver, upstream string) []dnsPacket {
	var out []dnsPacket
	for _, m := range msgs {
		out = append(out, m)
		f := m
		f.at += 2 * time.Millisecond
		if m.response {
			f.src, f.dst = upstream, resolver
			f.at -= 6 * time.Millisecond
		} else {
			f.src, f.dst = resolver, upstream
		}
		out = append(out, f)
	}
	return out
}

// queriesOnly drops the responses, as a capture of one direction has it.
func queriesOnly(msgs []dnsPacket) []dnsPacket {
	return slices.DeleteFunc(msgs, func(m dnsPacket) bool { return m.response })
}

// shortExfil sends n chunks of 12 bytes as 24-hex labels in A queries,
// answered NXDOMAIN.
func shortExfil(n int, client, resolver string) []dnsPacket {
	r := rand.New(rand.NewPCG(4, 4))
	var msgs []dnsPacket
	for i := range n {
		name := fmt.Sprintf("%s.%x.x.exfil-test.example", randLabel(r, hexAlpha, 24), i)
		msgs = lookup(msgs, time.Duration(i)*20*time.Millisecond, client, resolver, name, layers.DNSTypeA, layers.DNSResponseCodeNXDomain, "")
	}
	return msgs
}

// aExfil sends n chunks of a file as hex labels in A queries,
// <60 hex>.<seq>.<session>.x.exfil-test.example, each answered by
// answer(i); with a nil answer the capture holds the queries only.
func aExfil(n int, client, resolver string, answer func(i int) (layers.DNSResponseCode, string)) []dnsPacket {
	r := rand.New(rand.NewPCG(3, 5))
	var msgs []dnsPacket
	for i := range n {
		name := fmt.Sprintf("%s.%d.%s.x.exfil-test.example", randLabel(r, hexAlpha, 60), i, "3f9a")
		at := time.Duration(i) * 250 * time.Millisecond
		if answer == nil {
			msgs = append(msgs, dnsPacket{at: at, src: client, dst: resolver, name: name, qtype: layers.DNSTypeA})
			continue
		}
		rc, a := answer(i)
		msgs = lookup(msgs, at, client, resolver, name, layers.DNSTypeA, rc, a)
	}
	return msgs
}

// TestDNSVerdicts is issue 10 item 4: random-looking names spread over
// many domains and answered with addresses are browsing; many names
// carrying data under one domain are a tunnel, whatever the record type.
func TestDNSVerdicts(t *testing.T) {
	const client, resolver = "10.20.0.15", "10.20.0.53"
	type want struct {
		severity   report.Severity
		confidence report.Confidence
		technique  string
		domain     string
		signals    []string // that must be among the finding's
	}
	tests := []struct {
		name string
		msgs []dnsPacket
		want []want // the findings, most severe first; none above low unless listed
	}{
		{"CDN browsing over 61 domains", cdnBrowsing(client, resolver, ""), []want{
			// The ad domain: long hashed labels, fast, but answered
			// with addresses and asked A and AAAA like any host name.
			{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "ads-example.com", []string{"long_labels", "encoded_labels", "query_rate"}},
		}},
		{"CDN names lengthened by a search list, NXDOMAIN", cdnBrowsing(client, resolver, ".corp.example"), []want{
			{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "corp.example", []string{"long_labels", "query_rate"}},
		}},
		{"A exfiltration forwarded upstream by the resolver", forwarded(aExfil(120, client, resolver, func(int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeNXDomain, ""
		}), resolver, "198.51.100.53"), []want{{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"nxdomain"}}}},
		{"A exfiltration of 36 kB in short labels (3000 queries of 24 hex), NXDOMAIN", shortExfil(3000, client, resolver), []want{
			{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"encoded_labels", "unique_names", "nxdomain"}}}},
		{"2.4 kB in short labels (200 queries of 24 hex), NXDOMAIN: no more than an ad domain", shortExfil(200, client, resolver), []want{
			{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "exfil-test.example", []string{"encoded_labels", "nxdomain"}}}},
		{"hashed ad names blocked with 0.0.0.0", blockedAds(client, resolver, layers.DNSResponseCodeNoErr, "0.0.0.0"), []want{
			{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "ads-example.com", []string{"long_labels", "encoded_labels", "unique_names", "odd_answers"}}}},
		{"hashed ad names blocked with NXDOMAIN", blockedAds(client, resolver, layers.DNSResponseCodeNXDomain, ""), []want{
			{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "ads-example.com", []string{"long_labels", "encoded_labels", "unique_names", "nxdomain"}}}},
		{"A exfiltration answered NXDOMAIN", aExfil(120, client, resolver, func(int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeNXDomain, ""
		}), []want{{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"long_labels", "encoded_labels", "unique_names", "nxdomain"}}}},
		{"A exfiltration answered 0.0.0.0", aExfil(120, client, resolver, func(int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeNoErr, "0.0.0.0"
		}), []want{{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"long_labels", "encoded_labels", "unique_names", "odd_answers"}}}},
		{"A exfiltration answered with nothing", aExfil(120, client, resolver, func(int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeNoErr, ""
		}), []want{{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"odd_answers"}}}},
		{"A exfiltration answered with plausible addresses", aExfil(120, client, resolver, func(i int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeNoErr, fmt.Sprintf("203.0.113.%d", 1+i%200)
		}), []want{{report.SeverityHigh, report.ConfidenceMedium, "a_query_exfil", "exfil-test.example", []string{"long_labels", "encoded_labels", "unique_names"}}}},
		{"A exfiltration without answers in the capture", aExfil(120, client, resolver, nil), []want{
			{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"long_labels", "encoded_labels", "unique_names", "unanswered"}}}},
		{"A exfiltration answered SERVFAIL", aExfil(25, client, resolver, func(int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeServFail, ""
		}), []want{{report.SeverityHigh, report.ConfidenceHigh, "a_query_exfil", "exfil-test.example", []string{"long_labels", "encoded_labels", "unique_names", "failed_answers"}}}},
		{"CDN browsing captured one way (queries only)", queriesOnly(cdnBrowsing(client, resolver, "")), []want{
			{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "ads-example.com", []string{"long_labels", "query_rate"}}}},
		{"20 long hex names answered with addresses: too few to be data", aExfil(20, client, resolver, func(i int) (layers.DNSResponseCode, string) {
			return layers.DNSResponseCodeNoErr, "203.0.113.9"
		}), []want{{report.SeverityLow, report.ConfidenceLow, "random_subdomains", "exfil-test.example", []string{"long_labels"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyzeFile(t, writeDNSCapture(t, tc.msgs), Config{})
			fs := findingsOf(a.Findings, report.AttackDNSTunneling)
			if len(fs) != len(tc.want) {
				for _, f := range fs {
					t.Logf("%s/%s %s %s", f.Severity, f.Confidence, f.Technique, f.Summary)
				}
				t.Fatalf("got %d findings, want %d", len(fs), len(tc.want))
			}
			for i, w := range tc.want {
				f := fs[i]
				if f.Severity != w.severity || f.Confidence != w.confidence || f.Technique != w.technique || f.Source != client || f.Target != resolver {
					t.Errorf("finding %d: %s -> %s %s/%s %s, want %s -> %s %s/%s %s (%s)", i, f.Source, f.Target, f.Severity, f.Confidence, f.Technique,
						client, resolver, w.severity, w.confidence, w.technique, f.Summary)
				}
				if !slices.Equal(f.Samples["domain"], []string{w.domain}) {
					t.Errorf("finding %d: domain %q, want %q", i, f.Samples["domain"], w.domain)
				}
				for _, sig := range w.signals {
					if !slices.Contains(f.Samples["signals"], sig) {
						t.Errorf("finding %d: signals %v lack %s", i, f.Samples["signals"], sig)
					}
				}
			}
		})
	}
}

func TestOddAddressAnswer(t *testing.T) {
	q := func(qt layers.DNSType, answers ...layers.DNSResourceRecord) *layers.DNS {
		return &layers.DNS{QR: true, Questions: []layers.DNSQuestion{{Name: []byte("x.example"), Type: qt}}, Answers: answers}
	}
	a := func(ip string) layers.DNSResourceRecord {
		addr := netip.MustParseAddr(ip)
		t := layers.DNSTypeA
		if addr.Is6() {
			t = layers.DNSTypeAAAA
		}
		return layers.DNSResourceRecord{Type: t, IP: addr.AsSlice()}
	}
	cname := layers.DNSResourceRecord{Type: layers.DNSTypeCNAME, CNAME: []byte("edge.example")}
	tests := []struct {
		name    string
		m       *layers.DNS
		odd, ok bool
	}{
		{"A with an address", q(layers.DNSTypeA, a("93.184.216.34")), false, true},
		{"A with a private address", q(layers.DNSTypeA, a("10.1.2.3")), false, true},
		{"A with a CNAME only", q(layers.DNSTypeA, cname), false, true},
		{"A with nothing", q(layers.DNSTypeA), true, true},
		{"A with 0.0.0.0", q(layers.DNSTypeA, a("0.0.0.0")), true, true},
		{"A with 0.0.0.7 (data in the answer)", q(layers.DNSTypeA, a("0.0.0.7")), true, true},
		{"A with loopback", q(layers.DNSTypeA, a("127.0.0.2")), true, true},
		{"A with broadcast", q(layers.DNSTypeA, a("255.255.255.255")), true, true},
		{"A with a CNAME then 0.0.0.0", q(layers.DNSTypeA, cname, a("0.0.0.0")), true, true},
		{"AAAA with nothing (no IPv6)", q(layers.DNSTypeAAAA), false, true},
		{"AAAA with ::", q(layers.DNSTypeAAAA, a("::")), true, true},
		{"AAAA with ::1", q(layers.DNSTypeAAAA, a("::1")), true, true},
		{"AAAA with an address", q(layers.DNSTypeAAAA, a("2001:db8::1")), false, true},
		{"TXT", q(layers.DNSTypeTXT), false, false},
	}
	for _, tc := range tests {
		if odd, ok := oddAddressAnswer(tc.m); odd != tc.odd || ok != tc.ok {
			t.Errorf("%s: odd %v ok %v, want %v %v", tc.name, odd, ok, tc.odd, tc.ok)
		}
	}
}

func TestLabelEncoding(t *testing.T) {
	tests := map[string]int{
		"147901b8d3df9cc46c59d600078b3316ce":                              encHex,
		"mnxw2aaaadkxk3lbmmwtmnbnmv2g2qdpobsw443tnaxgg33nfr2w2yldfuyteo":  encBase32,
		"uR8XFB4BKEsIzhzMcbuq47TjxG56Jo_hcssD2Euh-Bph3mWYnyl2S5xrUfAXpi4": encBase64,
		"z0pla\xc1\xe2\xf3\x84\xd5\xe6\xf7\x88\xb9\xea\xfb\x8c\xcd\xde":   encBinary, // iodine's Base128
		"Drink-mal-ein-J\xe4germeister":                                   encNone,   // one stray byte in a phrase
		"googleusercontent":                                               encNone,
		"e1234":                                                           encNone,
	}
	for in, want := range tests {
		if got := labelEncoding([]byte(in)); got != want {
			t.Errorf("labelEncoding(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestEndsInTLD(t *testing.T) {
	for in, want := range map[string]bool{
		"d3k8x7q2m1abcd.cloudfront.net": true,
		"www.Example.COM":               true,
		"cdn.example.co.uk":             true,
		"abc.t":                         false,
		"0001f4ee.s7.t":                 false,
		"com":                           false, // one label: the subdomain is not a name
		"x.deadbeefdeadbeefdeadbeef1":   false,
	} {
		if got := endsInTLD([]byte(in)); got != want {
			t.Errorf("endsInTLD(%q) = %v, want %v", in, got, want)
		}
	}
}
