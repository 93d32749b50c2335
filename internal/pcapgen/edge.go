package pcapgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// EdgeCase is one small capture for an exact edge case of capture reading.
type EdgeCase struct {
	// Name is the file name under testdata/.
	Name string
	// What says what the file holds and what a reader must make of it.
	What string
	// Build returns the file's bytes and its ground truth (nil for files
	// that are not captures at all).
	Build func() ([]byte, *Stats, error)
}

// edgeStart is the first timestamp of the edge cases: it has nanoseconds
// that a microsecond reader would lose.
var edgeStart = time.Date(2024, 3, 1, 9, 0, 0, 123456789, time.UTC)

// EdgeCases returns every edge case, in a fixed order.
func EdgeCases() []EdgeCase {
	return []EdgeCase{
		{"gen_edge_pcapng_multi.pcapng", "pcapng with two sections; section 1 has an Ethernet and a raw IP interface, section 2 a Linux SLL2 and a BSD loopback interface; 30 packets on each", buildMultiSection},
		{"gen_nanosecond.pcap", "big-endian pcap with nanosecond timestamps (magic a1b23c4d), Ethernet, 60 packets", buildNanosecond},
		{"gen_vlan_qinq.pcap", "Ethernet frames with stacked VLAN tags (802.1ad+802.1Q and 802.1Q+802.1Q), IPv6 with hop-by-hop, destination and routing headers, IPv6 and IPv4 fragments", buildVLANQinQ},
		{"gen_traffic.pcap.gz", "a gzip-compressed pcap of 200 packets of the normal traffic mix", buildGzip},
		{"gen_truncated.pcap", "100 packets, the file cut in the middle of the 100th record: 99 packets and truncated", buildTruncated},
		{"gen_corrupt_len.pcap", "20 good packets, then a record header whose captured length (0x7ffffff0) exceeds the snap length", buildCorruptLen},
		{"gen_not_a_capture.txt", "a text file: not a capture", buildText},
		{"gen_empty.pcap", "a pcap file header (Ethernet) and no packets", buildEmpty},
		{"gen_zero.pcap", "a file of 0 bytes", func() ([]byte, *Stats, error) { return []byte{}, nil, nil }},
	}
}

// WriteEdgeCase writes the edge case called name to w.
func WriteEdgeCase(name string, w io.Writer) (*Stats, error) {
	for _, e := range EdgeCases() {
		if e.Name == name {
			b, st, err := e.Build()
			if err != nil {
				return nil, fmt.Errorf("pcapgen: %s: %w", name, err)
			}
			if _, err := w.Write(b); err != nil {
				return nil, fmt.Errorf("pcapgen: %s: %w", name, err)
			}
			return st, nil
		}
	}
	var known []string
	for _, e := range EdgeCases() {
		known = append(known, e.Name)
	}
	return nil, fmt.Errorf("%w: unknown edge case %q, want one of %s", ErrInvalidConfig, name, strings.Join(known, ", "))
}

// small is a Config for a few packets of the normal mix.
func small(packets int) Config {
	return Config{Seed: 7, Basic: true, Packets: packets, Hosts: 24, Servers: 4, Flows: 40, Concurrent: 6, Start: edgeStart, Attacks: Attacks{At: 1}}
}

func generateBytes(cfg Config) ([]byte, *Stats, error) {
	var buf bytes.Buffer
	st, err := Generate(context.Background(), &buf, cfg)
	return buf.Bytes(), st, err
}

func buildNanosecond() ([]byte, *Stats, error) {
	cfg := small(60)
	cfg.Format, cfg.BigEndian = FormatPcapNano, true
	return generateBytes(cfg)
}

func buildGzip() ([]byte, *Stats, error) {
	cfg := small(200)
	cfg.Gzip = true
	return generateBytes(cfg)
}

func buildEmpty() ([]byte, *Stats, error) {
	var buf bytes.Buffer
	if err := pcapgo.NewWriter(&buf).WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), &Stats{LinkType: layers.LinkTypeEthernet.String()}, nil
}

func buildText() ([]byte, *Stats, error) {
	return []byte("This is a text file, not a packet capture.\nA reader must say so and name the magic it found.\n"), nil, nil
}

// pcapRecords returns the offset of every record of a little-endian pcap file.
func pcapRecords(b []byte) []int {
	var offs []int
	for off := 24; off+16 <= len(b); {
		offs = append(offs, off)
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	return offs
}

func buildTruncated() ([]byte, *Stats, error) {
	b, _, err := generateBytes(small(100))
	if err != nil {
		return nil, nil, err
	}
	// The ground truth is what a reader gets: the 99 packets before the
	// cut. The generator stops before drawing the next packet, so 99
	// packets are a prefix of 100.
	_, st, err := generateBytes(small(99))
	if err != nil {
		return nil, nil, err
	}
	offs := pcapRecords(b)
	last := offs[len(offs)-1]
	if last != int(st.FileBytes) {
		return nil, nil, fmt.Errorf("99 packets end at %d, the 100th record starts at %d", st.FileBytes, last)
	}
	n := int(binary.LittleEndian.Uint32(b[last+8:]))
	cut := last + 16 + n/2
	st.FileBytes = int64(cut)
	return b[:cut], st, nil
}

func buildCorruptLen() ([]byte, *Stats, error) {
	b, st, err := generateBytes(small(20))
	if err != nil {
		return nil, nil, err
	}
	var rec [16 + 24]byte
	binary.LittleEndian.PutUint32(rec[0:], uint32(st.End.Unix()+1))
	binary.LittleEndian.PutUint32(rec[8:], 0x7ffffff0)
	binary.LittleEndian.PutUint32(rec[12:], 0x7ffffff0)
	copy(rec[16:], "no packet data follows..")
	b = append(b, rec[:]...)
	st.FileBytes = int64(len(b))
	return b, st, nil
}

// buildMultiSection writes two pcapng sections, each with two interfaces
// of different link types, each interface carrying its own traffic mix.
func buildMultiSection() ([]byte, *Stats, error) {
	var out bytes.Buffer
	total := &Stats{Start: edgeStart}
	ips := map[string]bool{}
	var linkNames []string
	sections := [][2]pcapgo.NgInterface{
		{{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: snapLen}, {Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: snapLen}},
		{{Name: "any", LinkType: layers.LinkTypeLinuxSLL2, SnapLength: snapLen}, {Name: "lo0", LinkType: layers.LinkTypeNull, SnapLength: snapLen}},
	}
	links := [][2]Link{{LinkEthernet, LinkRaw}, {LinkSLL2, LinkLoopback}}
	start := edgeStart
	for si, ifs := range sections {
		count := &countingWriter{w: &out}
		ng, err := pcapgo.NewNgWriterInterface(count, ifs[0], pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "reconpcap pcapgen", Comment: fmt.Sprintf("section %d", si+1)}})
		if err != nil {
			return nil, nil, err
		}
		if _, err := ng.AddInterface(ifs[1]); err != nil {
			return nil, nil, err
		}
		for ii, iface := range ifs {
			cfg := small(30)
			cfg.Seed = int64(10*si + ii + 1)
			cfg.Link = links[si][ii]
			cfg.Start = start
			cfg.IPv6Share = 0.3
			cfg = cfg.Defaults()
			g := newGen(cfg, &sink{count: count, pw: ng, iface: ii})
			if err := g.run(context.Background()); err != nil {
				return nil, nil, err
			}
			if total.Packets == 0 {
				total.Start = g.stats.Start
			}
			total.Packets += g.stats.Packets
			total.WireBytes += g.stats.WireBytes
			total.End = g.stats.End
			addCounts(total, &g.stats)
			for a := range g.ips {
				ips[a.String()] = true
			}
			total.Flows += len(g.flows)
			linkNames = append(linkNames, iface.LinkType.String())
			start = g.stats.End.Add(time.Second)
		}
		if err := ng.Flush(); err != nil {
			return nil, nil, err
		}
	}
	total.UniqueIPs = len(ips)
	total.FileBytes = int64(out.Len())
	total.LinkType = strings.Join(linkNames, ",")
	return out.Bytes(), total, nil
}

func addCounts(t, s *Stats) {
	t.IPv4 += s.IPv4
	t.IPv6 += s.IPv6
	t.TCP += s.TCP
	t.UDP += s.UDP
	t.ICMP += s.ICMP
	t.ARP += s.ARP
	t.DNS += s.DNS
	t.VLAN += s.VLAN
}

// buildVLANQinQ writes frames a reader must look through several headers
// to decode: stacked VLAN tags, IPv6 extension headers, fragments.
func buildVLANQinQ() ([]byte, *Stats, error) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return nil, nil, err
	}
	// A microsecond file: the times are what it can hold.
	ts := edgeStart.Truncate(time.Microsecond)
	st := &Stats{Start: ts, LinkType: layers.LinkTypeEthernet.String()}
	ips := map[string]bool{}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	write := func(ls ...gopacket.SerializableLayer) error {
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, opts, ls...); err != nil {
			return err
		}
		b := sb.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			return err
		}
		st.Packets++
		st.WireBytes += int64(len(b))
		st.End = ts
		ts = ts.Add(1500 * time.Microsecond)
		return nil
	}
	cmac, smac := mac(1), mac(0xfe0110)
	// eth returns the link layers of a frame with two VLAN tags: an
	// 802.1ad service tag over an 802.1Q tag, or two 802.1Q tags.
	eth := func(qinq bool, t layers.EthernetType, fromClient bool) []gopacket.SerializableLayer {
		outer := layers.EthernetTypeQinQ
		if !qinq {
			outer = layers.EthernetTypeDot1Q
		}
		src, dst := cmac, smac
		if !fromClient {
			src, dst = smac, cmac
		}
		return []gopacket.SerializableLayer{
			&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: outer},
			&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 10, Type: t},
		}
	}
	c4, s4 := net.IP{10, 20, 0, 5}, net.IP{10, 20, 0, 80}
	c6, s6 := net.ParseIP("fd00:20::5"), net.ParseIP("fd00:20::80")
	for _, ip := range []net.IP{c4, s4, c6, s6} {
		ips[ip.String()] = true
	}

	// 1. A TCP handshake and an HTTP request over IPv4 in QinQ.
	tcp4 := func(fromClient bool, flags uint8, seq, ack uint32, payload []byte) error {
		src, dst, sp, dp := c4, s4, 41000, 80
		if !fromClient {
			src, dst, sp, dp = s4, c4, 80, 41000
		}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment, SrcIP: src, DstIP: dst}
		t := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, Window: 64240,
			SYN: flags&flagSYN != 0, ACK: flags&flagACK != 0, PSH: flags&flagPSH != 0, FIN: flags&flagFIN != 0}
		t.SetNetworkLayerForChecksum(ip)
		st.IPv4++
		st.TCP++
		st.VLAN++
		return write(append(eth(true, layers.EthernetTypeIPv4, fromClient), ip, t, gopacket.Payload(payload))...)
	}
	req := []byte("GET /qinq HTTP/1.1\r\nHost: 10.20.0.80\r\n\r\n")
	steps := []error{
		tcp4(true, flagSYN, 1000, 0, nil),
		tcp4(false, flagSYN|flagACK, 5000, 1001, nil),
		tcp4(true, flagACK, 1001, 5001, nil),
		tcp4(true, flagPSH|flagACK, 1001, 5001, req),
		tcp4(false, flagACK, 5001, 1001+uint32(len(req)), nil),
	}
	if err := firstErr(steps); err != nil {
		return nil, nil, err
	}

	// 2. IPv6 TCP SYN and SYN-ACK behind hop-by-hop and destination
	// options headers, in two 802.1Q tags.
	ext := func(next layers.IPProtocol) []byte {
		// An 8-byte extension header: next header, length 0, then a PadN option.
		return []byte{byte(next), 0, 1, 4, 0, 0, 0, 0}
	}
	tcp6 := func(fromClient bool, flags uint8, seq, ack uint32, hdrs []byte, first layers.IPProtocol) error {
		src, dst, sp, dp := c6, s6, 42000, 443
		if !fromClient {
			src, dst, sp, dp = s6, c6, 443, 42000
		}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		t := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, Window: 64800,
			SYN: flags&flagSYN != 0, ACK: flags&flagACK != 0}
		t.SetNetworkLayerForChecksum(ip)
		seg := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(seg, opts, t); err != nil {
			return err
		}
		ip.NextHeader = first
		st.IPv6++
		st.TCP++
		st.VLAN++
		return write(append(eth(false, layers.EthernetTypeIPv6, fromClient), ip, gopacket.Payload(append(slices.Clone(hdrs), seg.Bytes()...)))...)
	}
	hbhDst := append(ext(layers.IPProtocolIPv6Destination), ext(layers.IPProtocolTCP)...)
	// A type 0 routing header with no addresses left: next header, length 0, type 0, segments left 0.
	routing := []byte{byte(layers.IPProtocolTCP), 0, 0, 0, 0, 0, 0, 0}
	steps = []error{
		tcp6(true, flagSYN, 7000, 0, hbhDst, layers.IPProtocolIPv6HopByHop),
		tcp6(false, flagSYN|flagACK, 9000, 7001, routing, layers.IPProtocolIPv6Routing),
	}
	if err := firstErr(steps); err != nil {
		return nil, nil, err
	}

	// 3. A 3000-byte UDP datagram over IPv6 in three fragments, the first
	// holding the UDP header, in QinQ.
	dgram := func(ip gopacket.NetworkLayer, sp, dp int, n int) ([]byte, error) {
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(ip)
		b := gopacket.NewSerializeBuffer()
		payload := bytes.Repeat([]byte("fragmented payload "), n/19+1)[:n]
		if err := gopacket.SerializeLayers(b, opts, u, gopacket.Payload(payload)); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: c6, DstIP: s6}
	d6, err := dgram(ip6, 43000, 9999, 3000)
	if err != nil {
		return nil, nil, err
	}
	for off := 0; off < len(d6); off += 1232 {
		end := min(off+1232, len(d6))
		more := uint16(0)
		if end < len(d6) {
			more = 1
		}
		fh := make([]byte, 8)
		fh[0] = byte(layers.IPProtocolUDP)
		binary.BigEndian.PutUint16(fh[2:], uint16(off/8)<<3|more)
		binary.BigEndian.PutUint32(fh[4:], 0xfeed0001)
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: c6, DstIP: s6}
		st.IPv6++
		st.VLAN++
		if off == 0 {
			st.UDP++
		}
		if err := write(append(eth(true, layers.EthernetTypeIPv6, true), ip, gopacket.Payload(append(fh, d6[off:end]...)))...); err != nil {
			return nil, nil, err
		}
	}

	// 4. A 2000-byte UDP datagram over IPv4 in two fragments, in two 802.1Q tags.
	ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: c4, DstIP: s4}
	d4, err := dgram(ip4, 44000, 9999, 2000)
	if err != nil {
		return nil, nil, err
	}
	for off := 0; off < len(d4); off += 1480 {
		end := min(off+1480, len(d4))
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, Id: 0x4242, FragOffset: uint16(off / 8), SrcIP: c4, DstIP: s4}
		if end < len(d4) {
			ip.Flags = layers.IPv4MoreFragments
		}
		st.IPv4++
		st.VLAN++
		if off == 0 {
			st.UDP++
		}
		if err := write(append(eth(false, layers.EthernetTypeIPv4, true), ip, gopacket.Payload(d4[off:end]))...); err != nil {
			return nil, nil, err
		}
	}

	// 5. An ICMPv6 echo request and reply in QinQ.
	for i, fromClient := range []bool{true, false} {
		src, dst := c6, s6
		t := uint8(layers.ICMPv6TypeEchoRequest)
		if !fromClient {
			src, dst, t = s6, c6, layers.ICMPv6TypeEchoReply
		}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: src, DstIP: dst}
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(t, 0)}
		ic.SetNetworkLayerForChecksum(ip)
		st.IPv6++
		st.ICMP++
		st.VLAN++
		if err := write(append(eth(true, layers.EthernetTypeIPv6, fromClient), ip, ic, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: uint16(i/2 + 1)}, gopacket.Payload("ping"))...); err != nil {
			return nil, nil, err
		}
	}
	st.UniqueIPs = len(ips)
	// Two TCP connections and two fragmented UDP datagrams; a reader that
	// does not reassemble sees only the TCP ones as flows.
	st.Flows = 4
	st.FileBytes = int64(buf.Len())
	return buf.Bytes(), st, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
