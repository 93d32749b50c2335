package detectors

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Port scans and sweeps.
//
// A probe is a connection attempt that carries no data: the scanner wants
// only to learn whether something answers. The detector therefore judges
// the connections the engine already keeps (Capture.Flows) after the pass,
// not packets: a flow whose initiator sent no payload is a probe, a flow
// that carried data is an application talking, whatever it looks like (a
// browser opening many servers, FTP passive data connections). This costs
// nothing on the packet path. Only what flows cannot tell is read per
// packet, and only from the packets concerned: ICMP echo requests and
// replies (ping sweeps), ARP requests and replies (ARP sweeps, and the
// addresses each MAC claims, for decoy scans), ICMP port-unreachable
// messages (closed UDP ports), ICMP time-exceeded messages (traceroute,
// whose UDP probes are not a scan) and the first payload of each side of
// a TCP connection (service probes, portscan_service.go: which side was
// the client is read from the flow after the pass).
//
// The engine reassembles IP fragments first (defrag.go), so a scan sent
// in fragments (nmap -f) is judged like any other; its technique gets the
// suffix "_fragmented". The side that sent a SYN is the client whatever
// its port (nmap -g 53), and a UDP probe's sender is the side that spoke
// first. Nothing is judged per time window: a scan spread over minutes or
// hours counts every port it probed.
//
// Probe kinds (families), from the flags the prober's side of a flow ORed
// together:
//
//   - syn: the initiator sent SYN without ACK and no payload. If any such
//     probe of a (source, target) pair completed the handshake (the source
//     ACKed the SYN-ACK and then closed without sending data) the family is
//     reported as "connect" (nmap -sT), else "syn" (half-open, nmap -sS):
//     the closed ports of a connect scan look exactly like SYN probes, so
//     the two are one family and the technique says which tool behaviour
//     the open ports showed.
//   - fin, null, xmas: exactly FIN, no flag, FIN+PSH+URG, never with SYN,
//     ACK or RST. Real TCP stacks never send these.
//   - udp: a UDP flow whose initiator sent at most udpProbeMaxPackets
//     datagrams and got at most udpProbeMaxReplies small datagrams back.
//   - ack: at most ackProbeMaxPackets bare ACKs with no data and no
//     handshake, answered by a reset or nothing (nmap -sA and -sW, which
//     send the same packets: the window scan differs only in how nmap
//     reads the resets). Mostly unanswered, it is at most medium.
//
// Findings, one per (source, target, family) for vertical scans:
//
//   - vertical: distinct destination ports >= PortScan.Threshold; severity
//     high from PortScan.HighThreshold, medium below; confidence high from
//     HighThreshold or when at least half of the probed ports went
//     unanswered or were refused (what a scan of mostly closed or filtered
//     ports looks like), medium otherwise.
//   - horizontal (technique "horizontal_<family>"): one source probing one
//     port on >= PortScan.SweepHosts hosts that did not answer or refused.
//     Answered probes do not count, so a browser opening many web servers
//     is not a sweep. One finding per (source, family) lists every port
//     swept, so a /24 sweep of many ports does not flood the report.
//   - icmp_sweep, arp_sweep: echo requests, or ARP requests, for >=
//     SweepHosts distinct addresses.
//   - os_fingerprint / crafted_flags: below the thresholds, at least
//     craftedMin packets with flag combinations no TCP stack sends (NULL,
//     FIN, Xmas, SYN with FIN, PSH or URG without ACK) from one source to
//     one target: nmap -O sends a few of these. Two or more kinds of
//     crafted probe are "os_fingerprint" (confidence high), one kind
//     "crafted_flags" (confidence medium); severity low either way.
//
//   - decoys (portscan_decoy.go): sources probing the same target's ports
//     at the same time from one MAC are one scan; the finding of the real
//     scanner names the others in Samples["decoys"].
//   - service_probe (portscan_service.go): nmap service-detection probes
//     on completed connections; medium, or low for generic probes only.
//   - fragment_overlap (portscan_frag.go): overlapping or oversized IP
//     fragments; medium when the overlapping bytes differ.
//
// Sweeps are high severity from SweepHighHosts hosts, medium below, and
// high confidence when at least half of the addresses probed never
// answered (a sweep hits empty addresses; a router ARPing for its
// neighbours gets answers), medium otherwise.

const (
	// scanSampleMax bounds every sample list of a finding.
	scanSampleMax = 20
	// craftedMin is how many crafted-flag packets from one source to one
	// target make a low-volume finding.
	craftedMin = 3
	// udpProbeMaxPackets and udpProbeMaxReplies bound what a UDP flow may
	// carry and still be a probe; udpProbeMaxReplyBytes bounds its answer.
	udpProbeMaxPackets    = 8
	udpProbeMaxReplies    = 2
	udpProbeMaxReplyBytes = 512
	// sweepMaxHosts bounds the addresses one source's ICMP or ARP sweep
	// keeps; beyond it requests are still counted.
	sweepMaxHosts = 1 << 16
	// sweepMaxSources bounds the sources of ICMP and ARP requests kept.
	sweepMaxSources = 100_000
	// tracerouteFirst and tracerouteLast are the UDP ports traceroute
	// sends to by default.
	tracerouteFirst, tracerouteLast = 33434, 33534
)

// probe families, in the order findings name them.
type scanFamily uint8

const (
	famSYN scanFamily = iota
	famFIN
	famNULL
	famXmas
	famUDP
	famACK
	famCount
)

var famNames = [famCount]string{"syn", "fin", "null", "xmas", "udp", "ack"}

// crafted kinds, for the low-volume finding.
const (
	craftNULL = 1 << iota
	craftFIN
	craftXmas
	craftOther // any other flag set without SYN/ACK/RST, or SYN with FIN/PSH/URG
)

// port states, ORed per probed port.
const (
	stProbed   uint8 = 1 << iota
	stAnswered       // something came back
	stOpen           // SYN-ACK (TCP) or a datagram (UDP)
	stRefused        // RST (TCP) or ICMP port unreachable (UDP)
	stReacted        // the prober reset or acknowledged the SYN-ACK, from the probes' MAC
)

type addrPair struct{ src, dst netip.Addr }

// portscanDetector keeps what flows cannot tell: ICMP and ARP sweeps and
// ICMP errors. Everything else is judged from Capture.Flows in Findings.
//
// Its state is what the pass accumulated, mergeable with another part's
// (merge_portscan.go); nothing in it depends on the order packets arrived
// in, so one pass and any merge of parts judge alike. The fields tagged
// partial:"-" come from the Config or are derived after the pass.
type portscanDetector struct {
	echo     sweepTable              // ICMP echo requests and replies
	arp      sweepTable              // ARP requests and replies
	unreach  map[addrPair]int64      // ICMP port unreachable whose quote did not parse, keyed (prober, target)
	refused  map[udpProbe]struct{}   // UDP probes an ICMP port unreachable quoted
	timeExc  map[netip.Addr]struct{} // sources that received ICMP time exceeded
	untraced int64                   // sweep requests past sweepMaxSources
	// arpMACs holds the addresses each link-layer address claimed in ARP:
	// the real scanner among decoys is the one its MAC speaks for.
	arpMACs map[arpBinding]struct{}
	// first holds, per TCP flow the table holds, the first payload each
	// side sent (portscan_service.go); service holds the service-detection
	// probes of the flows the table evicted, per (source, target).
	first   map[*capture.Flow]flowFirst
	service map[addrPair]*serviceProbes
	// live holds the probes of evicted flows, until the pass ends;
	// liveTrace those that may be a traceroute's (probe.traceroute), nil
	// until one is.
	live, liveTrace *scanAgg

	lim    Limits           `partial:"-"`
	once   sync.Once        `partial:"-"`
	aggFor *capture.Capture `partial:"-"`
	agg    *scanAgg         `partial:"-"`
}

// sweepTable is the echo or ARP requests of every source, and the
// replies that answered no request seen before them.
type sweepTable struct {
	sources map[netip.Addr]*sweepSource
	// replies holds, per (asker, responder), the time of the latest reply
	// that came before any request the part saw from asker for
	// responder: a request in an earlier file, or with an earlier
	// timestamp, may still have asked it (see answered).
	replies map[addrPair]time.Time
}

// sweepSource is one source's echo or ARP requests: addresses asked for,
// when each was first asked, and whether a reply followed.
type sweepSource struct {
	src         netip.Addr
	hosts       map[netip.Addr]sweepHost
	requests    int64
	capped      bool
	first, last time.Time
}

// sweepHost is one address a source asked for.
type sweepHost struct {
	asked    time.Time // the first request
	answered bool      // a reply came at or after a request
}

func newSweepTable() sweepTable {
	return sweepTable{sources: map[netip.Addr]*sweepSource{}, replies: map[addrPair]time.Time{}}
}

func newPortscanDetector(lim Limits) *portscanDetector {
	return &portscanDetector{
		lim:     lim,
		live:    newScanAgg(lim),
		echo:    newSweepTable(),
		arp:     newSweepTable(),
		unreach: map[addrPair]int64{},
		refused: map[udpProbe]struct{}{},
		timeExc: map[netip.Addr]struct{}{},
		arpMACs: map[arpBinding]struct{}{},
		first:   map[*capture.Flow]flowFirst{},
		service: map[addrPair]*serviceProbes{},
	}
}

// udpProbe is one UDP probe: prober, target and the port probed.
type udpProbe struct {
	src, dst netip.Addr
	port     uint16
}

// maxRefusedProbes bounds the quoted probes kept; past it, unreachable
// messages are only counted per pair.
const maxRefusedProbes = 1 << 20

// portUnreachable records an ICMP port unreachable: the UDP probe it
// quotes when the quote can be read, else one more refusal for the pair.
func (d *portscanDetector) portUnreachable(p *capture.Packet) {
	if pr, ok := quotedUDP(p.ICMPPayload); ok && len(d.refused) < maxRefusedProbes {
		d.refused[pr] = struct{}{}
		return
	}
	k := addrPair{p.Dst, p.Src}
	if _, ok := d.unreach[k]; ok || len(d.unreach) < maxRefusedProbes {
		// Past the bound, a flood of unreachables from spoofed
		// addresses refuses nothing more.
		d.unreach[k]++
	}
}

// quotedUDP reads the UDP packet an ICMP error quotes: its addresses and
// destination port. IPv6 quotes with extension headers are not read.
func quotedUDP(q []byte) (udpProbe, bool) {
	if len(q) == 0 {
		return udpProbe{}, false
	}
	switch q[0] >> 4 {
	case 4:
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+4 || q[9] != 17 {
			return udpProbe{}, false
		}
		return udpProbe{
			src:  netip.AddrFrom4([4]byte(q[12:16])),
			dst:  netip.AddrFrom4([4]byte(q[16:20])),
			port: binary.BigEndian.Uint16(q[ihl+2 : ihl+4]),
		}, true
	case 6:
		if len(q) < 44 || q[6] != 17 {
			return udpProbe{}, false
		}
		return udpProbe{
			src:  netip.AddrFrom16([16]byte(q[8:24])).Unmap(),
			dst:  netip.AddrFrom16([16]byte(q[24:40])).Unmap(),
			port: binary.BigEndian.Uint16(q[42:44]),
		}, true
	}
	return udpProbe{}, false
}

// Packet looks only at ICMP, ARP and the first payload of each side of a
// TCP connection; everything else of TCP and UDP is read from the flows.
func (d *portscanDetector) Packet(p *capture.Packet) {
	switch {
	case p.PayloadLen > 0 && p.Flow != nil && p.Flow.Proto == 6 && p.Flow.Payload[fromSide(p)] == uint64(p.PayloadLen):
		// The first payload of one side of a TCP connection.
		d.firstPayload(p)
	case p.Layers&capture.LayerICMPv4 != 0:
		switch p.ICMPType {
		case 8:
			d.request(&d.echo, p.Src, p.Dst, p.Time)
		case 0:
			d.echo.reply(p.Dst, p.Src, p.Time)
		case 3:
			if p.ICMPCode == 3 {
				d.portUnreachable(p)
			}
		case 11:
			d.timeExceeded(p.Dst)
		}
	case p.Layers&capture.LayerICMPv6 != 0:
		switch p.ICMPType {
		case 128:
			d.request(&d.echo, p.Src, p.Dst, p.Time)
		case 129:
			d.echo.reply(p.Dst, p.Src, p.Time)
		case 1:
			if p.ICMPCode == 4 {
				d.portUnreachable(p)
			}
		case 3:
			d.timeExceeded(p.Dst)
		}
	case p.Layers&capture.LayerARP != 0 && p.ARP != nil:
		sender, ok1 := netip.AddrFromSlice(p.ARP.SourceProtAddress)
		target, ok2 := netip.AddrFromSlice(p.ARP.DstProtAddress)
		if !ok1 || !ok2 {
			return
		}
		d.arpBind(p.ARP.SourceHwAddress, sender)
		switch p.ARP.Operation {
		case 1:
			// 0.0.0.0 senders are address-conflict probes of a host
			// configuring itself, and a gratuitous ARP asks for the
			// sender's own address: neither looks for other hosts.
			if !sender.IsUnspecified() && sender != target {
				d.request(&d.arp, sender, target, p.Time)
			}
		case 2:
			d.arp.reply(target, sender, p.Time)
		}
	}
}

func (d *portscanDetector) timeExceeded(a netip.Addr) {
	if _, ok := d.timeExc[a]; !ok && len(d.timeExc) < sweepMaxSources {
		d.timeExc[a] = struct{}{}
	}
}

func (d *portscanDetector) request(st *sweepTable, src, dst netip.Addr, t time.Time) {
	if !probeTarget(dst) {
		return
	}
	s := st.sources[src]
	if s == nil {
		if len(st.sources) >= sweepMaxSources {
			d.untraced++
			return
		}
		s = &sweepSource{src: src, hosts: map[netip.Addr]sweepHost{}, first: t, last: t}
		st.sources[src] = s
	}
	s.requests++
	s.first, s.last = minTime(s.first, t), maxTime(s.last, t)
	h, ok := s.hosts[dst]
	if !ok {
		if len(s.hosts) >= sweepMaxHosts {
			s.capped = true
			return
		}
		h.asked = t
	}
	h.asked = minTime(h.asked, t)
	s.hosts[dst] = h
}

// maxSweepReplies bounds the replies kept that answered no request seen.
const maxSweepReplies = sweepMaxSources

// reply records that responder answered asker at t: the host answered if
// asker had asked for it, else the reply waits for a request at or before
// t that another part of the capture, or a later packet, may hold.
func (st *sweepTable) reply(asker, responder netip.Addr, t time.Time) {
	if s := st.sources[asker]; s != nil {
		if h, ok := s.hosts[responder]; ok && !t.Before(h.asked) {
			h.answered = true
			s.hosts[responder] = h
			return
		}
	}
	k := addrPair{asker, responder}
	if old, ok := st.replies[k]; ok || len(st.replies) < maxSweepReplies {
		st.replies[k] = maxTime(old, t)
	}
}

// answered reports whether s's host h (asked at h.asked) got a reply at
// or after its first request.
func (st *sweepTable) answered(s *sweepSource, a netip.Addr, h sweepHost) bool {
	if h.answered {
		return true
	}
	t, ok := st.replies[addrPair{s.src, a}]
	return ok && !t.Before(h.asked)
}

// probeTarget reports whether dst can be a scanned host: broadcast and
// multicast addresses are how discovery protocols talk, not targets.
func probeTarget(dst netip.Addr) bool {
	if !dst.IsValid() || dst.IsUnspecified() || dst.IsMulticast() {
		return false
	}
	return !(dst.Is4() && dst.As4() == [4]byte{255, 255, 255, 255})
}
