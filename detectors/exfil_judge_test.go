package detectors

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// exfilSynth writes whole TCP connections into a synthetic capture.
type exfilSynth struct {
	*synthCapture
	port uint16 // next client port
}

func newExfilSynth(t *testing.T) *exfilSynth {
	return &exfilSynth{synthCapture: newSynth(t), port: 30000}
}

// conn writes one connection: handshake, up bytes from the client then
// down bytes from the server (in 1400-byte segments), and the close. Its
// packets are 1 ms apart.
func (s *exfilSynth) conn(client, server string, sport uint16, up, down int) {
	const mss = 1400
	s.port++
	cport := s.port
	s.tcp(client, cport, server, sport, capture.FlagSYN, 0)
	s.tcp(server, sport, client, cport, capture.FlagSYN|capture.FlagACK, 0)
	s.tcp(client, cport, server, sport, capture.FlagACK, 0)
	for sent := 0; sent < up; sent += mss {
		s.tcp(client, cport, server, sport, capture.FlagACK|capture.FlagPSH, min(mss, up-sent))
	}
	for sent := 0; sent < down; sent += mss {
		s.tcp(server, sport, client, cport, capture.FlagACK|capture.FlagPSH, min(mss, down-sent))
	}
	s.tcp(client, cport, server, sport, capture.FlagFIN|capture.FlagACK, 0)
	s.tcp(server, sport, client, cport, capture.FlagFIN|capture.FlagACK, 0)
}

// office writes ordinary traffic of n hosts 10.0.9.1..n: each browses two
// external web servers (a small request, a page back) and sends a small
// upload to a shared SaaS host, so that the capture has peers to compare
// with.
func (s *exfilSynth) office(n int) {
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("10.0.9.%d", i)
		s.conn(h, "198.51.100.80", 443, 600, 40_000)
		s.conn(h, "198.51.100.81", 443, 700, 60_000)
		s.conn(h, "198.51.100.90", 443, 20_000+1000*i, 3_000)
	}
}

func exfilLines(fs []report.Finding) []string {
	var out []string
	for _, f := range findingsOf(fs, report.AttackDataExfiltration) {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s", f.Technique, f.Source, f.Target, f.Severity, f.Confidence, strings.Join(f.Samples["signals"], ",")))
	}
	return out
}

// TestExfilBaselines checks the judging against the capture's own hosts:
// volume alone is low; each signal, and the file-service rule, as issue 10
// sets them.
func TestExfilBaselines(t *testing.T) {
	tests := []struct {
		name  string
		build func(s *exfilSynth)
		want  []string // technique source target severity confidence signals
	}{
		{"one host pushing 5 MB one-way to an address nobody else uses stands out", func(s *exfilSynth) {
			s.office(8)
			s.conn("10.0.9.3", "203.0.113.66", 443, 5_000_000, 70)
		}, []string{"outbound_upload 10.0.9.3 203.0.113.66 high high one_way,rare_destination,far_above_peers"}},
		{"a 3 MB upload to the SaaS host every office host uses is low", func(s *exfilSynth) {
			s.office(8)
			s.conn("10.0.9.3", "198.51.100.90", 443, 3_000_000, 2_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.90 low low one_way,far_above_peers"}},
		{"even 12 MB to a shared service only reaches medium, far above the peers", func(s *exfilSynth) {
			s.office(8)
			s.conn("10.0.9.3", "198.51.100.90", 443, 12_000_000, 2_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.90 medium medium one_way,far_above_peers"}},
		{"a SaaS host only one other office host used in the capture is still shared", func(s *exfilSynth) {
			s.office(8)
			s.conn("10.0.9.5", "198.51.100.95", 443, 2_000, 80_000)
			s.conn("10.0.9.3", "198.51.100.95", 443, 3_000_000, 3_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.95 low low one_way,far_above_peers"}},
		{"with two hosts only, a second client says nothing: one-way is medium", func(s *exfilSynth) {
			s.conn("10.0.9.5", "198.51.100.95", 443, 2_000, 80_000)
			s.conn("10.0.9.3", "198.51.100.95", 443, 3_000_000, 3_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.95 medium medium one_way"}},
		{"a split upload to a shared host is still high", func(s *exfilSynth) {
			s.office(8)
			for range 100 {
				s.conn("10.0.9.3", "198.51.100.90", 443, 15_000, 300)
			}
		}, []string{"split_upload 10.0.9.3 198.51.100.90 high high one_way,split_connections,far_above_peers"}},
		{"uploads answered by downloads on HTTPS, no peers to compare: volume alone, low", func(s *exfilSynth) {
			s.conn("10.0.9.3", "198.51.100.70", 443, 1_500_000, 900_000)
			s.conn("10.0.9.3", "198.51.100.70", 443, 1_800_000, 1_200_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.70 low low "}},
		{"the same on port 4444, which no other host transfers on, is medium", func(s *exfilSynth) {
			s.conn("10.0.9.3", "198.51.100.70", 4444, 1_500_000, 900_000)
			s.conn("10.0.9.3", "198.51.100.70", 4444, 1_800_000, 1_200_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.70 medium medium unusual_port"}},
		{"port 4444 used for transfers by three other hosts is not unusual", func(s *exfilSynth) {
			for _, h := range []string{"10.0.9.4", "10.0.9.5", "10.0.9.6"} {
				s.conn(h, "198.51.100.71", 4444, 1000, 200_000)
			}
			s.conn("10.0.9.3", "198.51.100.70", 4444, 1_500_000, 900_000)
			s.conn("10.0.9.3", "198.51.100.70", 4444, 1_800_000, 1_200_000)
		}, []string{"outbound_upload 10.0.9.3 198.51.100.70 low low "}},
		{"300 small POSTs in a burst to one address are a split upload, high", func(s *exfilSynth) {
			for range 300 {
				s.conn("10.0.9.3", "203.0.113.77", 80, 12_000, 180)
			}
		}, []string{"split_upload 10.0.9.3 203.0.113.77 high high one_way,split_connections"}},
		{"the same POSTs over TLS (handshakes back) are still split, high", func(s *exfilSynth) {
			for range 300 {
				s.conn("10.0.9.3", "203.0.113.77", 443, 12_000, 4_500)
			}
		}, []string{"split_upload 10.0.9.3 203.0.113.77 high high split_connections"}},
		{"a log shipper posting once a minute is no split", func(s *exfilSynth) {
			for range 30 {
				s.conn("10.0.9.3", "203.0.113.77", 443, 50_000, 4_500)
				s.at = s.at.Add(time.Minute)
			}
		}, []string{"outbound_upload 10.0.9.3 203.0.113.77 medium medium one_way"}},
		{"a nightly rsync of 25 MB to the internal backup server is low", func(s *exfilSynth) {
			s.conn("10.0.9.3", "10.0.1.20", 873, 25_000_000, 40_000)
		}, []string{"internal_file_transfer 10.0.9.3 10.0.1.20 low low "}},
		{"rsync over SSH to the backup server, many hosts doing the same: low", func(s *exfilSynth) {
			for i := 1; i <= 6; i++ {
				s.conn(fmt.Sprintf("10.0.9.%d", i), "10.0.1.20", 22, 1_200_000+i*10_000, 30_000)
			}
		}, []string{
			"internal_file_transfer 10.0.9.1 10.0.1.20 low low ",
			"internal_file_transfer 10.0.9.2 10.0.1.20 low low ",
			"internal_file_transfer 10.0.9.3 10.0.1.20 low low ",
			"internal_file_transfer 10.0.9.4 10.0.1.20 low low ",
			"internal_file_transfer 10.0.9.5 10.0.1.20 low low ",
			"internal_file_transfer 10.0.9.6 10.0.1.20 low low ",
		}},
		{"an SMB copy to a file server nobody else uses, while the others use theirs: medium", func(s *exfilSynth) {
			for i := 1; i <= 5; i++ {
				s.conn(fmt.Sprintf("10.0.9.%d", i), "10.0.1.30", 445, 90_000, 20_000)
			}
			s.conn("10.0.9.3", "10.0.1.99", 445, 2_000_000, 30_000)
		}, []string{"internal_staging 10.0.9.3 10.0.1.99 medium low new_file_server"}},
		{"a backup copy whose source then sends out is staging", func(s *exfilSynth) {
			s.conn("10.0.9.3", "10.0.1.20", 873, 25_000_000, 40_000)
			s.conn("10.0.9.3", "203.0.113.66", 8443, 4_000_000, 200)
		}, []string{
			"internal_staging 10.0.9.3 10.0.1.20 medium medium source_sent_out",
			"outbound_upload 10.0.9.3 203.0.113.66 medium medium one_way",
		}},
		{"an internal one-way copy to port 8000 and then out is high staging", func(s *exfilSynth) {
			s.conn("10.0.9.3", "10.0.1.40", 8000, 3_000_000, 200)
			s.conn("10.0.9.3", "203.0.113.66", 80, 4_000_000, 200)
		}, []string{
			"internal_staging 10.0.9.3 10.0.1.40 high medium one_way,unusual_port,source_sent_out",
			"outbound_upload 10.0.9.3 203.0.113.66 medium medium one_way",
		}},
		{"a lone internal upload answered in kind on a web port is low", func(s *exfilSynth) {
			s.conn("10.0.9.3", "10.0.1.40", 443, 2_000_000, 1_500_000)
		}, []string{"internal_transfer 10.0.9.3 10.0.1.40 low low "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newExfilSynth(t)
			tc.build(s)
			a := s.analyze(Config{})
			if diff := cmp.Diff(tc.want, exfilLines(a.Findings)); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
			// The tool's contract: every transfer above the threshold is
			// listed, whatever its severity.
			for _, f := range findingsOf(a.Findings, report.AttackDataExfiltration) {
				if f.Counts["upload_bytes"] < 1_000_000 {
					t.Errorf("finding below the threshold: %+v", f)
				}
			}
		})
	}
}

func TestExfilPeerBaseline(t *testing.T) {
	tests := []struct {
		desc       []uint64
		own        uint64
		want       uint64
		wantOthers int
	}{
		{nil, 0, 0, 0},
		{[]uint64{5}, 5, 0, 0},
		// Others 9..1 (nine): the 90th percentile is the largest, 9.
		{[]uint64{100, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 100, 9, 9},
		// Own in the middle: the others are 100, 9, 8, 6, ...; index 0.
		{[]uint64{100, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 7, 100, 9},
		// Twenty others: index 2 of 50, 40, 30, 20...
		{[]uint64{500, 50, 40, 30, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4}, 500, 30, 20},
		{[]uint64{500, 50, 40, 30, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4}, 40, 30, 20},
		{[]uint64{500, 50, 40, 30, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4}, 4, 40, 20},
	}
	for _, tc := range tests {
		got, others := baseline(tc.desc, tc.own)
		if got != tc.want || others != tc.wantOthers {
			t.Errorf("baseline(%v, %d) = %d, %d; want %d, %d", tc.desc, tc.own, got, others, tc.want, tc.wantOthers)
		}
	}
}
