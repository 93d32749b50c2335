package detectors

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/floodgen"
	"github.com/agents-of-shield/reconpcap/report"
)

// hostileMix is a SYN flood from spoofed sources to 10.0.0.1:80 with, in
// its middle, a vertical scan (192.168.1.66 -> 10.0.0.2, 100 ports,
// unanswered), a sweep (192.168.1.77 -> 300 hosts on port 22, unanswered)
// and one long established connection. Its truth is counted from the
// segments themselves.
type hostileMix struct {
	segs        []floodgen.Segment
	flood       int            // SYNs to 10.0.0.1:80
	flows       int            // distinct 5-tuples
	addrs       int            // distinct addresses
	portFlows   map[uint16]int // flows per destination port of their opener
	path        string
	scanPorts   int
	sweepHosts  int
	convPackets int
}

func writeHostileMix(t *testing.T, flood int) *hostileMix {
	t.Helper()
	m := &hostileMix{flood: flood, scanPorts: 100, sweepHosts: 300, portFlows: map[uint16]int{}}
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	target, scanned := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	scanner, sweeper := netip.MustParseAddr("192.168.1.66"), netip.MustParseAddr("192.168.1.77")
	client, server := netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("10.0.0.3")
	add := func(s floodgen.Segment) {
		s.Time = t0.Add(time.Duration(len(m.segs)) * time.Millisecond)
		m.segs = append(m.segs, s)
	}
	add(floodgen.Segment{Src: client, Dst: server, SrcPort: 50000, DstPort: 443, Flags: floodgen.SYN})
	add(floodgen.Segment{Src: server, Dst: client, SrcPort: 443, DstPort: 50000, Flags: floodgen.SYN | floodgen.ACK})
	m.convPackets = 2
	scan, sweep := 0, 0
	for i := range flood {
		add(floodgen.Segment{Src: floodgen.Spoofed(i), Dst: target, SrcPort: uint16(1024 + i%60000), DstPort: 80, Flags: floodgen.SYN})
		if i%50 == 0 && scan < m.scanPorts {
			scan++
			add(floodgen.Segment{Src: scanner, Dst: scanned, SrcPort: 40000, DstPort: uint16(scan), Flags: floodgen.SYN})
		}
		if i%30 == 0 && sweep < m.sweepHosts {
			sweep++
			add(floodgen.Segment{Src: sweeper, Dst: netip.AddrFrom4([4]byte{10, 1, byte(sweep >> 8), byte(sweep)}), SrcPort: 41000, DstPort: 22, Flags: floodgen.SYN})
		}
		if i%100 == 0 { // the connection stays busy
			m.convPackets += 2
			add(floodgen.Segment{Src: client, Dst: server, SrcPort: 50000, DstPort: 443, Flags: floodgen.ACK})
			add(floodgen.Segment{Src: server, Dst: client, SrcPort: 443, DstPort: 50000, Flags: floodgen.ACK})
		}
	}
	if scan != m.scanPorts || sweep != m.sweepHosts {
		t.Fatalf("flood of %d too short for the scan and sweep", flood)
	}
	m.flows = flood + m.scanPorts + m.sweepHosts + 1
	m.addrs = flood + 1 + 2 + m.sweepHosts + 1 + 2
	// The scan of ports 1-100 also probes 22 and 80.
	m.portFlows[80], m.portFlows[22], m.portFlows[443] = flood+1, m.sweepHosts+1, 1
	m.path = filepath.Join(t.TempDir(), "hostile.pcap")
	f, err := os.Create(m.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := floodgen.Write(f, len(m.segs), func(i int) floodgen.Segment { return m.segs[i] }); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLimitsKeepTotalsTargetsAndScans analyses the same hostile capture
// with the default bounds (nothing evicted) and with bounds far below it:
// the counts stay exact, the flood's target and port stay on top, the scan
// and the sweep are still found, and the warnings say what was capped.
// (The bounds keep a scan whose probes come more often than once per
// MaxHosts flood packets: a heavy hitter must grow between two prunings.)
func TestLimitsKeepTotalsTargetsAndScans(t *testing.T) {
	m := writeHostileMix(t, 30_000)
	tests := []struct {
		name   string
		limits Limits
		capped bool
		warn   []string // warnings expected; the others of all must be absent
	}{
		{"defaults", Limits{}, false, nil},
		{"small", Limits{MaxFlows: 500, MaxHosts: 300}, true, []string{"flow table full at 500 flows", "unique IPs is an estimate: about", "port scan state capped at 300", "10.0.0.1:80 from about"}},
		// Past the flow table, the detectors' tables hold every pair: nothing folded.
		{"few flows", Limits{MaxFlows: 64}, true, []string{"flow table full at 64 flows", "unique IPs is an estimate: about"}},
	}
	all := []string{"flow table full", "unique IPs is an estimate", "port scan state capped", "10.0.0.1:80 from about"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyzeFile(t, m.path, Config{Limits: tt.limits})
			s := a.Summary
			if s.TotalPackets != len(m.segs) || s.Protocols["tcp"] != int64(len(m.segs)) || s.TotalBytes != int64(len(m.segs)*floodgen.FrameLen) {
				t.Errorf("packets %d, tcp %d, bytes %d; want %d, %d, %d", s.TotalPackets, s.Protocols["tcp"], s.TotalBytes, len(m.segs), len(m.segs), len(m.segs)*floodgen.FrameLen)
			}
			if s.Flows != m.flows {
				t.Errorf("flows %d, want %d", s.Flows, m.flows)
			}
			if len(s.TopTalkers) == 0 || s.TopTalkers[0].IP != "10.0.0.1" || s.TopTalkers[0].PacketsReceived != uint64(m.flood) {
				t.Errorf("top talker %+v, want 10.0.0.1 receiving %d", head(s.TopTalkers, 1), m.flood)
			}
			for _, pc := range s.TopPorts {
				if want, ok := m.portFlows[pc.Port]; ok && pc.Flows != uint64(want) {
					t.Errorf("port %d: %d flows, want %d", pc.Port, pc.Flows, want)
				}
			}
			if len(s.TopPorts) == 0 || s.TopPorts[0].Port != 80 {
				t.Errorf("top port %+v, want 80", head(s.TopPorts, 1))
			}
			if s.UniqueIPsEstimated != tt.capped {
				t.Errorf("unique IPs estimated %v, want %v", s.UniqueIPsEstimated, tt.capped)
			}
			if d := float64(s.UniqueIPs-m.addrs) / float64(m.addrs); (!tt.capped && d != 0) || d < -0.03 || d > 0.03 {
				t.Errorf("unique IPs %d, want %d (within 3%% when estimated)", s.UniqueIPs, m.addrs)
			}
			var vertical, sweep *report.Finding
			for i, f := range findingsOf(a.Findings, report.AttackPortScan) {
				switch {
				case f.Source == "192.168.1.66" && f.Target == "10.0.0.2":
					vertical = &findingsOf(a.Findings, report.AttackPortScan)[i]
				case f.Source == "192.168.1.77" && strings.HasPrefix(f.Technique, "horizontal"):
					sweep = &findingsOf(a.Findings, report.AttackPortScan)[i]
				case strings.HasPrefix(f.Source, "1."):
					t.Errorf("a spoofed source reported: %s", f.Summary)
				}
			}
			if vertical == nil || vertical.Counts[report.CountDistinctPorts] != int64(m.scanPorts) {
				t.Errorf("vertical scan %+v, want %d ports from 192.168.1.66", vertical, m.scanPorts)
			}
			if sweep == nil || sweep.Counts[report.CountHosts] != int64(m.sweepHosts) {
				t.Errorf("sweep %+v, want %d hosts from 192.168.1.77", sweep, m.sweepHosts)
			}
			warned := strings.Join(a.Warnings, "\n")
			for _, want := range tt.warn {
				if !strings.Contains(warned, want) {
					t.Errorf("no warning %q; warnings:\n%s", want, warned)
				}
			}
			for _, w := range all {
				if strings.Contains(warned, w) && !slices.ContainsFunc(tt.warn, func(s string) bool { return strings.HasPrefix(s, w) }) {
					t.Errorf("unexpected warning %q; warnings:\n%s", w, warned)
				}
			}
			if tt.capped && !inFlows(a, "192.168.1.10:50000") {
				t.Errorf("the busy established connection was evicted before the flood's half-open flows")
			}
		})
	}
}

// inFlows reports whether a flow of the table at the end has client c.
func inFlows(a *Analysis, c string) bool {
	for _, f := range a.Capture().Flows() {
		if f.Client.String() == c {
			return true
		}
	}
	return false
}

func TestPruneKeepsHeavyHitters(t *testing.T) {
	m := map[int]uint64{}
	var dropped uint64
	for i := range 100_000 {
		m[-1] += 3 // one key that keeps growing
		m[i]++     // and many that appear once
		m = prune(m, 1000, func(v uint64) uint64 { return v }, func(_ int, v uint64) { dropped += v })
		if len(m) > 1000 {
			t.Fatalf("map holds %d entries past its bound 1000", len(m))
		}
	}
	if m[-1] != 300_000 {
		t.Errorf("heavy hitter %d, want 300000", m[-1])
	}
	var kept uint64
	for k, v := range m {
		if k >= 0 {
			kept += v
		}
	}
	if kept+dropped != 100_000 {
		t.Errorf("kept %d + dropped %d, want 100000", kept, dropped)
	}
}
