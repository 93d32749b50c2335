package detectors

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
	"github.com/gopacket/gopacket/layers"
)

// dnsRandomDomains asks n random-looking registered domains once each,
// from spread clients: the flood that fills the domain table.
func dnsRandomDomains(d *dnsDetector, n int, salt uint32) {
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerUDP | capture.LayerDNS, Dst: netip.MustParseAddr("10.0.0.53"), Time: time.Unix(50, 0)}
	q := &layers.DNS{Questions: []layers.DNSQuestion{{Type: layers.DNSTypeA}}}
	p.DNS = q
	for i := range n {
		p.Src = netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
		q.Questions[0].Name = fmt.Appendf(q.Questions[0].Name[:0], "www.r%08x%08x.org", salt, uint32(i)*2654435761)
		d.Packet(p)
	}
}

// TestDNSDomainFlood fills the domain and pair tables with random
// registered domains before, between and after a tunnel: the tables stay
// within their bounds, the queries are all counted, the warnings say what
// was dropped, and the tunnel is still found (issue 16: a flood of
// domains pushed later domains out of the tables).
func TestDNSDomainFlood(t *testing.T) {
	tests := []struct {
		name                 string
		maxDomains, maxPairs int
		before, after        int // flood domains before and after the tunnel
		clients, perClient   int
	}{
		{"flood before the tunnel", 200, 400, 1000, 0, 4, 300},
		{"flood before and after", 200, 400, 1000, 1000, 4, 300},
		{"pair bound tighter than domains", 500, 100, 2000, 500, 16, 80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDNSDetector().configure(DNSConfig{MaxDomains: tc.maxDomains, MaxPairs: tc.maxPairs})
			dnsRandomDomains(d, tc.before, 1)
			dnsFlood(d, tc.clients, tc.perClient, 1)
			dnsRandomDomains(d, tc.after, 2)
			wantQueries := int64(tc.before + tc.after + tc.clients*tc.perClient)
			if d.queries != wantQueries {
				t.Errorf("queries %d, want %d", d.queries, wantQueries)
			}
			if len(d.domains) > tc.maxDomains || len(d.domainList) != len(d.domains) || len(d.pairs) > tc.maxPairs || len(d.pairList) != len(d.pairs) {
				t.Errorf("domains %d (list %d), pairs %d (list %d); bounds %d, %d", len(d.domains), len(d.domainList), len(d.pairs), len(d.pairList), tc.maxDomains, tc.maxPairs)
			}
			for i, dom := range d.domainList {
				if int(dom.index) != i || d.domains[dom.name] != dom {
					t.Fatalf("domain %s at %d has index %d", dom.name, i, dom.index)
				}
			}
			for _, pr := range d.pairList {
				if pr.domain.evicted || d.pairs[dnsPairKey{pr.client, pr.domain.index}] != pr {
					t.Fatalf("pair %v/%s is not reachable by its key", pr.client, pr.domain.name)
				}
			}
			if got := heldHashes(d); got != d.hashes {
				t.Errorf("samples hold %d hashes, counted %d", got, d.hashes)
			}
			// Up to dnsMaxClientFindings clients get a finding each;
			// more get one finding for the domain that counts them.
			fs := findingsOf(d.Findings(Config{}.Defaults(), nil), report.AttackDNSTunneling)
			flagged := int64(len(fs))
			for _, f := range fs {
				if dom := f.Samples["domain"]; len(dom) != 1 || dom[0] != "example.com" {
					t.Errorf("finding under %v, want example.com only", dom)
				}
				if n, ok := f.Counts["clients_flagged"]; ok {
					flagged = n
				}
			}
			if flagged != int64(tc.clients) {
				t.Errorf("%d tunnel clients flagged in %d findings, want %d", flagged, len(fs), tc.clients)
			}
			w := strings.Join(d.warnings(), "\n")
			if !strings.Contains(w, fmt.Sprintf("past the bound of %d (DNSConfig.MaxDomains)", tc.maxDomains)) && tc.before+tc.after+1 > tc.maxDomains {
				t.Errorf("warnings %q do not name the domain bound", w)
			}
			// Every query is in the totals; what the tables lost is in
			// the eviction counters.
			var kept int64
			for _, dom := range d.domainList {
				kept += dom.queries
			}
			if kept+d.bounds.evictedDomainQueries+d.untracked != wantQueries {
				t.Errorf("kept %d + evicted %d + untracked %d queries, want %d", kept, d.bounds.evictedDomainQueries, d.untracked, wantQueries)
			}
		})
	}
}

// TestDNSSampledNamesConfig runs a tunnel of many more names than
// DNSConfig.MaxSampledNames through Analyze-sized bounds: the distinct
// counts become estimates close to the truth, the unique-names signal
// holds, and the warning says so (issue 16: the capped count hid a tunnel
// of 3 M names from 16,384 clients; this is it at a smaller scale).
func TestDNSSampledNamesConfig(t *testing.T) {
	const clients, per, budget = 256, 150, 24_000
	d := newDNSDetector().configure(DNSConfig{MaxSampledNames: budget})
	dnsFlood(d, clients, per, 1)
	if got := heldHashes(d); got > budget {
		t.Errorf("samples hold %d hashes, want at most %d", got, budget)
	}
	fs := findingsOf(d.Findings(Config{}.Defaults(), nil), report.AttackDNSTunneling)
	if len(fs) != 1 {
		t.Fatalf("%d findings, want 1", len(fs))
	}
	f := fs[0]
	if u := f.Counts["domain_unique_subdomains"]; u < clients*per*85/100 || u > clients*per*115/100 {
		t.Errorf("domain distinct names %d, want about %d", u, clients*per)
	}
	if f.Counts["clients_flagged"] != clients || !strings.Contains(strings.Join(f.Samples["signals"], ","), "unique_names") {
		t.Errorf("clients flagged %d, signals %v", f.Counts["clients_flagged"], f.Samples["signals"])
	}
	if w := strings.Join(d.warnings(), "\n"); !strings.Contains(w, "DNSConfig.MaxSampledNames") {
		t.Errorf("warnings %q, want the sampling named", w)
	}
}
