package detectors

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// TestExfilDrip: data sent a little at a time over one long connection is
// a low finding; long connections of other shapes are not.
func TestExfilDrip(t *testing.T) {
	const client, cport = "10.0.9.3", 41000
	// session writes one connection lasting secs seconds in which, every
	// every seconds, the client sends up bytes and the server down bytes.
	session := func(s *synthCapture, server string, sport uint16, secs, every, up, down int) {
		s.tcp(client, cport, server, sport, capture.FlagSYN, 0)
		s.tcp(server, sport, client, cport, capture.FlagSYN|capture.FlagACK, 0)
		s.tcp(client, cport, server, sport, capture.FlagACK, 0)
		for i := 0; i < secs; i += every {
			s.at = s.at.Add(time.Duration(every) * time.Second)
			if up > 0 {
				s.tcp(client, cport, server, sport, capture.FlagACK|capture.FlagPSH, up)
			}
			if down > 0 {
				s.tcp(server, sport, client, cport, capture.FlagACK|capture.FlagPSH, down)
			} else {
				s.tcp(server, sport, client, cport, capture.FlagACK, 0)
			}
		}
		s.tcp(client, cport, server, sport, capture.FlagFIN|capture.FlagACK, 0)
		s.tcp(server, sport, client, cport, capture.FlagFIN|capture.FlagACK, 0)
	}
	tests := []struct {
		name  string
		build func(s *synthCapture)
		want  []string // technique source target severity upload_bytes active_seconds
	}{
		{"1 kB a second for 3 minutes to an external host", func(s *synthCapture) {
			session(s, "203.0.113.70", 8080, 180, 1, 1000, 0)
		}, []string{"slow_drip 10.0.9.3 203.0.113.70 low 180000 151"}}, // seconds 30 to 180: the first 30 s are not followed
		{"200 bytes every 5 s for 20 minutes", func(s *synthCapture) {
			session(s, "203.0.113.70", 443, 1200, 5, 200, 0)
		}, []string{"slow_drip 10.0.9.3 203.0.113.70 low 48000 235"}},
		{"the same drip to an internal host is not exfiltration", func(s *synthCapture) {
			session(s, "10.0.1.70", 8080, 180, 1, 1000, 0)
		}, nil},
		{"an interactive session receives more than it sends", func(s *synthCapture) {
			session(s, "203.0.113.70", 22, 300, 1, 100, 400)
		}, nil},
		{"a burst then a quiet connection is no drip", func(s *synthCapture) {
			s.tcp(client, cport, "203.0.113.70", 443, capture.FlagSYN, 0)
			s.tcp("203.0.113.70", 443, client, cport, capture.FlagSYN|capture.FlagACK, 0)
			for range 150 {
				s.tcp(client, cport, "203.0.113.70", 443, capture.FlagACK|capture.FlagPSH, 1200)
			}
			for range 18 { // keep-alives every 10 s
				s.at = s.at.Add(10 * time.Second)
				s.tcp(client, cport, "203.0.113.70", 443, capture.FlagACK, 0)
				s.tcp("203.0.113.70", 443, client, cport, capture.FlagACK, 0)
			}
		}, nil},
		{"a fast stream is judged by volume, not as a drip", func(s *synthCapture) {
			session(s, "203.0.113.70", 443, 150, 1, 30_000, 0)
		}, []string{"outbound_upload 10.0.9.3 203.0.113.70 medium 4500000 0"}},
		{"a short drip is nothing", func(s *synthCapture) {
			session(s, "203.0.113.70", 8080, 60, 1, 1000, 0)
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSynth(t)
			tc.build(s)
			a := s.analyze(Config{})
			var got []string
			for _, f := range findingsOf(a.Findings, report.AttackDataExfiltration) {
				got = append(got, fmt.Sprintf("%s %s %s %s %d %d", f.Technique, f.Source, f.Target, f.Severity, f.Counts["upload_bytes"], f.Counts["active_seconds"]))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
