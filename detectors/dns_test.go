package detectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// corpusDNSExpected reads the "dns" section of expected.json for rel.
func corpusDNSExpected(t *testing.T, rel string) (queries, distinct int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir(), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Files map[string]struct {
			DNS *struct {
				Queries  int64 `json:"queries"`
				Distinct int64 `json:"distinct_qnames"`
			} `json:"dns"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	f, ok := e.Files[rel]
	if !ok || f.DNS == nil {
		t.Fatalf("expected.json has no dns section for %s", rel)
	}
	return f.DNS.Queries, f.DNS.Distinct
}

func TestDNSTunnelCorpus(t *testing.T) {
	tests := []struct {
		file, source, target, domain, technique string
		severity                                report.Severity
		confidence                              report.Confidence
		queries, unique, maxLabel               int64
		qtypes                                  map[string]int64
		signals                                 []string
	}{
		{"dmachard-malicious-dns/dnscat2.pcap", "192.168.1.17", "192.168.1.210", "biillpi.com", "mixed_records",
			report.SeverityHigh, report.ConfidenceHigh, 12, 12, 34, map[string]int64{"qtype_mx": 6, "qtype_txt": 5, "qtype_cname": 1},
			[]string{"long_labels", "high_entropy", "encoded_labels", "data_record_types", "unique_names"}},
		{"dmachard-malicious-dns/iodine.pcap", "192.168.1.17", "192.168.1.210", "biillpi.com", "null_records",
			report.SeverityHigh, report.ConfidenceHigh, 12, 12, 56, map[string]int64{"qtype_null": 12},
			[]string{"long_labels", "high_entropy", "encoded_labels", "data_record_types", "unique_names"}},
		{"dmachard-malicious-dns/dns2tcp.pcap", "192.168.1.17", "192.168.1.210", "hsc.fr", "txt_records",
			report.SeverityHigh, report.ConfidenceHigh, 22, 22, 63, map[string]int64{"qtype_txt": 22},
			[]string{"long_labels", "high_entropy", "encoded_labels", "data_record_types", "unique_names", "unanswered"}}, // tshark: 4 responses to 22 queries
		{"dmachard-malicious-dns/dnsextrator.pcap", "192.168.1.102", "192.168.1.210", "hsc.fr", "txt_records",
			report.SeverityHigh, report.ConfidenceHigh, 14, 14, 63, map[string]int64{"qtype_txt": 14},
			[]string{"long_labels", "high_entropy", "encoded_labels", "data_record_types", "unique_names"}},
		{"dmachard-malicious-dns/sods.pcap", "192.168.1.17", "192.168.1.210", "hsc.fr", "mixed_records",
			report.SeverityHigh, report.ConfidenceHigh, 493, 493, 63, map[string]int64{"qtype_cname": 191, "qtype_a": 127, "qtype_txt": 105, "qtype_null": 70},
			[]string{"long_labels", "high_entropy", "data_record_types", "unique_names", "query_rate", "odd_answers"}}, // its A answers are 0.0.0.x
		{"suricata-verify/tests/dns/bug-1158/input.pcap", "10.30.28.90", "10.30.28.94", "tunnel.com", "txt_records",
			report.SeverityHigh, report.ConfidenceHigh, 81, 81, 63, map[string]int64{"qtype_txt": 81},
			[]string{"long_labels", "high_entropy", "data_record_types", "unique_names", "query_rate"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, tc.file), Config{})
			fs := findingsOf(a.Findings, report.AttackDNSTunneling)
			if len(fs) != 1 {
				t.Fatalf("got %d dns_tunneling findings, want 1: %+v", len(fs), fs)
			}
			f := fs[0]
			if f.Source != tc.source || f.Target != tc.target || f.Technique != tc.technique || f.Severity != tc.severity || f.Confidence != tc.confidence {
				t.Errorf("got %s -> %s %s %s/%s, want %s -> %s %s %s/%s", f.Source, f.Target, f.Technique, f.Severity, f.Confidence,
					tc.source, tc.target, tc.technique, tc.severity, tc.confidence)
			}
			if got := f.Samples["domain"]; !slices.Equal(got, []string{tc.domain}) {
				t.Errorf("domain sample %q, want %q", got, tc.domain)
			}
			if !strings.Contains(f.Summary, " under "+tc.domain+" ") || !strings.Contains(f.Summary, tc.source) {
				t.Errorf("summary does not name the client and domain: %s", f.Summary)
			}
			for k, want := range map[string]int64{"queries": tc.queries, "unique_subdomains": tc.unique, "max_label_len": tc.maxLabel} {
				if f.Counts[k] != want {
					t.Errorf("counts[%s] = %d, want %d", k, f.Counts[k], want)
				}
			}
			for k, want := range tc.qtypes {
				if f.Counts[k] != want {
					t.Errorf("counts[%s] = %d, want %d", k, f.Counts[k], want)
				}
			}
			if diff := cmp.Diff(tc.signals, f.Samples["signals"]); diff != "" {
				t.Errorf("signals (-want +got):\n%s", diff)
			}
			if n := f.Samples["names"]; len(n) == 0 || len(n) > dnsSampleNames {
				t.Errorf("names sample has %d entries", len(n))
			}
			for _, n := range f.Samples["names"] {
				if len(n) > dnsSampleLen || !strings.HasSuffix(strings.ToLower(n), tc.domain) && len(n) < dnsSampleLen {
					t.Errorf("bad name sample %q", n)
				}
			}
			if f.FirstSeen.IsZero() || f.LastSeen.Before(f.FirstSeen) {
				t.Errorf("first/last seen %v %v", f.FirstSeen, f.LastSeen)
			}
			golden(t, "dns_"+strings.TrimSuffix(filepath.Base(filepath.Dir(tc.file)+"_"+filepath.Base(tc.file)), ".pcap"), fs)
		})
	}
}

// TestDNSCorpusTotals checks the DNS report's totals against the corpus
// ground truth for every capture with DNS, tunnels and benign alike.
func TestDNSCorpusTotals(t *testing.T) {
	files := []string{
		"dmachard-malicious-dns/dnscat2.pcap",
		"dmachard-malicious-dns/iodine.pcap",
		"dmachard-malicious-dns/dns2tcp.pcap",
		"dmachard-malicious-dns/dnsextrator.pcap",
		"dmachard-malicious-dns/sods.pcap",
		"suricata-verify/tests/dns/bug-1158/input.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/DnsPackets.pcap",
		"gopacket/pcap/test_dns.pcap",
		"zeek/testing/btest/Traces/wikipedia.pcap",
		"chrissanders-packets/http_espn.pcapng",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/many_interfaces-1.pcapng",
		"zeek/testing/btest/Traces/ipv6-fragmented-dns.pcap",
		"zeek/testing/btest/Traces/pcapng-multi-interface.pcapng",
		"austina-portscandetector/xmas15.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, rel), Config{})
			queries, distinct := corpusDNSExpected(t, rel)
			r := a.DNS()
			if r.Queries != queries || r.DistinctNames != distinct {
				t.Errorf("DNS() queries %d distinct %d, want %d and %d", r.Queries, r.DistinctNames, queries, distinct)
			}
		})
	}
}

func TestDNSBenignCorpus(t *testing.T) {
	for _, rel := range []string{
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/DnsPackets.pcap",
		"gopacket/pcap/test_dns.pcap",
		"zeek/testing/btest/Traces/wikipedia.pcap",
		"chrissanders-packets/http_espn.pcapng",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/many_interfaces-1.pcapng",
		"zeek/testing/btest/Traces/ipv6-fragmented-dns.pcap",
		"zeek/testing/btest/Traces/pcapng-multi-interface.pcapng",
		"austina-portscandetector/xmas15.pcap",
		"zeek/testing/btest/Traces/nmap-vsn.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/raw_ip.pcap",
	} {
		t.Run(rel, func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, rel), Config{})
			if fs := findingsOf(a.Findings, report.AttackDNSTunneling); len(fs) != 0 {
				t.Errorf("benign capture gave %d dns_tunneling findings: %+v", len(fs), fs)
			}
		})
	}
}

func TestDNSReportDnsPackets(t *testing.T) {
	a := analyzeFile(t, corpusFile(t, "pcapplusplus/Tests/Pcap++Test/PcapExamples/DnsPackets.pcap"), Config{})
	r := a.DNS()
	if r.QTypes["A"] != 224 || r.QTypes["ANY"] != 19 || r.QTypes["PTR"] != 2 {
		t.Errorf("qtypes %v, want A 224, ANY 19, PTR 2", r.QTypes)
	}
	if len(r.TopDomains) != 10 || r.DomainsOmitted == 0 {
		t.Errorf("top domains %d (omitted %d), want 10 and some omitted", len(r.TopDomains), r.DomainsOmitted)
	}
	var se *DNSDomainStats
	for i := range r.TopDomains {
		if r.TopDomains[i].Domain == "stackexchange.com" {
			se = &r.TopDomains[i]
		}
	}
	if se == nil || se.Queries != 49 || se.Flagged {
		t.Fatalf("stackexchange.com stats %+v, want 49 queries, not flagged", se)
	}
	if r.Clients[0].Client != "10.0.0.1" || r.Clients[0].Queries != 224 {
		t.Errorf("busiest client %+v, want 10.0.0.1 with 224 queries", r.Clients[0])
	}
	golden(t, "dns_report_DnsPackets", r)
}

func TestDNSThresholds(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		cfg      DNSConfig
		severity report.Severity // "" for no finding
		conf     report.Confidence
		score    int64
	}{
		{"dnscat2 defaults", "dmachard-malicious-dns/dnscat2.pcap", DNSConfig{}, report.SeverityHigh, report.ConfidenceHigh, 5},
		{"dnscat2 more queries needed", "dmachard-malicious-dns/dnscat2.pcap", DNSConfig{MinQueries: 13}, "", "", 0},
		{"dnscat2 more names needed", "dmachard-malicious-dns/dnscat2.pcap", DNSConfig{MinUniqueSubdomains: 20}, "", "", 0},
		{"dnscat2 34-char labels not long", "dmachard-malicious-dns/dnscat2.pcap", DNSConfig{LongLabel: 35}, report.SeverityHigh, report.ConfidenceHigh, 4},
		{"dnscat2 short labels and low entropy bar", "dmachard-malicious-dns/dnscat2.pcap", DNSConfig{LongLabel: 35, EntropyThreshold: 4}, report.SeverityMedium, report.ConfidenceMedium, 3},
		{"iodine entropy bar above 3.89", "dmachard-malicious-dns/iodine.pcap", DNSConfig{EntropyThreshold: 4}, report.SeverityHigh, report.ConfidenceHigh, 4},
		{"iodine without long labels: its encoded probes remain", "dmachard-malicious-dns/iodine.pcap", DNSConfig{EntropyThreshold: 4, LongLabel: 60}, report.SeverityMedium, report.ConfidenceMedium, 3},
		{"iodine at the distinct-name bar, 12 of 12", "dmachard-malicious-dns/iodine.pcap", DNSConfig{EntropyThreshold: 4, LongLabel: 60, MinUniqueSubdomains: 12}, report.SeverityMedium, report.ConfidenceMedium, 3},
		{"bug-1158 rate bar raised", "suricata-verify/tests/dns/bug-1158/input.pcap", DNSConfig{RatePerMinute: 100}, report.SeverityHigh, report.ConfidenceHigh, 4},
		{"bug-1158 rate bar at 81", "suricata-verify/tests/dns/bug-1158/input.pcap", DNSConfig{RatePerMinute: 81}, report.SeverityHigh, report.ConfidenceHigh, 5},
	}
	analyses := map[string]*Analysis{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyses[tc.file]
			if a == nil {
				a = analyzeFile(t, corpusFile(t, tc.file), Config{})
				analyses[tc.file] = a
			}
			fs, err := a.Evaluate(Config{DNS: tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			fs = findingsOf(fs, report.AttackDNSTunneling)
			if tc.severity == "" {
				if len(fs) != 0 {
					t.Fatalf("got %d findings, want none: %+v", len(fs), fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1", len(fs))
			}
			if fs[0].Severity != tc.severity || fs[0].Confidence != tc.conf || fs[0].Counts["score"] != tc.score {
				t.Errorf("got %s/%s score %d, want %s/%s score %d (%s)", fs[0].Severity, fs[0].Confidence, fs[0].Counts["score"],
					tc.severity, tc.conf, tc.score, fs[0].Summary)
			}
		})
	}
}

func TestDNSConfigValidate(t *testing.T) {
	for _, c := range []DNSConfig{{MinQueries: -1}, {MinUniqueSubdomains: -2}, {LongLabel: -1}, {EntropyThreshold: -1}, {RatePerMinute: -5}} {
		if err := (Config{DNS: c}).Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	if got := (Config{}).Defaults().DNS; got != (DNSConfig{MinQueries: 10, MinUniqueSubdomains: 10, LongLabel: 30, EntropyThreshold: 3.5, RatePerMinute: 60}) {
		t.Errorf("defaults %+v", got)
	}
}

func TestRegisteredDomain(t *testing.T) {
	tests := map[string]string{
		"a.b.example.co.uk":                  "example.co.uk",
		"e1234.dscx.akamaiedge.net":          "dscx.akamaiedge.net", // the list's private section makes akamaiedge.net a suffix
		"r3---sn-abc.googlevideo.com":        "googlevideo.com",
		"abc.tun.hsc.fr":                     "hsc.fr",
		"example.com":                        "example.com",
		"com":                                "com",
		"brwc0cb383d1f42":                    "brwc0cb383d1f42",
		"_services._dns-sd._udp.local":       "_udp.local",
		"215.1.168.192.in-addr.arpa":         "in-addr.arpa",
		"b.a.9.8.7.6.5.0.0.0.0.0.0.ip6.arpa": "ip6.arpa",
		"co.uk":                              "co.uk",
		"foo.bar.internal":                   "bar.internal",
		"x.github.io":                        "x.github.io",
	}
	for in, want := range tests {
		if got := registeredDomain(in); got != want {
			t.Errorf("registeredDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLooksEncoded(t *testing.T) {
	tests := map[string]bool{
		"147901b8d3df9cc46c59d600078b3316ce":                              true, // hex (dnscat2)
		"mnxw2aaaadkxk3lbmmwtmnbnmv2g2qdpobsw443tnaxgg33nfr2w2yldfuyteo":  true, // base32 (sods)
		"MRXHG5DBOAXGG33OMYXHI6DUPQYTG":                                   true, // base32 upper
		"uR8XFB4BKEsIzhzMcbuq47TjxG56Jo_hcssD2Euh-Bph3mWYnyl2S5xrUfAXpi4": true, // base64url
		"e1234":                                false, // akamai, short
		"d1abc2defgh":                          false, // cloudfront, short
		"googleusercontent":                    false, // a word
		"mail-attachment":                      false,
		"client-office365-tas":                 false, // hyphenated host name
		"2a03-2880-f003-c07-face-b00c":         false,
		"r3---sn-abc5n7el":                     false,
		"ec2-54-210-11-12":                     false,
		"E554A441-09A9-5B44-ADF7-B5E72304105C": false, // a UUID: hyphens, one case
	}
	for in, want := range tests {
		if got := looksEncoded([]byte(in)); got != want {
			t.Errorf("looksEncoded(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMeasureSubdomain(t *testing.T) {
	st := measureSubdomain([]byte("aaaa.bb"))
	if st.labels != 2 || st.labelChars != 6 || st.maxLabel != 4 || st.encoded != 0 {
		t.Errorf("labels %+v", st)
	}
	// four a and two b: -(2/3 log2 2/3 + 1/3 log2 1/3) = 0.918
	if st.entropy < 0.918 || st.entropy > 0.919 {
		t.Errorf("entropy %v, want 0.918", st.entropy)
	}
	for in, want := range map[string]bool{
		"4.3.2.1": true, "4.3.2.1.zen": true, "www.3.2.1": false, "www.4.3.2.1": false, "4.3.2": false,
		"b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl": true, "a.b.c.d": false,
	} {
		if got := measureSubdomain([]byte(in)).reversedIP; got != want {
			t.Errorf("measureSubdomain(%q).reversedIP = %v, want %v", in, got, want)
		}
	}
}

// dnsPacket is one DNS message for a synthetic capture.
type dnsPacket struct {
	at       time.Duration
	src, dst string
	name     string
	qtype    layers.DNSType
	response bool
	rcode    layers.DNSResponseCode
	tcp      bool
	// answer, in a response to an A or AAAA question, is the address
	// answered ("" for none).
	answer string
}

// writeDNSCapture writes msgs as Ethernet/IP/UDP (or TCP) DNS packets.
func writeDNSCapture(t *testing.T, msgs []dnsPacket) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dns.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, m := range msgs {
		src, dst := netip.MustParseAddr(m.src), netip.MustParseAddr(m.dst)
		dns := &layers.DNS{ID: uint16(i), QR: m.response, RD: true, ResponseCode: m.rcode,
			Questions: []layers.DNSQuestion{{Name: []byte(m.name), Type: m.qtype, Class: layers.DNSClassIN}}}
		if m.response && m.answer != "" {
			dns.Answers = []layers.DNSResourceRecord{{Name: []byte(m.name), Type: m.qtype, Class: layers.DNSClassIN, TTL: 60,
				IP: netip.MustParseAddr(m.answer).AsSlice()}}
		}
		sport, dport := layers.UDPPort(40000+i%1000), layers.UDPPort(53)
		if m.response {
			sport, dport = 53, layers.UDPPort(40000+i%1000)
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		var net4 gopacket.NetworkLayer
		var ls []gopacket.SerializableLayer
		if src.Is4() {
			ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Protocol: layers.IPProtocolUDP}
			net4 = ip
			ls = append(ls, eth, ip)
		} else {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), NextHeader: layers.IPProtocolUDP}
			net4 = ip
			ls = append(ls, eth, ip)
		}
		if m.tcp {
			msg := gopacket.NewSerializeBuffer()
			if err := dns.SerializeTo(msg, gopacket.SerializeOptions{FixLengths: true}); err != nil {
				t.Fatal(err)
			}
			body := append([]byte{byte(len(msg.Bytes()) >> 8), byte(len(msg.Bytes()))}, msg.Bytes()...)
			tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), ACK: true, PSH: true, Window: 1024}
			switch ip := net4.(type) {
			case *layers.IPv4:
				ip.Protocol = layers.IPProtocolTCP
			case *layers.IPv6:
				ip.NextHeader = layers.IPProtocolTCP
			}
			if err := tcp.SetNetworkLayerForChecksum(net4); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, tcp, gopacket.Payload(body))
		} else {
			udp := &layers.UDP{SrcPort: sport, DstPort: dport}
			if err := udp.SetNetworkLayerForChecksum(net4); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, udp, dns)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: base.Add(m.at), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// queryAndAnswer adds a query from client to resolver and its answer.
func queryAndAnswer(msgs []dnsPacket, at time.Duration, client, resolver, name string, qt layers.DNSType, rcode layers.DNSResponseCode) []dnsPacket {
	return append(msgs,
		dnsPacket{at: at, src: client, dst: resolver, name: name, qtype: qt},
		dnsPacket{at: at + 20*time.Millisecond, src: resolver, dst: client, name: name, qtype: qt, response: true, rcode: rcode})
}

// TestDNSSyntheticBenign builds a few hundred lookups of ordinary browsing:
// CDN host names, Google and Facebook edge names, telemetry, PTR lookups,
// DNS-SD over mDNS, DNSBL lookups (a known zone and an unknown one) and a
// domain under a suspicious TLD. None of it is a tunnel.
func TestDNSSyntheticBenign(t *testing.T) {
	const client, resolver = "192.168.7.20", "192.168.7.1"
	var msgs []dnsPacket
	at := time.Duration(0)
	step := func() time.Duration { at += 150 * time.Millisecond; return at }
	for i := range 40 {
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("e%d.dscx.akamaiedge.net", 1000+i*37), layers.DNSTypeA, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("d%xk%02dq.cloudfront.net", 0xa1b2c3+i*7919, i), layers.DNSTypeA, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("scontent-%02d.xx.fbcdn.net", i), layers.DNSTypeAAAA, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("2a03-2880-f0%02x-c07.fbcdn.net", i), layers.DNSTypeAAAA, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("lga25s%02d-in-f14.1e100.net", i), layers.DNSTypePTR, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("r%d---sn-abc%dn7el.googlevideo.com", i%9, i), layers.DNSTypeA, 0)
		// A CDN nobody listed: short tokens, A records, ordinary pace.
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("e%d.b.edge-%d.examplecdn.net", 10000+i*113, i%4), layers.DNSTypeA, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("ocsp%d.example-ca.com", i), layers.DNSTypeA, 0)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("%d.%d.51.198.in-addr.arpa", i, 10+i), layers.DNSTypePTR, layers.DNSResponseCodeNXDomain)
		// DNSBL lookups: reversed addresses, mostly NXDOMAIN, TXT for the reason.
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("%d.%d.113.203.zen.spamhaus.org", i, 200-i), layers.DNSTypeTXT, layers.DNSResponseCodeNXDomain)
		msgs = queryAndAnswer(msgs, step(), client, resolver, fmt.Sprintf("%d.%d.113.203.bl.example-rbl.org", i, 200-i), layers.DNSTypeTXT, layers.DNSResponseCodeNXDomain)
	}
	for i := range 20 {
		msgs = append(msgs, dnsPacket{at: step(), src: "192.168.7.33", dst: "224.0.0.251", name: fmt.Sprintf("E554A441-09A9-5B44-ADF7-B5E7230410%02d._homekit._tcp.local", i), qtype: layers.DNSTypePTR})
		msgs = append(msgs, dnsPacket{at: step(), src: "192.168.7.33", dst: "224.0.0.251", name: "_services._dns-sd._udp.local", qtype: layers.DNSTypePTR})
	}
	for range 3 {
		msgs = queryAndAnswer(msgs, step(), client, resolver, "www.free-prizes.tk", layers.DNSTypeA, 0)
	}
	a := analyzeFile(t, writeDNSCapture(t, msgs), Config{})
	if fs := findingsOf(a.Findings, report.AttackDNSTunneling); len(fs) != 0 {
		for _, f := range fs {
			t.Errorf("benign lookups flagged: %s", f.Summary)
		}
	}
	r := a.DNS()
	if want := int64(40*11 + 40 + 3); r.Queries != want {
		t.Errorf("queries %d, want %d", r.Queries, want)
	}
	if r.RCodes["NXDOMAIN"] != 120 || r.RCodes["NOERROR"] != 40*8+3 {
		t.Errorf("rcodes %v", r.RCodes)
	}
	want := []DNSTLDNote{{TLD: "tk", Domain: "free-prizes.tk", Queries: 3, Clients: 1, Severity: report.SeverityLow,
		Note: ".tk is a top-level domain often used for abuse; context for the analyst, not an attack by itself"}}
	if diff := cmp.Diff(want, r.SuspiciousTLDs); diff != "" {
		t.Errorf("suspicious TLDs (-want +got):\n%s", diff)
	}
	excluded := map[string]string{}
	for _, d := range r.TopDomains {
		excluded[d.Domain] = d.Excluded
	}
	cfg := a.Config
	cfg.TopN = 100
	for _, d := range dnsReportOf(a, cfg).TopDomains {
		excluded[d.Domain] = d.Excluded
	}
	for dom, why := range map[string]string{"dscx.akamaiedge.net": "cdn_infrastructure", "1e100.net": "cdn_infrastructure", "googlevideo.com": "cdn_infrastructure", "in-addr.arpa": "reverse_lookup", "spamhaus.org": "dnsbl", "_tcp.local": "local_service_discovery", "examplecdn.net": "", "example-rbl.org": ""} {
		if got, ok := excluded[dom]; !ok || got != why {
			t.Errorf("domain %s excluded %q (present %v), want %q", dom, got, ok, why)
		}
	}
}

// dnsReportOf builds the DNS report of a with another TopN.
func dnsReportOf(a *Analysis, cfg Config) DNSReport {
	return a.dets.dns.report(cfg)
}

// TestDNSSyntheticTunnels covers cases the corpus lacks: a slow A-record
// tunnel with base32 labels, DNS over TCP, an IPv6 client using two
// resolvers, and a tunnel whose server answers NXDOMAIN.
func TestDNSSyntheticTunnels(t *testing.T) {
	b32 := func(i int) string {
		const alpha = "abcdefghijklmnopqrstuvwxyz234567"
		var sb strings.Builder
		x := uint64(i)*0x9e3779b97f4a7c15 + 12345
		for range 40 {
			x ^= x >> 13
			x *= 0xff51afd7ed558ccd
			sb.WriteByte(alpha[x>>59])
		}
		return sb.String()
	}
	tests := []struct {
		name                      string
		msgs                      func() []dnsPacket
		source, target, technique string
		severity                  report.Severity
		queries, unique, nxdomain int64
	}{
		{"slow A tunnel", func() (m []dnsPacket) {
			for i := range 30 {
				m = queryAndAnswer(m, time.Duration(i)*10*time.Second, "10.1.1.5", "10.1.1.1", b32(i)+".x.exfil-example.com", layers.DNSTypeA, 0)
			}
			return m
		}, "10.1.1.5", "10.1.1.1", "a_query_exfil", report.SeverityHigh, 30, 30, 0},
		{"TCP TXT tunnel", func() (m []dnsPacket) {
			for i := range 12 {
				m = append(m, dnsPacket{at: time.Duration(i) * time.Second, src: "10.1.1.6", dst: "10.1.1.1", name: b32(i) + "." + b32(i+100) + ".t.example.org", qtype: layers.DNSTypeTXT, tcp: true})
			}
			return m
		}, "10.1.1.6", "10.1.1.1", "txt_records", report.SeverityHigh, 12, 12, 0},
		{"SRV tunnel (iodine -T SRV)", func() (m []dnsPacket) {
			for i := range 20 {
				m = queryAndAnswer(m, time.Duration(i)*time.Second, "10.1.1.7", "10.1.1.1", b32(i)+"."+b32(i+50)+".t.example.org", layers.DNSTypeSRV, 0)
			}
			return m
		}, "10.1.1.7", "10.1.1.1", "srv_records", report.SeverityHigh, 20, 20, 0},
		{"IPv6 client, two resolvers, NXDOMAIN answers", func() (m []dnsPacket) {
			for i := range 16 {
				res := "2001:db8::53"
				if i%2 == 1 {
					res = "2001:db8::54"
				}
				m = queryAndAnswer(m, time.Duration(i)*time.Second, "2001:db8::10", res, b32(i)+".q.example.net", layers.DNSTypeAAAA, layers.DNSResponseCodeNXDomain)
			}
			return m
		}, "2001:db8::10", "multiple_targets", "a_query_exfil", report.SeverityHigh, 16, 16, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyzeFile(t, writeDNSCapture(t, tc.msgs()), Config{})
			fs := findingsOf(a.Findings, report.AttackDNSTunneling)
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
			}
			f := fs[0]
			if f.Source != tc.source || f.Target != tc.target || f.Technique != tc.technique || f.Severity != tc.severity {
				t.Errorf("got %s -> %s %s %s, want %s -> %s %s %s (%s)", f.Source, f.Target, f.Technique, f.Severity,
					tc.source, tc.target, tc.technique, tc.severity, f.Summary)
			}
			if f.Counts["queries"] != tc.queries || f.Counts["unique_subdomains"] != tc.unique || f.Counts["nxdomain"] != tc.nxdomain {
				t.Errorf("counts %v, want queries %d unique %d nxdomain %d", f.Counts, tc.queries, tc.unique, tc.nxdomain)
			}
		})
	}
}

// TestDNSPacketNoAlloc checks the hot path: a name already seen costs no
// allocation.
func TestDNSPacketNoAlloc(t *testing.T) {
	d := newDNSDetector()
	msg := &layers.DNS{Questions: []layers.DNSQuestion{{Name: []byte("abcdefgh12345678.Tunnel.Example.com."), Type: layers.DNSTypeTXT}}}
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerUDP | capture.LayerDNS, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.53"), DNS: msg,
		Time: time.Unix(100, 0)}
	d.Packet(p)
	if allocs := testing.AllocsPerRun(100, func() { d.Packet(p) }); allocs != 0 {
		t.Errorf("Packet allocates %.1f times per repeated query, want 0", allocs)
	}
	if d.queries != 102 || len(d.domains) != 1 || d.domainList[0].name != "example.com" {
		t.Errorf("queries %d domains %v", d.queries, d.domains)
	}
	if _, ok := d.names["abcdefgh12345678.tunnel.example.com"]; !ok {
		t.Errorf("names %v: want the lower-cased name without its dot", d.names)
	}
}

// dnsFlood feeds d clients×perClient distinct hex names under one domain
// (each asked repeat times, TXT), a millisecond apart.
func dnsFlood(d *dnsDetector, clients, perClient, repeat int) {
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerUDP | capture.LayerDNS, Dst: netip.MustParseAddr("10.0.0.53"), Time: time.Unix(100, 0)}
	q := &layers.DNS{Questions: []layers.DNSQuestion{{Type: layers.DNSTypeTXT}}}
	p.DNS = q
	for c := range clients {
		p.Src = netip.AddrFrom4([4]byte{10, 1, byte(c >> 8), byte(c)})
		for i := range perClient {
			q.Questions[0].Name = fmt.Appendf(q.Questions[0].Name[:0], "%08x%024x.t.example.com", c, i*7919)
			for range repeat {
				p.Time = p.Time.Add(time.Millisecond)
				d.Packet(p)
			}
		}
	}
}

// heldHashes counts the hashes every pair's and domain's sample holds.
func heldHashes(d *dnsDetector) int {
	n := 0
	for _, pr := range d.pairList {
		n += len(pr.names.set.seen)
	}
	for _, dom := range d.domainList {
		n += len(dom.names.set.seen)
	}
	return n
}

// TestDNSBounds feeds more distinct names than the samples hold: queries
// are all counted, the distinct counts become estimates close to the
// truth and say so, memory stays within the bound, and a tunnel stays a
// tunnel (issue 16: a fixed cap on unique names made a flood look
// repeated).
func TestDNSBounds(t *testing.T) {
	near := func(got, want int64) bool { return got >= want*85/100 && got <= want*115/100 }
	t.Run("one client", func(t *testing.T) {
		d := newDNSDetector()
		d.lim = dnsLimits{pairNames: 1024, domainNames: 2048, distinctNames: 4096, hashes: 1 << 20}
		const n = 20_000
		dnsFlood(d, 1, n, 1)
		fs := d.Findings(Config{}.Defaults(), nil)
		if len(fs) != 1 {
			t.Fatalf("got %d findings, want 1", len(fs))
		}
		c := fs[0].Counts
		if c["queries"] != n || !near(c["unique_subdomains"], n) || c["unique_sampled"] != 1 || fs[0].Severity != report.SeverityHigh {
			t.Errorf("counts %v severity %s, want %d queries, about %d unique, sampled, high", c, fs[0].Severity, n, n)
		}
		if !slices.Contains(fs[0].Samples["signals"], "unique_names") {
			t.Errorf("signals %v: every name was new", fs[0].Samples["signals"])
		}
		if !strings.Contains(fs[0].Summary, "DNS queries for about ") {
			t.Errorf("summary does not say the count is an estimate: %s", fs[0].Summary)
		}
		if got := heldHashes(d); got != d.hashes || got > 1024+2048 {
			t.Errorf("samples hold %d hashes (counted %d), want at most %d", got, d.hashes, 1024+2048)
		}
		r := d.report(Config{})
		if r.Queries != n || !near(r.DistinctNames, n) || !r.DistinctNamesCapped || len(r.TopNames) != 10 || r.NamesOmitted != dnsMaxTrackedNames-10 && r.NamesOmitted != n-10 {
			t.Errorf("report queries %d distinct %d (estimated %v) top %d omitted %d", r.Queries, r.DistinctNames, r.DistinctNamesCapped, len(r.TopNames), r.NamesOmitted)
		}
	})
	// Many clients under one domain: more hashes than all samples may
	// hold, so every sample thins; each client still shows as a tunnel,
	// and the domain gives one finding that names the others.
	for _, tc := range []struct {
		name   string
		repeat int
		unique bool
	}{
		{"many clients, every name new", 1, true},
		{"many clients, every name asked three times", 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDNSDetector()
			const clients, per, budget = 1024, 60, 20_000
			d.lim = dnsLimits{pairNames: 4096, domainNames: 4096, distinctNames: 4096, hashes: budget}
			dnsFlood(d, clients, per, tc.repeat)
			if got := heldHashes(d); got != d.hashes || got > budget {
				t.Errorf("samples hold %d hashes (counted %d), want at most %d", got, d.hashes, budget)
			}
			fs := d.Findings(Config{}.Defaults(), nil)
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1 for the domain", len(fs))
			}
			f := fs[0]
			if f.Counts["clients_flagged"] != clients || f.Counts["domain_queries_flagged"] != clients*per*int64(tc.repeat) || len(f.Samples["other_clients"]) != dnsOtherClients {
				t.Errorf("clients flagged %d, queries %d, others listed %d; want %d, %d, %d", f.Counts["clients_flagged"], f.Counts["domain_queries_flagged"],
					len(f.Samples["other_clients"]), clients, clients*per*tc.repeat, dnsOtherClients)
			}
			if !near(f.Counts["domain_unique_subdomains"], clients*per) {
				t.Errorf("domain distinct names %d, want about %d", f.Counts["domain_unique_subdomains"], clients*per)
			}
			if got := slices.Contains(f.Samples["signals"], "unique_names"); got != tc.unique {
				t.Errorf("unique_names %v, want %v (signals %v)", got, tc.unique, f.Samples["signals"])
			}
		})
	}
}

// BenchmarkDNSPacket measures a query for a name seen before and a flood
// of new names (a tunnel).
func BenchmarkDNSPacket(b *testing.B) {
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerUDP | capture.LayerDNS, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.53"), Time: time.Unix(100, 0)}
	b.Run("repeated", func(b *testing.B) {
		d := newDNSDetector()
		p.DNS = &layers.DNS{Questions: []layers.DNSQuestion{{Name: []byte("www.example.com"), Type: layers.DNSTypeA}}}
		b.ReportAllocs()
		for b.Loop() {
			d.Packet(p)
		}
	})
	b.Run("new_names", func(b *testing.B) {
		d := newDNSDetector()
		names := make([][]byte, 1<<16)
		for i := range names {
			names[i] = fmt.Appendf(nil, "%040x.%08x.t.example.com", i*7919, i)
		}
		q := &layers.DNS{Questions: []layers.DNSQuestion{{Type: layers.DNSTypeTXT}}}
		p.DNS = q
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			q.Questions[0].Name = names[i%len(names)]
			i++
			d.Packet(p)
		}
	})
}

// TestSummaryDNSNamesKeepTheirBytes: a query name that is not UTF-8 keeps
// its bytes in the summary (only ASCII letters fold to lower case, as DNS
// compares names), so the text and JSON output can escape them as \xNN
// instead of showing U+FFFD.
func TestSummaryDNSNamesKeepTheirBytes(t *testing.T) {
	name := "Caf\xe9\xff.Bad.example.com"
	var msgs []dnsPacket
	for i := range 3 {
		msgs = append(msgs, dnsPacket{at: time.Duration(i) * time.Second, src: "10.0.0.1", dst: "10.0.0.53", name: name, qtype: layers.DNSTypeA})
	}
	a := analyzeFile(t, writeDNSCapture(t, msgs), Config{})
	want := NameCount{Name: "caf\xe9\xff.bad.example.com", Count: 3}
	if len(a.Summary.DNSNames) != 1 || a.Summary.DNSNames[0] != want {
		t.Errorf("summary DNS names %#v, want [%#v]", a.Summary.DNSNames, want)
	}
}
