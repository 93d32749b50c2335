package detectors

import (
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// rawCapture writes Ethernet frames around IP packets built byte by byte,
// so tests can send fragments as nmap -f does: the truth is what the test
// wrote, checked with tshark where it counts.
type rawCapture struct {
	t  *testing.T
	f  *os.File
	w  *pcapgo.Writer
	at time.Time
	id uint16
}

func newRawCapture(t *testing.T) *rawCapture {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "raw.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return &rawCapture{t: t, f: f, w: w, at: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), id: 0x1000}
}

// frame writes one Ethernet frame from mac carrying an IP packet.
func (r *rawCapture) frame(mac byte, etype layers.EthernetType, ip []byte) {
	r.t.Helper()
	b := append([]byte{2, 0, 0, 0, 0, 0xfe, 2, 0, 0, 0, 0, mac, byte(etype >> 8), byte(etype)}, ip...)
	r.at = r.at.Add(time.Millisecond)
	if err := r.w.WritePacket(gopacket.CaptureInfo{Timestamp: r.at, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		r.t.Fatal(err)
	}
}

// segment serialises a TCP segment (header and payload) between src and dst.
func (r *rawCapture) segment(src, dst string, sport, dport uint16, flags uint8, payload []byte) []byte {
	r.t.Helper()
	var nl gopacket.NetworkLayer = ip4(src, dst, layers.IPProtocolTCP)
	if a := net.ParseIP(src); a.To4() == nil {
		nl = &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolTCP, SrcIP: a, DstIP: net.ParseIP(dst)}
	}
	tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Window: 1024, Seq: 7,
		FIN: flags&capture.FlagFIN != 0, SYN: flags&capture.FlagSYN != 0, RST: flags&capture.FlagRST != 0, PSH: flags&capture.FlagPSH != 0, ACK: flags&capture.FlagACK != 0}
	if err := tc.SetNetworkLayerForChecksum(nl); err != nil {
		r.t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, tc, gopacket.Payload(payload)); err != nil {
		r.t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// piece is one fragment of a datagram: data[off:end], MF unless last.
type piece struct {
	off, end int
	last     bool
	data     []byte // nil: the datagram's own bytes
}

// fragments4 sends datagram (a transport header and payload) from src to
// dst as the IPv4 fragments given, in that order.
func (r *rawCapture) fragments4(mac byte, src, dst string, proto layers.IPProtocol, datagram []byte, id uint16, pieces []piece) {
	for _, pc := range pieces {
		data := pc.data
		if data == nil {
			data = datagram[pc.off:pc.end]
		}
		h := make([]byte, 20, 20+len(data))
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(data)))
		binary.BigEndian.PutUint16(h[4:], id)
		fo := uint16(pc.off / 8)
		if !pc.last {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], fo)
		h[8], h[9] = 64, byte(proto)
		copy(h[12:], net.ParseIP(src).To4())
		copy(h[16:], net.ParseIP(dst).To4())
		binary.BigEndian.PutUint16(h[10:], ipChecksum(h))
		r.frame(mac, layers.EthernetTypeIPv4, append(h, data...))
	}
}

// fragments6 does the same over IPv6, with a fragment header.
func (r *rawCapture) fragments6(mac byte, src, dst string, proto layers.IPProtocol, datagram []byte, id uint32, pieces []piece) {
	for _, pc := range pieces {
		data := pc.data
		if data == nil {
			data = datagram[pc.off:pc.end]
		}
		h := make([]byte, 48, 48+len(data))
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(8+len(data)))
		h[6], h[7] = 44, 64
		copy(h[8:], net.ParseIP(src).To16())
		copy(h[24:], net.ParseIP(dst).To16())
		h[40] = byte(proto)
		fo := uint16(pc.off/8) << 3
		if !pc.last {
			fo |= 1
		}
		binary.BigEndian.PutUint16(h[42:], fo)
		binary.BigEndian.PutUint32(h[44:], id)
		r.frame(mac, layers.EthernetTypeIPv6, append(h, data...))
	}
}

// whole4 sends an unfragmented IPv4 packet.
func (r *rawCapture) whole4(mac byte, src, dst string, proto layers.IPProtocol, datagram []byte) {
	r.id++
	r.fragments4(mac, src, dst, proto, datagram, r.id, []piece{{0, len(datagram), true, nil}})
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// eightByte cuts n bytes into 8-byte fragments, as nmap -f does.
func eightByte(n int) []piece {
	var out []piece
	for off := 0; off < n; off += 8 {
		out = append(out, piece{off: off, end: min(off+8, n), last: off+8 >= n})
	}
	return out
}

func (r *rawCapture) analyze() *Analysis {
	r.t.Helper()
	if err := r.f.Close(); err != nil {
		r.t.Fatal(err)
	}
	return analyzeFile(r.t, r.f.Name(), Config{})
}

// tsharkCount runs tshark with a display filter on path and returns how
// many frames match, skipping the test when tshark is absent.
func tsharkCount(t *testing.T, path, filter string) int64 {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	out, err := exec.Command(ts, "-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -Y %q: %v", filter, err)
	}
	return int64(strings.Count(string(out), "\n"))
}

// TestFragmentedSYNScan sends a SYN scan as nmap -f does (every probe in
// 8-byte IPv4 fragments, some out of order) and an IPv6 one: each must be
// found exactly like a plain SYN scan, and the packet counts must be
// tshark's, which reassembles by default.
func TestFragmentedSYNScan(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run("ipv6="+strconv.FormatBool(v6), func(t *testing.T) {
			scanner, target := "10.66.0.10", "10.66.0.20"
			if v6 {
				scanner, target = "fd00::10", "fd00::20"
			}
			r := newRawCapture(t)
			const ports = 60
			for i := range ports {
				port := uint16(1000 + i)
				syn := r.segment(scanner, target, 40000, port, capture.FlagSYN, nil)
				pieces := eightByte(len(syn))
				if i%3 == 0 { // out of order: the last fragment first
					pieces = append([]piece{pieces[len(pieces)-1]}, pieces[:len(pieces)-1]...)
				}
				if v6 {
					r.fragments6(1, scanner, target, layers.IPProtocolTCP, syn, uint32(i+1), pieces)
				} else {
					r.fragments4(1, scanner, target, layers.IPProtocolTCP, syn, uint16(i+1), pieces)
				}
				flags := capture.FlagRST | capture.FlagACK
				if port == 1022 {
					flags = capture.FlagSYN | capture.FlagACK
				}
				ans := r.segment(target, scanner, port, 40000, flags, nil)
				if v6 {
					r.frame(2, layers.EthernetTypeIPv6, append(ip6Header(target, scanner, len(ans)), ans...))
				} else {
					r.whole4(2, target, scanner, layers.IPProtocolTCP, ans)
				}
			}
			a := r.analyze()
			scans := findingsOf(a.Findings, report.AttackPortScan)
			if len(scans) != 1 {
				t.Fatalf("findings %+v, want one port scan", a.Findings)
			}
			checkFinding(t, scans[0], scanWant{technique: "syn_fragmented", source: scanner, target: target,
				severity: report.SeverityHigh, confidence: report.ConfidenceHigh,
				counts: map[string]int64{"distinct_ports": ports, "open_ports": 1, "refused": ports - 1, "fragmented_probes": ports}})
			fr := a.Capture().Fragments
			if fr.Packets != ports*3 || fr.Reassembled != ports || fr.Incomplete != 0 || fr.Overlapping != 0 {
				t.Errorf("fragment stats %+v, want %d fragments, %d reassembled", fr, ports*3, ports)
			}
			// tshark: every frame counts once; the frame completing each
			// datagram carries TCP, the others only IP.
			if a.Summary.TotalPackets != ports*4 || a.Summary.UniqueIPs != 2 {
				t.Errorf("summary %d packets, %d IPs, want %d, 2", a.Summary.TotalPackets, a.Summary.UniqueIPs, ports*4)
			}
			if want := tsharkCount(t, r.f.Name(), "tcp"); a.Summary.Protocols["tcp"] != want {
				t.Errorf("tcp packets %d, tshark %d", a.Summary.Protocols["tcp"], want)
			}
			if want := tsharkCount(t, r.f.Name(), "tcp.flags == 0x002"); int64(a.Capture().Flows()[0].SYNs)*ports < want {
				t.Errorf("SYNs per flow %d, tshark counts %d SYNs", a.Capture().Flows()[0].SYNs, want)
			}
		})
	}
}

func ip6Header(src, dst string, n int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(n))
	h[6], h[7] = byte(layers.IPProtocolTCP), 64
	copy(h[8:], net.ParseIP(src).To16())
	copy(h[24:], net.ParseIP(dst).To16())
	return h
}

// TestDefragEdgeCases covers what an attacker may send: overlapping
// fragments with differing bytes, fragments that never complete, a
// datagram past 65,535 bytes, exact duplicates, and a fragmented UDP DNS
// query, which must then decode.
func TestDefragEdgeCases(t *testing.T) {
	const a, b = "10.9.0.1", "10.9.0.2"
	syn := func(r *rawCapture, port uint16) []byte { return r.segment(a, b, 40000, port, capture.FlagSYN, nil) }
	tests := []struct {
		name  string
		build func(r *rawCapture)
		want  capture.FragmentStats
		// technique of the one finding expected, "" for none
		technique string
		severity  report.Severity
		warning   string
	}{
		{"overlap with differing bytes", func(r *rawCapture) {
			for i := range 3 {
				d := syn(r, uint16(80+i))
				other := append([]byte(nil), d[8:16]...)
				other[0] ^= 0xff
				r.fragments4(1, a, b, layers.IPProtocolTCP, d, uint16(10+i), []piece{{0, 16, false, nil}, {8, 16, false, other}, {16, 20, true, nil}})
			}
		}, capture.FragmentStats{Packets: 9, Overlapping: 3, Conflicting: 3}, "fragment_overlap", report.SeverityMedium, "overlapping IP fragments"},
		{"overlap with the same bytes", func(r *rawCapture) {
			d := syn(r, 80)
			r.fragments4(1, a, b, layers.IPProtocolTCP, d, 10, []piece{{0, 16, false, nil}, {8, 20, true, nil}})
		}, capture.FragmentStats{Packets: 2, Overlapping: 1}, "fragment_overlap", report.SeverityLow, "overlapping IP fragments"},
		{"exact duplicate is a retransmission", func(r *rawCapture) {
			d := syn(r, 80)
			r.fragments4(1, a, b, layers.IPProtocolTCP, d, 10, []piece{{0, 8, false, nil}, {0, 8, false, nil}, {8, 20, true, nil}})
		}, capture.FragmentStats{Packets: 3, Reassembled: 1}, "", "", ""},
		{"never completed", func(r *rawCapture) {
			for i := range 5 {
				d := syn(r, uint16(80+i))
				r.fragments4(1, a, b, layers.IPProtocolTCP, d, uint16(10+i), []piece{{0, 8, false, nil}, {16, 20, true, nil}})
			}
		}, capture.FragmentStats{Packets: 10, Incomplete: 5}, "", "", "never completed"},
		{"completed after the timeout is too late", func(r *rawCapture) {
			d := syn(r, 80)
			r.fragments4(1, a, b, layers.IPProtocolTCP, d, 10, []piece{{0, 8, false, nil}})
			r.at = r.at.Add(2 * capture.FragTimeout)
			r.fragments4(1, a, b, layers.IPProtocolTCP, d, 10, []piece{{8, 20, true, nil}})
		}, capture.FragmentStats{Packets: 2, Incomplete: 2}, "", "", "never completed"},
		{"ping of death", func(r *rawCapture) {
			r.fragments4(1, a, b, layers.IPProtocolICMPv4, nil, 10, []piece{{0, 8, false, make([]byte, 8)}, {65528, 65528 + 100, true, make([]byte, 100)}})
		}, capture.FragmentStats{Packets: 2, Oversized: 1}, "fragment_overlap", report.SeverityMedium, "ping of death"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRawCapture(t)
			tc.build(r)
			an := r.analyze()
			if got := an.Capture().Fragments; got != tc.want {
				t.Errorf("fragment stats %+v, want %+v", got, tc.want)
			}
			var got []string
			for _, f := range an.Findings {
				got = append(got, f.Technique+" "+string(f.Severity))
			}
			want := []string(nil)
			if tc.technique != "" {
				want = []string{tc.technique + " " + string(tc.severity)}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("findings %v, want %v", got, want)
			}
			if w := strings.Join(an.Warnings, "\n"); tc.warning != "" && !strings.Contains(w, tc.warning) || tc.warning == "" && strings.Contains(w, "fragment") {
				t.Errorf("warnings %q, want one saying %q", w, tc.warning)
			}
		})
	}
}

// TestDefragFragmentedDNS reassembles a UDP DNS query sent in two IPv4
// fragments: the datagram decodes as DNS, counted once as tshark does.
func TestDefragFragmentedDNS(t *testing.T) {
	r := newRawCapture(t)
	dns := &layers.DNS{ID: 7, RD: true, Questions: []layers.DNSQuestion{{Name: []byte(strings.Repeat("a", 60) + ".example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	ip := ip4("10.9.0.1", "10.9.0.53", layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 5555, DstPort: 53}
	if err := u.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, u, dns); err != nil {
		t.Fatal(err)
	}
	d := buf.Bytes()
	r.fragments4(1, "10.9.0.1", "10.9.0.53", layers.IPProtocolUDP, d, 99, []piece{{24, len(d), true, nil}, {0, 24, false, nil}})
	an := r.analyze()
	if an.Summary.Protocols["dns"] != 1 || an.Summary.Protocols["udp"] != 1 || an.Summary.DNSNamesDistinct != 1 {
		t.Errorf("protocols %v, %d names; want one DNS query over UDP", an.Summary.Protocols, an.Summary.DNSNamesDistinct)
	}
	if want := tsharkCount(t, r.f.Name(), "dns"); an.Summary.Protocols["dns"] != want {
		t.Errorf("dns packets %d, tshark %d", an.Summary.Protocols["dns"], want)
	}
}

// TestDefragBounded floods the reassembly with datagrams that never
// complete: memory stays within the bounds and every one is counted.
func TestDefragBounded(t *testing.T) {
	r := newRawCapture(t)
	const n = capture.FragMaxDatagrams + 500
	first := make([]byte, 1480)
	for i := range n {
		r.fragments4(1, "10.9.0.1", "10.9.0."+strconv.Itoa(2+i%200), layers.IPProtocolUDP, nil, uint16(i), []piece{{0, len(first), false, first}})
	}
	c, err := capture.Scan(t.Context(), func() string { r.f.Close(); return r.f.Name() }())
	if err != nil {
		t.Fatal(err)
	}
	if c.Fragments.Incomplete != n || c.Fragments.Packets != n {
		t.Errorf("fragment stats %+v, want %d incomplete", c.Fragments, n)
	}
}
