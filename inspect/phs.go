package inspect

import (
	"context"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
)

// maxNodes bounds the hierarchy: protocol names come from a fixed set, but
// a capture of odd IP protocols could otherwise add one node per number.
const maxNodes = 512

// Node is one protocol in the hierarchy, named as tshark's io,phs names it
// (eth, ip, tcp, dns, ...), with the frames that carry it under its parent
// and their bytes (wire lengths).
type Node struct {
	Protocol string  `json:"protocol"`
	Frames   int     `json:"frames"`
	Bytes    int64   `json:"bytes"`
	Children []*Node `json:"children,omitempty"`
}

// Hierarchy is a capture's protocol hierarchy.
type Hierarchy struct {
	// Roots are the link layers (eth, sll, null, raw), in order of first
	// appearance, as are every node's children.
	Roots   []*Node
	Capture *capture.Capture
	// Truncated is true when nodes beyond the bound were counted in
	// their parent only.
	Truncated bool
}

// ProtocolHierarchy reads the capture and counts, for every chain
// of protocols, the frames and bytes, as tshark -z io,phs does. It names
// what package capture recognises: link, VLAN, ARP, IP, the transports,
// DNS (mdns, llmnr), HTTP, TLS and SSH; other payloads are "data", where
// tshark may name the protocol by its port or content.
func ProtocolHierarchy(ctx context.Context, src Source) (*Hierarchy, error) {
	h := &phs{root: &Node{}}
	c, err := src.scan(ctx, h)
	if c == nil {
		return nil, err
	}
	return &Hierarchy{Roots: h.root.Children, Capture: c, Truncated: h.truncated}, err
}

type phs struct {
	root      *Node
	nodes     int
	truncated bool
	chain     []string
}

func (h *phs) Packet(p *capture.Packet) {
	h.chain = protoChain(p, h.chain[:0])
	n := h.root
	for _, name := range h.chain {
		var next *Node
		for _, c := range n.Children {
			if c.Protocol == name {
				next = c
				break
			}
		}
		if next == nil {
			if h.nodes >= maxNodes {
				h.truncated = true
				return
			}
			h.nodes++
			next = &Node{Protocol: name}
			n.Children = append(n.Children, next)
		}
		next.Frames++
		next.Bytes += int64(p.Length)
		n = next
	}
}

// protoChain appends the names of p's protocols, outermost first.
func protoChain(p *capture.Packet, out []string) []string {
	ls := p.Layers
	switch {
	case ls&capture.LayerEthernet != 0:
		out = append(out, "eth")
	case ls&capture.LayerLinuxSLL != 0:
		out = append(out, "sll")
	case ls&capture.LayerLoopback != 0:
		out = append(out, "null")
	case p.LinkType == layers.LinkTypeRaw || p.LinkType == layers.LinkTypeIPv4 || p.LinkType == layers.LinkTypeIPv6:
		out = append(out, "raw")
	default:
		out = append(out, strings.ToLower(p.LinkType.String()))
	}
	if ls&capture.LayerVLAN != 0 {
		out = append(out, "vlan")
	}
	switch {
	case ls&capture.LayerARP != 0:
		return append(out, "arp")
	case ls&capture.LayerIPv4 != 0:
		out = append(out, "ip")
	case ls&capture.LayerIPv6 != 0:
		out = append(out, "ipv6")
	default:
		return append(out, "data")
	}
	switch {
	case ls&capture.LayerFragment != 0:
		return append(out, "data")
	case ls&capture.LayerTCP != 0:
		out = append(out, "tcp")
	case ls&capture.LayerUDP != 0:
		out = append(out, "udp")
	case ls&capture.LayerICMPv4 != 0:
		return append(out, "icmp")
	case ls&capture.LayerICMPv6 != 0:
		return append(out, "icmpv6")
	default:
		return append(out, strings.ToLower(p.Proto.String()))
	}
	switch {
	case ls&capture.LayerDNS != 0:
		return append(out, strings.ToLower(dnsProto(p)))
	case ls&capture.LayerHTTP != 0:
		return append(out, "http")
	case ls&capture.LayerTLS != 0:
		return append(out, "tls")
	case ls&capture.LayerSSH != 0:
		return append(out, "ssh")
	case p.PayloadLen > 0:
		return append(out, "data")
	}
	return out
}

// Lines renders the hierarchy as tshark -qz io,phs prints it.
func (h *Hierarchy) Lines() []string {
	var out []string
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		name := strings.Repeat("  ", depth) + n.Protocol
		out = append(out, padRight(name, 40)+" frames:"+itoa(int64(n.Frames))+" bytes:"+itoa(n.Bytes))
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range h.Roots {
		walk(r, 0)
	}
	return out
}
