package inspect

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
)

// Connection is one TCP or UDP conversation (one address and port pair),
// as tshark -z conv,tcp counts it: A is the side that opened it (or sent
// first), B the other.
type Connection struct {
	Proto       string    `json:"proto"`
	A           string    `json:"a"`
	B           string    `json:"b"`
	PacketsAToB uint64    `json:"packets_a_to_b"`
	PacketsBToA uint64    `json:"packets_b_to_a"`
	BytesAToB   uint64    `json:"bytes_a_to_b"`
	BytesBToA   uint64    `json:"bytes_b_to_a"`
	Packets     uint64    `json:"packets"`
	Bytes       uint64    `json:"bytes"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
}

// Connections lists the capture's TCP (proto 6) or UDP (17) conversations,
// most bytes first, from the flows the analysis pass kept.
func Connections(flows []*capture.Flow, proto uint8) []Connection {
	var out []Connection
	for _, f := range flows {
		if f.Proto != proto {
			continue
		}
		out = append(out, Connection{
			Proto: protoName(proto), A: f.Client.String(), B: f.Server.String(),
			PacketsAToB: f.Packets[0], PacketsBToA: f.Packets[1], BytesAToB: f.Bytes[0], BytesBToA: f.Bytes[1],
			Packets: f.Packets[0] + f.Packets[1], Bytes: f.Bytes[0] + f.Bytes[1], First: f.First, Last: f.Last,
		})
	}
	slices.SortStableFunc(out, func(x, y Connection) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(y.Packets, x.Packets))
	})
	return out
}

func protoName(p uint8) string {
	if p == 6 {
		return "tcp"
	}
	return "udp"
}

// Endpoint is one address, or address and port, with its traffic, as
// tshark -z endpoints counts it: Tx is what it sent, Rx what it received.
type Endpoint struct {
	Address   string `json:"address"`
	Port      uint16 `json:"port,omitempty"`
	Proto     string `json:"proto"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
}

// TransportEndpoints lists the TCP (6) or UDP (17) endpoints (address and
// port) of the flows, most bytes first.
func TransportEndpoints(flows []*capture.Flow, proto uint8) []Endpoint {
	m := map[netip.AddrPort]*Endpoint{}
	add := func(ap netip.AddrPort, txp, txb, rxp, rxb uint64) {
		e := m[ap]
		if e == nil {
			e = &Endpoint{Address: ap.Addr().String(), Port: ap.Port(), Proto: protoName(proto)}
			m[ap] = e
		}
		e.TxPackets += txp
		e.TxBytes += txb
		e.RxPackets += rxp
		e.RxBytes += rxb
		e.Packets += txp + rxp
		e.Bytes += txb + rxb
	}
	for _, f := range flows {
		if f.Proto != proto {
			continue
		}
		add(f.Client, f.Packets[0], f.Bytes[0], f.Packets[1], f.Bytes[1])
		add(f.Server, f.Packets[1], f.Bytes[1], f.Packets[0], f.Bytes[0])
	}
	out := make([]Endpoint, 0, len(m))
	for _, e := range m {
		out = append(out, *e)
	}
	sortEndpoints(out)
	return out
}

// IPEndpoints lists the addresses of the capture with their traffic, from
// the analysis' talkers, most bytes first.
func IPEndpoints(talkers []detectors.Talker) []Endpoint {
	out := make([]Endpoint, 0, len(talkers))
	for _, t := range talkers {
		out = append(out, Endpoint{Address: t.IP, Proto: "ip", Packets: t.Packets, Bytes: t.Bytes,
			TxPackets: t.PacketsSent, TxBytes: t.BytesSent, RxPackets: t.PacketsReceived, RxBytes: t.BytesReceived})
	}
	sortEndpoints(out)
	return out
}

func sortEndpoints(s []Endpoint) {
	slices.SortStableFunc(s, func(x, y Endpoint) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(y.Packets, x.Packets), cmp.Compare(x.Address, y.Address), cmp.Compare(x.Port, y.Port))
	})
}
