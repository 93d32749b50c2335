package capture

import (
	"net/netip"
	"time"
)

// Flow is one TCP or UDP connection (one 5-tuple) with its counters per
// direction. Index 0 of each pair is client to server, 1 server to client.
type Flow struct {
	Proto  uint8 // 6 TCP, 17 UDP
	Client netip.AddrPort
	Server netip.AddrPort
	// ClientKnown is true when a SYN (or SYN-ACK) said who opened the
	// connection; otherwise the client is a guess from the ports.
	ClientKnown bool
	First, Last time.Time
	Packets     [2]uint64
	Bytes       [2]uint64 // frame bytes on the wire
	Payload     [2]uint64 // TCP or UDP payload bytes (from the IP lengths, so snaplen does not hide them)
	// Flags ORs together the TCP flags seen in each direction.
	Flags [2]uint8
	// SYNs counts SYN packets without ACK from the client (connection attempts, retransmissions included).
	SYNs uint32
	// Fragmented counts, per direction, the packets that arrived as IP
	// fragments and were reassembled.
	Fragmented [2]uint32
	// ClientMAC is the link-layer source of the client's first packet,
	// valid when HasClientMAC: the sender a decoy scan cannot vary.
	ClientMAC    MAC
	HasClientMAC bool
	// ClientMACVaries is true when a later client packet came from another
	// link-layer address: a decoy's own host answering for its address.
	ClientMACVaries bool
	// ServerFirst is true when the first packet seen went from the server
	// to the client: the capture began mid-conversation, or the guess from
	// the ports (no SYN told) was wrong.
	ServerFirst bool
}

// Answered reports whether the server side sent anything back.
func (f *Flow) Answered() bool { return f.Packets[1] > 0 }

// Refused reports whether the server answered only with a reset.
func (f *Flow) Refused() bool {
	return f.Flags[1]&FlagRST != 0 && f.Flags[1]&FlagSYN == 0 && f.Payload[1] == 0
}

// Established reports whether the server answered a SYN with SYN-ACK.
func (f *Flow) Established() bool { return f.Flags[1]&(FlagSYN|FlagACK) == FlagSYN|FlagACK }

type flowKey struct {
	a, b   netip.Addr
	pa, pb uint16
	proto  uint8
}

// flowTable holds the connections of a capture, at most max at once
// (limits.go evicts the rest). It grows with the number of flows, never
// with the number of packets.
type flowTable struct {
	m       map[flowKey]*Flow
	order   []*Flow // in order of first packet, for stable output
	max     int
	onEvict func(*Flow)
	stats   FlowStats
}

func newFlowTable(max int) *flowTable {
	return &flowTable{m: make(map[flowKey]*Flow, 1024), max: max, stats: FlowStats{Limit: max}}
}

// lookup finds or creates the flow of p and sets p.Flow and p.FromClient.
// It reports whether the flow is new.
func (t *flowTable) lookup(p *Packet) bool {
	k := flowKey{a: p.Src, b: p.Dst, pa: p.SrcPort, pb: p.DstPort, proto: uint8(p.Proto)}
	if c := p.Src.Compare(p.Dst); c > 0 || (c == 0 && p.SrcPort > p.DstPort) {
		k.a, k.b, k.pa, k.pb = p.Dst, p.Src, p.DstPort, p.SrcPort
	}
	f, ok := t.m[k]
	isNew := !ok
	if !ok {
		if len(t.m) >= t.max {
			t.evict(max(1, t.max/8))
		}
		t.stats.Total++
		f = &Flow{Proto: uint8(p.Proto), First: p.Time}
		src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
		if srcIsClient(p) {
			f.Client, f.Server = src, dst
		} else {
			f.Client, f.Server = dst, src
			f.ServerFirst = true
		}
		f.ClientKnown = p.Layers&LayerTCP != 0 && p.TCPFlags&FlagSYN != 0
		t.m[k] = f
		t.order = append(t.order, f)
	} else if !f.ClientKnown && p.Layers&LayerTCP != 0 && p.TCPFlags&FlagSYN != 0 {
		// The first packets we saw were mid-connection; a handshake now
		// says who the client is.
		client := netip.AddrPortFrom(p.Src, p.SrcPort)
		if p.TCPFlags&FlagACK != 0 {
			client = netip.AddrPortFrom(p.Dst, p.DstPort)
		}
		if client != f.Client {
			f.flip()
			f.HasClientMAC, f.ClientMACVaries = false, false // it was the other side's
		}
		f.ClientKnown = true
	}
	p.Flow = f
	p.FromClient = p.Src == f.Client.Addr() && p.SrcPort == f.Client.Port()
	if f.Client == f.Server { // a host talking to itself on one port
		p.FromClient = true
	}
	return isNew
}

// srcIsClient guesses, from the first packet of a flow, whether its sender
// opened the connection.
func srcIsClient(p *Packet) bool {
	if p.Layers&LayerTCP != 0 && p.TCPFlags&FlagSYN != 0 {
		return p.TCPFlags&FlagACK == 0
	}
	sp, dp := p.SrcPort, p.DstPort
	switch {
	case isServicePort(sp) && !isServicePort(dp):
		return false
	case isServicePort(dp) && !isServicePort(sp):
		return true
	case sp < 1024 && dp >= 1024:
		return false
	case dp < 1024 && sp >= 1024:
		return true
	}
	return true
}

// isServicePort names ports that are servers' even above 1024, so a
// capture that starts mid-connection still gets the direction right.
func isServicePort(p uint16) bool {
	switch p {
	case 53, 67, 80, 88, 123, 137, 389, 443, 445, 1433, 1521, 1883, 2049, 2525, 3128, 3306, 3389, 5060, 5353, 5355, 5432, 5900, 6379, 8000, 8008, 8080, 8443, 8888, 9200, 27017:
		return true
	}
	return false
}

// ClientByPorts reports whether the side on port a is the likelier client of
// a connection between ports a and b, by the port heuristic the flow table
// uses when no handshake tells.
func ClientByPorts(a, b uint16) bool { return srcIsClient(&Packet{SrcPort: a, DstPort: b}) }
