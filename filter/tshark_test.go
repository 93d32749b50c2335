package filter_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
)

// matchFrames returns the frames of the capture at path that f matches.
func matchFrames(t *testing.T, path string, f filter.Expr) []int {
	t.Helper()
	m := &collector{f: f}
	if _, err := capture.Scan(context.Background(), path, m); err != nil {
		t.Fatalf("Scan(%s): %v", path, err)
	}
	return m.frames
}

type collector struct {
	f      filter.Expr
	frames []int
}

func (c *collector) Packet(p *capture.Packet) {
	if c.f.Match(p, p.Index) {
		c.frames = append(c.frames, p.Index)
	}
}

func mustDNS(t *testing.T, d string) filter.Expr {
	t.Helper()
	e, err := filter.DNSUnder(d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMatchAgreesWithTshark holds Match against tshark reading String():
// both must select the same frames, and none of the cases may be empty
// (an empty agreement proves nothing).
func TestMatchAgreesWithTshark(t *testing.T) {
	tsharktest.Path(t)
	a := netip.MustParseAddr
	scanner, target := a("10.66.0.10"), a("10.66.0.20")
	v6 := a("fd00::53")
	tests := []struct {
		name, file string
		f          func(t *testing.T) filter.Expr
	}{
		{"syn probes", "scan_syn.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Src(scanner), filter.Dst(target), filter.TCPFlags(capture.FlagSYN, capture.FlagACK))
		}},
		{"host alone", "scan_udp.pcap", func(*testing.T) filter.Expr { return filter.Host(scanner) }},
		{"src alone with icmp errors", "scan_udp.pcap", func(*testing.T) filter.Expr { return filter.Src(scanner) }},
		{"udp probes, icmp errors quote them", "scan_udp.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Src(scanner), filter.Dst(target), filter.Proto(filter.UDP))
		}},
		{"udp port either side", "scan_udp.pcap", func(*testing.T) filter.Expr { return filter.Port(filter.UDP, filter.Either, 53) }},
		{"not udp", "scan_udp.pcap", func(*testing.T) filter.Expr { return filter.Not(filter.Proto(filter.UDP)) }},
		{"icmp errors", "scan_udp.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Src(target), filter.ICMPType(false, 3))
		}},
		{"dns proto (not mdns)", "scan_udp.pcap", func(*testing.T) filter.Expr { return filter.Proto(filter.DNS) }},
		{"or of protocols", "scan_udp.pcap", func(*testing.T) filter.Expr {
			return filter.Or(filter.Proto(filter.ARP), filter.And(filter.Dst(target), filter.Port(0, filter.Destination, 161)))
		}},
		{"fragmented syn scan", "scan_frag.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Src(scanner), filter.TCPFlags(capture.FlagSYN, capture.FlagACK))
		}},
		{"fragments by address", "scan_frag.pcap", func(*testing.T) filter.Expr { return filter.Dst(target) }},
		{"network", "sweep_syn.pcap", func(t *testing.T) filter.Expr {
			p, err := filter.ParsePrefix("10.77.0.0/26")
			if err != nil {
				t.Fatal(err)
			}
			return filter.And(filter.Addr(filter.Destination, p), filter.Port(filter.TCP, filter.Destination, 445))
		}},
		{"dns names", "dns_tunnel.pcap", func(t *testing.T) filter.Expr { return mustDNS(t, "Exfil-Test.example") }},
		{"dns names and sender", "dns_tunnel.pcap", func(t *testing.T) filter.Expr {
			return filter.And(filter.Src(scanner), mustDNS(t, "t.exfil-test.example"))
		}},
		{"icmp echo requests", "exfil_icmp.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Src(scanner), filter.Dst(a("203.0.113.77")), filter.ICMPType(false, 8))
		}},
		{"http payload", "http_gobuster.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Src(scanner), filter.Dst(target), filter.TCPPayload())
		}},
		{"frames and flags", "http_gobuster.pcap", func(*testing.T) filter.Expr {
			return filter.And(filter.Frames(100, 495), filter.TCPFlags(capture.FlagFIN, 0))
		}},
		{"ipv6 host", "gen_edge_pcapng_multi.pcapng", func(*testing.T) filter.Expr { return filter.Host(v6) }},
		{"ipv6 dns", "gen_edge_pcapng_multi.pcapng", func(*testing.T) filter.Expr {
			return filter.And(filter.Dst(v6), filter.Proto(filter.UDP))
		}},
		{"gzip, ports", "gen_traffic.pcap.gz", func(*testing.T) filter.Expr {
			return filter.Or(filter.Port(filter.TCP, filter.Source, 443), filter.Port(0, filter.Destination, 53))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("..", "testdata", tt.file)
			f := tt.f(t)
			got := matchFrames(t, path, f)
			want := tsharktest.Frames(t, path, f.String())
			if len(want) == 0 {
				t.Fatalf("tshark selects no frame with %q: the case proves nothing", f.String())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Match vs tshark -Y %q (-tshark +Match):\n%s", f.String(), diff)
			}
		})
	}
}

// TestTimeWindowAgreesWithTshark cuts a window at packet times read from
// tshark, so the edges fall exactly on packets.
func TestTimeWindowAgreesWithTshark(t *testing.T) {
	tsharktest.Path(t)
	path := filepath.Join("..", "testdata", "scan_syn.pcap")
	// Frames 3 and 1500 of scan_syn.pcap, read from tshark's frame.time_epoch.
	since := time.Unix(1795437071, 708167000)
	until := since.Add(10 * time.Millisecond)
	f := filter.Between(since, until)
	got := matchFrames(t, path, f)
	want := tsharktest.Frames(t, path, f.String())
	if len(want) == 0 || want[0] != 3 {
		t.Fatalf("tshark -Y %q starts at %v, want frame 3 (the since edge is inclusive)", f.String(), want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Match vs tshark -Y %q (-tshark +Match):\n%s", f.String(), diff)
	}
}
