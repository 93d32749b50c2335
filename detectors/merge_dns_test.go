package detectors

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

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
				// An IP datagram whose fragments a file boundary cuts
				// reassembles in neither file: the capture layer loses
				// it, not the DNS detector.
				if cut := c.Fragments.Incomplete - whole.Capture().Fragments.Incomplete; diff != "" && cut > 0 {
					t.Skipf("%d fragmented datagrams cut by a file boundary: %s", cut, diff)
				}
				if diff != "" {
					t.Error(diff)
				}
			})
		}
	}
}
