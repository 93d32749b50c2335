package logs

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
)

// ConnSchema is conn.log: one record per TCP or UDP connection (one
// 5-tuple over the capture), in order of first packet.
//
//   - ts, duration: the first packet's time and the time to the last;
//     duration, orig_bytes and resp_bytes are unset for a connection of
//     one instant, as Zeek leaves them.
//   - service: the protocols recognised in the payloads (dns, http, ssh,
//     ssl), comma-separated; unset when none was.
//   - orig_bytes, resp_bytes: for TCP the span of sequence numbers each
//     side sent (retransmissions count once, segments the capture missed
//     count), for UDP the payload bytes.
//   - conn_state: Zeek's (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0,
//     RSTRH, SH, SHR, OTH), from each endpoint's state as Zeek's TCP
//     analyser moves it on the flags of every segment; UDP: SF both sides
//     sent, S0 only the originator, SHR only the responder.
//   - orig_pkts, resp_pkts, orig_ip_bytes, resp_ip_bytes: packets and the
//     sum of their IP total lengths per side (a reassembled fragmented
//     datagram counts once, whole).
//
// Zeek's history and missed_bytes are left out: the pass does not keep
// what they need. The originator is the side that sent the SYN; without
// one, the side the ports say is the client.
var ConnSchema = Schema{Path: "conn", Fields: withID(
	Field{"proto", "enum"}, Field{"service", "string"}, Field{"duration", "interval"},
	Field{"orig_bytes", "count"}, Field{"resp_bytes", "count"}, Field{"conn_state", "string"},
	Field{"orig_pkts", "count"}, Field{"orig_ip_bytes", "count"},
	Field{"resp_pkts", "count"}, Field{"resp_ip_bytes", "count"},
)}

// connExtra is what conn.log needs of a connection beyond capture.Flow.
// Index 0 is the side that was the originator when the first packet came
// (origAt); the capture may learn otherwise later, and the record swaps.
type connExtra struct {
	origAt   netip.AddrPort
	tcp      tcpEndpoints
	span     [2]seqSpan
	ipBytes  [2]uint64
	services capture.LayerSet
}

// connAnalyzer keeps a connExtra per connection: memory grows with the
// connections, as the capture's own flow table does.
type connAnalyzer struct {
	m map[*capture.Flow]*connExtra
}

const serviceLayers = capture.LayerDNS | capture.LayerHTTP | capture.LayerTLS | capture.LayerSSH

func (a *connAnalyzer) Packet(p *capture.Packet) {
	f := p.Flow
	if f == nil {
		return
	}
	x := a.m[f]
	if x == nil {
		x = &connExtra{origAt: f.Client}
		a.m[f] = x
	}
	d := 1
	if netip.AddrPortFrom(p.Src, p.SrcPort) == x.origAt {
		d = 0
	}
	x.ipBytes[d] += uint64(p.IPLength)
	x.services |= p.Layers & serviceLayers
	if p.Layers&capture.LayerTCP != 0 {
		x.tcp.packet(d == 0, p.TCPFlags, p.PayloadLen)
		if p.TCPFlags&capture.FlagRST == 0 {
			x.span[d].segment(p.TCPSeq, p.TCPFlags&capture.FlagSYN != 0, p.PayloadLen)
		}
	}
}

func writeConn(ctx context.Context, path string, w *Writer) ([]string, error) {
	a := &connAnalyzer{m: map[*capture.Flow]*connExtra{}}
	c, err := capture.Scan(ctx, path, a)
	if c == nil || ctx.Err() != nil {
		return nil, err
	}
	for _, f := range c.Flows() {
		if werr := w.Write(connRecord(f, a.m[f])); werr != nil {
			return c.Warnings, werr
		}
	}
	return c.Warnings, err
}

// connRecord is one connection's conn.log values.
func connRecord(f *capture.Flow, x *connExtra) Values {
	if x == nil {
		x = &connExtra{origAt: f.Client}
	}
	tcp, span, ipBytes := x.tcp, x.span, x.ipBytes
	if x.origAt != f.Client {
		tcp.swap()
		span[0], span[1] = span[1], span[0]
		ipBytes[0], ipBytes[1] = ipBytes[1], ipBytes[0]
	}
	var orig, resp uint64
	var state string
	if f.Proto == 6 {
		orig, resp = span[0].size, span[1].size
		state = tcp.connState(orig, resp)
	} else {
		orig, resp = f.Payload[0], f.Payload[1]
		state = udpConnState(f.Packets[0], f.Packets[1])
	}
	var duration, origBytes, respBytes any
	if d := f.Last.Sub(f.First); d > 0 {
		duration, origBytes, respBytes = d, orig, resp
	}
	return Values{
		f.First, UID(f), f.Client.Addr(), f.Client.Port(), f.Server.Addr(), f.Server.Port(),
		protoName(f.Proto), services(x.services), duration, origBytes, respBytes, state,
		f.Packets[0], ipBytes[0], f.Packets[1], ipBytes[1],
	}
}

// services names the protocols recognised in a connection, as Zeek's
// service field does (comma-separated, ssl for TLS); nil when none.
func services(l capture.LayerSet) any {
	var s []string
	for _, n := range []struct {
		l    capture.LayerSet
		name string
	}{{capture.LayerDNS, "dns"}, {capture.LayerHTTP, "http"}, {capture.LayerSSH, "ssh"}, {capture.LayerTLS, "ssl"}} {
		if l&n.l != 0 {
			s = append(s, n.name)
		}
	}
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}
