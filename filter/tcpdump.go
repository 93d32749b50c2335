package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
)

// ParseTcpdump reads a capture filter in tcpdump's syntax (pcap-filter(7))
// and returns the Expr that selects the same packets. It understands the
// part of the language an analyst types:
//
//   - primitives: [ip|ip6|arp|tcp|udp|icmp|icmp6] [src|dst|src or dst|src
//     and dst] [host|net|port] ID, a protocol alone (tcp, udp, icmp,
//     icmp6, arp, ip, ip6), "net N mask M";
//   - TCP flag tests: tcp[tcpflags] & MASK == VALUE, != 0, == 0, with
//     MASK and VALUE flag names (tcp-syn|tcp-ack, ...) or numbers, and
//     tcp[13] for tcp[tcpflags];
//   - not / !, and / &&, or / ||, parentheses; and and or have equal
//     precedence and group left to right, as in tcpdump; an ID after an
//     operator reuses the qualifiers before it ("host a or b").
//
// Addresses are given as numbers: no name is resolved. What it does not
// know (portrange, less, greater, ether, byte offsets other than the TCP
// flags) is an error that names it; there is no pure-Go compiler of the
// whole language that is maintained, and reconpcap reads files, so the
// flags --host, --net, --port and --proto do the rest.
//
// As in tcpdump, "host X" and "net N" without a protocol also match ARP
// packets whose sender or target protocol address is X. Unlike tcpdump,
// a port test matches the reassembled datagram of a fragmented packet
// (the frame that completes it), where tcpdump matches the first
// fragment.
func ParseTcpdump(s string) (Expr, error) {
	toks, err := lexTcpdump(s)
	if err != nil {
		return Expr{}, err
	}
	p := &tdParser{toks: toks}
	if len(toks) == 0 {
		return Expr{}, nil
	}
	e, err := p.expr()
	if err != nil {
		return Expr{}, err
	}
	if p.pos < len(p.toks) {
		return Expr{}, fmt.Errorf("filter: unexpected %q", p.toks[p.pos])
	}
	return e, nil
}

// maxTcpdump bounds a filter's length: a filter is typed, not generated.
const maxTcpdump = 4096

func lexTcpdump(s string) ([]string, error) {
	if len(s) > maxTcpdump {
		return nil, fmt.Errorf("filter: %d characters, at most %d", len(s), maxTcpdump)
	}
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"), strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="):
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.ContainsRune("()[]&|=!", rune(c)):
			toks = append(toks, string(c))
			i++
		case c > ' ' && c < 0x7f:
			j := i
			for j < len(s) && s[j] > ' ' && s[j] < 0x7f && !strings.ContainsRune("()[]&|=!", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("filter: unexpected byte 0x%02x at %d", c, i)
		}
	}
	return toks, nil
}

// qual is a primitive's qualifiers, kept for the next bare ID.
type qual struct {
	proto string // "", ip, ip6, arp, tcp, udp, icmp, icmp6
	dir   string // "", src, dst, "src or dst", "src and dst"
	typ   string // "", host, net, port
}

type tdParser struct {
	toks []string
	pos  int
	last qual
	seen bool // a primitive with an ID came before: a bare ID reuses its qualifiers
	// depth bounds nesting: parentheses and negations recurse.
	depth int
}

func (p *tdParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *tdParser) next() string {
	t := p.peek()
	if t != "" {
		p.pos++
	}
	return t
}

// expr := unary { (and|or) unary }, left to right, equal precedence.
func (p *tdParser) expr() (Expr, error) {
	e, err := p.unary()
	if err != nil {
		return Expr{}, err
	}
	for {
		switch p.peek() {
		case "and", "&&":
			p.next()
			r, err := p.unary()
			if err != nil {
				return Expr{}, err
			}
			e = And(e, r)
		case "or", "||":
			p.next()
			r, err := p.unary()
			if err != nil {
				return Expr{}, err
			}
			e = Or(e, r)
		default:
			return e, nil
		}
	}
}

const maxTcpdumpDepth = 64

func (p *tdParser) unary() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxTcpdumpDepth {
		return Expr{}, fmt.Errorf("filter: nested more than %d deep", maxTcpdumpDepth)
	}
	switch p.peek() {
	case "not", "!":
		p.next()
		e, err := p.unary()
		if err != nil {
			return Expr{}, err
		}
		return Not(e), nil
	case "(":
		p.next()
		e, err := p.expr()
		if err != nil {
			return Expr{}, err
		}
		if p.next() != ")" {
			return Expr{}, fmt.Errorf("filter: missing )")
		}
		return e, nil
	case "":
		return Expr{}, fmt.Errorf("filter: ends where a test was expected")
	}
	return p.primitive()
}

var (
	tdProtos = map[string]bool{"ip": true, "ip6": true, "arp": true, "tcp": true, "udp": true, "icmp": true, "icmp6": true}
	tdTypes  = map[string]bool{"host": true, "net": true, "port": true}
	// tdUnsupported are pcap-filter words this parser does not implement.
	tdUnsupported = map[string]bool{
		"portrange": true, "less": true, "greater": true, "len": true, "ether": true, "rarp": true, "gateway": true,
		"broadcast": true, "multicast": true, "vlan": true, "mpls": true, "proto": true, "sctp": true, "inbound": true,
		"outbound": true, "ifname": true, "on": true, "fddi": true, "tr": true, "wlan": true, "atalk": true,
	}
)

func (p *tdParser) primitive() (Expr, error) {
	var q qual
	t := p.peek()
	if tdUnsupported[t] {
		return Expr{}, fmt.Errorf("filter: %q is not supported (use --host, --net, --port or --proto, or a simpler filter)", t)
	}
	if tdProtos[t] {
		q.proto = p.next()
		if p.peek() == "[" {
			return p.flagsTest(q.proto)
		}
	}
	switch p.peek() {
	case "src", "dst":
		q.dir = p.next()
		if (p.peek() == "or" || p.peek() == "and") && p.pos+1 < len(p.toks) && p.toks[p.pos+1] == map[string]string{"src": "dst", "dst": "src"}[q.dir] {
			q.dir = "src " + p.next() + " dst"
			p.next()
		}
	}
	if tdTypes[p.peek()] {
		q.typ = p.next()
	}
	if tdUnsupported[p.peek()] {
		return Expr{}, fmt.Errorf("filter: %q is not supported (use --host, --net, --port or --proto, or a simpler filter)", p.peek())
	}
	id := p.peek()
	isID := id != "" && !isTdWord(id)
	switch {
	case q == qual{} && isID:
		// A bare ID reuses the qualifiers before it: "host a or b".
		if p.seen {
			q = p.last
		}
	case q == qual{}:
		return Expr{}, fmt.Errorf("filter: unexpected %q", id)
	case !isID && q.dir == "" && q.typ == "":
		return protoOnly(q.proto)
	case !isID:
		return Expr{}, fmt.Errorf("filter: %s %s needs an address or a port", q.dir, q.typ)
	}
	p.next()
	if q.typ == "" {
		q.typ = "host"
	}
	p.last, p.seen = q, true
	return p.build(q, id)
}

// isTdWord reports whether t is an operator or qualifier rather than an ID.
func isTdWord(t string) bool {
	switch t {
	case "and", "or", "not", "&&", "||", "!", "(", ")", "[", "]", "&", "|", "=", "==", "!=", "src", "dst":
		return true
	}
	return tdProtos[t] || tdTypes[t]
}

func protoOnly(proto string) (Expr, error) {
	switch proto {
	case "ip":
		return Addr(Either, netip.MustParsePrefix("0.0.0.0/0")), nil
	case "ip6":
		return Addr(Either, netip.MustParsePrefix("::/0")), nil
	case "icmp6":
		return Proto(ICMPv6), nil
	}
	pr, err := ParseProtocol(proto)
	if err != nil {
		return Expr{}, fmt.Errorf("filter: %w", err)
	}
	return Proto(pr), nil
}

func sides(dir string) []Side {
	switch dir {
	case "src":
		return []Side{Source}
	case "dst":
		return []Side{Destination}
	case "src and dst":
		return []Side{Source, Destination}
	}
	return []Side{Either}
}

func (p *tdParser) build(q qual, id string) (Expr, error) {
	var tests []Expr
	switch q.typ {
	case "port":
		port, err := tdPort(id)
		if err != nil {
			return Expr{}, err
		}
		var proto Protocol
		switch q.proto {
		case "tcp":
			proto = TCP
		case "udp":
			proto = UDP
		case "", "ip", "ip6":
		default:
			return Expr{}, fmt.Errorf("filter: %s has no ports", q.proto)
		}
		for _, s := range sides(q.dir) {
			tests = append(tests, Port(proto, s, port))
		}
		e := And(tests...)
		if q.proto == "ip" || q.proto == "ip6" {
			fam, _ := protoOnly(q.proto)
			e = And(fam, e)
		}
		return e, nil
	case "host", "net":
		prefix, err := p.prefix(q.typ, id)
		if err != nil {
			return Expr{}, err
		}
		var ipTests, arpTests []Expr
		for _, s := range sides(q.dir) {
			ipTests = append(ipTests, Addr(s, prefix))
			arpTests = append(arpTests, Expr{arpAddrNode{side: s, prefix: prefix}})
		}
		ip, arp := And(ipTests...), And(arpTests...)
		switch q.proto {
		case "":
			if prefix.Addr().Is4() {
				return Or(ip, arp), nil
			}
			return ip, nil
		case "arp":
			return arp, nil
		case "ip", "ip6":
			if (q.proto == "ip") != prefix.Addr().Is4() {
				return Expr{}, fmt.Errorf("filter: %s %s %s: the address is not %s", q.proto, q.typ, id, q.proto)
			}
			return ip, nil
		}
		pr, err := protoOnly(q.proto)
		if err != nil {
			return Expr{}, err
		}
		return And(pr, ip), nil
	}
	return Expr{}, fmt.Errorf("filter: unknown test %q", q.typ)
}

// prefix reads a host's address or a net's prefix ("10.0.0.0/8", or
// "10.0.0.0 mask 255.0.0.0").
func (p *tdParser) prefix(typ, id string) (netip.Prefix, error) {
	if typ == "host" {
		if strings.Contains(id, "/") {
			return netip.Prefix{}, fmt.Errorf("filter: host %s: a host is one address; use net", id)
		}
		pr, err := ParsePrefix(id)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("filter: host %s: names are not resolved, give an address", id)
		}
		return pr, nil
	}
	if p.peek() == "mask" {
		p.next()
		m, err := netip.ParseAddr(p.next())
		a, aerr := netip.ParseAddr(id)
		if err != nil || aerr != nil || !m.Is4() || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("filter: net %s mask: want an IPv4 address and mask", id)
		}
		mb := m.As4()
		v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
		bits := 0
		for v&0x80000000 != 0 {
			bits++
			v <<= 1
		}
		if v != 0 {
			return netip.Prefix{}, fmt.Errorf("filter: mask %s is not contiguous", m)
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	if !strings.Contains(id, "/") {
		a, err := netip.ParseAddr(id)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("filter: net %s: want a network such as 10.0.0.0/8", id)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pr, err := ParsePrefix(id)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("filter: net %s: %w", id, err)
	}
	return pr, nil
}

// tdPortNames are the service names tcpdump users type most, from
// /etc/services; others are given as numbers.
var tdPortNames = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67, "bootpc": 68,
	"tftp": 69, "http": 80, "www": 80, "kerberos": 88, "pop3": 110, "ntp": 123, "netbios-ns": 137, "imap": 143,
	"snmp": 161, "ldap": 389, "https": 443, "microsoft-ds": 445, "syslog": 514, "submission": 587, "ldaps": 636,
	"imaps": 993, "pop3s": 995, "mysql": 3306, "ms-wbt-server": 3389, "postgresql": 5432, "http-alt": 8080,
}

func tdPort(id string) (uint16, error) {
	if n, ok := tdPortNames[strings.ToLower(id)]; ok {
		return n, nil
	}
	n, err := strconv.ParseUint(id, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("filter: port %q: want a number (0-65535) or a common service name", id)
	}
	return uint16(n), nil
}

// tdFlagNames are pcap-filter's TCP flag constants.
var tdFlagNames = map[string]uint8{
	"tcp-fin": capture.FlagFIN, "tcp-syn": capture.FlagSYN, "tcp-rst": capture.FlagRST, "tcp-push": capture.FlagPSH,
	"tcp-ack": capture.FlagACK, "tcp-urg": capture.FlagURG,
}

// flagsTest reads tcp[tcpflags] & MASK (==|!=) VALUE.
func (p *tdParser) flagsTest(proto string) (Expr, error) {
	p.next() // [
	field := p.next()
	if proto != "tcp" || (field != "tcpflags" && field != "13") || p.next() != "]" {
		return Expr{}, fmt.Errorf("filter: of byte offsets only tcp[tcpflags] (tcp[13]) is supported")
	}
	if p.next() != "&" {
		return Expr{}, fmt.Errorf("filter: want tcp[tcpflags] & MASK == VALUE")
	}
	mask, err := p.flagValue()
	if err != nil {
		return Expr{}, err
	}
	op := p.next()
	if op != "==" && op != "=" && op != "!=" {
		return Expr{}, fmt.Errorf("filter: want == or != after the tcp[tcpflags] mask")
	}
	val, err := p.flagValue()
	if err != nil {
		return Expr{}, err
	}
	if val&^mask != 0 {
		// Bits outside the mask can never be set in the masked byte.
		if op == "!=" {
			return Proto(TCP), nil
		}
		return Expr{nothing{}}, nil
	}
	eq := And(Proto(TCP), TCPFlags(val, mask&^val))
	switch {
	case op != "!=":
		return eq, nil
	case val == 0:
		// Any of the mask's flags set.
		var any []Expr
		for b := uint8(1); b != 0; b <<= 1 {
			if mask&b != 0 {
				any = append(any, TCPFlags(b, 0))
			}
		}
		return And(Proto(TCP), Or(any...)), nil
	}
	return And(Proto(TCP), Not(eq)), nil
}

// flagValue reads a flag name, a number, or a parenthesised | of them.
func (p *tdParser) flagValue() (uint8, error) {
	if p.peek() == "(" {
		p.next()
		var v uint8
		for {
			x, err := p.flagValue()
			if err != nil {
				return 0, err
			}
			v |= x
			switch p.next() {
			case "|":
				continue
			case ")":
				return v, nil
			}
			return 0, fmt.Errorf("filter: want | or ) in a TCP flag mask")
		}
	}
	t := p.next()
	if v, ok := tdFlagNames[t]; ok {
		return v, nil
	}
	n, err := strconv.ParseUint(t, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("filter: %q is not a TCP flag (tcp-syn, tcp-ack, tcp-fin, tcp-rst, tcp-push, tcp-urg) or a number", t)
	}
	return uint8(n), nil
}

// arpAddrNode matches ARP packets whose sender (Source) or target
// (Destination) protocol address lies in prefix, as tcpdump's host and
// net do.
type arpAddrNode struct {
	side   Side
	prefix netip.Prefix
}

func (n arpAddrNode) match(p *capture.Packet, _ int) bool {
	if p.Layers&capture.LayerARP == 0 || p.ARP == nil {
		return false
	}
	addr := func(b []byte) netip.Addr {
		a, _ := netip.AddrFromSlice(b)
		return a.Unmap()
	}
	src, dst := addr(p.ARP.SourceProtAddress), addr(p.ARP.DstProtAddress)
	switch n.side {
	case Source:
		return n.prefix.Contains(src)
	case Destination:
		return n.prefix.Contains(dst)
	}
	return n.prefix.Contains(src) || n.prefix.Contains(dst)
}

func (n arpAddrNode) class() class { return classPlain }

func (n arpAddrNode) render(b *strings.Builder, _ bool) {
	v := n.prefix.String()
	if n.prefix.IsSingleIP() {
		v = n.prefix.Addr().String()
	}
	switch n.side {
	case Source:
		b.WriteString("arp.src.proto_ipv4==" + v)
	case Destination:
		b.WriteString("arp.dst.proto_ipv4==" + v)
	default:
		b.WriteString("(arp.src.proto_ipv4==" + v + " || arp.dst.proto_ipv4==" + v + ")")
	}
}
