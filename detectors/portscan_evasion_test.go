package detectors

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// arp writes an ARP packet in which mac claims addr.
func (r *rawCapture) arp(mac byte, op uint16, addr, asked string) {
	r.t.Helper()
	a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: net.HardwareAddr{2, 0, 0, 0, 0, mac}, SourceProtAddress: net.ParseIP(addr).To4(),
		DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: net.ParseIP(asked).To4()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, a); err != nil {
		r.t.Fatal(err)
	}
	r.frame(mac, layers.EthernetTypeARP, buf.Bytes())
}

// tcp4 writes one unfragmented TCP segment from mac.
func (r *rawCapture) tcp4(mac byte, src string, sport uint16, dst string, dport uint16, flags uint8) {
	r.whole4(mac, src, dst, layers.IPProtocolTCP, r.segment(src, dst, sport, dport, flags, nil))
}

// verdicts lists findings as "technique source target severity".
func verdicts(fs []report.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Technique+" "+f.Source+" "+f.Target+" "+string(f.Severity))
	}
	slices.Sort(out)
	return out
}

// TestDecoyScan: nmap -D sends each probe from the scanner and from every
// decoy, all from the scanner's MAC. One finding must name the real
// scanner, with the decoys inside it; two real scanners must stay two.
func TestDecoyScan(t *testing.T) {
	const scanner, target = "10.66.0.10", "10.66.0.20"
	decoyAddrs := []string{"10.66.0.31", "10.66.0.32", "10.66.0.33"}
	open := func(p uint16) bool { return p == 22 || p == 80 }
	tests := []struct {
		name   string
		build  func(r *rawCapture)
		want   []string
		decoys []string // of the one finding
	}{
		{"decoys that exist nowhere: only the scanner is answered, and it resets the SYN-ACKs", func(r *rawCapture) {
			for p := uint16(1); p <= 60; p++ {
				for _, src := range append(slices.Clone(decoyAddrs), scanner) {
					r.tcp4(1, src, 50000, target, p, capture.FlagSYN)
				}
				if open(p) {
					r.tcp4(2, target, p, scanner, 50000, capture.FlagSYN|capture.FlagACK)
					r.tcp4(1, scanner, 50000, target, p, capture.FlagRST)
				} else {
					r.tcp4(2, target, p, scanner, 50000, capture.FlagRST|capture.FlagACK)
				}
			}
		}, []string{"syn 10.66.0.10 10.66.0.20 high"}, decoyAddrs},
		{"live decoys answer from their own MACs", func(r *rawCapture) {
			for p := uint16(1); p <= 60; p++ {
				for i, src := range append(slices.Clone(decoyAddrs), scanner) {
					r.tcp4(1, src, 50000, target, p, capture.FlagSYN)
					if open(p) {
						r.tcp4(2, target, p, src, 50000, capture.FlagSYN|capture.FlagACK)
						mac := byte(1)
						if src != scanner {
							mac = byte(10 + i) // the decoy's own host resets the unexpected SYN-ACK
						}
						r.tcp4(mac, src, 50000, target, p, capture.FlagRST)
					} else {
						r.tcp4(2, target, p, src, 50000, capture.FlagRST|capture.FlagACK)
					}
				}
			}
		}, []string{"syn 10.66.0.10 10.66.0.20 high"}, decoyAddrs},
		{"filtered target, nothing answers: the MAC's ARP names the scanner", func(r *rawCapture) {
			r.arp(1, 1, scanner, target)
			for p := uint16(1); p <= 30; p++ {
				for _, src := range append(slices.Clone(decoyAddrs), scanner) {
					r.tcp4(1, src, 50000, target, p, capture.FlagSYN)
				}
			}
		}, []string{"syn 10.66.0.10 10.66.0.20 medium"}, decoyAddrs},
		{"two real scanners behind one router both react: two findings", func(r *rawCapture) {
			for p := uint16(1); p <= 30; p++ {
				for _, src := range []string{"198.51.100.7", "198.51.100.8"} {
					r.tcp4(9, src, 50000, target, p, capture.FlagSYN)
					if open(p) {
						r.tcp4(2, target, p, src, 50000, capture.FlagSYN|capture.FlagACK)
						r.tcp4(9, src, 50000, target, p, capture.FlagRST)
					} else {
						r.tcp4(2, target, p, src, 50000, capture.FlagRST|capture.FlagACK)
					}
				}
			}
		}, []string{"syn 198.51.100.7 10.66.0.20 medium", "syn 198.51.100.8 10.66.0.20 medium"}, nil},
		{"sources on different MACs are not decoys", func(r *rawCapture) {
			for p := uint16(1); p <= 30; p++ {
				r.tcp4(1, scanner, 50000, target, p, capture.FlagSYN)
				r.tcp4(5, "10.66.0.11", 50000, target, p, capture.FlagSYN)
				r.tcp4(2, target, p, scanner, 50000, capture.FlagRST|capture.FlagACK)
			}
		}, []string{"syn 10.66.0.10 10.66.0.20 medium", "syn 10.66.0.11 10.66.0.20 medium"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRawCapture(t)
			tc.build(r)
			a := r.analyze()
			got := verdicts(a.Findings)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("findings %q, want %q", got, tc.want)
			}
			if tc.decoys == nil {
				for _, f := range a.Findings {
					if f.Samples["decoys"] != nil {
						t.Errorf("%s names decoys %v", f.Source, f.Samples["decoys"])
					}
				}
				return
			}
			f := a.Findings[0]
			if !slices.Equal(f.Samples["decoys"], tc.decoys) || f.Counts["decoys"] != int64(len(tc.decoys)) || f.Samples["source_mac"][0] != "02:00:00:00:00:01" {
				t.Errorf("decoys %v (%d), MAC %v; want %v from 02:00:00:00:00:01", f.Samples["decoys"], f.Counts["decoys"], f.Samples["source_mac"], tc.decoys)
			}
		})
	}
}

// TestScanHabits: the probes of one scanner that changed one habit must
// still be found from the real source, and look-alikes stay quiet.
func TestScanHabits(t *testing.T) {
	const scanner, target = "10.66.0.10", "10.66.0.20"
	tests := []struct {
		name  string
		build func(r *rawCapture)
		want  []string
	}{
		{"ACK scan answered by resets (firewall mapping)", func(r *rawCapture) {
			for p := uint16(1); p <= 200; p++ {
				r.tcp4(1, scanner, 41000, target, p, capture.FlagACK)
				r.tcp4(2, target, p, scanner, 41000, capture.FlagRST)
			}
		}, []string{"ack 10.66.0.10 10.66.0.20 high"}},
		{"ACK scan from source port 80", func(r *rawCapture) {
			for p := uint16(1000); p < 1020; p++ {
				r.tcp4(1, scanner, 80, target, p, capture.FlagACK)
				r.tcp4(2, target, p, scanner, 80, capture.FlagRST)
			}
		}, []string{"ack 10.66.0.10 10.66.0.20 medium"}},
		{"bare ACKs never answered stay medium", func(r *rawCapture) {
			for p := uint16(1); p <= 200; p++ {
				r.tcp4(1, scanner, 41000, target, p, capture.FlagACK)
			}
		}, []string{"ack 10.66.0.10 10.66.0.20 medium"}},
		{"connections seen mid-way: ACKs answered with data are no scan", func(r *rawCapture) {
			for p := uint16(1); p <= 30; p++ {
				r.tcp4(1, scanner, 41000+p, target, 443, capture.FlagACK)
				r.whole4(2, target, scanner, layers.IPProtocolTCP, r.segment(target, scanner, 443, 41000+p, capture.FlagACK|capture.FlagPSH, make([]byte, 100)))
			}
		}, nil},
		{"ACK sweep of port 80 answered by resets", func(r *rawCapture) {
			for h := range 30 {
				r.tcp4(1, scanner, 41000, "10.77.0."+strconv.Itoa(h+1), 80, capture.FlagACK)
				r.tcp4(2, "10.77.0."+strconv.Itoa(h+1), 80, scanner, 41000, capture.FlagRST)
			}
		}, []string{"horizontal_ack 10.66.0.10 multiple_targets medium"}},
		{"bare ACKs to port 443 of many hosts, never answered (one direction seen): low", func(r *rawCapture) {
			for h := range 30 {
				r.tcp4(1, scanner, uint16(41000+h), "198.51.100."+strconv.Itoa(h+1), 443, capture.FlagACK)
			}
		}, []string{"horizontal_ack 10.66.0.10 multiple_targets low"}},
		{"SYN scan from source port 53", func(r *rawCapture) {
			for p := uint16(1); p <= 200; p++ {
				r.tcp4(1, scanner, 53, target, p, capture.FlagSYN)
				r.tcp4(2, target, p, scanner, 53, capture.FlagRST|capture.FlagACK)
			}
		}, []string{"syn 10.66.0.10 10.66.0.20 high"}},
		{"UDP scan from source port 53", func(r *rawCapture) {
			for p := uint16(1000); p < 1060; p++ {
				u := &layers.UDP{SrcPort: 53, DstPort: layers.UDPPort(p)}
				ip := ip4(scanner, target, layers.IPProtocolUDP)
				if err := u.SetNetworkLayerForChecksum(ip); err != nil {
					t.Fatal(err)
				}
				buf := gopacket.NewSerializeBuffer()
				if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, u); err != nil {
					t.Fatal(err)
				}
				r.whole4(1, scanner, target, layers.IPProtocolUDP, buf.Bytes())
			}
		}, []string{"udp 10.66.0.10 10.66.0.20 high"}},
		{"slow scan: 41 ports, one every 4 seconds", func(r *rawCapture) {
			for p := uint16(20); p <= 60; p++ {
				r.at = r.at.Add(4 * time.Second)
				r.tcp4(1, scanner, 45000, target, p, capture.FlagSYN)
				r.tcp4(2, target, p, scanner, 45000, capture.FlagRST|capture.FlagACK)
			}
		}, []string{"syn 10.66.0.10 10.66.0.20 medium"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRawCapture(t)
			tc.build(r)
			got := verdicts(r.analyze().Findings)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
		})
	}
}

// TestScanEvasionRecordings checks, for the real-tool recordings of
// evasive scans, what TestTestdataGroundTruth does not: the technique of
// each finding and the decoys named inside it (ground_truth.json; decoys
// are the addresses tshark saw sending the same SYNs from the scanner's
// MAC and never answered).
func TestScanEvasionRecordings(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct {
		Expected []struct {
			Technique string   `json:"technique"`
			Source    string   `json:"source"`
			Decoys    []string `json:"decoys"`
		} `json:"expected"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scan_frag.pcap", "scan_decoy.pcap", "scan_ack.pcap", "scan_window.pcap", "scan_slow.pcap", "scan_srcport.pcap", "scan_version.pcap"} {
		gt, ok := truth[name]
		if !ok {
			continue // not recorded yet
		}
		t.Run(name, func(t *testing.T) {
			a := analyzeFile(t, testdataFile(t, name), Config{})
			if len(a.Findings) != len(gt.Expected) {
				t.Fatalf("findings %q, want %d", verdicts(a.Findings), len(gt.Expected))
			}
			for _, e := range gt.Expected {
				i := slices.IndexFunc(a.Findings, func(f report.Finding) bool { return f.Technique == e.Technique && f.Source == e.Source })
				if i < 0 {
					t.Errorf("no %s finding from %s in %q", e.Technique, e.Source, verdicts(a.Findings))
					continue
				}
				if f := a.Findings[i]; !slices.Equal(f.Samples["decoys"], e.Decoys) {
					t.Errorf("decoys %v, want %v", f.Samples["decoys"], e.Decoys)
				}
			}
		})
	}
}

// TestServiceProbes: nmap -sV completes connections to a few ports and
// sends its service probes; ordinary clients repeating one request do not.
func TestServiceProbes(t *testing.T) {
	const scanner, target = "10.66.0.10", "10.66.0.20"
	conn := func(r *rawCapture, sport, dport uint16, payload string) {
		r.tcp4(1, scanner, sport, target, dport, capture.FlagSYN)
		r.tcp4(2, target, dport, scanner, sport, capture.FlagSYN|capture.FlagACK)
		r.tcp4(1, scanner, sport, target, dport, capture.FlagACK)
		r.whole4(1, scanner, target, layers.IPProtocolTCP, r.segment(scanner, target, sport, dport, capture.FlagACK|capture.FlagPSH, []byte(payload)))
		r.tcp4(1, scanner, sport, target, dport, capture.FlagRST)
	}
	tests := []struct {
		name     string
		payloads map[uint16][]string // per port, one connection each
		want     []string
	}{
		{"nmap -sV on three ports", map[uint16][]string{
			22:   {""},
			80:   {"GET / HTTP/1.0\r\n\r\n"},
			8080: {"GET / HTTP/1.0\r\n\r\n", "OPTIONS / HTTP/1.0\r\n\r\n", "GET /nice%20ports%2C/Tri%6Eity.txt%2ebak HTTP/1.0\r\n\r\n", "OPTIONS / RTSP/1.0\r\n\r\n", "\r\n\r\n", "HELP\r\n"},
		}, []string{"service_probe 10.66.0.10 10.66.0.20 medium"}},
		{"generic probes only", map[uint16][]string{
			9000: {"GET / HTTP/1.0\r\n\r\n", "OPTIONS / HTTP/1.0\r\n\r\n", "\r\n\r\n", "HELP\r\n"},
		}, []string{"service_probe 10.66.0.10 10.66.0.20 low"}},
		{"a monitor repeating one bare request", map[uint16][]string{
			80: slices.Repeat([]string{"GET / HTTP/1.0\r\n\r\n"}, 50),
		}, nil},
		{"browser requests", map[uint16][]string{
			80: {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a.css HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS /api HTTP/1.1\r\nHost: a\r\n\r\n"},
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRawCapture(t)
			sport := uint16(50000)
			for _, port := range sortedKeys(tc.payloads) {
				for _, pl := range tc.payloads[port] {
					sport++
					conn(r, sport, port, pl)
				}
			}
			// Only the port scan detector's: volume is the HTTP detector's.
			got := verdicts(findingsOf(r.analyze().Findings, report.AttackPortScan))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
		})
	}
}
