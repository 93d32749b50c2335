package detectors

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// exfilWant is one data_exfiltration finding, reduced to what a test compares.
type exfilWant struct {
	Technique          string
	Source, Target     string
	Severity           report.Severity
	Confidence         report.Confidence
	Upload, Conns      int64
	Ports, Connections []string
}

func exfilWants(fs []report.Finding) []exfilWant {
	var out []exfilWant
	for _, f := range findingsOf(fs, report.AttackDataExfiltration) {
		out = append(out, exfilWant{f.Technique, f.Source, f.Target, f.Severity, f.Confidence,
			f.Counts["upload_bytes"], f.Counts["connections"], f.Samples["ports"], f.Samples["connections"]})
	}
	return out
}

func TestExfilCorpus(t *testing.T) {
	tests := []struct {
		file    string
		golden  string
		want    []exfilWant
		summary string
	}{
		{"suricata-verify/tests/mime/mime-stream-depth/input.pcap", "mime_stream_depth", []exfilWant{{
			"outbound_upload", "10.9.18.101", "207.246.115.231", report.SeverityMedium, report.ConfidenceMedium, 1793113, 1,
			[]string{"2525"}, []string{"10.9.18.101:49277 -> 207.246.115.231:2525 1793113 bytes"},
		}}, "10.9.18.101 uploaded 1.79 MB to external 207.246.115.231 over 1 connection (port 2525), 579 bytes back; one-way (under a tenth came back)"},
		// Active FTP: the server 128.121.136.217 opened the data connection
		// from port 20; the client 67.169.189.180 sent the 1,429,340 bytes.
		{"markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/ftp-uploadfailed.pcap", "ftp_uploadfailed", []exfilWant{{
			"upload", "67.169.189.180", "128.121.136.217", report.SeverityMedium, report.ConfidenceMedium, 1429340, 1,
			[]string{"20"}, []string{"67.169.189.180:2662 -> 128.121.136.217:20 1429340 bytes"},
		}}, "67.169.189.180 uploaded 1.43 MB to 128.121.136.217 over 1 connection (port 20), 0 bytes back; active-mode FTP data (the FTP server opened the connection from port 20); one-way (under a tenth came back)"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(filepath.Dir(tc.file))+"/"+filepath.Base(tc.file), func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, tc.file), Config{})
			if diff := cmp.Diff(tc.want, exfilWants(a.Findings)); diff != "" {
				t.Fatalf("findings mismatch (-want +got):\n%s", diff)
			}
			got := findingsOf(a.Findings, report.AttackDataExfiltration)
			if got[0].Summary != tc.summary {
				t.Errorf("summary = %q\nwant %q", got[0].Summary, tc.summary)
			}
			if got[0].FirstSeen.IsZero() || got[0].LastSeen.Before(got[0].FirstSeen) || got[0].Counts["packets"] == 0 {
				t.Errorf("finding lacks times or packets: %+v", got[0])
			}
			golden(t, "exfil_"+tc.golden, got)
		})
	}
}

func TestExfilBenignCorpus(t *testing.T) {
	for _, file := range []string{
		"401trg-detections/pcaps/20171220_smb_mimikatz_copy.pcap", // 814,051 bytes: below 1 MB
		"zeek/testing/btest/Traces/http/http-post-large.pcap",     // loopback
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",     // a download
		"chrissanders-packets/http_espn.pcapng",
		"chrissanders-packets/mail_sender_attachment.pcapng",
		"zeek/testing/btest/Traces/wikipedia.pcap",
		"chrissanders-packets/synscan.pcapng",
	} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, file), Config{})
			if got := findingsOf(a.Findings, report.AttackDataExfiltration); len(got) != 0 {
				t.Errorf("benign capture gave data_exfiltration findings: %+v", got)
			}
		})
	}
}

func TestExfilThresholds(t *testing.T) {
	const (
		mime     = "suricata-verify/tests/mime/mime-stream-depth/input.pcap"
		mimikatz = "401trg-detections/pcaps/20171220_smb_mimikatz_copy.pcap"
		sll      = "pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap"
		post     = "zeek/testing/btest/Traces/http/http-post-large.pcap"
		ftp      = "markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/ftp-uploadfailed.pcap"
	)
	type short struct {
		Technique  string
		Severity   report.Severity
		Confidence report.Confidence
	}
	tests := []struct {
		name string
		file string
		cfg  ExfilConfig
		want []short
	}{
		// One signal (one-way) on a mail port: medium.
		{"1.79 MB at the default", mime, ExfilConfig{}, []short{{"outbound_upload", report.SeverityMedium, report.ConfidenceMedium}}},
		{"threshold above the upload", mime, ExfilConfig{ThresholdBytes: 1793114, HighBytes: 20_000_000}, nil},
		{"threshold equal to the upload", mime, ExfilConfig{ThresholdBytes: 1793113}, []short{{"outbound_upload", report.SeverityMedium, report.ConfidenceMedium}}},
		{"high from HighBytes", mime, ExfilConfig{HighBytes: 1_500_000}, []short{{"outbound_upload", report.SeverityHigh, report.ConfidenceHigh}}},
		{"destination configured internal", mime, ExfilConfig{InternalNetworks: []netip.Prefix{netip.MustParsePrefix("207.246.115.0/24")}},
			[]short{{"internal_staging", report.SeverityMedium, report.ConfidenceLow}}},
		{"814 KB internal below 1 MB", mimikatz, ExfilConfig{}, nil},
		// An SMB copy between two hosts is a file-service transfer: low
		// whatever its size, with nothing else joining it.
		{"814 KB SMB copy at 500 kB is a low file transfer", mimikatz, ExfilConfig{ThresholdBytes: 500_000}, []short{{"internal_file_transfer", report.SeverityLow, report.ConfidenceLow}}},
		{"SMB copy above HighBytes is still low", mimikatz, ExfilConfig{ThresholdBytes: 500_000, HighBytes: 800_000}, []short{{"internal_file_transfer", report.SeverityLow, report.ConfidenceLow}}},
		{"a download is never an upload", sll, ExfilConfig{ThresholdBytes: 1000}, nil},
		{"loopback never leaves the host", post, ExfilConfig{ThresholdBytes: 1000}, nil},
		{"source configured internal", ftp, ExfilConfig{InternalNetworks: []netip.Prefix{netip.MustParsePrefix("67.169.0.0/16")}},
			[]short{{"outbound_upload", report.SeverityMedium, report.ConfidenceMedium}}},
		{"external to internal is inbound, not exfiltration", ftp, ExfilConfig{InternalNetworks: []netip.Prefix{netip.MustParsePrefix("128.121.136.0/24")}}, nil},
	}
	analyses := map[string]*Analysis{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyses[tc.file]
			if a == nil {
				a = analyzeFile(t, corpusFile(t, tc.file), Config{})
				analyses[tc.file] = a
			}
			fs, err := a.Evaluate(Config{Exfil: tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			var got []short
			for _, f := range findingsOf(fs, report.AttackDataExfiltration) {
				got = append(got, short{f.Technique, f.Severity, f.Confidence})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExfilConfigValidate(t *testing.T) {
	for _, cfg := range []ExfilConfig{
		{ThresholdBytes: -1},
		{ThresholdBytes: 2_000_000, HighBytes: 1_000_000},
		{InternalNetworks: []netip.Prefix{{}}},
	} {
		if err := (Config{Exfil: cfg}).Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
	}
}

func TestTransfers(t *testing.T) {
	a := analyzeFile(t, corpusFile(t, "pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap"), Config{})
	tr := a.Transfers(100_000)
	if len(tr) != 1 {
		t.Fatalf("Transfers(100000) = %+v, want the one large download", tr)
	}
	want := Transfer{Source: "10.0.0.8", Destination: "212.199.202.69", UploadBytes: 251, DownloadBytes: 414863, Connections: 1, Packets: 483,
		Ports: []uint16{80}, First: tr[0].First, Last: tr[0].Last, SourceScope: "internal", DestinationScope: "external", Direction: "outbound"}
	if diff := cmp.Diff(want, tr[0]); diff != "" {
		t.Errorf("transfer mismatch (-want +got):\n%s", diff)
	}
	// minBytes compares with upload and download together.
	if n := len(a.Transfers(414863 + 251)); n != 1 {
		t.Errorf("Transfers(at the total) lists %d pairs, want 1", n)
	}
	if n := len(a.Transfers(414863 + 252)); n != 0 {
		t.Errorf("Transfers(above the total) lists %d pairs, want 0", n)
	}
	m := analyzeFile(t, corpusFile(t, "chrissanders-packets/http_espn.pcapng"), Config{})
	all := m.Transfers(0)
	if len(all) < 13 {
		t.Fatalf("Transfers(0) lists %d pairs, want the 13 web servers at least", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].UploadBytes+all[i].DownloadBytes > all[i-1].UploadBytes+all[i-1].DownloadBytes {
			t.Fatalf("Transfers not sorted by bytes at %d: %+v", i, all[i-1:i+1])
		}
	}
}

// TestExfilSynthetic covers the directions and the FTP rule exactly.
func TestExfilSynthetic(t *testing.T) {
	const mss = 1400
	upload := func(s *synthCapture, client string, cport uint16, server string, sport uint16, bytes int) {
		s.tcp(client, cport, server, sport, capture.FlagSYN, 0)
		s.tcp(server, sport, client, cport, capture.FlagSYN|capture.FlagACK, 0)
		for sent := 0; sent < bytes; sent += mss {
			s.tcp(client, cport, server, sport, capture.FlagACK|capture.FlagPSH, min(mss, bytes-sent))
		}
		s.tcp(server, sport, client, cport, capture.FlagACK, 0)
	}
	download := func(s *synthCapture, client string, cport uint16, server string, sport uint16, bytes int) {
		s.tcp(client, cport, server, sport, capture.FlagSYN, 0)
		s.tcp(server, sport, client, cport, capture.FlagSYN|capture.FlagACK, 0)
		for sent := 0; sent < bytes; sent += mss {
			s.tcp(server, sport, client, cport, capture.FlagACK|capture.FlagPSH, min(mss, bytes-sent))
		}
	}
	tests := []struct {
		name  string
		build func(s *synthCapture)
		want  []string
	}{
		{"uploads summed over connections", func(s *synthCapture) {
			upload(s, "10.0.0.5", 40001, "198.51.100.7", 443, 600_000)
			upload(s, "10.0.0.5", 40002, "198.51.100.7", 8443, 600_000)
		}, []string{"outbound_upload 10.0.0.5 198.51.100.7 medium medium 1200000 2"}},
		{"inbound upload to our server is not exfiltration", func(s *synthCapture) {
			upload(s, "203.0.113.9", 40001, "10.0.0.80", 22, 2_000_000)
		}, nil},
		{"external client downloading from our server is not reported", func(s *synthCapture) {
			download(s, "203.0.113.9", 40001, "10.0.0.80", 443, 2_000_000)
		}, nil},
		{"active FTP STOR: the client uploads on the server's connection", func(s *synthCapture) {
			// The FTP server 198.51.100.7 connects from port 20 to the
			// client's port 5001, and the client sends the file.
			download(s, "198.51.100.7", 20, "10.0.0.5", 5001, 1_100_000)
		}, []string{"outbound_upload 10.0.0.5 198.51.100.7 medium medium 1100000 1"}},
		{"active FTP RETR is a download", func(s *synthCapture) {
			upload(s, "198.51.100.7", 20, "10.0.0.5", 5001, 1_100_000)
		}, nil},
		{"10 MB from carrier-grade NAT space is high", func(s *synthCapture) {
			upload(s, "100.64.1.2", 40001, "192.0.2.10", 443, 10_000_000)
		}, []string{"outbound_upload 100.64.1.2 192.0.2.10 high high 10000000 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSynth(t)
			tc.build(s)
			a := s.analyze(Config{})
			var got []string
			for _, f := range findingsOf(a.Findings, report.AttackDataExfiltration) {
				got = append(got, fmt.Sprintf("%s %s %s %s %s %d %d", f.Technique, f.Source, f.Target, f.Severity, f.Confidence, f.Counts["upload_bytes"], f.Counts["connections"]))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsInternal(t *testing.T) {
	extra := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"172.32.0.1", false},
		{"192.168.1.1", true}, {"100.64.0.1", true}, {"100.128.0.1", false}, {"127.0.0.1", true},
		{"169.254.1.1", true}, {"8.8.8.8", false}, {"198.51.100.7", true}, {"198.51.101.7", false},
		{"::1", true}, {"fd00::1", true}, {"fc00::1", true}, {"fe80::1", true}, {"2001:db8::1", false},
		{"::ffff:10.0.0.1", true}, {"::ffff:8.8.8.8", false},
	} {
		if got := IsInternal(netip.MustParseAddr(tc.addr), extra); got != tc.want {
			t.Errorf("IsInternal(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func ExampleIsInternal() {
	office := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	for _, a := range []string{"10.9.18.101", "207.246.115.231", "198.51.100.7", "fd12::1"} {
		fmt.Println(a, IsInternal(netip.MustParseAddr(a), office))
	}
	// Output:
	// 10.9.18.101 true
	// 207.246.115.231 false
	// 198.51.100.7 true
	// fd12::1 true
}

// TestExfilTestdata checks the curl uploads and the download recorded into
// testdata (testdata/record/record.sh): the upload counts the file and the
// HTTP request head, so it lies a little above the file's size.
func TestExfilTestdata(t *testing.T) {
	tests := []struct {
		file     string
		want     []string // technique source target severity confidence
		fileSize int64
		head     int64 // what the protocol adds to the file's bytes, at most
	}{
		// One host pushing to an external address, almost nothing back
		// (one-way): medium, high with high confidence from HighBytes.
		{"exfil_medium.pcap", []string{"outbound_upload 10.66.0.10 203.0.113.50 medium medium"}, 4_000_000, 4096},
		{"exfil_high.pcap", []string{"outbound_upload 10.66.0.10 203.0.113.50 high high"}, 11_500_000, 4096},
		// Internal, but one-way and on port 8000, neither a file service
		// nor a port other hosts transfer on: two signals, medium.
		{"exfil_internal.pcap", []string{"internal_staging 10.66.0.10 10.66.0.20 medium medium"}, 3_000_000, 4096},
		{"download_large.pcap", nil, 0, 0},
		// hping3 -E file -d 1000: the file in 1000 echo payloads, echoed
		// back by the remote kernel; exactly the file's bytes.
		{"exfil_icmp.pcap", []string{"icmp_payload 10.66.0.10 203.0.113.77 high high"}, 1_000_000, 0},
		// curl -T over TLS: the file plus records and handshake.
		{"exfil_tls.pcap", []string{"outbound_upload 10.66.0.10 203.0.113.90 high high"}, 15_000_000, 40_000},
		// 300 POSTs of 15,000 bytes, each with its request head.
		{"exfil_split.pcap", []string{"split_upload 10.66.0.10 203.0.113.95 high high"}, 4_500_000, 300 * 200},
		// 1 kB a second for 3 minutes over one connection: a low drip.
		{"exfil_drip.pcap", []string{"slow_drip 10.66.0.10 203.0.113.99 low medium"}, 180 * 1024, 4 * 1024},
		// Ordinary traffic: listed (above the threshold) but low.
		{"benign_backup_rsync.pcap", []string{"internal_file_transfer 10.66.0.10 10.66.0.20 low low"}, 0, 0},
		{"benign_saas_upload.pcap", []string{"outbound_upload 10.66.0.10 203.0.113.70 low low", "outbound_upload 10.66.0.10 203.0.113.71 low low"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join("..", "testdata", tc.file)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s not recorded yet", p)
			}
			a := analyzeFile(t, p, Config{})
			fs := findingsOf(a.Findings, report.AttackDataExfiltration)
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s %s %s %s %s", f.Technique, f.Source, f.Target, f.Severity, f.Confidence))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("findings mismatch (-want +got):\n%s", diff)
			}
			golden(t, "exfil_testdata_"+strings.TrimSuffix(tc.file, ".pcap"), fs)
			if len(fs) == 1 && tc.fileSize > 0 {
				if up := fs[0].Counts["upload_bytes"]; up < tc.fileSize || up > tc.fileSize+tc.head {
					t.Errorf("upload_bytes = %d, want the file's %d plus at most %d", up, tc.fileSize, tc.head)
				}
			}
		})
	}
}

// TestExfilRecordedBytes checks every data_exfiltration finding of the
// recordings in testdata/ground_truth.json against the bytes tshark
// measured for its pair: the TCP payload the source sent over every
// connection it opened to the target (tcp_payload_by_initiator), or the
// ICMP echo-request data (icmp_echo.request_data_bytes_by_pair).
func TestExfilRecordedBytes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	type expected struct {
		Type   report.AttackType `json:"type"`
		Source string            `json:"source"`
		Target string            `json:"target"`
	}
	var truth map[string]struct {
		Expected []expected `json:"expected"`
		Measured struct {
			TCP []struct {
				Source      string `json:"source"`
				Destination string `json:"destination"`
				Uploaded    int64  `json:"uploaded_bytes"`
				Downloaded  int64  `json:"downloaded_bytes"`
			} `json:"tcp_payload_by_initiator"`
			ICMP struct {
				ByPair map[string]int64 `json:"request_data_bytes_by_pair"`
			} `json:"icmp_echo"`
		} `json:"measured"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	checked := 0
	var names []string
	for name := range truth {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		gt := truth[name]
		if !slices.ContainsFunc(gt.Expected, func(e expected) bool { return e.Type == report.AttackDataExfiltration }) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			a := analyzeFile(t, testdataFile(t, name), Config{})
			for _, f := range findingsOf(a.Findings, report.AttackDataExfiltration) {
				var up, down int64 = -1, -1
				for _, m := range gt.Measured.TCP {
					if m.Source == f.Source && m.Destination == f.Target {
						up, down = max(up, 0)+m.Uploaded, max(down, 0)+m.Downloaded
					}
				}
				if n, ok := gt.Measured.ICMP.ByPair[f.Source+"->"+f.Target]; ok && strings.HasPrefix(f.Technique, "icmp_") {
					up, down = n, -1 // the truth does not measure the replies' bytes
				}
				if up < 0 {
					t.Errorf("%s %s -> %s: tshark measured nothing for the pair", f.Technique, f.Source, f.Target)
					continue
				}
				if f.Counts["upload_bytes"] != up || down >= 0 && f.Counts["download_bytes"] != down {
					t.Errorf("%s %s -> %s: upload %d, download %d; tshark %d, %d", f.Technique, f.Source, f.Target,
						f.Counts["upload_bytes"], f.Counts["download_bytes"], up, down)
				}
				checked++
			}
		})
	}
	if checked < 6 {
		t.Errorf("checked %d findings against tshark, want the six exfiltration recordings at least", checked)
	}
}
