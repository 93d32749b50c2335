package detectors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// echo writes one ICMP echo request (reply false) or reply with payload,
// over IPv4 or, when the addresses are IPv6, ICMPv6.
func (s *synthCapture) echo(src, dst string, reply bool, id, seq uint16, payload []byte) {
	s.t.Helper()
	if !strings.Contains(src, ":") {
		typ := uint8(8)
		if reply {
			typ = 0
		}
		s.write(ip4(src, dst, layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}, payload)
		return
	}
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	if err := ic.SetNetworkLayerForChecksum(ip); err != nil {
		s.t.Fatal(err)
	}
	body := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, id), seq)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, ic, gopacket.Payload(append(body, payload...))); err != nil {
		s.t.Fatal(err)
	}
	s.at = s.at.Add(time.Millisecond)
	if err := s.w.WritePacket(gopacket.CaptureInfo{Timestamp: s.at, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
		s.t.Fatal(err)
	}
}

// linuxPing is iputils ping's payload: 16 bytes of time, then bytes
// 0x10, 0x11, ... up to size.
func linuxPing(at time.Time, size int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(at.Unix()))
	b = binary.LittleEndian.AppendUint64(b, uint64(at.Nanosecond()/1000))
	for i := 16; i < size; i++ {
		b = append(b, byte(i))
	}
	return b[:size]
}

// TestExfilICMP: data in echo payloads is found, ordinary ping is not.
func TestExfilICMP(t *testing.T) {
	const (
		client = "10.0.9.3"
		remote = "203.0.113.9"
	)
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	tests := []struct {
		name  string
		build func(s *synthCapture)
		want  []string // technique source target severity confidence upload_bytes
	}{
		{"Linux ping, 600 requests of 56 bytes", func(s *synthCapture) {
			for i := range 600 {
				p := linuxPing(s.at, 56)
				s.echo(client, remote, false, 7, uint16(i), p)
				s.echo(remote, client, true, 7, uint16(i), p)
			}
		}, nil},
		{"ping -s 1400: 1.4 MB of one pattern", func(s *synthCapture) {
			for i := range 1000 {
				p := linuxPing(s.at, 1400)
				s.echo(client, remote, false, 7, uint16(i), p)
				s.echo(remote, client, true, 7, uint16(i), p)
			}
		}, nil},
		{"Windows ping, 32 bytes of the alphabet", func(s *synthCapture) {
			for i := range 600 {
				p := []byte("abcdefghijklmnopqrstuvwabcdefghi")
				s.echo(client, remote, false, 1, uint16(i), p)
				s.echo(remote, client, true, 1, uint16(i), p)
			}
		}, nil},
		{"1.5 MB of file data echoed back by the remote kernel", func(s *synthCapture) {
			for i := range 1500 {
				p := random(1000)
				s.echo(client, remote, false, 9, uint16(i), p)
				s.echo(remote, client, true, 9, uint16(i), p)
			}
		}, []string{"icmp_payload 10.0.9.3 203.0.113.9 high high 1500000"}},
		{"a tunnel: requests and replies carry their own data", func(s *synthCapture) {
			for i := range 200 {
				s.echo(client, remote, false, 9, uint16(i), random(300+i))
				s.echo(remote, client, true, 9, uint16(i), random(500))
			}
		}, []string{fmt.Sprintf("icmp_tunnel 10.0.9.3 203.0.113.9 medium high %d", 200*300+199*200/2)}},
		{"a tunnel server sending data down in replies the client never asked for", func(s *synthCapture) {
			for i := range 5 {
				s.echo(client, remote, false, 9, uint16(i), random(28))
			}
			for i := range 200 {
				s.echo(remote, client, true, 9, uint16(i), random(1000))
			}
		}, []string{"icmp_tunnel 10.0.9.3 203.0.113.9 medium high 140"}},
		{"data over ICMPv6 with no replies", func(s *synthCapture) {
			for i := range 100 {
				s.echo("fd00::3", "2001:db8::9", false, 9, uint16(i), random(400))
			}
		}, []string{"icmp_payload fd00::3 2001:db8::9 medium high 40000"}},
		{"an MTU probe: one pattern in 1400 sizes is one content", func(s *synthCapture) {
			for i := range 1400 {
				p := linuxPing(s.at, 100+i)
				s.echo(client, remote, false, 7, uint16(i), p)
				s.echo(remote, client, true, 7, uint16(i), p)
			}
		}, nil},
		{"600 kB of data echoed: high, a tenth of the TCP threshold", func(s *synthCapture) {
			for i := range 600 {
				p := random(1000)
				s.echo(client, remote, false, 9, uint16(i), p)
				s.echo(remote, client, true, 9, uint16(i), p)
			}
		}, []string{"icmp_payload 10.0.9.3 203.0.113.9 high high 600000"}},
		{"a few varied pings below the volume: nothing", func(s *synthCapture) {
			for i := range 100 {
				s.echo(client, remote, false, 9, uint16(i), random(100))
			}
		}, nil},
		{"an empty-payload sweep: nothing", func(s *synthCapture) {
			for i := range 300 {
				s.echo(client, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), false, 9, uint16(i), nil)
			}
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSynth(t)
			tc.build(s)
			a := s.analyze(Config{})
			var got []string
			for _, f := range findingsOf(a.Findings, report.AttackDataExfiltration) {
				got = append(got, fmt.Sprintf("%s %s %s %s %s %d", f.Technique, f.Source, f.Target, f.Severity, f.Confidence, f.Counts["upload_bytes"]))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExfilICMPSnaplen: with payloads cut by a 96-byte snap length the
// data counted is still what the IP headers declare, as tshark reads the
// IP lengths (ip.len - 20 - 8 per request).
func TestExfilICMPSnaplen(t *testing.T) {
	s := newSynth(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 400 {
		p := make([]byte, 900+i%200)
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		s.echo("10.0.9.3", "203.0.113.9", false, 5, uint16(i), p)
		s.echo("203.0.113.9", "10.0.9.3", true, 5, uint16(i), p)
	}
	if err := s.f.Close(); err != nil {
		t.Fatal(err)
	}
	cut := snap(t, s.f.Name(), 96)
	a := analyzeFile(t, cut, Config{})
	fs := findingsOf(a.Findings, report.AttackDataExfiltration)
	if len(fs) != 1 || fs[0].Technique != "icmp_payload" {
		t.Fatalf("findings %+v, want one icmp_payload", fs)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: the byte count is not checked against it")
	}
	out, err := exec.Command("tshark", "-r", cut, "-Y", "icmp.type == 8", "-T", "fields", "-e", "ip.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var want int64
	for _, l := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("tshark ip.len %q: %v", l, err)
		}
		want += int64(n - 20 - 8)
	}
	if got := fs[0].Counts["upload_bytes"]; got != want || want == 0 {
		t.Errorf("upload_bytes %d, tshark's IP lengths say %d", got, want)
	}
}

// snap rewrites the capture at path with every packet cut to n bytes, as
// tcpdump -s n would have written it, and returns the new file's path.
func snap(t *testing.T, path string, n int) string {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err == nil {
		out := path + ".snap.pcap"
		if b, err := exec.Command("editcap", "-s", strconv.Itoa(n), path, out).CombinedOutput(); err != nil {
			t.Fatalf("editcap: %v: %s", err, bytes.TrimSpace(b))
		}
		return out
	}
	t.Skip("editcap not installed")
	return ""
}

// TestExfilICMPBounds: the pairs followed and the contents counted per
// pair stay within their bounds whatever the capture holds, and the
// counters stay exact past them.
func TestExfilICMPBounds(t *testing.T) {
	var e icmpEcho
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	payload := make([]byte, 200)
	req := func(src, dst netip.Addr, seq int) {
		binary.BigEndian.PutUint32(payload[20:], uint32(seq))
		p := capture.Packet{Time: at, Layers: capture.LayerIPv4 | capture.LayerICMPv4, Src: src, Dst: dst, ICMPType: 8,
			ICMPPayload: payload, Length: 242, CaptureLength: 242}
		e.packet(&p)
	}
	base := netip.MustParseAddr("10.1.0.0").As4()
	dst := netip.MustParseAddr("203.0.113.9")
	const sources = icmpMaxPairs + 1000
	for i := range sources {
		a := base
		a[2], a[3] = byte(i>>8), byte(i)
		a[1] += byte(i >> 16)
		req(netip.AddrFrom4(a), dst, 0)
	}
	if len(e.pairs) != icmpMaxPairs || e.dropped != 1000 {
		t.Errorf("%d pairs, %d dropped; want %d and 1000", len(e.pairs), e.dropped, icmpMaxPairs)
	}
	one := netip.MustParseAddr("10.1.0.1")
	for i := range 5000 {
		req(one, dst, i+1)
	}
	ip := e.pairs[addrPair{one, dst}]
	if len(ip.distinct) > icmpMaxDistinct || !ip.saturated || ip.requests != 5001 || ip.reqBytes != 5001*200 {
		t.Errorf("distinct %d (bound %d, saturated %v), requests %d, bytes %d; want 5001 requests of 200 bytes",
			len(ip.distinct), icmpMaxDistinct, ip.saturated, ip.requests, ip.reqBytes)
	}
}
