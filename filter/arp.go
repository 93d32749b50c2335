package filter

import (
	"net/netip"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/gopacket/gopacket/layers"
)

// ARPRequest matches ARP requests (who-has) sent by the IPv4 address
// sender, as the request's sender protocol address gives it.
func ARPRequest(sender netip.Addr) Expr {
	sender = sender.Unmap()
	if !sender.Is4() {
		return Expr{nothing{}}
	}
	return Expr{arpNode{sender}}
}

type arpNode struct{ sender netip.Addr }

func (n arpNode) match(p *capture.Packet, _ int) bool {
	if p.Layers&capture.LayerARP == 0 || p.ARP == nil || p.ARP.Operation != layers.ARPRequest {
		return false
	}
	a, ok := netip.AddrFromSlice(p.ARP.SourceProtAddress)
	return ok && a.Unmap() == n.sender
}

func (arpNode) class() class { return classPlain }

func (n arpNode) render(b *strings.Builder, _ bool) {
	b.WriteString("arp.opcode==1 && arp.src.proto_ipv4==" + n.sender.String())
}
