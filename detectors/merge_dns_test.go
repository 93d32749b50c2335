package detectors

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
)

// dnsMergeCaptures are the captures the DNS detector has something to
// say about (tunnels, exfiltration in names, ordinary lookups) and the
// benign ones; corpus captures are skipped when the corpus is absent.
func dnsMergeCaptures(t *testing.T) []string {
	t.Helper()
	dir := filepath.Dir(testdataFile(t, "dns_tunnel.pcap"))
	var paths []string
	for _, pat := range []string{"dns_*", "exfil_dns_*", "benign_*", "gen_traffic.pcap.gz"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if d := corpusDir(); d != "" {
		for _, rel := range []string{
			"dmachard-malicious-dns/*.pcap",
			"suricata-verify/tests/dns/bug-1158/input.pcap",
			"pcapplusplus/Tests/Pcap++Test/PcapExamples/DnsPackets.pcap",
			"pcapplusplus/Tests/Pcap++Test/PcapExamples/many_interfaces-1.pcapng",
			"gopacket/pcap/test_dns.pcap",
			"zeek/testing/btest/Traces/wikipedia.pcap",
			"zeek/testing/btest/Traces/ipv6-fragmented-dns.pcap",
			"zeek/testing/btest/Traces/pcapng-multi-interface.pcapng",
			"chrissanders-packets/http_espn.pcapng",
		} {
			m, _ := filepath.Glob(filepath.Join(d, rel))
			paths = append(paths, m...)
		}
	}
	if len(paths) < 10 {
		t.Fatalf("only %d captures found: %v", len(paths), paths)
	}
	return paths
}

// mergeDNSParts merges the parts' captures, then their DNS detectors in
// the order given, as Analysis.mergeState does.
func mergeDNSParts(parts []*Analysis, order []int) (*dnsDetector, *capture.Capture) {
	c := mergedCapture(parts)
	d := parts[order[0]].dets.dns
	for _, i := range order[1:] {
		d.merge(parts[i].dets.dns, c)
	}
	// The datagrams whose fragments files shared (splitByFile keeps them
	// pending) reach the merged detector.
	c.HandPending(d)
	c.Settle(d)
	return d, c
}

// dnsOutcome is what the DNS detector says: its findings, its report and
// its warnings, as JSON.
func dnsOutcome(t *testing.T, d *dnsDetector, cfg Config, c *capture.Capture) (findings, rep, warnings string) {
	t.Helper()
	enc := func(v any) string {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return enc(d.Findings(cfg, c)), enc(d.report(cfg)), enc(d.warnings())
}

// dnsDiff says how the merged detector's outcome differs from the whole
// capture's ("" when it does not).
func dnsDiff(t *testing.T, whole *Analysis, d *dnsDetector, c *capture.Capture) string {
	t.Helper()
	wf, wr, ww := dnsOutcome(t, whole.dets.dns, whole.Config, whole.Capture())
	gf, gr, gw := dnsOutcome(t, d, whole.Config, c)
	switch {
	case gf != wf:
		return fmt.Sprintf("findings differ:\nmerged: %s\nwhole: %s", gf, wf)
	case gr != wr:
		return fmt.Sprintf("DNS report differs:\nmerged: %s\nwhole: %s", gr, wr)
	case gw != ww:
		return fmt.Sprintf("warnings differ:\nmerged: %s\nwhole: %s", gw, ww)
	}
	return ""
}

// TestDNSMergeByPair splits each capture by address pair into n parts
// (as the parallel engine does), merges the parts' DNS state in several
// orders and groupings, and wants exactly the findings, report and
// warnings of one pass over the whole.
func TestDNSMergeByPair(t *testing.T) {
	orders := map[string]func(n int) [][]int{
		"forward": func(n int) [][]int { return [][]int{seq(n)} },
		"reverse": func(n int) [][]int { s := seq(n); slices.Reverse(s); return [][]int{s} },
		// The last two parts merged first, then the rest into them.
		"grouped": func(n int) [][]int { return [][]int{seq(n)[n-2:], seq(n - 2)} },
	}
	for _, path := range dnsMergeCaptures(t) {
		for _, n := range []int{2, 3, 5} {
			for name, order := range orders {
				if name == "grouped" && n < 3 {
					continue
				}
				t.Run(fmt.Sprintf("%s/n=%d/%s", filepath.Base(path), n, name), func(t *testing.T) {
					whole, parts := splitByPair(t, path, Config{}, n)
					d, c := mergeGroups(parts, order(n))
					if diff := dnsDiff(t, whole, d, c); diff != "" {
						t.Error(diff)
					}
				})
			}
		}
	}
}

// mergeGroups merges each group of parts in its order, then the groups'
// results, the first group's receiving the others.
func mergeGroups(parts []*Analysis, groups [][]int) (*dnsDetector, *capture.Capture) {
	c := mergedCapture(parts)
	var heads []*dnsDetector
	for _, g := range groups {
		d := parts[g[0]].dets.dns
		for _, i := range g[1:] {
			d.merge(parts[i].dets.dns, c)
		}
		heads = append(heads, d)
	}
	for _, o := range heads[1:] {
		heads[0].merge(o, c)
	}
	return heads[0], c
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestDNSMergeByFile cuts each capture into n consecutive files, as a
// rotated capture is, merges their DNS state, and wants exactly what one
// pass gives: a query in one file and its response in the next still
// count together (see dnsOrphans).
func TestDNSMergeByFile(t *testing.T) {
	for _, path := range dnsMergeCaptures(t) {
		for _, n := range []int{2, 5, 20} {
			t.Run(fmt.Sprintf("%s/n=%d", filepath.Base(path), n), func(t *testing.T) {
				whole, parts := splitByFile(t, path, Config{}, n)
				d, c := mergeDNSParts(parts, seq(len(parts)))
				diff := dnsDiff(t, whole, d, c)
				if diff != "" {
					t.Error(diff)
				}
			})
		}
	}
}

// dnsStream is a synthetic DNS exchange: a base32 tunnel of thousands of
// names (a fifth asked again) under one domain through two resolvers,
// browsing under many domains, and some responses before their queries.
func dnsStream(seed uint64, tunnelNames, domains int) []*capture.Packet {
	r := rand.New(rand.NewPCG(seed, 7))
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	label := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	clients := []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6"), netip.MustParseAddr("fd00::7")}
	resolvers := []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("10.0.0.54")}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out []*capture.Packet
	at := base
	msg := func(src, dst netip.Addr, name string, qt layers.DNSType, resp bool, rc layers.DNSResponseCode) *capture.Packet {
		m := &layers.DNS{QR: resp, ResponseCode: rc, Questions: []layers.DNSQuestion{{Name: []byte(name), Type: qt}}}
		return &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerUDP | capture.LayerDNS, Src: src, Dst: dst, DNS: m, Time: at}
	}
	var asked []string
	for i := range tunnelNames {
		// Several packets share an instant, so ties need a rule.
		at = at.Add(time.Duration(r.IntN(3)) * time.Millisecond)
		name := label(40) + "." + label(20) + ".t.tunnel-example.com"
		if len(asked) > 0 && r.IntN(5) == 0 {
			name = asked[r.IntN(len(asked))]
		}
		asked = append(asked, name)
		c, res := clients[i%2], resolvers[r.IntN(2)]
		if r.IntN(2) == 0 {
			name = strings.ToUpper(name[:8]) + name[8:] // the case differs, the name does not
		}
		q := msg(c, res, name, layers.DNSTypeTXT, false, 0)
		a := msg(res, c, name, layers.DNSTypeTXT, true, layers.DNSResponseCodeNXDomain)
		if r.IntN(20) == 0 {
			q, a = a, q // the response first
		}
		out = append(out, q, a)
		if r.IntN(3) == 0 {
			d := fmt.Sprintf("www.site%d.example", r.IntN(domains))
			out = append(out, msg(clients[2], resolvers[0], d, layers.DNSTypeA, false, 0), msg(resolvers[0], clients[2], d, layers.DNSTypeA, true, 0))
		}
	}
	return out
}

// feedDNS runs packets through a fresh detector with limits lim.
func feedDNS(cfg Config, lim dnsLimits, packets []*capture.Packet) *dnsDetector {
	d := newDNSDetector().configure(cfg.DNS)
	d.lim = lim
	for _, p := range packets {
		d.Packet(p)
	}
	return d
}

// TestDNSMergeSampled merges parts whose name samples are past their
// capacity (one name in 2^level kept): the merged samples, statistics and
// findings are those of one pass, whichever part receives the others.
func TestDNSMergeSampled(t *testing.T) {
	cfg := Config{}.Defaults()
	lim := dnsLimits{pairNames: 256, domainNames: 512, distinctNames: 1024, hashes: 1 << 30}
	packets := dnsStream(1, 6000, 50)
	whole := feedDNS(cfg, lim, packets)
	var tunnel *dnsDomain
	for _, dom := range whole.domainList {
		if dom.name == "tunnel-example.com" {
			tunnel = dom
		}
	}
	if tunnel == nil || tunnel.names.set.level == 0 || whole.distinct.level == 0 {
		t.Fatalf("the test wants sampled sets: tunnel domain %+v", tunnel)
	}
	splits := map[string]func(i int, p *capture.Packet) int{
		// By address pair, as the parallel engine splits.
		"pair": func(_ int, p *capture.Packet) int {
			a, b := p.Src, p.Dst
			if a.Compare(b) > 0 {
				a, b = b, a
			}
			return int(a.As16()[15]+b.As16()[15]) % 3
		},
		// In consecutive runs, as rotated files are.
		"time": func(i int, _ *capture.Packet) int { return i * 4 / len(packets) },
	}
	for name, split := range splits {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reverse=%v", name, reverse), func(t *testing.T) {
				var parts [][]*capture.Packet
				for i, p := range packets {
					k := split(i, p)
					for len(parts) <= k {
						parts = append(parts, nil)
					}
					parts[k] = append(parts[k], p)
				}
				if reverse {
					slices.Reverse(parts)
				}
				m := feedDNS(cfg, lim, parts[0])
				for _, p := range parts[1:] {
					m.merge(feedDNS(cfg, lim, p), nil)
				}
				wf, wr, ww := dnsOutcome(t, whole, cfg, nil)
				gf, gr, gw := dnsOutcome(t, m, cfg, nil)
				if gf != wf || gr != wr || gw != ww {
					t.Errorf("merged differs from one pass:\nfindings %s\nwant %s\nreport %s\nwant %s\nwarnings %s\nwant %s", gf, wf, gr, wr, gw, ww)
				}
				// The statistics themselves, finer than the report shows.
				if got, want := dnsAggs(m), dnsAggs(whole); got != want {
					t.Errorf("merged name statistics:\n%s\none pass:\n%s", got, want)
				}
			})
		}
	}
}

// TestDNSMergeBounded merges parts that each filled the domain bound and
// the bound on sampled names: the merged tables stay within the bounds,
// and the result does not depend on which part receives the other.
func TestDNSMergeBounded(t *testing.T) {
	cfg := Config{DNS: DNSConfig{MaxDomains: 40, MaxPairs: 40, MaxSampledNames: 600}}.Defaults()
	lim := dnsDefaultLimits
	lim.hashes = 600
	a, b := dnsStream(2, 3000, 400), dnsStream(3, 3000, 400)
	outcome := func(x, y []*capture.Packet) (string, string, string, *dnsDetector) {
		m := feedDNS(cfg, lim, x)
		m.merge(feedDNS(cfg, lim, y), nil)
		f, r, w := dnsOutcome(t, m, cfg, nil)
		return f, r, w, m
	}
	f1, r1, w1, m := outcome(a, b)
	f2, r2, w2, _ := outcome(b, a)
	if f1 != f2 || r1 != r2 || w1 != w2 {
		t.Errorf("merge(a, b) differs from merge(b, a):\n%s\n%s\n%s\nvs\n%s\n%s\n%s", f1, r1, w1, f2, r2, w2)
	}
	held := 0
	for _, pr := range m.pairList {
		held += len(pr.names.set.seen)
		if int64(len(pr.names.stats)) != pr.names.measured || len(pr.names.stats) != len(pr.names.set.seen) {
			t.Errorf("pair %v/%s: %d measurements for %d sampled names", pr.client, pr.domain.name, len(pr.names.stats), len(pr.names.set.seen))
		}
	}
	for _, dom := range m.domainList {
		held += len(dom.names.set.seen)
	}
	if len(m.domains) > 40 || len(m.pairs) > 40 || held > 600 || held != m.hashes || m.level == 0 {
		t.Errorf("merged: %d domains, %d pairs (bounds 40), %d sampled names (counted %d, bound 600), level %d",
			len(m.domains), len(m.pairs), held, m.hashes, m.level)
	}
	if !strings.Contains(w1, "MaxDomains") || !strings.Contains(w1, "MaxSampledNames") {
		t.Errorf("warnings %s: want the domain bound and the sampling said", w1)
	}
}

// dnsAggs writes the name statistics of every domain and pair, by name.
func dnsAggs(d *dnsDetector) string {
	g := func(a *nameAgg) string {
		return fmt.Sprintf("level %d, %d sampled, %d queries; measured %d, labels %d/%d, entropy %d (max %v), encoded %d/%d %v, reversed %d, embedded %d, data %d, encoded chars %d; max label %d, longest %d %q",
			a.set.level, len(a.set.seen), a.set.queries, a.measured, a.labels, a.labelChars, a.entropySum, a.entropyMax,
			a.encodedNames, a.encodedLabels, a.encodings, a.reversedIP, a.embedded, a.dataNames, a.encodedChars, a.maxLabel, a.maxNameLen, a.longestName)
	}
	var lines []string
	for _, dom := range d.domainList {
		lines = append(lines, dom.name+": "+g(&dom.names))
	}
	for _, pr := range d.pairList {
		lines = append(lines, fmt.Sprintf("%s %s: %s; samples %q", pr.client, pr.domain.name, g(&pr.names), pr.samples))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
