package pcapgen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/pcapgen"
)

func generate(t *testing.T, cfg pcapgen.Config) ([]byte, *pcapgen.Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := pcapgen.Generate(context.Background(), &buf, cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes(), st
}

func TestGenerateIsDeterministic(t *testing.T) {
	cfg := pcapgen.Config{Seed: 3, TargetSize: 300_000, Attacks: pcapgen.Attacks{PortScan: &pcapgen.PortScan{Ports: 50},
		FragScan: &pcapgen.PortScan{Ports: 20}, DecoyScan: &pcapgen.PortScan{Ports: 10}, SlowScan: &pcapgen.PortScan{Ports: 5},
		LoginBrute: &pcapgen.HTTPAttack{Requests: 12}, SplitExfil: &pcapgen.SplitUpload{Connections: 3, BytesPer: 5000},
		ICMPExfil: &pcapgen.ICMPExfil{Packets: 5}, DNSExfil: &pcapgen.DNSTunnel{Queries: 8}}}
	a, _ := generate(t, cfg)
	b, _ := generate(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("the same Config wrote different bytes")
	}
	cfg.Seed = 4
	c, _ := generate(t, cfg)
	if bytes.Equal(a, c) {
		t.Fatal("seeds 3 and 4 wrote the same bytes")
	}
}

func TestGenerateSize(t *testing.T) {
	b, st := generate(t, pcapgen.Config{TargetSize: 2_000_000})
	// Normal traffic stops at the first packet past the target.
	if int64(len(b)) < 2_000_000 || int64(len(b)) > 2_000_000+70_000 {
		t.Errorf("file is %d bytes, want 2,000,000 and at most one packet more", len(b))
	}
	if st.FileBytes != int64(len(b)) {
		t.Errorf("Stats.FileBytes = %d, file is %d bytes", st.FileBytes, len(b))
	}
	if avg := st.WireBytes / int64(st.Packets); avg < 500 || avg > 850 {
		t.Errorf("average frame is %d bytes, want a realistic 500-850", avg)
	}
	for name, n := range map[string]int{"ipv6": st.IPv6, "vlan": st.VLAN, "arp": st.ARP, "icmp": st.ICMP, "dns": st.DNS} {
		if n == 0 {
			t.Errorf("no %s packets in the mix", name)
		}
	}
}

// TestGenerateBounded checks that hosts and flows do not grow with the
// file: a capture four times larger holds no more of either.
func TestGenerateBounded(t *testing.T) {
	cfg := pcapgen.Config{Hosts: 50, Flows: 300}
	cfg.TargetSize = 2_000_000
	_, small := generate(t, cfg)
	cfg.TargetSize = 8_000_000
	_, big := generate(t, cfg)
	// 50 clients, 12 public servers with their IPv6 addresses, the
	// internal servers and the public resolver bound the addresses; the
	// office mix adds 88 hosts (SaaS, update, NTP and CDN servers, the
	// multicast groups, the monitor, the crawler, 24 polled servers and
	// the backup server). Its own pools add 31% to Flows; its clocked
	// traffic adds at most 8 ports for each of 24 polled servers, 16 for
	// the crawler and 8 backups; multicast answers at most one flow per
	// responder and LLMNR pool entry (6 x 12) and 6 mDNS answers.
	if big.UniqueIPs > 50+50/4+2*12+2*6+2+88 || big.Flows > 300*131/100+24*8+16+8+6*12+6 {
		t.Errorf("8 MB capture: %d addresses, %d flows; want at most the pools", big.UniqueIPs, big.Flows)
	}
	if big.UniqueIPs < small.UniqueIPs {
		t.Errorf("addresses went from %d (2 MB) to %d (8 MB)", small.UniqueIPs, big.UniqueIPs)
	}
}

// TestGenerateReadBack reads every format and link type back with the
// capture engine and compares it with the ground truth.
func TestGenerateReadBack(t *testing.T) {
	attacks := pcapgen.Attacks{
		PortScan:  &pcapgen.PortScan{Ports: 100},
		Upload:    &pcapgen.Upload{Bytes: 300_000},
		DNSTunnel: &pcapgen.DNSTunnel{Queries: 40},
		HTTPEnum:  &pcapgen.HTTPEnum{Requests: 60},
	}
	tests := []struct {
		format    pcapgen.Format
		bigEndian bool
		link      pcapgen.Link
		gzip      bool
	}{
		{pcapgen.FormatPcap, false, pcapgen.LinkEthernet, false},
		{pcapgen.FormatPcapNano, true, pcapgen.LinkEthernet, false},
		{pcapgen.FormatPcapNG, false, pcapgen.LinkSLL, false},
		{pcapgen.FormatPcap, false, pcapgen.LinkSLL2, true},
		{pcapgen.FormatPcapNano, false, pcapgen.LinkRaw, false},
		{pcapgen.FormatPcapNG, false, pcapgen.LinkLoopback, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s_be=%v_%s_gz=%v", tt.format, tt.bigEndian, tt.link, tt.gzip)
		t.Run(name, func(t *testing.T) {
			cfg := pcapgen.Config{Seed: 9, Format: tt.format, BigEndian: tt.bigEndian, Link: tt.link, Gzip: tt.gzip,
				TargetSize: 1_500_000, Hosts: 40, Attacks: attacks}
			path := filepath.Join(t.TempDir(), "cap")
			st, err := pcapgen.WriteFile(context.Background(), path, cfg)
			if err != nil {
				t.Fatal(err)
			}
			a, err := detectors.Analyze(context.Background(), path, detectors.Config{})
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			s := a.Summary
			if s.TotalPackets != st.Packets || s.TotalBytes != st.WireBytes || s.UniqueIPs != st.UniqueIPs || s.Flows != st.Flows {
				t.Errorf("engine: %d packets, %d bytes, %d IPs, %d flows; truth: %d, %d, %d, %d",
					s.TotalPackets, s.TotalBytes, s.UniqueIPs, s.Flows, st.Packets, st.WireBytes, st.UniqueIPs, st.Flows)
			}
			lt, _ := tt.link.LinkType()
			if got := a.Capture().LinkTypes; len(got) != 1 || got[0] != lt || len(s.LinkTypes) != 1 {
				t.Errorf("link types %v (%v), want %v", got, s.LinkTypes, lt)
			}
			if s.Start == nil || !s.Start.Equal(st.Start) || !s.End.Equal(st.End) {
				t.Errorf("times %v to %v, want %v to %v", s.Start, s.End, st.Start, st.End)
			}
			if a.Compressed != tt.gzip {
				t.Errorf("compressed = %v, want %v", a.Compressed, tt.gzip)
			}
			checkAttacks(t, a, st)
		})
	}
}

// checkAttacks finds the injected attacks in the engine's flows.
func checkAttacks(t *testing.T, a *detectors.Analysis, st *pcapgen.Stats) {
	t.Helper()
	scanPorts := map[uint16]bool{}
	var upload uint64
	enumConns, tunnelPorts := 0, map[uint16]bool{}
	for _, f := range a.Capture().Flows() {
		c, s := f.Client.Addr(), f.Server.Addr()
		switch {
		case c == st.PortScan.Source && s == st.PortScan.Target:
			scanPorts[f.Server.Port()] = true
			if f.SYNs != 1 {
				t.Errorf("scan flow %v->%v: %d SYNs, want 1", f.Client, f.Server, f.SYNs)
			}
		case c == st.Upload.Source && s == st.Upload.Dest:
			upload += f.Payload[0]
		case c == st.HTTPEnum.Source && s == st.HTTPEnum.Server:
			enumConns++
		case c == st.DNSTunnel.Client && s == st.DNSTunnel.Resolver:
			tunnelPorts[f.Client.Port()] = true
		}
	}
	if len(scanPorts) != st.PortScan.Ports {
		t.Errorf("scan: %d ports probed, truth %d", len(scanPorts), st.PortScan.Ports)
	}
	if int64(upload) != st.Upload.Bytes {
		t.Errorf("upload: %d bytes, truth %d", upload, st.Upload.Bytes)
	}
	if enumConns != st.HTTPEnum.Connections {
		t.Errorf("HTTP enumeration: %d connections, truth %d", enumConns, st.HTTPEnum.Connections)
	}
	if len(tunnelPorts) == 0 {
		t.Error("no DNS tunnel flow")
	}
	if a.Summary.DNSNamesDistinct < st.DNSTunnel.Queries {
		t.Errorf("%d distinct DNS names, want at least the tunnel's %d", a.Summary.DNSNamesDistinct, st.DNSTunnel.Queries)
	}
}

// TestEdgeCasesAreCommitted checks that testdata/ holds exactly what
// go generate ./internal/pcapgen writes.
func TestEdgeCasesAreCommitted(t *testing.T) {
	for _, e := range pcapgen.EdgeCases() {
		b, _, err := e.Build()
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", "testdata", e.Name))
		if err != nil {
			t.Fatalf("%v (run go generate ./internal/pcapgen)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("testdata/%s differs from what the generator writes (run go generate ./internal/pcapgen)", e.Name)
		}
		if len(b) > 200<<10 {
			t.Errorf("%s is %d bytes, want under 200 KB", e.Name, len(b))
		}
	}
}

// TestEdgeCasesRead reads every edge case with the capture engine.
func TestEdgeCasesRead(t *testing.T) {
	tests := []struct {
		name       string
		truncated  bool
		kind       error
		linkTypes  int
		interfaces int
	}{
		{"gen_edge_pcapng_multi.pcapng", false, nil, 4, 4},
		{"gen_nanosecond.pcap", false, nil, 1, 1},
		{"gen_vlan_qinq.pcap", false, nil, 1, 1},
		{"gen_traffic.pcap.gz", false, nil, 1, 1},
		{"gen_truncated.pcap", true, nil, 1, 1},
		{"gen_corrupt_len.pcap", false, capture.ErrCorrupt, 1, 1},
		{"gen_not_a_capture.txt", false, capture.ErrNotCapture, 0, 0},
		{"gen_empty.pcap", false, nil, 1, 1},
		{"gen_zero.pcap", false, capture.ErrEmpty, 0, 0},
	}
	edges := map[string]pcapgen.EdgeCase{}
	for _, e := range pcapgen.EdgeCases() {
		edges[e.Name] = e
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st, err := edges[tt.name].Build()
			if err != nil {
				t.Fatal(err)
			}
			c, err := capture.Scan(context.Background(), filepath.Join("..", "..", "testdata", tt.name))
			if !errors.Is(err, tt.kind) || (tt.kind == nil) != (err == nil) {
				t.Fatalf("Scan: %v, want %v", err, tt.kind)
			}
			if st == nil {
				if c != nil {
					t.Fatalf("read %d packets from a file that is not a capture", c.Packets)
				}
				return
			}
			if c.Packets != st.Packets || c.Bytes != st.WireBytes || c.Truncated != tt.truncated {
				t.Errorf("%d packets, %d bytes, truncated %v; want %d, %d, %v", c.Packets, c.Bytes, c.Truncated, st.Packets, st.WireBytes, tt.truncated)
			}
			if len(c.LinkTypes) != tt.linkTypes || c.Interfaces != tt.interfaces {
				t.Errorf("link types %v, %d interfaces; want %d and %d", c.LinkTypes, c.Interfaces, tt.linkTypes, tt.interfaces)
			}
			if st.Packets > 0 && (!c.Start.Equal(st.Start) || !c.End.Equal(st.End)) {
				t.Errorf("times %v to %v, want %v to %v", c.Start, c.End, st.Start, st.End)
			}
			ips := map[netip.Addr]bool{}
			for _, f := range c.Flows() {
				ips[f.Client.Addr()], ips[f.Server.Addr()] = true, true
			}
			if len(ips) > st.UniqueIPs {
				t.Errorf("flows name %d addresses, the capture has %d", len(ips), st.UniqueIPs)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  pcapgen.Config
		bad  string
	}{
		{"zero value", pcapgen.Config{}, ""},
		{"unknown format", pcapgen.Config{Format: "erf"}, "Format"},
		{"big-endian pcapng", pcapgen.Config{Format: pcapgen.FormatPcapNG, BigEndian: true}, "BigEndian"},
		{"unknown link", pcapgen.Config{Link: "token-ring"}, "token-ring"},
		{"too few hosts", pcapgen.Config{Hosts: 2}, "Hosts"},
		{"more concurrent than flows", pcapgen.Config{Flows: 5, Concurrent: 10}, "Concurrent"},
		{"attacks past the end", pcapgen.Config{Attacks: pcapgen.Attacks{At: 2}}, "Attacks.At"},
		{"fragmented scan over IPv6", pcapgen.Config{Attacks: pcapgen.Attacks{FragScan: &pcapgen.PortScan{Target: netip.MustParseAddr("fd00::1:10")}}}, "Attacks.FragScan"},
		{"negative slow scan interval", pcapgen.Config{Attacks: pcapgen.Attacks{SlowScan: &pcapgen.PortScan{Interval: -1}}}, "Attacks.SlowScan.Interval"},
		{"ICMP payload over the MTU", pcapgen.Config{Attacks: pcapgen.Attacks{ICMPExfil: &pcapgen.ICMPExfil{Size: 9000}}}, "Attacks.ICMPExfil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.bad == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, pcapgen.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.bad) {
				t.Fatalf("Validate: %v, want an ErrInvalidConfig naming %s", err, tt.bad)
			}
		})
	}
}

func ExampleGenerate() {
	var buf bytes.Buffer
	st, err := pcapgen.Generate(context.Background(), &buf, pcapgen.Config{
		Seed:    1,
		Packets: 1000,
		Attacks: pcapgen.Attacks{At: 0.5, PortScan: &pcapgen.PortScan{Ports: 100}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(st.Packets > 1000, st.PortScan.Ports, st.PortScan.Open)
	// Output: true 100 [22 80]
}
