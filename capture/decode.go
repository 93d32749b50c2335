package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/agents-of-shield/reconpcap/internal/httpmethod"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ipv4Layer and ipv6Layer stop the decoder at a tunnelled IP header, so the
// outermost addresses are the ones a packet reports (as tshark's ip.src
// does) and an inner header never overwrites them.
type ipv4Layer struct{ layers.IPv4 }

func (l *ipv4Layer) NextLayerType() gopacket.LayerType {
	if isTunnel(l.Protocol) {
		return gopacket.LayerTypeZero
	}
	return l.IPv4.NextLayerType()
}

type ipv6Layer struct{ layers.IPv6 }

func (l *ipv6Layer) NextLayerType() gopacket.LayerType {
	if isTunnel(l.NextHeader) {
		return gopacket.LayerTypeZero
	}
	return l.IPv6.NextLayerType()
}

// loopbackLayer reads the 4-byte BSD loopback header in either byte order,
// and also the variant whose low 16 bits (big-endian) hold an Ethernet type,
// as Wireshark's null dissector does.
type loopbackLayer struct {
	layers.Loopback
	next gopacket.LayerType
}

func (l *loopbackLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	err := l.Loopback.DecodeFromBytes(data, df)
	if err == nil {
		l.next = l.Loopback.Family.LayerType()
		return nil
	}
	if len(data) >= 4 {
		switch binary.BigEndian.Uint16(data[2:4]) {
		case 0x0800:
			l.next = layers.LayerTypeIPv4
		case 0x86dd:
			l.next = layers.LayerTypeIPv6
		default:
			return err
		}
		l.BaseLayer = layers.BaseLayer{Contents: data[:4], Payload: data[4:]}
		return nil
	}
	return err
}

func (l *loopbackLayer) NextLayerType() gopacket.LayerType { return l.next }

type extLayer struct{ layers.IPv6ExtensionSkipper }

func (l *extLayer) NextLayerType() gopacket.LayerType {
	if isTunnel(l.NextHeader) {
		return gopacket.LayerTypeZero
	}
	return l.IPv6ExtensionSkipper.NextLayerType()
}

func isTunnel(p layers.IPProtocol) bool {
	return p == layers.IPProtocolIPv4 || p == layers.IPProtocolIPv6 || p == layers.IPProtocolGRE
}

// decoder turns raw frames into Packet views. It owns one instance of
// every layer and reuses them for every packet, so decoding allocates
// nothing.
type decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	lo    loopbackLayer
	ip4   ipv4Layer
	ip6   ipv6Layer
	ext   extLayer
	frag  layers.IPv6Fragment
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	arp   layers.ARP
	dns   layers.DNS

	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newDecoder() *decoder {
	d := &decoder{parsers: make(map[gopacket.LayerType]*gopacket.DecodingLayerParser), decoded: make([]gopacket.LayerType, 0, 16)}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2, layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first)
		// The skipper decodes every extension header; the fragment layer,
		// put after it, takes over the fragment header so that a
		// non-first fragment is not read as a transport header.
		var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerSparse(nil)
		for _, l := range []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.lo, &d.ip4, &d.ip6, &d.ext, &d.frag, &d.tcp, &d.udp, &d.icmp4, &d.icmp6, &d.arp} {
			dlc = dlc.Put(l)
		}
		p.SetDecodingLayerContainer(dlc)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// firstLayer maps a link type to the layer its frames start with.
func firstLayer(lt layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12, 14: // DLT_RAW as LINKTYPE_RAW and the two BSD numbers
		if len(data) > 0 {
			switch data[0] >> 4 {
			case 4:
				return layers.LayerTypeIPv4, true
			case 6:
				return layers.LayerTypeIPv6, true
			}
		}
	}
	return 0, false
}

// decode fills p from one frame. p's per-packet fields must be zero.
func (d *decoder) decode(p *Packet, data []byte) {
	p.Data = data
	first, ok := firstLayer(p.LinkType, data)
	if !ok {
		p.Layers |= LayerNonIP
		return
	}
	d.decodeFrom(p, first, data)
}

// decodeFrom fills p from data, which starts with a first layer: a frame,
// or a reassembled IP datagram (defrag.go).
func (d *decoder) decodeFrom(p *Packet, first gopacket.LayerType, data []byte) {
	parser := d.parsers[first]
	err := parser.DecodeLayers(data, &d.decoded)
	// parser.Truncated only says the snap length cut the packet short: that is
	// how captures are made, not damage, and the IP lengths still count.
	if err != nil {
		p.Layers |= LayerMalformed
	}
	var ipDone bool
	var ipPayloadLen int = -1 // payload length the IP header declares, for bytes the snaplen cut
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			p.Layers |= LayerEthernet
			if len(d.eth.SrcMAC) == 6 {
				p.SrcMAC, p.HasMAC = MAC(d.eth.SrcMAC), true
			}
		case layers.LayerTypeDot1Q:
			p.Layers |= LayerVLAN
		case layers.LayerTypeLinuxSLL:
			p.Layers |= LayerLinuxSLL
			if d.sll.AddrLen == 6 && len(d.sll.Addr) >= 6 {
				p.SrcMAC, p.HasMAC = MAC(d.sll.Addr[:6]), true
			}
		case layers.LayerTypeLinuxSLL2:
			p.Layers |= LayerLinuxSLL
			if d.sll2.AddrLength == 6 && len(d.sll2.Addr) >= 6 {
				p.SrcMAC, p.HasMAC = MAC(d.sll2.Addr[:6]), true
			}
		case layers.LayerTypeLoopback:
			p.Layers |= LayerLoopback
		case layers.LayerTypeARP:
			p.Layers |= LayerARP
			p.ARP = &d.arp
		case layers.LayerTypeIPv4:
			if ipDone {
				continue
			}
			ipDone = true
			p.Layers |= LayerIPv4
			p.Src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			p.Dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			p.Proto = d.ip4.Protocol
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				p.Layers |= LayerFragment
			}
			p.IPLength = int(d.ip4.Length)
			if hl := int(d.ip4.IHL) * 4; int(d.ip4.Length) >= hl {
				ipPayloadLen = int(d.ip4.Length) - hl
			}
		case layers.LayerTypeIPv6:
			if ipDone {
				continue
			}
			ipDone = true
			p.Layers |= LayerIPv6
			p.Src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			p.Dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
			p.Proto = d.ip6.NextHeader
			p.IPLength = 40 + int(d.ip6.Length)
			if d.ip6.Length > 0 {
				ipPayloadLen = int(d.ip6.Length)
			}
		case layers.LayerTypeIPv6Fragment:
			p.Proto = d.frag.NextHeader
			if d.frag.FragmentOffset != 0 || d.frag.MoreFragments {
				p.Layers |= LayerFragment
			}
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination:
			p.Proto = d.ext.NextHeader
		case layers.LayerTypeTCP:
			p.Layers |= LayerTCP
			p.SrcPort, p.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			p.TCPFlags = tcpFlags(&d.tcp)
			p.TCP = &d.tcp
			p.TCPSeq = d.tcp.Seq
			p.Payload = d.tcp.Payload
			p.Proto = layers.IPProtocolTCP
		case layers.LayerTypeUDP:
			p.Layers |= LayerUDP
			p.SrcPort, p.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			p.Payload = d.udp.Payload
			p.Proto = layers.IPProtocolUDP
		case layers.LayerTypeICMPv4:
			p.Layers |= LayerICMPv4
			p.ICMPType, p.ICMPCode = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
			p.ICMPPayload = d.icmp4.Payload
		case layers.LayerTypeICMPv6:
			p.Layers |= LayerICMPv6
			p.ICMPType, p.ICMPCode = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
			if len(d.icmp6.Payload) >= 4 { // 4 bytes of type-specific data come first
				p.ICMPPayload = d.icmp6.Payload[4:]
			}
		}
	}
	if p.Layers&(LayerIPv4|LayerIPv6) == 0 {
		if p.Layers&LayerARP == 0 {
			p.Layers |= LayerNonIP
		}
		return
	}
	if p.Layers&(LayerTCP|LayerUDP|LayerICMPv4|LayerICMPv6|LayerFragment) == 0 {
		p.Layers |= LayerOtherIP
	}
	p.PayloadLen = len(p.Payload)
	if ipPayloadLen >= 0 {
		switch {
		case p.Layers&LayerTCP != 0:
			// The IP header declares how long the segment is, so bytes a
			// snap length cut off still count. Extension headers sit
			// between the IP header and TCP; their length is what the
			// captured IP payload holds beyond the captured segment.
			ipCaptured := len(d.ip4.Payload)
			if p.Layers&LayerIPv6 != 0 {
				ipCaptured = len(d.ip6.Payload)
				if d.ip6.HopByHop != nil {
					// gopacket takes a hop-by-hop header out of the
					// payload; the length field counts it.
					ipCaptured += d.ip6.HopByHop.ActualLength
				}
			}
			ext := ipCaptured - len(d.tcp.Contents) - len(d.tcp.Payload)
			if n := ipPayloadLen - ext - len(d.tcp.Contents); ext >= 0 && n > p.PayloadLen {
				p.PayloadLen = n
			}
		case p.Layers&LayerUDP != 0:
			if n := int(d.udp.Length) - 8; n > p.PayloadLen {
				p.PayloadLen = n
			}
		}
	}
	if p.Layers&(LayerTCP|LayerUDP) != 0 && p.Layers&LayerFragment == 0 {
		d.decodeApp(p)
	}
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= FlagFIN
	}
	if t.SYN {
		f |= FlagSYN
	}
	if t.RST {
		f |= FlagRST
	}
	if t.PSH {
		f |= FlagPSH
	}
	if t.ACK {
		f |= FlagACK
	}
	if t.URG {
		f |= FlagURG
	}
	return f
}

// decodeApp recognises the application protocol of a TCP or UDP payload:
// DNS is decoded (over UDP, and the first message of a TCP segment), HTTP,
// TLS and SSH are only recognised, for the protocol counts; the analyses
// that care read the payload themselves.
func (d *decoder) decodeApp(p *Packet) {
	pl := p.Payload
	if len(pl) == 0 {
		return
	}
	if isDNSPort(p.SrcPort) || isDNSPort(p.DstPort) {
		msg := pl
		if p.Layers&LayerTCP != 0 {
			if len(msg) < 2 {
				return
			}
			n := int(binary.BigEndian.Uint16(msg))
			msg = msg[2:]
			if n < len(msg) {
				msg = msg[:n]
			}
		}
		if len(msg) >= 12 && d.dns.DecodeFromBytes(msg, gopacket.NilDecodeFeedback) == nil {
			p.Layers |= LayerDNS
			p.DNS = &d.dns
			return
		}
		// TCP on a DNS port that is not DNS (HTTP or SSH on 53 to pass
		// a firewall) is recognised by its content like any other.
	}
	if p.Layers&LayerTCP == 0 {
		return
	}
	switch {
	case looksHTTP(pl):
		p.Layers |= LayerHTTP
	case len(pl) >= 3 && pl[0] >= 0x14 && pl[0] <= 0x17 && pl[1] == 3 && pl[2] <= 4:
		p.Layers |= LayerTLS
	case len(pl) >= 4 && string(pl[:4]) == "SSH-":
		p.Layers |= LayerSSH
	}
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

// looksHTTP reports whether a payload starts like an HTTP/1.x request (a
// method tshark knows, then a space) or response.
func looksHTTP(pl []byte) bool {
	return httpmethod.StartsRequest(pl) || bytes.HasPrefix(pl, []byte("HTTP/1."))
}
