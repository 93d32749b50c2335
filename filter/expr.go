package filter

import (
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Expr is a packet filter. The zero Expr matches every packet. An Expr is
// immutable and safe to share between goroutines.
type Expr struct {
	n node
}

// node is one test of the expression tree.
type node interface {
	match(p *capture.Packet, frame int) bool
	// render writes the Wireshark form. bare is true when the enclosing
	// conjunction guarantees the packet carries no quoted header (see
	// class), so the test may use the plain field.
	render(b *strings.Builder, bare bool)
	class() class
}

// class says how a test relates to the headers an ICMP error quotes, which
// Wireshark dissects and Match does not.
type class uint8

const (
	// classPlain tests are the same in both: frame number, time,
	// protocols that are never quoted.
	classPlain class = iota
	// classAddr tests IP addresses: alone they name the outermost layer.
	classAddr
	// classTransport tests TCP, UDP or DNS fields. True in Match only for
	// a packet that is not ICMP, so a conjunction holding one renders
	// "!icmp" once and its address tests plainly.
	classTransport
	// classAnchor tests are true only for packets that quote no header
	// (an ICMP type that is not an error): address tests beside them are
	// plain and need no guard.
	classAnchor
)

// Match reports whether the packet p, frame number frame (1-based, as
// tshark numbers frames), passes the filter.
func (e Expr) Match(p *capture.Packet, frame int) bool {
	if e.n == nil {
		return true
	}
	return e.n.match(p, frame)
}

// String returns the Wireshark display filter that selects the same
// packets; "" for the zero Expr.
func (e Expr) String() string {
	if e.n == nil {
		return ""
	}
	var b strings.Builder
	switch n := e.n.(type) {
	case andNode, orNode, notNode:
		n.render(&b, false)
	default:
		// A lone test renders as a conjunction of one, so it carries its
		// guard unparenthesised.
		andNode{e.n}.render(&b, false)
	}
	return b.String()
}

// IsZero reports whether e is the zero Expr, which matches everything.
func (e Expr) IsZero() bool { return e.n == nil }

// And matches packets that pass every one of xs; zero Exprs among them are
// ignored, and And() is the zero Expr.
func And(xs ...Expr) Expr {
	var ns andNode
	for _, x := range xs {
		switch n := x.n.(type) {
		case nil:
		case andNode:
			ns = append(ns, n...)
		default:
			ns = append(ns, n)
		}
	}
	switch len(ns) {
	case 0:
		return Expr{}
	case 1:
		return Expr{ns[0]}
	}
	return Expr{ns}
}

// Or matches packets that pass at least one of xs. A zero Expr among them
// matches everything, and so does the result; Or() is the zero Expr.
func Or(xs ...Expr) Expr {
	var ns orNode
	for _, x := range xs {
		switch n := x.n.(type) {
		case nil:
			return Expr{}
		case orNode:
			ns = append(ns, n...)
		default:
			ns = append(ns, n)
		}
	}
	if len(ns) == 1 {
		return Expr{ns[0]}
	}
	if len(ns) == 0 {
		return Expr{}
	}
	return Expr{ns}
}

// Not matches packets that x does not. Not of the zero Expr matches
// nothing.
func Not(x Expr) Expr {
	if x.n == nil {
		return Expr{nothing{}}
	}
	if n, ok := x.n.(notNode); ok {
		return Expr(n) // not not x is x
	}
	return Expr{n: notNode(x)}
}

type andNode []node

func (a andNode) match(p *capture.Packet, frame int) bool {
	for _, n := range a {
		if !n.match(p, frame) {
			return false
		}
	}
	return true
}

func (a andNode) class() class { return classPlain }

// render writes the conjunction. When one of its tests is a transport or
// anchor test, no packet that passes it in Match quotes a header, so its
// address and transport tests are written plainly and, for transport, one
// "!icmp" excludes the ICMP errors whose quoted headers Wireshark would
// read. Nested expressions are exact on their own and are parenthesised.
func (a andNode) render(b *strings.Builder, _ bool) {
	anchored, transport := false, false
	v4, v6 := false, false
	for _, n := range a {
		switch n.class() {
		case classTransport:
			transport, anchored = true, true
		case classAnchor:
			anchored = true
		case classAddr:
			if n.(addrNode).prefix.Addr().Is4() {
				v4 = true
			} else {
				v6 = true
			}
		}
	}
	for i, n := range a {
		if i > 0 {
			b.WriteString(" && ")
		}
		switch n.(type) {
		case andNode, orNode:
			b.WriteByte('(')
			n.render(b, false)
			b.WriteByte(')')
		default:
			n.render(b, anchored)
		}
	}
	if transport {
		switch {
		case v4 && !v6:
			b.WriteString(" && !icmp")
		case v6 && !v4:
			b.WriteString(" && !icmpv6")
		default:
			b.WriteString(" && !icmp && !icmpv6")
		}
	}
}

type orNode []node

func (o orNode) match(p *capture.Packet, frame int) bool {
	for _, n := range o {
		if n.match(p, frame) {
			return true
		}
	}
	return false
}

func (o orNode) class() class { return classPlain }

func (o orNode) render(b *strings.Builder, _ bool) {
	for i, n := range o {
		if i > 0 {
			b.WriteString(" || ")
		}
		var sub strings.Builder
		if a, ok := n.(andNode); ok {
			a.render(&sub, false)
		} else {
			andNode{n}.render(&sub, false)
		}
		s := sub.String()
		if strings.Contains(s, " && ") || strings.Contains(s, " || ") {
			s = "(" + s + ")"
		}
		b.WriteString(s)
	}
}

type notNode struct{ n node }

func (x notNode) match(p *capture.Packet, frame int) bool { return !x.n.match(p, frame) }
func (x notNode) class() class                            { return classPlain }
func (x notNode) render(b *strings.Builder, _ bool) {
	b.WriteString("!(")
	if a, ok := x.n.(andNode); ok {
		a.render(b, false)
	} else {
		andNode{x.n}.render(b, false)
	}
	b.WriteByte(')')
}

// nothing matches no packet: Not of the zero Expr.
type nothing struct{}

func (nothing) match(*capture.Packet, int) bool { return false }
func (nothing) class() class                    { return classPlain }
func (nothing) render(b *strings.Builder, _ bool) {
	// frame matches every packet in Wireshark, so this matches none.
	b.WriteString("!frame")
}
