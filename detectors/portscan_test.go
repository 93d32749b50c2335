package detectors

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
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

// scanWant is what one port_scan finding must say.
type scanWant struct {
	technique, source, target string
	severity                  report.Severity
	confidence                report.Confidence
	counts                    map[string]int64 // only the keys given are compared
	samples                   map[string][]string
}

func checkFinding(t *testing.T, got report.Finding, want scanWant) {
	t.Helper()
	if got.Technique != want.technique || got.Source != want.source || got.Target != want.target ||
		got.Severity != want.severity || got.Confidence != want.confidence {
		t.Errorf("finding = %s %s -> %s %s/%s, want %s %s -> %s %s/%s (%s)",
			got.Technique, got.Source, got.Target, got.Severity, got.Confidence,
			want.technique, want.source, want.target, want.severity, want.confidence, got.Summary)
	}
	for k, v := range want.counts {
		if got.Counts[k] != v {
			t.Errorf("%s: counts[%s] = %d, want %d", got.Technique, k, got.Counts[k], v)
		}
	}
	for k, v := range want.samples {
		if diff := cmp.Diff(v, got.Samples[k]); diff != "" {
			t.Errorf("%s: samples[%s] mismatch (-want +got):\n%s", got.Technique, k, diff)
		}
	}
	if got.Summary == "" || got.FirstSeen.IsZero() || got.LastSeen.Before(got.FirstSeen) {
		t.Errorf("finding lacks a summary or times: %+v", got)
	}
	for k, v := range got.Samples {
		if len(v) > scanSampleMax {
			t.Errorf("samples[%s] holds %d items, more than %d", k, len(v), scanSampleMax)
		}
	}
}

func TestPortScanCorpus(t *testing.T) {
	first20 := func(ps ...string) []string { return ps }
	tests := []struct {
		file   string
		golden string // "" for no golden file
		want   []scanWant
	}{
		{"austina-portscandetector/connect15.pcap", "connect15", []scanWant{{
			technique: "connect", source: "10.10.2.42", target: "10.10.2.36", severity: report.SeverityMedium, confidence: report.ConfidenceHigh,
			counts:  map[string]int64{"distinct_ports": 15, "probes": 15, "open_ports": 3, "refused": 12, "answered": 15, "unanswered": 0},
			samples: map[string][]string{"open_ports": {"3689", "5000", "7000"}},
		}}},
		{"austina-portscandetector/halfopen15.pcap", "halfopen15", []scanWant{{
			technique: "syn", source: "10.10.2.42", target: "10.10.2.36", severity: report.SeverityMedium, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 15, "probes": 15, "open_ports": 3, "refused": 12},
			samples: map[string][]string{"ports": first20("20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "3689", "5000", "5353", "7000"),
				"open_ports": {"3689", "5000", "7000"}},
		}}},
		{"austina-portscandetector/null15.pcap", "", []scanWant{{
			technique: "null", source: "10.10.2.42", target: "10.10.2.36", severity: report.SeverityMedium, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 15, "probes": 18, "refused": 12, "unanswered": 3},
		}}},
		{"austina-portscandetector/udp15.pcap", "udp15", []scanWant{{
			technique: "udp", source: "10.10.2.42", target: "10.10.2.36", severity: report.SeverityMedium, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 15, "probes": 15, "refused": 14, "open_ports": 1, "unanswered": 0},
		}}},
		{"austina-portscandetector/xmas15.pcap", "", []scanWant{{
			technique: "xmas", source: "10.10.2.42", target: "10.10.2.36", severity: report.SeverityMedium, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 15, "probes": 23},
		}}},
		{"chrissanders-packets/synscan.pcapng", "synscan", []scanWant{{
			technique: "syn", source: "172.16.0.8", target: "64.13.134.52", severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			// tshark: 1994 SYNs, SYN-ACKs from 22, 53 and 80, RSTs from 25, 70, 113 and 31337.
			counts:  map[string]int64{"distinct_ports": 1000, "probes": 1994, "open_ports": 3, "refused": 4, "answered": 7, "unanswered": 993},
			samples: map[string][]string{"open_ports": {"22", "53", "80"}},
		}}},
		{"esnet-curated-pcaps/attacks/scanners/masscan/tcp_0_1000_20190821.pcap", "masscan_tcp", []scanWant{{
			technique: "syn", source: "172.31.15.102", target: "198.124.152.15", severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 1001, "probes": 1001, "answered": 0, "unanswered": 1001},
		}}},
		{"esnet-curated-pcaps/attacks/scanners/masscan/udp_0_1000_20190821.pcap", "masscan_udp", []scanWant{{
			technique: "udp", source: "172.31.15.102", target: "198.124.152.15", severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 1001, "probes": 1001, "unanswered": 1001},
		}}},
		{"markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/portscan.pcap", "", []scanWant{{
			technique: "syn", source: "10.100.25.14", target: "10.100.18.12", severity: report.SeverityMedium, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 29, "probes": 29, "unanswered": 29},
		}}},
		{"tmicomyiza-incident-alarm/fin.pcap", "tmicomyiza_fin", []scanWant{{
			technique: "fin", source: "192.168.1.218", target: "192.168.1.215", severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 1000, "probes": 1004, "refused": 996, "unanswered": 4},
		}}},
		{"tmicomyiza-incident-alarm/null.pcap", "", []scanWant{{
			technique: "null", source: "192.168.1.218", target: "192.168.1.215", severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 1000, "probes": 1004, "refused": 996},
		}}},
		{"tmicomyiza-incident-alarm/xmas.pcap", "", []scanWant{{
			technique: "xmas", source: "192.168.1.218", target: "192.168.1.215", severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"distinct_ports": 1000, "probes": 1004, "refused": 996},
		}}},
		{"lucaderi-sgr/2022/Favilli/tests/hs-tcp_synPingSweepRand.pcapng", "syn_sweep", []scanWant{{
			technique: "horizontal_syn", source: "10.0.0.128", target: report.TargetMultiple, severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts:  map[string]int64{"hosts": 256, "hosts_probed": 256, "swept_ports": 1, "open_hosts": 0},
			samples: map[string][]string{"ports": {"80"}},
		}}},
		{"lucaderi-sgr/2022/Favilli/tests/hs-icmpScan.pcap", "icmp_sweep", []scanWant{{
			technique: "icmp_sweep", source: "10.0.0.128", target: report.TargetMultiple, severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"hosts": 256, "probes": 512, "answered": 0},
		}}},
		{"zeek/testing/btest/Traces/nmap-vsn.pcap", "arp_sweep", []scanWant{{
			technique: "arp_sweep", source: "192.168.1.71", target: report.TargetMultiple, severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
			counts: map[string]int64{"hosts": 245, "probes": 503},
		}}},
		{"chrissanders-packets/activeosfingerprinting.pcapng", "os_fingerprint", []scanWant{{
			technique: "os_fingerprint", source: "172.16.16.128", target: "172.16.16.150", severity: report.SeverityLow, confidence: report.ConfidenceHigh,
			// 4 NULL, 4 Xmas and 4 SYN+FIN+PSH+URG probes to ports 135 and 41296.
			counts:  map[string]int64{"crafted_packets": 12, "distinct_ports": 2, "syn_ports": 2},
			samples: map[string][]string{"ports": {"135", "41296"}, "kinds": {"null", "xmas", "other"}},
		}}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, tc.file), Config{})
			got := findingsOf(a.Findings, report.AttackPortScan)
			if len(got) != len(tc.want) {
				t.Fatalf("%d port_scan findings, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				checkFinding(t, got[i], tc.want[i])
			}
			if tc.golden != "" {
				golden(t, "portscan_"+tc.golden, got)
			}
		})
	}
}

// TestPortScanMatchesTshark compares distinct ports and probes with the
// numbers tshark gave for the corpus (expected.json probe_stats).
func TestPortScanMatchesTshark(t *testing.T) {
	exp := loadProbeStats(t)
	for _, tc := range []struct{ file, kind, technique string }{
		{"chrissanders-packets/synscan.pcapng", "tcp_syn", "syn"},
		{"esnet-curated-pcaps/attacks/scanners/masscan/tcp_0_1000_20190821.pcap", "tcp_syn", "syn"},
		{"esnet-curated-pcaps/attacks/scanners/masscan/udp_0_1000_20190821.pcap", "udp", "udp"},
		{"markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/portscan.pcap", "tcp_syn", "syn"},
		{"austina-portscandetector/halfopen15.pcap", "tcp_syn", "syn"},
		{"austina-portscandetector/udp15.pcap", "udp", "udp"},
		{"austina-portscandetector/null15.pcap", "tcp_null", "null"},
		{"austina-portscandetector/xmas15.pcap", "tcp_xmas", "xmas"},
		{"tmicomyiza-incident-alarm/fin.pcap", "tcp_fin", "fin"},
		{"tmicomyiza-incident-alarm/null.pcap", "tcp_null", "null"},
		{"tmicomyiza-incident-alarm/xmas.pcap", "tcp_xmas", "xmas"},
	} {
		t.Run(filepath.Base(tc.file)+"/"+tc.kind, func(t *testing.T) {
			ps := exp[tc.file][tc.kind]
			if ps.TopSrc == "" {
				t.Fatalf("expected.json has no probe_stats.%s for %s", tc.kind, tc.file)
			}
			a := analyzeFile(t, corpusFile(t, tc.file), Config{})
			var f *report.Finding
			for _, x := range findingsOf(a.Findings, report.AttackPortScan) {
				if x.Technique == tc.technique {
					f = &x
				}
			}
			if f == nil {
				t.Fatalf("no %s finding", tc.technique)
			}
			if f.Source != ps.TopSrc || f.Target != ps.DstHost || f.Counts["distinct_ports"] != ps.DistinctDstPorts || f.Counts["probes"] != ps.Packets {
				t.Errorf("%s -> %s, %d ports, %d probes; tshark: %s -> %s, %d ports, %d packets",
					f.Source, f.Target, f.Counts["distinct_ports"], f.Counts["probes"], ps.TopSrc, ps.DstHost, ps.DistinctDstPorts, ps.Packets)
			}
		})
	}
}

// probeStats is one probe kind of expected.json's probe_stats.
type probeStats struct {
	TopSrc           string `json:"top_src"`
	Packets          int64  `json:"packets"`
	DistinctDstHosts int64  `json:"distinct_dst_hosts"`
	DistinctDstPorts int64  `json:"distinct_dst_ports"`
	DstHost          string `json:"dst_host"`
}

func loadProbeStats(t *testing.T) map[string]map[string]probeStats {
	t.Helper()
	raw, err := os.ReadFile(corpusFile(t, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Files map[string]struct {
			ProbeStats map[string]probeStats `json:"probe_stats"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]probeStats{}
	for k, v := range e.Files {
		out[k] = v.ProbeStats
	}
	return out
}

func TestPortScanBenignCorpus(t *testing.T) {
	for _, file := range []string{
		"chrissanders-packets/http_espn.pcapng", // 13 web servers in 2 s, all answered
		"chrissanders-packets/http_google.pcapng",
		"zeek/testing/btest/Traces/wikipedia.pcap",
		"zeek/testing/btest/Traces/workshop_2011_browse.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/DnsPackets.pcap",
		"gopacket/pcap/test_dns.pcap",
		"401trg-detections/pcaps/20171220_smb_mimikatz_copy.pcap",
		"chrissanders-packets/mail_sender_attachment.pcapng",
		"suricata-verify/tests/mime/mime-stream-depth/input.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",
		"markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/ftp-uploadfailed.pcap",
		"esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_vanilla.pcap", // 3 SYNs to 2 ports: below threshold
	} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, file), Config{})
			if got := findingsOf(a.Findings, report.AttackPortScan); len(got) != 0 {
				t.Errorf("benign capture gave port_scan findings: %+v", got)
			}
		})
	}
}

// TestPortScanTestdata checks the captures recorded with the real tools
// (testdata/README.md) when they are there.
func TestPortScanTestdata(t *testing.T) {
	tests := []struct {
		file  string
		want  scanWant
		ports int64
	}{
		{"scan_syn.pcap", scanWant{technique: "syn", severity: report.SeverityHigh}, 1000},
		{"scan_connect.pcap", scanWant{technique: "connect", severity: report.SeverityHigh}, 200},
		{"scan_fin.pcap", scanWant{technique: "fin", severity: report.SeverityHigh}, 100},
		{"scan_null.pcap", scanWant{technique: "null", severity: report.SeverityHigh}, 100},
		{"scan_xmas.pcap", scanWant{technique: "xmas", severity: report.SeverityHigh}, 100},
		{"scan_udp.pcap", scanWant{technique: "udp", severity: report.SeverityHigh}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join("..", "testdata", tc.file)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s not recorded yet", p)
			}
			a := analyzeFile(t, p, Config{})
			got := findingsOf(a.Findings, report.AttackPortScan)
			if len(got) != 1 {
				t.Fatalf("%d port_scan findings, want 1: %+v", len(got), got)
			}
			golden(t, "portscan_testdata_"+strings.TrimSuffix(tc.file, ".pcap"), got)
			w := tc.want
			w.source, w.target, w.confidence = "10.66.0.10", "10.66.0.20", report.ConfidenceHigh
			w.counts = map[string]int64{"distinct_ports": tc.ports}
			checkFinding(t, got[0], w)
		})
	}
}

func TestPortScanThresholds(t *testing.T) {
	type want struct {
		Technique string
		Severity  report.Severity
	}
	tests := []struct {
		name string
		file string
		cfg  PortScanConfig
		want []want
	}{
		{"15 ports at the default threshold", "austina-portscandetector/halfopen15.pcap", PortScanConfig{}, []want{{"syn", report.SeverityMedium}}},
		{"threshold above the ports probed", "austina-portscandetector/halfopen15.pcap", PortScanConfig{Threshold: 16}, nil},
		{"threshold equal to the ports probed", "austina-portscandetector/halfopen15.pcap", PortScanConfig{Threshold: 15}, []want{{"syn", report.SeverityMedium}}},
		{"high threshold reached", "austina-portscandetector/halfopen15.pcap", PortScanConfig{HighThreshold: 15}, []want{{"syn", report.SeverityHigh}}},
		{"1000 ports below a raised high threshold", "chrissanders-packets/synscan.pcapng", PortScanConfig{HighThreshold: 1001}, []want{{"syn", report.SeverityMedium}}},
		// Unprivileged nmap completes the handshakes (connect(2)) and resets.
		{"two ports with threshold 2", "esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_vanilla.pcap", PortScanConfig{Threshold: 2}, []want{{"connect", report.SeverityMedium}}},
		{"sweep below SweepHosts", "lucaderi-sgr/2022/Favilli/tests/hs-tcp_synPingSweepRand.pcapng", PortScanConfig{SweepHosts: 257}, nil},
		{"sweep medium below SweepHighHosts", "lucaderi-sgr/2022/Favilli/tests/hs-tcp_synPingSweepRand.pcapng", PortScanConfig{SweepHighHosts: 300}, []want{{"horizontal_syn", report.SeverityMedium}}},
		{"icmp sweep below SweepHosts", "lucaderi-sgr/2022/Favilli/tests/hs-icmpScan.pcap", PortScanConfig{SweepHosts: 300}, nil},
		{"arp sweep medium", "zeek/testing/btest/Traces/nmap-vsn.pcap", PortScanConfig{SweepHighHosts: 300}, []want{{"arp_sweep", report.SeverityMedium}}},
		// A lower sweep threshold finds nothing more in the browsing
		// capture: its 13 servers all answered.
		{"answered servers are no sweep", "chrissanders-packets/http_espn.pcapng", PortScanConfig{SweepHosts: 2, Threshold: 2}, nil},
	}
	analyses := map[string]*Analysis{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyses[tc.file]
			if a == nil {
				a = analyzeFile(t, corpusFile(t, tc.file), Config{})
				analyses[tc.file] = a
			}
			fs, err := a.Evaluate(Config{PortScan: tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, f := range findingsOf(fs, report.AttackPortScan) {
				got = append(got, want{f.Technique, f.Severity})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// ---- synthetic captures for exact edge cases ----

// synthCapture writes Ethernet/IPv4 packets into a pcap in a temp dir.
type synthCapture struct {
	t  *testing.T
	w  *pcapgo.Writer
	f  *os.File
	at time.Time
}

func newSynth(t *testing.T) *synthCapture {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "synth.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return &synthCapture{t: t, w: w, f: f, at: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (s *synthCapture) write(ip *layers.IPv4, l4 gopacket.SerializableLayer, payload []byte) {
	s.t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	ls := []gopacket.SerializableLayer{eth, ip, l4}
	if payload != nil {
		ls = append(ls, gopacket.Payload(payload))
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		s.t.Fatal(err)
	}
	s.at = s.at.Add(time.Millisecond)
	b := buf.Bytes()
	if err := s.w.WritePacket(gopacket.CaptureInfo{Timestamp: s.at, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		s.t.Fatal(err)
	}
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

// tcp writes one segment; flags uses the Flag* bits.
func (s *synthCapture) tcp(src string, sport uint16, dst string, dport uint16, flags uint8, payload int) {
	ip := ip4(src, dst, layers.IPProtocolTCP)
	tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Window: 1024,
		FIN: flags&capture.FlagFIN != 0, SYN: flags&capture.FlagSYN != 0, RST: flags&capture.FlagRST != 0, PSH: flags&capture.FlagPSH != 0, ACK: flags&capture.FlagACK != 0, URG: flags&capture.FlagURG != 0}
	if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
		s.t.Fatal(err)
	}
	var pl []byte
	if payload > 0 {
		pl = make([]byte, payload)
	}
	s.write(ip, tc, pl)
}

func (s *synthCapture) udp(src string, sport uint16, dst string, dport uint16, payload int) {
	ip := ip4(src, dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		s.t.Fatal(err)
	}
	s.write(ip, u, make([]byte, payload))
}

func (s *synthCapture) icmp(src, dst string, typ, code uint8) {
	s.write(ip4(src, dst, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}, make([]byte, 28))
}

// analyze closes the capture and analyzes it.
func (s *synthCapture) analyze(cfg Config) *Analysis {
	s.t.Helper()
	if err := s.f.Close(); err != nil {
		s.t.Fatal(err)
	}
	return analyzeFile(s.t, s.f.Name(), cfg)
}

func TestPortScanSynthetic(t *testing.T) {
	const scanner, target = "10.1.1.1", "10.1.1.2"
	tests := []struct {
		name  string
		build func(s *synthCapture)
		want  []string // technique source target severity, one per finding
	}{
		{"FIN probes from source port 53 (engine guesses the wrong client)", func(s *synthCapture) {
			for p := uint16(2000); p < 2012; p++ {
				s.tcp(scanner, 53, target, p, capture.FlagFIN, 0)
				s.tcp(target, p, scanner, 53, capture.FlagRST|capture.FlagACK, 0)
			}
		}, []string{"fin 10.1.1.1 10.1.1.2 medium"}},
		{"FTP passive data connections are no scan", func(s *synthCapture) {
			for p := uint16(40000); p < 40012; p++ {
				s.tcp(scanner, 50000+p%100, target, p, capture.FlagSYN, 0)
				s.tcp(target, p, scanner, 50000+p%100, capture.FlagSYN|capture.FlagACK, 0)
				s.tcp(scanner, 50000+p%100, target, p, capture.FlagACK, 0)
				s.tcp(target, p, scanner, 50000+p%100, capture.FlagPSH|capture.FlagACK, 300)
				s.tcp(target, p, scanner, 50000+p%100, capture.FlagFIN|capture.FlagACK, 0)
				s.tcp(scanner, 50000+p%100, target, p, capture.FlagFIN|capture.FlagACK, 0)
			}
		}, nil},
		{"connect scan that read banners and reset", func(s *synthCapture) {
			for p := uint16(20); p < 32; p++ {
				s.tcp(scanner, 41000+p, target, p, capture.FlagSYN, 0)
				s.tcp(target, p, scanner, 41000+p, capture.FlagSYN|capture.FlagACK, 0)
				s.tcp(scanner, 41000+p, target, p, capture.FlagACK, 0)
				s.tcp(target, p, scanner, 41000+p, capture.FlagPSH|capture.FlagACK, 40)
				s.tcp(scanner, 41000+p, target, p, capture.FlagRST|capture.FlagACK, 0)
			}
		}, []string{"connect 10.1.1.1 10.1.1.2 medium"}},
		{"traceroute is no UDP scan", func(s *synthCapture) {
			for p := uint16(33434); p < 33464; p++ {
				s.udp(scanner, 50000, target, p, 32)
				s.icmp("192.0.2.1", scanner, 11, 0)
			}
		}, nil},
		{"UDP probes refused by ICMP", func(s *synthCapture) {
			for p := uint16(100); p < 112; p++ {
				s.udp(scanner, 50000, target, p, 0)
				s.icmp(target, scanner, 3, 3)
			}
		}, []string{"udp 10.1.1.1 10.1.1.2 medium"}},
		{"UDP sweep of one port, unanswered", func(s *synthCapture) {
			for h := 1; h <= 25; h++ {
				s.udp(scanner, 50000, "10.2.0."+itoa(h), 161, 40)
			}
		}, []string{"horizontal_udp 10.1.1.1 multiple_targets medium"}},
		{"answered SYNs to 25 hosts are no sweep", func(s *synthCapture) {
			for h := 1; h <= 25; h++ {
				d := "10.2.0." + itoa(h)
				s.tcp(scanner, 40000, d, 22, capture.FlagSYN, 0)
				s.tcp(d, 22, scanner, 40000, capture.FlagSYN|capture.FlagACK, 0)
				s.tcp(scanner, 40000, d, 22, capture.FlagRST, 0)
			}
		}, nil},
		{"multicast and broadcast are no targets", func(s *synthCapture) {
			for p := uint16(1000); p < 1030; p++ {
				s.udp(scanner, 50000, "255.255.255.255", p, 10)
				s.udp(scanner, 50000, "239.255.255.250", p, 10)
			}
			for h := 0; h < 30; h++ {
				s.icmp(scanner, "224.0.0."+itoa(h), 8, 0)
			}
		}, nil},
		{"ping sweep with answers", func(s *synthCapture) {
			for h := 1; h <= 30; h++ {
				d := "10.3.0." + itoa(h)
				s.icmp(scanner, d, 8, 0)
				if h <= 20 {
					s.icmp(d, scanner, 0, 0)
				}
			}
		}, []string{"icmp_sweep 10.1.1.1 multiple_targets medium"}},
		{"two crafted packets are not enough", func(s *synthCapture) {
			s.tcp(scanner, 40000, target, 80, 0, 0)
			s.tcp(scanner, 40001, target, 81, capture.FlagFIN|capture.FlagPSH|capture.FlagURG, 0)
		}, nil},
		{"three NULL packets are crafted_flags", func(s *synthCapture) {
			for i := range uint16(3) {
				s.tcp(scanner, 40000+i, target, 80, 0, 0)
			}
		}, []string{"crafted_flags 10.1.1.1 10.1.1.2 low"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSynth(t)
			tc.build(s)
			a := s.analyze(Config{})
			var got []string
			for _, f := range findingsOf(a.Findings, report.AttackPortScan) {
				got = append(got, strings.Join([]string{f.Technique, f.Source, f.Target, string(f.Severity)}, " "))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestScanConcurrentJudgement runs the judgements from many goroutines at
// once, as the MCP server does (go test -race checks it).
func TestScanConcurrentJudgement(t *testing.T) {
	a := analyzeFile(t, corpusFile(t, "austina-portscandetector/connect15.pcap"), Config{})
	want, err := a.Evaluate(Config{PortScan: PortScanConfig{Threshold: 5}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []report.Finding)
	for range 8 {
		go func() {
			_ = a.Transfers(0)
			fs, _ := a.Evaluate(Config{PortScan: PortScanConfig{Threshold: 5}})
			done <- fs
		}()
	}
	for range 8 {
		if diff := cmp.Diff(want, <-done); diff != "" {
			t.Errorf("concurrent Evaluate differs (-want +got):\n%s", diff)
		}
	}
}

// TestPortScanPacketNoAlloc checks that a packet from a known source to a
// known host allocates nothing.
func TestPortScanPacketNoAlloc(t *testing.T) {
	d := newPortscanDetector(Limits{}.defaults())
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerICMPv4, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), ICMPType: 8}
	d.Packet(p)
	tcp := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerTCP, Src: p.Src, Dst: p.Dst, TCPFlags: capture.FlagSYN}
	if n := testing.AllocsPerRun(1000, func() { d.Packet(p); d.Packet(tcp) }); n != 0 {
		t.Errorf("Packet allocates %.1f times per packet, want 0", n)
	}
	// One request before, one warm-up run and 1000 measured runs.
	if got := d.echo.sources[p.Src].requests; got != 1002 {
		t.Errorf("echo requests = %d, want 1002", got)
	}
}

// TestSweepTestdata checks the masscan sweep recorded into testdata (64
// addresses of 10.77.0.0/26 on port 445, routed to a target that does not
// forward; only 10.77.0.7, an address of the target, answers).
func TestSweepTestdata(t *testing.T) {
	p := filepath.Join("..", "testdata", "sweep_syn.pcap")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not recorded yet", p)
	}
	a := analyzeFile(t, p, Config{})
	got := findingsOf(a.Findings, report.AttackPortScan)
	if len(got) != 1 {
		t.Fatalf("%d port_scan findings, want 1: %+v", len(got), got)
	}
	checkFinding(t, got[0], scanWant{technique: "horizontal_syn", source: "10.66.0.10", target: report.TargetMultiple,
		severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
		counts: map[string]int64{"hosts_probed": 64, "swept_ports": 1}, samples: map[string][]string{"ports": {"445"}}})
	golden(t, "portscan_testdata_sweep_syn", got)
	if n := got[0].Counts["hosts"]; n < 63 {
		t.Errorf("hosts unanswered or refused = %d, want at least 63", n)
	}
}

// TestScanAndExfilQuietOnBenignTestdata: the benign recordings, the web
// scanners (which send requests, not probes) and a large download give no
// port_scan and no data_exfiltration finding.
func TestScanAndExfilQuietOnBenignTestdata(t *testing.T) {
	for _, file := range []string{"benign_browse.pcap", "benign_dns.pcapng", "download_large.pcap", "http_gobuster.pcap", "http_ffuf.pcap", "http_sqlmap.pcap", "dns_tunnel.pcap"} {
		t.Run(file, func(t *testing.T) {
			p := filepath.Join("..", "testdata", file)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s not recorded yet", p)
			}
			a := analyzeFile(t, p, Config{})
			for _, typ := range []report.AttackType{report.AttackPortScan, report.AttackDataExfiltration} {
				if got := findingsOf(a.Findings, typ); len(got) != 0 {
					t.Errorf("%d %s findings, want none: %+v", len(got), typ, got)
				}
			}
		})
	}
}
