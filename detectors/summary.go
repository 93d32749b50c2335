package detectors

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/gopacket/gopacket/layers"
)

// Summary is the triage view of a whole capture.
type Summary struct {
	TotalPackets  int   `json:"total_packets"`
	TotalBytes    int64 `json:"total_bytes"`
	CapturedBytes int64 `json:"captured_bytes"`
	UniqueIPs     int   `json:"unique_ips"`
	// UniqueIPsEstimated is true when UniqueIPs is an estimate (within
	// about 1%): the summary's bounds (Limits.MaxHosts) folded some
	// conversations into per-address totals.
	UniqueIPsEstimated bool       `json:"unique_ips_estimated,omitempty"`
	Start              *time.Time `json:"start"`
	End                *time.Time `json:"end"`
	DurationSeconds    float64    `json:"duration_seconds"`
	LinkTypes          []string   `json:"link_types"`
	Interfaces         int        `json:"interfaces"`
	IPv4Packets        int64      `json:"ipv4_packets"`
	IPv6Packets        int64      `json:"ipv6_packets"`
	// Flows counts every TCP and UDP flow the pass opened, the ones the
	// bounded flow table evicted included.
	Flows int `json:"flows"`
	// Protocols counts packets by every layer they carry (a DNS packet
	// counts under ipv4, udp and dns).
	Protocols        map[string]int64 `json:"protocols"`
	TopTalkers       []Talker         `json:"top_talkers"`
	TopPorts         []PortCount      `json:"top_ports"`
	TopConversations []Conversation   `json:"top_conversations"`
	DNSNames         []NameCount      `json:"dns_names"`
	// DNSNamesDistinct counts every distinct name queried, beyond the list.
	DNSNamesDistinct int `json:"dns_names_distinct"`
}

// Talker is one address with what it sent and received.
type Talker struct {
	IP              string `json:"ip"`
	Packets         uint64 `json:"packets"`
	Bytes           uint64 `json:"bytes"`
	PacketsSent     uint64 `json:"packets_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	BytesSent       uint64 `json:"bytes_sent"`
	BytesReceived   uint64 `json:"bytes_received"`
}

// PortCount is one server port (the port of a connection's responder).
type PortCount struct {
	Port    uint16 `json:"port"`
	Proto   string `json:"proto"`
	Flows   uint64 `json:"flows"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Conversation is the traffic between two addresses, both directions. A is
// the address that sent first.
type Conversation struct {
	A           string    `json:"a"`
	B           string    `json:"b"`
	PacketsAToB uint64    `json:"packets_a_to_b"`
	PacketsBToA uint64    `json:"packets_b_to_a"`
	BytesAToB   uint64    `json:"bytes_a_to_b"`
	BytesBToA   uint64    `json:"bytes_b_to_a"`
	Packets     uint64    `json:"packets"`
	Bytes       uint64    `json:"bytes"`
	Flows       int       `json:"flows"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
}

// NameCount is a DNS name and how many queries asked for it.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// maxDNSNames bounds the distinct names the summary keeps, so a tunnel of
// millions of unique names cannot exhaust memory.
const maxDNSNames = 100_000

var layerNames = [...]string{"ethernet", "vlan", "linux_sll", "loopback", "arp", "ipv4", "ipv6", "ip_fragment", "tcp", "udp", "icmp", "icmpv6", "dns", "http", "tls", "ssh", "other_ip", "non_ip", "malformed"}

type pairKey struct{ a, b netip.Addr }

// summaryAnalyzer counts per packet what the flow table does not already
// hold; the rest of the summary is built from the flows when the pass ends.
type summaryAnalyzer struct {
	layers     [len(layerNames)]int64
	ipv4, ipv6 int64
	pairs      map[pairKey]*convAcc // IP packets outside TCP/UDP flows
	dnsNames   map[string]int64
	dnsOver    int64
	bounds     *summaryBounds // evicted flows, and what the bounds folded
}

func newSummaryAnalyzer(lim Limits, hash sampleHash) *summaryAnalyzer {
	return &summaryAnalyzer{pairs: make(map[pairKey]*convAcc), dnsNames: make(map[string]int64), bounds: newSummaryBounds(lim.MaxHosts, hash)}
}

// FlowEvicted counts a flow the flow table let go.
func (s *summaryAnalyzer) FlowEvicted(f *capture.Flow) { s.bounds.flow(f) }

func (s *summaryAnalyzer) Packet(p *capture.Packet) {
	for l := uint32(p.Layers); l != 0; l &= l - 1 {
		s.layers[bits.TrailingZeros32(l)]++
	}
	if !p.HasIP() {
		return
	}
	if p.Layers&capture.LayerIPv4 != 0 {
		s.ipv4++
	} else {
		s.ipv6++
	}
	if p.Flow == nil {
		k, d := pairKey{p.Src, p.Dst}, 0
		if p.Dst.Less(p.Src) {
			k, d = pairKey{p.Dst, p.Src}, 1
		}
		ps := s.pairs[k]
		isNew := ps == nil
		if isNew {
			ps = &convAcc{first: p.Src, start: p.Time}
			s.pairs[k] = ps
		} else {
			ps.sentAt(p.Src, p.Time)
		}
		ps.packets[d]++
		ps.bytes[d] += uint64(p.Length)
		ps.last = maxTime(ps.last, p.Time)
		if isNew && len(s.pairs) > s.bounds.maxHosts {
			s.pairs = s.bounds.foldConvs(s.pairs)
		}
	}
	if p.DNS != nil && !p.DNS.QR {
		for _, q := range p.DNS.Questions {
			if n, ok := s.dnsNames[string(q.Name)]; ok {
				s.dnsNames[string(q.Name)] = n + 1
			} else if len(s.dnsNames) < maxDNSNames {
				// ASCII case only (RFC 4343): strings.ToLower would turn
				// bytes that are not UTF-8 into U+FFFD and lose them.
				s.dnsNames[string(appendLower(nil, q.Name))]++
			} else {
				s.dnsOver++
			}
		}
	}
}

// conversations merges flows and the other IP packets into address pairs,
// largest first.
func (s *summaryAnalyzer) conversations(c *capture.Capture) []Conversation {
	m := make(map[pairKey]*convAcc, len(s.pairs)+len(s.bounds.convs))
	add := func(from, to netip.Addr, pk, by uint64, start, last time.Time, flows int) {
		addConv(m, from, to, pk, by, start, last, flows)
	}
	for k, a := range s.bounds.convs {
		cp := *a
		m[k] = &cp
	}
	for _, f := range c.Flows() {
		addFlowConv(m, f)
		if len(m) > s.bounds.maxHosts {
			m = s.bounds.foldConvs(m)
		}
	}
	for k, ps := range s.pairs {
		from, to := k.a, k.b
		if ps.first != from {
			from, to = to, from
		}
		d := 0
		if from != k.a {
			d = 1
		}
		add(from, to, ps.packets[d], ps.bytes[d], ps.start, ps.last, 0)
		add(to, from, ps.packets[1-d], ps.bytes[1-d], ps.last, ps.last, 0)
	}
	out := make([]Conversation, 0, len(m))
	for k, a := range m {
		cv := Conversation{Flows: a.flows, First: a.start, Last: a.last}
		i, j := 0, 1
		if a.first != k.a {
			i, j = 1, 0
			cv.A, cv.B = k.b.String(), k.a.String()
		} else {
			cv.A, cv.B = k.a.String(), k.b.String()
		}
		cv.PacketsAToB, cv.BytesAToB = a.packets[i], a.bytes[i]
		cv.PacketsBToA, cv.BytesBToA = a.packets[j], a.bytes[j]
		cv.Packets = cv.PacketsAToB + cv.PacketsBToA
		cv.Bytes = cv.BytesAToB + cv.BytesBToA
		out = append(out, cv)
	}
	slices.SortFunc(out, func(x, y Conversation) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B))
	})
	return out
}

// talkers sums, per address, what its conversations sent and received,
// and what the summary's bounds folded into per-address totals (folded).
func talkers(convs []Conversation, folded map[netip.Addr]*hostAcc) []Talker {
	m := make(map[string]*Talker)
	self := make(map[string][2]uint64) // packets and bytes a host sent itself
	get := func(ip string) *Talker {
		t := m[ip]
		if t == nil {
			t = &Talker{IP: ip}
			m[ip] = t
		}
		return t
	}
	for _, c := range convs {
		a, b := get(c.A), get(c.B)
		a.PacketsSent += c.PacketsAToB
		a.BytesSent += c.BytesAToB
		b.PacketsReceived += c.PacketsAToB
		b.BytesReceived += c.BytesAToB
		b.PacketsSent += c.PacketsBToA
		b.BytesSent += c.BytesBToA
		a.PacketsReceived += c.PacketsBToA
		a.BytesReceived += c.BytesBToA
		if c.A == c.B {
			self[c.A] = [2]uint64{c.Packets, c.Bytes}
		}
	}
	for a, h := range folded {
		t := get(a.String())
		t.PacketsSent += h.packets[0]
		t.BytesSent += h.bytes[0]
		t.PacketsReceived += h.packets[1]
		t.BytesReceived += h.bytes[1]
	}
	out := make([]Talker, 0, len(m))
	for _, t := range m {
		// A packet a host sends itself is one packet, not two.
		t.Packets = t.PacketsSent + t.PacketsReceived - self[t.IP][0]
		t.Bytes = t.BytesSent + t.BytesReceived - self[t.IP][1]
		out = append(out, *t)
	}
	slices.SortFunc(out, func(x, y Talker) int {
		return cmp.Or(cmp.Compare(y.Packets, x.Packets), cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.IP, y.IP))
	})
	return out
}

// ports sums flows by the responder's port: those of the flow table and
// the evicted ones (evicted).
func ports(c *capture.Capture, evicted map[portKey]*PortCount) []PortCount {
	m := make(map[portKey]*PortCount, len(evicted))
	for k, pc := range evicted {
		cp := *pc
		m[k] = &cp
	}
	for _, f := range c.Flows() {
		addPort(m, f)
	}
	out := make([]PortCount, 0, len(m))
	for _, pc := range m {
		out = append(out, *pc)
	}
	slices.SortFunc(out, func(x, y PortCount) int {
		return cmp.Or(cmp.Compare(y.Flows, x.Flows), cmp.Compare(y.Packets, x.Packets), cmp.Compare(x.Port, y.Port), cmp.Compare(x.Proto, y.Proto))
	})
	return out
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return layers.IPProtocol(p).String()
}

// summary builds the Summary once the pass is over; convs is every
// conversation, largest first.
func (s *summaryAnalyzer) summary(c *capture.Capture, convs []Conversation, topN int) Summary {
	sum := Summary{
		TotalPackets:  c.Packets,
		TotalBytes:    c.Bytes,
		CapturedBytes: c.Captured,
		Interfaces:    c.Interfaces,
		IPv4Packets:   s.ipv4,
		IPv6Packets:   s.ipv6,
		Flows:         c.FlowStats().Total,
		Protocols:     make(map[string]int64),
		LinkTypes:     make([]string, 0, len(c.LinkTypes)),
	}
	if !c.Start.IsZero() {
		start, end := c.Start, c.End
		sum.Start, sum.End = &start, &end
		sum.DurationSeconds = end.Sub(start).Seconds()
	}
	for _, lt := range c.LinkTypes {
		sum.LinkTypes = append(sum.LinkTypes, LinkTypeName(lt))
	}
	for i, n := range s.layers {
		if n > 0 {
			sum.Protocols[layerNames[i]] = n
		}
	}
	sum.UniqueIPs = s.uniqueIPs(convs)
	sum.UniqueIPsEstimated = s.bounds.folded()
	sum.TopTalkers = head(talkers(convs, s.bounds.hosts), topN)
	sum.TopPorts = head(ports(c, s.bounds.ports), topN)
	sum.TopConversations = head(convs, topN)
	names := make([]NameCount, 0, len(s.dnsNames))
	for n, k := range s.dnsNames {
		names = append(names, NameCount{Name: n, Count: k})
	}
	slices.SortFunc(names, func(x, y NameCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Name, y.Name))
	})
	sum.DNSNamesDistinct = len(names)
	sum.DNSNames = head(names, max(topN, 20))
	return sum
}

// uniqueIPs counts the addresses of convs, exactly unless the bounds
// folded some away: then the sketch that saw every folded address
// estimates.
func (s *summaryAnalyzer) uniqueIPs(convs []Conversation) int {
	if !s.bounds.folded() {
		ips := make(map[string]struct{})
		for _, cv := range convs {
			ips[cv.A] = struct{}{}
			ips[cv.B] = struct{}{}
		}
		return len(ips)
	}
	for _, cv := range convs {
		for _, ip := range [2]string{cv.A, cv.B} {
			if a, err := netip.ParseAddr(ip); err == nil {
				s.bounds.sawAddr(a)
			}
		}
	}
	return int(s.bounds.ips.estimate())
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		s = s[:n]
	}
	if s == nil {
		s = []T{}
	}
	return s
}

// LinkTypeName names a link type the way capinfos and tshark do.
func LinkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeEthernet:
		return "ether"
	case layers.LinkTypeLinuxSLL:
		return "linux-sll"
	case layers.LinkTypeLinuxSLL2:
		return "linux-sll2"
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		return "rawip"
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return "null"
	case 253:
		return "netlink"
	case layers.LinkTypeIEEE802_11:
		return "ieee-802-11"
	case layers.LinkTypeIEEE80211Radio:
		return "ieee-802-11-radiotap"
	}
	return "linktype-" + strconv.Itoa(int(lt))
}
