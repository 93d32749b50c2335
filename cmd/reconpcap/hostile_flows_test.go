package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/floodgen"
	"github.com/agents-of-shield/reconpcap/report"
)

// hostilePackets is the size of each hostile capture of flows: 600,000
// segments (42 MB) by default, enough to overflow the default flow table
// twice and the host tables nine times, in a few seconds of CPU;
// RECONPCAP_HOSTILE_PACKETS=5000000 is the reproduction.
func hostilePackets(t *testing.T) int {
	if s := os.Getenv("RECONPCAP_HOSTILE_PACKETS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 300_000 {
			t.Fatalf("RECONPCAP_HOSTILE_PACKETS=%q: want a count of at least 300000 (the default flow table must overflow)", s)
		}
		return n
	}
	return 600_000
}

// TestHostileFlowsBoundedMemory runs the reconpcap binary, built without
// the race detector, on generated floods of flows, and reads its peak
// memory from the kernel: each is analysed within 1 GiB with the default
// bounds, its counts exact, its target visible and its caps said.
func TestHostileFlowsBoundedMemory(t *testing.T) {
	bin := buildReconpcap(t)
	n := hostilePackets(t)
	dir := t.TempDir()
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	target, scanner := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.1.66")
	tests := []struct {
		name  string
		seg   func(i int) floodgen.Segment
		check func(t *testing.T, a *detectors.Analysis)
	}{
		{
			name: "SYN flood from spoofed sources",
			seg: func(i int) floodgen.Segment {
				return floodgen.Segment{Time: t0.Add(time.Duration(i) * time.Microsecond), Src: floodgen.Spoofed(i), Dst: target, SrcPort: uint16(1024 + i%60000), DstPort: 80, Flags: floodgen.SYN}
			},
			check: func(t *testing.T, a *detectors.Analysis) {
				s := a.Summary
				if len(s.TopTalkers) == 0 || s.TopTalkers[0].IP != "10.0.0.1" || s.TopTalkers[0].PacketsReceived != uint64(n) {
					t.Errorf("top talker %+v, want 10.0.0.1 receiving %d", s.TopTalkers[:min(1, len(s.TopTalkers))], n)
				}
				if len(s.TopPorts) != 1 || s.TopPorts[0].Port != 80 || s.TopPorts[0].Flows != uint64(n) {
					t.Errorf("top ports %+v, want 80/tcp alone with %d flows", s.TopPorts, n)
				}
				if d := float64(s.UniqueIPs-(n+1)) / float64(n+1); !s.UniqueIPsEstimated || d < -0.03 || d > 0.03 {
					t.Errorf("unique IPs %d (estimated %v), want about %d", s.UniqueIPs, s.UniqueIPsEstimated, n+1)
				}
				warned := strings.Join(a.Warnings, "\n")
				for _, w := range []string{"flow table full at 262144 flows", "10.0.0.1:80 from about", "unique IPs is an estimate"} {
					if !strings.Contains(warned, w) {
						t.Errorf("no warning %q in\n%s", w, warned)
					}
				}
			},
		},
		{
			name: "one source to millions of address:port pairs",
			seg: func(i int) floodgen.Segment {
				dst := floodgen.Spoofed(i + 0x09000000) // 10.0.0.0 onwards, one address each
				return floodgen.Segment{Time: t0.Add(time.Duration(i) * time.Microsecond), Src: scanner, Dst: dst, SrcPort: 40000, DstPort: uint16(1 + i%1024), Flags: floodgen.SYN}
			},
			check: func(t *testing.T, a *detectors.Analysis) {
				s := a.Summary
				if len(s.TopTalkers) == 0 || s.TopTalkers[0].IP != "192.168.1.66" || s.TopTalkers[0].PacketsSent != uint64(n) {
					t.Errorf("top talker %+v, want 192.168.1.66 sending %d", s.TopTalkers[:min(1, len(s.TopTalkers))], n)
				}
				found := false
				for _, f := range a.Findings {
					found = found || (f.Type == report.AttackPortScan && f.Source == "192.168.1.66" && strings.HasPrefix(f.Technique, "horizontal"))
				}
				if !found {
					t.Errorf("no sweep from 192.168.1.66 among %d findings", len(a.Findings))
				}
				if !strings.Contains(strings.Join(a.Warnings, "\n"), "flow table full at 262144 flows") {
					t.Errorf("no flow table warning in %q", a.Warnings)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "hostile.pcap")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := floodgen.Write(f, n, tt.seg); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(path)
			out, errOut, code, peak := runMeasured(t, bin, "analyze", "--format", "json", path)
			if code != 0 {
				t.Fatalf("analyze exited %d: %s", code, errOut)
			}
			if peak > hostileMaxRSS {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, hostileMaxRSS>>20)
			}
			var a detectors.Analysis
			if err := json.Unmarshal([]byte(out), &a); err != nil {
				t.Fatal(err)
			}
			s := a.Summary
			if s.TotalPackets != n || s.Protocols["tcp"] != int64(n) || s.TotalBytes != int64(n*floodgen.FrameLen) || s.Flows != n {
				t.Errorf("packets %d, tcp %d, bytes %d, flows %d; want %d, %d, %d, %d", s.TotalPackets, s.Protocols["tcp"], s.TotalBytes, s.Flows, n, n, n*floodgen.FrameLen, n)
			}
			tt.check(t, &a)
		})
	}
}
