package pcapgen

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// host is one address of the simulated network.
type host struct {
	ip4, ip6   netip.Addr // ip6 may be invalid: not every host has IPv6
	net4, net6 net.IP     // the same, converted once
	mac        net.HardwareAddr
	vlan       uint16 // 802.1Q tag of the host's segment, 0 for untagged
	internal   bool
}

func newHost(ip4, ip6 netip.Addr, mac net.HardwareAddr, vlan uint16) *host {
	h := &host{ip4: ip4, ip6: ip6, mac: mac, vlan: vlan, internal: ip4.IsPrivate()}
	if ip4.IsValid() {
		h.net4 = net.IP(ip4.AsSlice())
	}
	if ip6.IsValid() {
		h.net6 = net.IP(ip6.AsSlice())
	}
	return h
}

// route is the path between two hosts that a connection uses: the IP
// version and the VLAN tag its frames carry.
type route struct {
	a, b *host // a is the client
	v6   bool
	vlan uint16
	ttl  uint8 // the IP TTL or hop limit both ways; 0 means 64 from inside, 52 from outside
	// amac and bmac are the link addresses frames carry: a public host is
	// reached through the gateway's MAC.
	amac, bmac net.HardwareAddr
}

// addrs returns the two addresses of r, client first.
func (r *route) addrs() (netip.Addr, netip.Addr) {
	if r.v6 {
		return r.a.ip6, r.b.ip6
	}
	return r.a.ip4, r.b.ip4
}

// builder serialises frames for one link type. It reuses its layers and
// buffer: the bytes it returns are valid until the next call.
type builder struct {
	link   layers.LinkType
	buf    gopacket.SerializeBuffer
	dns    gopacket.SerializeBuffer
	opts   gopacket.SerializeOptions
	eth    layers.Ethernet
	dot1q  [2]layers.Dot1Q
	ip4    layers.IPv4
	ip6    layers.IPv6
	tcpL   layers.TCP
	udpL   layers.UDP
	icmp4  layers.ICMPv4
	icmp6  layers.ICMPv6
	echo6  layers.ICMPv6Echo
	arp    layers.ARP
	ipID   uint16
	stack  []gopacket.SerializableLayer
	mssOpt []layers.TCPOption
}

func newBuilder(link layers.LinkType) *builder {
	return &builder{
		link:   link,
		buf:    gopacket.NewSerializeBufferExpectedSize(64, 1600),
		dns:    gopacket.NewSerializeBuffer(),
		opts:   gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		stack:  make([]gopacket.SerializableLayer, 0, 8),
		mssOpt: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}},
	}
}

// dir says which way a packet travels on its route.
type dir bool

const (
	toServer dir = true
	toClient dir = false
)

// ends returns the sending and receiving host and link addresses.
func (r *route) ends(d dir) (src, dst *host, smac, dmac net.HardwareAddr) {
	if d == toServer {
		return r.a, r.b, r.amac, r.bmac
	}
	return r.b, r.a, r.bmac, r.amac
}

// linkAndIP pushes the link layer and the IP header of a packet on r onto
// the stack and returns the IP layer for the transport checksum.
func (b *builder) linkAndIP(r *route, d dir, proto layers.IPProtocol) gopacket.NetworkLayer {
	src, dst, smac, dmac := r.ends(d)
	b.stack = b.stack[:0]
	ethType := layers.EthernetTypeIPv4
	if r.v6 {
		ethType = layers.EthernetTypeIPv6
	}
	if b.link == layers.LinkTypeEthernet {
		b.pushEthernet(smac, dmac, r.vlan, ethType)
	}
	ttl := uint8(64)
	if !src.internal {
		ttl = 52
	}
	if r.ttl != 0 {
		ttl = r.ttl
	}
	if r.v6 {
		b.ip6 = layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto, SrcIP: src.net6, DstIP: dst.net6}
		b.stack = append(b.stack, &b.ip6)
		return &b.ip6
	}
	b.ipID++
	b.ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: proto, Flags: layers.IPv4DontFragment, Id: b.ipID, SrcIP: src.net4, DstIP: dst.net4}
	b.stack = append(b.stack, &b.ip4)
	return &b.ip4
}

func (b *builder) pushEthernet(smac, dmac net.HardwareAddr, vlan uint16, t layers.EthernetType) {
	if vlan == 0 {
		b.eth = layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: t}
		b.stack = append(b.stack, &b.eth)
		return
	}
	b.eth = layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: layers.EthernetTypeDot1Q}
	b.dot1q[0] = layers.Dot1Q{VLANIdentifier: vlan, Type: t}
	b.stack = append(b.stack, &b.eth, &b.dot1q[0])
}

// tcp builds one TCP segment.
func (b *builder) tcp(r *route, d dir, sport, dport uint16, flags uint8, seq, ack uint32, payload []byte) ([]byte, error) {
	nl := b.linkAndIP(r, d, layers.IPProtocolTCP)
	b.tcpL = layers.TCP{
		SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack,
		FIN: flags&flagFIN != 0, SYN: flags&flagSYN != 0, RST: flags&flagRST != 0,
		PSH: flags&flagPSH != 0, ACK: flags&flagACK != 0, Window: 64240,
	}
	if flags&flagSYN != 0 {
		b.tcpL.Options = b.mssOpt
	}
	if err := b.tcpL.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, err
	}
	b.stack = append(b.stack, &b.tcpL, gopacket.Payload(payload))
	return b.finish(r, d)
}

// udp builds one UDP datagram; dns, when not nil, is its payload.
func (b *builder) udp(r *route, d dir, sport, dport uint16, payload []byte, dns *layers.DNS) ([]byte, error) {
	nl := b.linkAndIP(r, d, layers.IPProtocolUDP)
	b.udpL = layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := b.udpL.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, err
	}
	if dns != nil {
		b.stack = append(b.stack, &b.udpL, dns)
	} else {
		b.stack = append(b.stack, &b.udpL, gopacket.Payload(payload))
	}
	return b.finish(r, d)
}

// echo builds an ICMP or ICMPv6 echo request or reply.
func (b *builder) echo(r *route, d dir, id, seq uint16, payload []byte) ([]byte, error) {
	if r.v6 {
		nl := b.linkAndIP(r, d, layers.IPProtocolICMPv6)
		t := uint8(layers.ICMPv6TypeEchoRequest)
		if d == toClient {
			t = layers.ICMPv6TypeEchoReply
		}
		b.icmp6 = layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(t, 0)}
		if err := b.icmp6.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, err
		}
		b.echo6 = layers.ICMPv6Echo{Identifier: id, SeqNumber: seq}
		b.stack = append(b.stack, &b.icmp6, &b.echo6, gopacket.Payload(payload))
		return b.finish(r, d)
	}
	b.linkAndIP(r, d, layers.IPProtocolICMPv4)
	t := uint8(layers.ICMPv4TypeEchoRequest)
	if d == toClient {
		t = layers.ICMPv4TypeEchoReply
	}
	b.icmp4 = layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(t, 0), Id: id, Seq: seq}
	b.stack = append(b.stack, &b.icmp4, gopacket.Payload(payload))
	return b.finish(r, d)
}

// arpFrame builds an ARP request (broadcast, from a) or reply (from b to a).
func (b *builder) arpFrame(r *route, d dir) ([]byte, error) {
	src, dst, smac, dmac := r.ends(d)
	op := uint16(layers.ARPReply)
	target := dmac
	if d == toServer {
		op = layers.ARPRequest
		dmac = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		target = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	}
	b.stack = b.stack[:0]
	if b.link == layers.LinkTypeEthernet {
		b.pushEthernet(smac, dmac, src.vlan, layers.EthernetTypeARP)
	}
	b.arp = layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: smac, SourceProtAddress: src.net4, DstHwAddress: target, DstProtAddress: dst.net4,
	}
	b.stack = append(b.stack, &b.arp)
	return b.finishARP(r, d)
}

// finish serialises the stack and prepends the link header of link types
// gopacket cannot serialise.
func (b *builder) finish(r *route, d dir) ([]byte, error) {
	if err := gopacket.SerializeLayers(b.buf, b.opts, b.stack...); err != nil {
		return nil, err
	}
	proto := uint16(layers.EthernetTypeIPv4)
	if r.v6 {
		proto = uint16(layers.EthernetTypeIPv6)
	}
	return b.linkHeader(r, d, proto)
}

func (b *builder) finishARP(r *route, d dir) ([]byte, error) {
	if err := gopacket.SerializeLayers(b.buf, b.opts, b.stack...); err != nil {
		return nil, err
	}
	return b.linkHeader(r, d, uint16(layers.EthernetTypeARP))
}

// linkHeader writes the Linux cooked or BSD loopback header in front of
// the serialised packet. Ethernet frames were serialised whole; raw IP has
// no link header.
func (b *builder) linkHeader(r *route, d dir, proto uint16) ([]byte, error) {
	src, _, smac, _ := r.ends(d)
	// Linux packet types: 0 addressed to this host, 4 sent by it. The
	// capturing host is taken to be the internal side.
	ptype := uint16(4)
	if !src.internal {
		ptype = 0
	}
	switch b.link {
	case layers.LinkTypeEthernet, layers.LinkTypeRaw:
	case layers.LinkTypeLinuxSLL:
		h, err := b.buf.PrependBytes(16)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint16(h[0:], ptype)
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:12], smac)
		h[12], h[13] = 0, 0
		binary.BigEndian.PutUint16(h[14:], proto)
	case layers.LinkTypeLinuxSLL2:
		h, err := b.buf.PrependBytes(20)
		if err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint16(h[0:], proto)
		binary.BigEndian.PutUint16(h[2:], 0)
		binary.BigEndian.PutUint32(h[4:], 2) // interface index
		binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
		h[10] = uint8(ptype)
		h[11] = 6
		copy(h[12:18], smac)
		h[18], h[19] = 0, 0
	case layers.LinkTypeNull:
		if proto == uint16(layers.EthernetTypeARP) {
			return nil, fmt.Errorf("pcapgen: BSD loopback frames cannot carry ARP")
		}
		h, err := b.buf.PrependBytes(4)
		if err != nil {
			return nil, err
		}
		// AF_INET is 2 everywhere; AF_INET6 is 30 on macOS, whose
		// loopback captures are the common ones. Host byte order, as
		// little-endian machines write it.
		fam := uint32(layers.ProtocolFamilyIPv4)
		if proto == uint16(layers.EthernetTypeIPv6) {
			fam = uint32(layers.ProtocolFamilyIPv6Darwin)
		}
		binary.LittleEndian.PutUint32(h, fam)
	default:
		return nil, fmt.Errorf("pcapgen: link type %v is not supported", b.link)
	}
	return b.buf.Bytes(), nil
}

// TCP flag bits, as in the header's low byte.
const (
	flagFIN uint8 = 0x01
	flagSYN uint8 = 0x02
	flagRST uint8 = 0x04
	flagPSH uint8 = 0x08
	flagACK uint8 = 0x10
)

// tcpFragments builds one TCP segment over IPv4 and cuts the datagram
// into fragments of size bytes of transport data (the last shorter), as
// nmap -f does with 8. It returns copies of the frames.
func (b *builder) tcpFragments(r *route, d dir, sport, dport uint16, flags uint8, seq, ack uint32, size int) ([][]byte, error) {
	if r.v6 {
		return nil, fmt.Errorf("pcapgen: IPv6 fragments are not written")
	}
	if size <= 0 || size%8 != 0 {
		return nil, fmt.Errorf("pcapgen: fragment size %d is not a positive multiple of 8", size)
	}
	nl := b.linkAndIP(r, d, layers.IPProtocolTCP)
	id := b.ip4.Id
	b.tcpL = layers.TCP{
		SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack,
		SYN: flags&flagSYN != 0, RST: flags&flagRST != 0, ACK: flags&flagACK != 0, FIN: flags&flagFIN != 0, Window: 1024,
	}
	if flags&flagSYN != 0 {
		b.tcpL.Options = b.mssOpt
	}
	if err := b.tcpL.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, err
	}
	seg := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(seg, b.opts, &b.tcpL); err != nil {
		return nil, err
	}
	data := seg.Bytes()
	var out [][]byte
	for off := 0; off < len(data); off += size {
		end := min(off+size, len(data))
		b.linkAndIP(r, d, layers.IPProtocolTCP)
		b.ip4.Id, b.ip4.Flags, b.ip4.FragOffset = id, 0, uint16(off/8)
		if end < len(data) {
			b.ip4.Flags = layers.IPv4MoreFragments
		}
		b.stack = append(b.stack, gopacket.Payload(data[off:end]))
		frame, err := b.finish(r, d)
		if err != nil {
			return nil, err
		}
		out = append(out, append([]byte(nil), frame...))
	}
	b.ipID = id // linkAndIP drew an id per fragment; they share one
	return out, nil
}
