package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Side says which address or port of a packet a test reads.
type Side uint8

// The sides of a packet.
const (
	Either Side = iota // the source or the destination
	Source
	Destination
)

// Protocol is a protocol a packet carries, as Proto tests it.
type Protocol uint8

// The protocols Proto tests, named as Wireshark names them.
const (
	TCP Protocol = iota + 1
	UDP
	ICMP   // ICMP over IPv4
	ICMPv6 // ICMP over IPv6
	DNS    // DNS on port 53 (Wireshark calls mDNS and LLMNR by their own names)
	ARP
)

var protocolNames = map[Protocol]string{TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPv6: "icmpv6", DNS: "dns", ARP: "arp"}

// String returns the protocol's Wireshark name.
func (p Protocol) String() string {
	if s, ok := protocolNames[p]; ok {
		return s
	}
	return "protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol reads a protocol by its Wireshark name, in any case.
func ParseProtocol(s string) (Protocol, error) {
	for p, name := range protocolNames {
		if strings.EqualFold(s, name) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown protocol %q: want tcp, udp, icmp, icmpv6, dns or arp", s)
}

// Addr matches IP packets whose address on side lies in prefix (a single
// address is a prefix of its full length). It tests the outermost IP
// header; an IPv4-mapped IPv6 prefix is taken as IPv4.
func Addr(side Side, prefix netip.Prefix) Expr {
	prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()).Masked()
	if !prefix.IsValid() {
		return Expr{nothing{}}
	}
	return Expr{addrNode{side: side, prefix: prefix}}
}

// Host matches packets to or from a.
func Host(a netip.Addr) Expr { return Addr(Either, single(a)) }

// Src matches packets sent by a.
func Src(a netip.Addr) Expr { return Addr(Source, single(a)) }

// Dst matches packets sent to a.
func Dst(a netip.Addr) Expr { return Addr(Destination, single(a)) }

func single(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen())
}

type addrNode struct {
	side   Side
	prefix netip.Prefix
}

func (n addrNode) match(p *capture.Packet, _ int) bool {
	if p.Layers&(capture.LayerIPv4|capture.LayerIPv6) == 0 {
		return false
	}
	src, dst := p.Src.Unmap(), p.Dst.Unmap()
	switch n.side {
	case Source:
		return n.prefix.Contains(src)
	case Destination:
		return n.prefix.Contains(dst)
	}
	return n.prefix.Contains(src) || n.prefix.Contains(dst)
}

func (n addrNode) class() class { return classAddr }

func (n addrNode) render(b *strings.Builder, bare bool) {
	b.WriteString("ip")
	if n.prefix.Addr().Is6() {
		b.WriteString("v6")
	}
	b.WriteString([...]string{".addr", ".src", ".dst"}[n.side%3])
	if !bare {
		// The outermost header only: an ICMP error's quoted header is
		// another ip layer to Wireshark.
		b.WriteString("#1")
	}
	b.WriteString("==")
	if n.prefix.IsSingleIP() {
		b.WriteString(n.prefix.Addr().String())
	} else {
		b.WriteString(n.prefix.String())
	}
}

// Port matches TCP or UDP packets (proto TCP, UDP, or 0 for either) whose
// port on side is port.
func Port(proto Protocol, side Side, port uint16) Expr {
	if proto != TCP && proto != UDP {
		proto = 0
	}
	return Expr{portNode{proto: proto, side: side, port: port}}
}

type portNode struct {
	proto Protocol
	side  Side
	port  uint16
}

func (n portNode) match(p *capture.Packet, _ int) bool {
	switch n.proto {
	case TCP:
		if p.Layers&capture.LayerTCP == 0 {
			return false
		}
	case UDP:
		if p.Layers&capture.LayerUDP == 0 {
			return false
		}
	default:
		if p.Layers&(capture.LayerTCP|capture.LayerUDP) == 0 {
			return false
		}
	}
	switch n.side {
	case Source:
		return p.SrcPort == n.port
	case Destination:
		return p.DstPort == n.port
	}
	return p.SrcPort == n.port || p.DstPort == n.port
}

func (n portNode) class() class { return classTransport }

func (n portNode) render(b *strings.Builder, bare bool) {
	field := [...]string{".port==", ".srcport==", ".dstport=="}[n.side%3]
	port := strconv.Itoa(int(n.port))
	var s string
	switch n.proto {
	case TCP, UDP:
		s = n.proto.String() + field + port
	default:
		s = "(tcp" + field + port + " || udp" + field + port + ")"
	}
	writeGuarded(b, s, bare)
}

// writeGuarded writes a transport test; outside a conjunction that guards
// it, it excludes ICMP itself.
func writeGuarded(b *strings.Builder, s string, bare bool) {
	if bare {
		b.WriteString(s)
		return
	}
	b.WriteString("(" + s + " && !icmp && !icmpv6)")
}

// Proto matches packets that carry proto.
func Proto(proto Protocol) Expr {
	if _, ok := protocolNames[proto]; !ok {
		return Expr{nothing{}}
	}
	return Expr{protoNode(proto)}
}

type protoNode Protocol

func (n protoNode) match(p *capture.Packet, _ int) bool {
	switch Protocol(n) {
	case TCP:
		return p.Layers&capture.LayerTCP != 0
	case UDP:
		return p.Layers&capture.LayerUDP != 0
	case ICMP:
		return p.Layers&capture.LayerICMPv4 != 0
	case ICMPv6:
		return p.Layers&capture.LayerICMPv6 != 0
	case ARP:
		return p.Layers&capture.LayerARP != 0
	case DNS:
		return p.Layers&capture.LayerDNS != 0 && (p.SrcPort == 53 || p.DstPort == 53)
	}
	return false
}

func (n protoNode) class() class {
	switch Protocol(n) {
	case TCP, UDP, DNS:
		return classTransport
	}
	return classPlain
}

func (n protoNode) render(b *strings.Builder, bare bool) {
	if n.class() == classTransport {
		writeGuarded(b, Protocol(n).String(), bare)
		return
	}
	b.WriteString(Protocol(n).String())
}

// TCPFlags matches TCP packets with every flag of set set and every flag
// of clear clear (capture.FlagSYN, ...): TCPFlags(FlagSYN, FlagACK) is a
// connection's first SYN.
func TCPFlags(set, clear uint8) Expr {
	return Expr{flagsNode{set: set, clear: clear &^ set}}
}

type flagsNode struct{ set, clear uint8 }

func (n flagsNode) match(p *capture.Packet, _ int) bool {
	return p.Layers&capture.LayerTCP != 0 && p.TCPFlags&n.set == n.set && p.TCPFlags&n.clear == 0
}

func (n flagsNode) class() class { return classTransport }

var flagNames = []struct {
	bit  uint8
	name string
}{
	{capture.FlagSYN, "syn"}, {capture.FlagACK, "ack"}, {capture.FlagFIN, "fin"},
	{capture.FlagRST, "reset"}, {capture.FlagPSH, "push"}, {capture.FlagURG, "urg"},
}

func (n flagsNode) render(b *strings.Builder, bare bool) {
	var parts []string
	for _, f := range flagNames {
		switch {
		case n.set&f.bit != 0:
			parts = append(parts, "tcp.flags."+f.name+"==1")
		case n.clear&f.bit != 0:
			parts = append(parts, "tcp.flags."+f.name+"==0")
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "tcp")
	}
	s := strings.Join(parts, " && ")
	if bare {
		b.WriteString(s)
		return
	}
	b.WriteString("(" + s + " && !icmp && !icmpv6)")
}

// TCPPayload matches TCP segments that carry data (tcp.len>0), counting
// bytes a snap length cut off.
func TCPPayload() Expr { return Expr{payloadNode{}} }

type payloadNode struct{}

func (payloadNode) match(p *capture.Packet, _ int) bool {
	return p.Layers&capture.LayerTCP != 0 && p.PayloadLen > 0
}
func (payloadNode) class() class { return classTransport }
func (payloadNode) render(b *strings.Builder, bare bool) {
	writeGuarded(b, "tcp.len>0", bare)
}

// ICMPType matches ICMP (v6 false) or ICMPv6 (v6 true) messages of type
// typ, by their outermost ICMP header.
func ICMPType(v6 bool, typ uint8) Expr { return Expr{icmpNode{v6: v6, typ: typ}} }

type icmpNode struct {
	v6  bool
	typ uint8
}

func (n icmpNode) match(p *capture.Packet, _ int) bool {
	if n.v6 {
		return p.Layers&capture.LayerICMPv6 != 0 && p.ICMPType == n.typ
	}
	return p.Layers&capture.LayerICMPv4 != 0 && p.ICMPType == n.typ
}

// class: a message that is not an error quotes no packet, so address
// tests beside it read the only IP header there is.
func (n icmpNode) class() class {
	if n.v6 {
		if n.typ >= 128 { // informational
			return classAnchor
		}
		return classPlain
	}
	switch n.typ {
	case 3, 4, 5, 11, 12: // errors, which quote the packet they answer
		return classPlain
	}
	return classAnchor
}

func (n icmpNode) render(b *strings.Builder, _ bool) {
	// #1: an error may quote an ICMP message, whose type Wireshark also
	// shows.
	if n.v6 {
		b.WriteString("icmpv6.type#1==" + strconv.Itoa(int(n.typ)))
		return
	}
	b.WriteString("icmp.type#1==" + strconv.Itoa(int(n.typ)))
}

// Frames matches frames first to last, inclusive; 0 leaves that end open.
func Frames(first, last int) Expr {
	if first <= 1 && last <= 0 {
		return Expr{}
	}
	return Expr{frameNode{first: first, last: last}}
}

type frameNode struct{ first, last int }

func (n frameNode) match(_ *capture.Packet, frame int) bool {
	return (n.first <= 0 || frame >= n.first) && (n.last <= 0 || frame <= n.last)
}
func (frameNode) class() class { return classPlain }
func (n frameNode) render(b *strings.Builder, _ bool) {
	switch {
	case n.first == n.last:
		b.WriteString("frame.number==" + strconv.Itoa(n.first))
	case n.last <= 0:
		b.WriteString("frame.number>=" + strconv.Itoa(n.first))
	case n.first <= 1:
		b.WriteString("frame.number<=" + strconv.Itoa(n.last))
	default:
		b.WriteString("frame.number>=" + strconv.Itoa(n.first) + " && frame.number<=" + strconv.Itoa(n.last))
	}
}

// Between matches packets captured at since or later and before until; a
// zero time leaves that end open.
func Between(since, until time.Time) Expr {
	if since.IsZero() && until.IsZero() {
		return Expr{}
	}
	return Expr{timeNode{since: since, until: until}}
}

type timeNode struct{ since, until time.Time }

func (n timeNode) match(p *capture.Packet, _ int) bool {
	return (n.since.IsZero() || !p.Time.Before(n.since)) && (n.until.IsZero() || p.Time.Before(n.until))
}
func (timeNode) class() class { return classPlain }
func (n timeNode) render(b *strings.Builder, _ bool) {
	// Epoch seconds, not a date: Wireshark reads a date in the reader's
	// own time zone.
	if !n.since.IsZero() {
		b.WriteString("frame.time_epoch>=" + epoch(n.since))
	}
	if !n.until.IsZero() {
		if !n.since.IsZero() {
			b.WriteString(" && ")
		}
		b.WriteString("frame.time_epoch<" + epoch(n.until))
	}
}

func epoch(t time.Time) string {
	ns := t.UnixNano()
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	return fmt.Sprintf("%d.%09d", sec, frac)
}
