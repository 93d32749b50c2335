package inspect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// nameMax bounds a DNS name in an info column.
const nameMax = 160

// describer writes packets as tshark's default columns. It follows every
// packet of the capture (track), not only those shown: relative times count
// from the first frame, and TCP sequence numbers from each side's first.
type describer struct {
	first    time.Time
	haveTime bool
	tcp      map[*capture.Flow]*tcpSides
}

// tcpSides is what tshark remembers of a connection to print relative
// sequence numbers and scaled windows: index 0 is the client's side.
type tcpSides struct {
	base    [2]uint32
	hasBase [2]bool
	// shift is the window scale a side announced in its SYN; -1 unknown,
	// -2 announced none.
	shift [2]int
}

func newDescriber() *describer {
	return &describer{tcp: map[*capture.Flow]*tcpSides{}}
}

// track notes what later lines depend on; call it for every packet in order.
func (d *describer) track(p *capture.Packet) {
	if !d.haveTime {
		d.first, d.haveTime = p.Time, true
	}
	if p.Layers&capture.LayerTCP == 0 || p.Flow == nil || p.TCP == nil {
		return
	}
	s := d.tcp[p.Flow]
	if s == nil {
		s = &tcpSides{shift: [2]int{-1, -1}}
		d.tcp[p.Flow] = s
	}
	me, other := side(p)
	syn := p.TCPFlags&capture.FlagSYN != 0
	switch {
	case syn:
		s.base[me], s.hasBase[me] = p.TCPSeq, true
	case !s.hasBase[me]:
		// No SYN seen from this side: tshark counts its first
		// packet's sequence number as 1.
		s.base[me], s.hasBase[me] = p.TCPSeq-1, true
	}
	if p.TCPFlags&capture.FlagACK != 0 && !s.hasBase[other] {
		// The other side's first packet was not captured: its numbers
		// count from what this side acknowledges, as tshark does.
		s.base[other], s.hasBase[other] = p.TCP.Ack-1, true
	}
	if syn {
		s.shift[me] = -2
		for _, o := range p.TCP.Options {
			if o.OptionType == layers.TCPOptionKindWindowScale && len(o.OptionData) == 1 {
				s.shift[me] = int(min(o.OptionData[0], 14))
			}
		}
	}
}

func side(p *capture.Packet) (me, other int) {
	if p.FromClient {
		return 0, 1
	}
	return 1, 0
}

// describe returns p's line (Time is filled in once the precision is known).
func (d *describer) describe(p *capture.Packet) Line {
	l := Line{Number: p.Index, Length: p.Length, rel: p.Time.Sub(d.first)}
	if p.HasIP() {
		l.Source, l.Destination = p.Src.String(), p.Dst.String()
	} else {
		l.Source, l.Destination = linkAddrs(p)
	}
	l.Protocol, l.Info = d.protoInfo(p)
	return l
}

// linkAddrs gives a non-IP frame's link-layer addresses, as tshark shows
// them in the source and destination columns.
func linkAddrs(p *capture.Packet) (src, dst string) {
	if p.LinkType == layers.LinkTypeEthernet && len(p.Data) >= 14 {
		return net.HardwareAddr(p.Data[6:12]).String(), net.HardwareAddr(p.Data[0:6]).String()
	}
	if p.HasMAC {
		return p.SrcMAC.String(), ""
	}
	return "", ""
}

func (d *describer) protoInfo(p *capture.Packet) (proto, info string) {
	ls := p.Layers
	switch {
	case ls&capture.LayerARP != 0 && p.ARP != nil:
		return "ARP", arpInfo(p.ARP)
	case ls&capture.LayerFragment != 0:
		if ls&capture.LayerIPv6 != 0 {
			return "IPv6", fragment6Info(p)
		}
		return "IPv4", fragmentInfo(p)
	case ls&capture.LayerDNS != 0 && p.DNS != nil:
		return dnsProto(p), dnsInfo(p.DNS)
	case ls&capture.LayerHTTP != 0:
		return "HTTP", httpInfo(p.Payload)
	case ls&capture.LayerTCP != 0:
		return tcpProto(p), d.tcpInfo(p)
	case ls&capture.LayerUDP != 0:
		return "UDP", fmt.Sprintf("%d → %d Len=%d", p.SrcPort, p.DstPort, p.PayloadLen)
	case ls&capture.LayerICMPv4 != 0:
		return "ICMP", icmp4Info(p.ICMPType, p.ICMPCode)
	case ls&capture.LayerICMPv6 != 0:
		return "ICMPv6", icmp6Info(p.ICMPType, p.ICMPCode)
	case p.HasIP():
		return p.Proto.String(), ""
	}
	if p.LinkType == layers.LinkTypeEthernet && len(p.Data) >= 14 {
		t := layers.EthernetType(binary.BigEndian.Uint16(p.Data[12:14]))
		return t.String(), fmt.Sprintf("Ethertype 0x%04x", uint16(t))
	}
	return p.LinkType.String(), ""
}

func dnsProto(p *capture.Packet) string {
	switch {
	case p.SrcPort == 5353 || p.DstPort == 5353:
		return "MDNS"
	case p.SrcPort == 5355 || p.DstPort == 5355:
		return "LLMNR"
	}
	return "DNS"
}

func tcpProto(p *capture.Packet) string {
	switch {
	case p.Layers&capture.LayerHTTP != 0:
		return "HTTP"
	case p.Layers&capture.LayerTLS != 0:
		if len(p.Payload) >= 3 {
			switch p.Payload[2] {
			case 1:
				return "TLSv1"
			case 2:
				return "TLSv1.1"
			case 3:
				return "TLSv1.2"
			}
		}
		return "TLS"
	case p.Layers&capture.LayerSSH != 0:
		return "SSH"
	}
	return "TCP"
}

// tcpFlagNames are in the order tshark lists them.
var tcpFlagNames = []struct {
	bit  uint8
	name string
}{
	{capture.FlagFIN, "FIN"}, {capture.FlagSYN, "SYN"}, {capture.FlagRST, "RST"},
	{capture.FlagPSH, "PSH"}, {capture.FlagACK, "ACK"}, {capture.FlagURG, "URG"},
}

func (d *describer) tcpInfo(p *capture.Packet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d → %d [", p.SrcPort, p.DstPort)
	var names []string
	for _, f := range tcpFlagNames {
		if p.TCPFlags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	if p.TCP != nil {
		if p.TCP.ECE {
			names = append(names, "ECE")
		}
		if p.TCP.CWR {
			names = append(names, "CWR")
		}
	}
	if len(names) == 0 {
		names = []string{"<None>"}
	}
	b.WriteString(strings.Join(names, ", "))
	b.WriteString("]")
	s := d.tcp[p.Flow]
	if p.TCP == nil || s == nil {
		fmt.Fprintf(&b, " Len=%d", p.PayloadLen)
		return b.String()
	}
	me, other := side(p)
	fmt.Fprintf(&b, " Seq=%d", p.TCPSeq-s.base[me])
	if p.TCPFlags&capture.FlagACK != 0 {
		fmt.Fprintf(&b, " Ack=%d", p.TCP.Ack-s.base[other])
	}
	win := int(p.TCP.Window)
	if p.TCPFlags&capture.FlagSYN == 0 && s.shift[0] >= 0 && s.shift[1] >= 0 {
		win <<= s.shift[me]
	}
	fmt.Fprintf(&b, " Win=%d", win)
	if p.TCPFlags&capture.FlagURG != 0 {
		fmt.Fprintf(&b, " Urg=%d", p.TCP.Urgent)
	}
	fmt.Fprintf(&b, " Len=%d", p.PayloadLen)
	for _, o := range p.TCP.Options {
		switch o.OptionType {
		case layers.TCPOptionKindMSS:
			if len(o.OptionData) == 2 {
				fmt.Fprintf(&b, " MSS=%d", binary.BigEndian.Uint16(o.OptionData))
			}
		case layers.TCPOptionKindSACKPermitted:
			b.WriteString(" SACK_PERM")
		case layers.TCPOptionKindTimestamps:
			if len(o.OptionData) == 8 {
				fmt.Fprintf(&b, " TSval=%d TSecr=%d", binary.BigEndian.Uint32(o.OptionData), binary.BigEndian.Uint32(o.OptionData[4:]))
			}
		case layers.TCPOptionKindWindowScale:
			if len(o.OptionData) == 1 {
				fmt.Fprintf(&b, " WS=%d", 1<<min(o.OptionData[0], 14))
			}
		}
	}
	return b.String()
}

func arpInfo(a *layers.ARP) string {
	ip := func(b []byte) string {
		if len(b) == 4 || len(b) == 16 {
			return net.IP(b).String()
		}
		return fmt.Sprintf("%x", b)
	}
	switch a.Operation {
	case layers.ARPRequest:
		return fmt.Sprintf("Who has %s? Tell %s", ip(a.DstProtAddress), ip(a.SourceProtAddress))
	case layers.ARPReply:
		return fmt.Sprintf("%s is at %s", ip(a.SourceProtAddress), net.HardwareAddr(a.SourceHwAddress))
	}
	return fmt.Sprintf("ARP opcode %d", a.Operation)
}

var dnsRCodes = map[layers.DNSResponseCode]string{
	layers.DNSResponseCodeFormErr:  "Format error",
	layers.DNSResponseCodeServFail: "Server failure",
	layers.DNSResponseCodeNXDomain: "No such name",
	layers.DNSResponseCodeNotImp:   "Not implemented",
	layers.DNSResponseCodeRefused:  "Refused",
}

func dnsInfo(m *layers.DNS) string {
	var b strings.Builder
	b.WriteString("Standard query")
	if m.OpCode != layers.DNSOpCodeQuery {
		b.Reset()
		b.WriteString(m.OpCode.String())
	}
	if m.QR {
		b.WriteString(" response")
	}
	fmt.Fprintf(&b, " 0x%04x", m.ID)
	if m.QR && m.ResponseCode != layers.DNSResponseCodeNoErr {
		if s, ok := dnsRCodes[m.ResponseCode]; ok {
			b.WriteString(" " + s)
		} else {
			fmt.Fprintf(&b, " rcode %d", m.ResponseCode)
		}
	}
	for i, q := range m.Questions {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		fmt.Fprintf(&b, " %s %s", q.Type, textsafe.Escape(string(q.Name), nameMax))
	}
	// Then every record, answers, authority and additional alike, as
	// tshark lists them; the EDNS pseudo-record is just OPT.
	n := 0
	for _, sec := range [][]layers.DNSResourceRecord{m.Answers, m.Authorities, m.Additionals} {
		for _, a := range sec {
			if n++; n > 16 {
				b.WriteString(" ...")
				return b.String()
			}
			if a.Type == layers.DNSTypeOPT {
				b.WriteString(" OPT")
				continue
			}
			b.WriteString(" " + a.Type.String())
			if d := infoData(a); d != "" {
				b.WriteString(" " + d)
			}
		}
	}
	return b.String()
}

// infoData is what tshark's info column adds after a record's type: no
// text for TXT, the owner name for NULL, RecordData otherwise.
func infoData(a layers.DNSResourceRecord) string {
	switch a.Type {
	case layers.DNSTypeTXT:
		return ""
	case layers.DNSTypeNULL:
		return textsafe.Escape(string(a.Name), nameMax)
	}
	return RecordData(a)
}

// RecordData is a resource record's data as tshark's info column shows it,
// escaped: an address, a name, or the mail exchanger with its preference.
func RecordData(a layers.DNSResourceRecord) string {
	switch a.Type {
	case layers.DNSTypeA, layers.DNSTypeAAAA:
		if a.IP != nil {
			return a.IP.String()
		}
	case layers.DNSTypeCNAME:
		return textsafe.Escape(string(a.CNAME), nameMax)
	case layers.DNSTypePTR:
		return textsafe.Escape(string(a.PTR), nameMax)
	case layers.DNSTypeNS:
		return textsafe.Escape(string(a.NS), nameMax)
	case layers.DNSTypeMX:
		return fmt.Sprintf("%d %s", a.MX.Preference, textsafe.Escape(string(a.MX.Name), nameMax))
	case layers.DNSTypeTXT:
		parts := make([]string, 0, len(a.TXTs))
		for _, t := range a.TXTs {
			parts = append(parts, textsafe.Escape(string(t), nameMax))
		}
		return strings.Join(parts, " ")
	case layers.DNSTypeSOA:
		return textsafe.Escape(string(a.SOA.MName), nameMax)
	}
	return ""
}

var icmp4Types = map[uint8]string{
	0: "Echo (ping) reply", 3: "Destination unreachable", 4: "Source quench", 5: "Redirect",
	8: "Echo (ping) request", 9: "Router advertisement", 10: "Router solicitation",
	11: "Time-to-live exceeded", 12: "Parameter problem", 13: "Timestamp request", 14: "Timestamp reply",
}

var icmp4Unreach = map[uint8]string{
	0: "Network unreachable", 1: "Host unreachable", 2: "Protocol unreachable", 3: "Port unreachable",
	4: "Fragmentation needed", 9: "Network administratively prohibited", 10: "Host administratively prohibited",
	13: "Communication administratively filtered",
}

func icmp4Info(t, code uint8) string {
	name, ok := icmp4Types[t]
	if !ok {
		return fmt.Sprintf("Type %d, code %d", t, code)
	}
	if t == 3 {
		if c, ok := icmp4Unreach[code]; ok {
			return name + " (" + c + ")"
		}
	}
	return name
}

var icmp6Types = map[uint8]string{
	1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded", 4: "Parameter Problem",
	128: "Echo (ping) request", 129: "Echo (ping) reply", 133: "Router Solicitation",
	134: "Router Advertisement", 135: "Neighbor Solicitation", 136: "Neighbor Advertisement", 143: "Multicast Listener Report Message v2",
}

func icmp6Info(t, code uint8) string {
	if name, ok := icmp6Types[t]; ok {
		return name
	}
	return fmt.Sprintf("Type %d, code %d", t, code)
}

// fragmentInfo describes an IPv4 fragment as tshark does, with its offset
// and ID read again from the frame (the decoded view keeps neither).
func fragmentInfo(p *capture.Packet) string {
	info := fmt.Sprintf("Fragmented IP protocol (proto=%s %d", p.Proto, uint8(p.Proto))
	pkt := gopacket.NewPacket(p.Data, p.LinkType, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		info += fmt.Sprintf(", off=%d, ID=%04x", int(ip.FragOffset)*8, ip.Id)
	}
	return info + ")"
}

// fragment6Info describes an IPv6 fragment as tshark does.
func fragment6Info(p *capture.Packet) string {
	pkt := gopacket.NewPacket(p.Data, p.LinkType, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	f, ok := pkt.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
	if !ok {
		return fmt.Sprintf("IPv6 fragment (nxt=%d)", uint8(p.Proto))
	}
	more := "n"
	if f.MoreFragments {
		more = "y"
	}
	return fmt.Sprintf("IPv6 fragment (off=%d more=%s ident=0x%08x nxt=%d)", int(f.FragmentOffset)*8, more, f.Identification, uint8(f.NextHeader))
}

// httpInfo is an HTTP message's first line, as tshark's info column shows
// a request or a response.
func httpInfo(pl []byte) string {
	line := pl
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	return textsafe.Escape(string(line[:min(len(line), 4*nameMax)]), nameMax) + " "
}
