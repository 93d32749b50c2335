package detectors

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
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
// replies (ping sweeps), ARP requests and replies (ARP sweeps), ICMP
// port-unreachable messages (closed UDP ports) and ICMP time-exceeded
// messages (traceroute, whose UDP probes are not a scan).
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
	famCount
)

var famNames = [famCount]string{"syn", "fin", "null", "xmas", "udp"}

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
)

type addrPair struct{ src, dst netip.Addr }

// portscanDetector keeps what flows cannot tell: ICMP and ARP sweeps and
// ICMP errors. Everything else is judged from Capture.Flows in Findings.
type portscanDetector struct {
	echo     map[netip.Addr]*sweepSource // ICMP echo requests per source
	arp      map[netip.Addr]*sweepSource // ARP requests per sender address
	unreach  map[addrPair]int64          // ICMP port unreachable whose quote did not parse, keyed (prober, target)
	refused  map[udpProbe]struct{}       // UDP probes an ICMP port unreachable quoted
	timeExc  map[netip.Addr]struct{}     // sources that received ICMP time exceeded
	untraced int64                       // sweep requests past sweepMaxSources

	once   sync.Once
	aggFor *capture.Capture
	agg    *scanAgg
}

// sweepSource is one source's echo or ARP requests: addresses asked for,
// and whether each answered.
type sweepSource struct {
	src         netip.Addr
	hosts       map[netip.Addr]bool
	requests    int64
	capped      bool
	first, last time.Time
}

func newPortscanDetector() *portscanDetector {
	return &portscanDetector{
		echo:    map[netip.Addr]*sweepSource{},
		arp:     map[netip.Addr]*sweepSource{},
		unreach: map[addrPair]int64{},
		refused: map[udpProbe]struct{}{},
		timeExc: map[netip.Addr]struct{}{},
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
	d.unreach[addrPair{p.Dst, p.Src}]++
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

// Packet looks only at ICMP and ARP; TCP and UDP are read from the flows.
func (d *portscanDetector) Packet(p *capture.Packet) {
	switch {
	case p.Layers&capture.LayerICMPv4 != 0:
		switch p.ICMPType {
		case 8:
			d.request(d.echo, p.Src, p.Dst, p.Time)
		case 0:
			d.reply(d.echo, p.Dst, p.Src)
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
			d.request(d.echo, p.Src, p.Dst, p.Time)
		case 129:
			d.reply(d.echo, p.Dst, p.Src)
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
		switch p.ARP.Operation {
		case 1:
			// 0.0.0.0 senders are address-conflict probes of a host
			// configuring itself, and a gratuitous ARP asks for the
			// sender's own address: neither looks for other hosts.
			if !sender.IsUnspecified() && sender != target {
				d.request(d.arp, sender, target, p.Time)
			}
		case 2:
			d.reply(d.arp, target, sender)
		}
	}
}

func (d *portscanDetector) timeExceeded(a netip.Addr) {
	if _, ok := d.timeExc[a]; !ok && len(d.timeExc) < sweepMaxSources {
		d.timeExc[a] = struct{}{}
	}
}

func (d *portscanDetector) request(m map[netip.Addr]*sweepSource, src, dst netip.Addr, t time.Time) {
	if !probeTarget(dst) {
		return
	}
	s := m[src]
	if s == nil {
		if len(m) >= sweepMaxSources {
			d.untraced++
			return
		}
		s = &sweepSource{src: src, hosts: map[netip.Addr]bool{}, first: t}
		m[src] = s
	}
	s.requests++
	if t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	if _, ok := s.hosts[dst]; !ok {
		if len(s.hosts) >= sweepMaxHosts {
			s.capped = true
			return
		}
		s.hosts[dst] = false
	}
}

// reply marks responder as having answered asker, if asker asked it.
func (d *portscanDetector) reply(m map[netip.Addr]*sweepSource, asker, responder netip.Addr) {
	if s := m[asker]; s != nil {
		if _, ok := s.hosts[responder]; ok {
			s.hosts[responder] = true
		}
	}
}

// probeTarget reports whether dst can be a scanned host: broadcast and
// multicast addresses are how discovery protocols talk, not targets.
func probeTarget(dst netip.Addr) bool {
	if !dst.IsValid() || dst.IsUnspecified() || dst.IsMulticast() {
		return false
	}
	return !(dst.Is4() && dst.As4() == [4]byte{255, 255, 255, 255})
}

// ---- the judgement, from the flows ----

// scanAgg is every probe of the capture, grouped per (source, target).
// It depends on the capture only, not on thresholds, so it is built once.
type scanAgg struct {
	pairs []*scanPair
	// horiz holds the state of every (source, family, port, target)
	// probed; horizCounted counts, per (source, family, port), the targets
	// that did not answer or refused. Flat maps: most keys have one target.
	horiz        map[horizHost]uint8
	horizCounted map[horizKey]int
}

type horizHost struct {
	horizKey
	dst netip.Addr
}

type horizKey struct {
	src  netip.Addr
	fam  scanFamily
	port uint16
}

// scanPair is what one source sent one target.
type scanPair struct {
	src, dst    netip.Addr
	fam         [famCount]famStats
	connect     bool  // a SYN probe completed the handshake, then closed without data
	crafted     int64 // crafted-flag packets
	craftKinds  uint8
	craftPorts  map[uint16]struct{}
	unreach     int64 // ICMP port unreachable from dst to src
	first, last time.Time
}

type famStats struct {
	ports       map[uint16]uint8 // probed port -> state bits
	probes      int64            // probe packets, retransmissions included
	first, last time.Time
}

// aggregate returns the probes of c, built once per capture.
func (d *portscanDetector) aggregate(c *capture.Capture) *scanAgg {
	d.once.Do(func() {
		d.aggFor = c
		d.agg = d.build(c)
	})
	if d.aggFor == c {
		return d.agg
	}
	return d.build(c)
}

func (d *portscanDetector) build(c *capture.Capture) *scanAgg {
	agg := &scanAgg{horiz: map[horizHost]uint8{}, horizCounted: map[horizKey]int{}}
	pairs := map[addrPair]*scanPair{}
	if c == nil {
		return agg
	}
	for _, f := range c.Flows() {
		pr, ok := classify(f)
		if !ok || !probeTarget(pr.dst.Addr()) {
			continue
		}
		if pr.fam == famUDP && pr.dst.Port() >= tracerouteFirst && pr.dst.Port() <= tracerouteLast {
			if _, ok := d.timeExc[pr.src]; ok {
				continue
			}
		}
		k := addrPair{pr.src, pr.dst.Addr()}
		sp := pairs[k]
		if sp == nil {
			sp = &scanPair{src: k.src, dst: k.dst, first: f.First, last: f.Last, unreach: d.unreach[k]}
			pairs[k] = sp
			agg.pairs = append(agg.pairs, sp)
		}
		sp.first, sp.last = minTime(sp.first, f.First), maxTime(sp.last, f.Last)
		if pr.craft != 0 {
			sp.crafted += pr.probes
			sp.craftKinds |= pr.craft
			if sp.craftPorts == nil {
				sp.craftPorts = map[uint16]struct{}{}
			}
			sp.craftPorts[pr.dst.Port()] = struct{}{}
		}
		if pr.fam == famCount { // crafted, but of no family
			continue
		}
		sp.connect = sp.connect || pr.connect
		fs := &sp.fam[pr.fam]
		if fs.ports == nil {
			fs.ports = map[uint16]uint8{}
			fs.first, fs.last = f.First, f.Last
		}
		fs.ports[pr.dst.Port()] |= pr.state
		fs.probes += pr.probes
		fs.first, fs.last = minTime(fs.first, f.First), maxTime(fs.last, f.Last)
		agg.horiz[horizHost{horizKey{pr.src, pr.fam, pr.dst.Port()}, pr.dst.Addr()}] |= pr.state
	}
	// ICMP port unreachable answers UDP probes but is not part of their
	// flow: the UDP header it quotes names the probe it refuses. A message
	// whose quote could not be read refuses one of the pair's unanswered
	// UDP ports instead (lowest first, for stable output).
	for _, sp := range agg.pairs {
		fs := &sp.fam[famUDP]
		if fs.ports == nil {
			continue
		}
		for port := range fs.ports {
			if _, ok := d.refused[udpProbe{sp.src, sp.dst, port}]; ok {
				fs.ports[port] |= stAnswered | stRefused
				hh := horizHost{horizKey{sp.src, famUDP, port}, sp.dst}
				if _, ok := agg.horiz[hh]; ok {
					agg.horiz[hh] |= stAnswered | stRefused
				}
			}
		}
		n := sp.unreach
		if n == 0 {
			continue
		}
		for _, port := range sortedKeys(fs.ports) {
			if n == 0 {
				break
			}
			if fs.ports[port]&stAnswered == 0 {
				fs.ports[port] |= stAnswered | stRefused
				hh := horizHost{horizKey{sp.src, famUDP, port}, sp.dst}
				if _, ok := agg.horiz[hh]; ok {
					agg.horiz[hh] |= stAnswered | stRefused
				}
				n--
			}
		}
	}
	for hh, st := range agg.horiz {
		if sweptHost(st) {
			agg.horizCounted[hh.horizKey]++
		}
	}
	slices.SortFunc(agg.pairs, func(a, b *scanPair) int {
		return cmp.Or(a.src.Compare(b.src), a.dst.Compare(b.dst))
	})
	return agg
}

// sweptHost reports whether a host counts toward a sweep: it did not
// answer, or refused.
func sweptHost(st uint8) bool { return st&stAnswered == 0 || st&stRefused != 0 }

// probe is one flow judged as a probe.
type probe struct {
	src     netip.Addr
	dst     netip.AddrPort
	fam     scanFamily // famCount: crafted flags of no family
	probes  int64
	state   uint8
	connect bool
	craft   uint8
}

// classify judges one flow: whether it is a probe, of which family, and
// what the target answered.
func classify(f *capture.Flow) (probe, bool) {
	switch f.Proto {
	case 6:
		return classifyTCP(f)
	case 17:
		if f.Packets[0] == 0 || f.Packets[0] > udpProbeMaxPackets || f.Payload[0] > 1500 ||
			f.Packets[1] > udpProbeMaxReplies || f.Payload[1] > udpProbeMaxReplyBytes {
			return probe{}, false
		}
		pr := probe{src: f.Client.Addr(), dst: f.Server, fam: famUDP, probes: int64(f.Packets[0]), state: stProbed}
		if f.Packets[1] > 0 {
			pr.state |= stAnswered | stOpen
		}
		return pr, true
	}
	return probe{}, false
}

const oddFlags = capture.FlagFIN | capture.FlagPSH | capture.FlagURG

func classifyTCP(f *capture.Flow) (probe, bool) {
	if f.SYNs > 0 {
		cf := f.Flags[0]
		if f.Payload[0] > 0 {
			return probe{}, false
		}
		pr := probe{src: f.Client.Addr(), dst: f.Server, fam: famSYN, probes: int64(f.SYNs), state: stProbed}
		if cf&capture.FlagACK == 0 && cf&oddFlags != 0 {
			// SYN with FIN, PSH or URG: an OS fingerprinting probe, not
			// a port probe.
			pr.fam, pr.craft, pr.probes = famCount, craftOther, int64(f.Packets[0])
			return pr, true
		}
		// The server sent data: a real session (FTP passive data, a
		// banner the client read), unless the client aborted it with a
		// reset, as a connect scan that got a banner does.
		if f.Payload[1] > 0 && cf&capture.FlagRST == 0 {
			return probe{}, false
		}
		switch {
		case f.Established():
			pr.state |= stAnswered | stOpen
			pr.connect = cf&capture.FlagACK != 0
		case f.Refused():
			pr.state |= stAnswered | stRefused
		case f.Answered():
			pr.state |= stAnswered
		}
		return pr, true
	}
	// No SYN: a FIN, NULL or Xmas probe is a flow one side of which sent
	// only packets without SYN, ACK or RST and no data. The engine guessed
	// the client from the ports, so look at both sides.
	var d int
	switch {
	case bareSide(f, 0):
		d = 0
	case bareSide(f, 1):
		d = 1
	default:
		return probe{}, false
	}
	o := 1 - d
	src, dst := f.Client, f.Server
	if d == 1 {
		src, dst = f.Server, f.Client
	}
	pr := probe{src: src.Addr(), dst: dst, probes: int64(f.Packets[d]), state: stProbed}
	switch f.Flags[d] {
	case 0:
		pr.fam, pr.craft = famNULL, craftNULL
	case capture.FlagFIN:
		pr.fam, pr.craft = famFIN, craftFIN
	case capture.FlagFIN | capture.FlagPSH | capture.FlagURG:
		pr.fam, pr.craft = famXmas, craftXmas
	default:
		pr.fam, pr.craft = famCount, craftOther
	}
	if f.Packets[o] > 0 {
		pr.state |= stAnswered
		if f.Flags[o]&capture.FlagRST != 0 && f.Payload[o] == 0 {
			pr.state |= stRefused
		}
	}
	return pr, true
}

// bareSide reports whether side d of f sent only packets without SYN, ACK
// or RST, and no payload.
func bareSide(f *capture.Flow, d int) bool {
	return f.Packets[d] > 0 && f.Flags[d]&(capture.FlagSYN|capture.FlagACK|capture.FlagRST) == 0 && f.Payload[d] == 0
}

// Findings judges the probes with cfg's thresholds.
func (d *portscanDetector) Findings(cfg Config, c *capture.Capture) []report.Finding {
	agg := d.aggregate(c)
	ps := cfg.PortScan
	var out []report.Finding
	for _, sp := range agg.pairs {
		reported := [famCount]bool{}
		for fam := range famCount {
			fs := &sp.fam[fam]
			if len(fs.ports) >= ps.Threshold {
				out = append(out, sp.vertical(ps, fam))
				reported[fam] = true
			}
		}
		if sp.crafted >= craftedMin && !reported[famFIN] && !reported[famNULL] && !reported[famXmas] {
			out = append(out, sp.craftedFinding())
		}
	}
	out = append(out, agg.horizontal(ps)...)
	out = append(out, sweepFindings(ps, d.echo, "icmp_sweep", "ICMP echo requests")...)
	out = append(out, sweepFindings(ps, d.arp, "arp_sweep", "ARP requests")...)
	SortFindings(out)
	return out
}

// portCounts sums the states of a port set.
type portCounts struct {
	ports, answered, refused, open int
	openList                       []uint16
}

func countPorts(m map[uint16]uint8) portCounts {
	var pc portCounts
	for _, port := range sortedKeys(m) {
		st := m[port]
		pc.ports++
		if st&stAnswered != 0 {
			pc.answered++
		}
		switch {
		case st&stOpen != 0:
			pc.open++
			pc.openList = append(pc.openList, port)
		case st&stRefused != 0:
			pc.refused++
		}
	}
	return pc
}

func (sp *scanPair) technique(fam scanFamily) string {
	if fam == famSYN && sp.connect {
		return "connect"
	}
	return famNames[fam]
}

var famWords = [famCount]string{"SYN", "FIN", "NULL", "Xmas", "UDP"}

func (sp *scanPair) vertical(ps PortScanConfig, fam scanFamily) report.Finding {
	fs := &sp.fam[fam]
	pc := countPorts(fs.ports)
	unanswered := pc.ports - pc.answered
	sev, conf := report.SeverityMedium, report.ConfidenceMedium
	if pc.ports >= ps.HighThreshold {
		sev, conf = report.SeverityHigh, report.ConfidenceHigh
	}
	if 2*(unanswered+pc.refused) >= pc.ports {
		conf = report.ConfidenceHigh
	}
	tech := sp.technique(fam)
	word, proto := famWords[fam], "TCP"
	if tech == "connect" {
		word = "TCP connect"
	}
	if fam == famUDP {
		proto = "UDP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s-scanned %d %s ports of %s (%s", sp.src, word, pc.ports, proto, sp.dst, plural(int(fs.probes), "probe"))
	if pc.open > 0 {
		fmt.Fprintf(&b, "; %d open: %s", pc.open, joinPorts(pc.openList, 10))
	}
	fmt.Fprintf(&b, "; %d refused, %d unanswered)", pc.refused, unanswered)
	return report.Finding{
		Type:       report.AttackPortScan,
		Technique:  tech,
		Source:     sp.src.String(),
		Target:     sp.dst.String(),
		Severity:   sev,
		Confidence: conf,
		Summary:    b.String(),
		FirstSeen:  fs.first.UTC(),
		LastSeen:   fs.last.UTC(),
		Counts: map[string]int64{
			"distinct_ports": int64(pc.ports),
			"probes":         fs.probes,
			"answered":       int64(pc.answered),
			"refused":        int64(pc.refused),
			"unanswered":     int64(unanswered),
			"open_ports":     int64(pc.open),
		},
		Samples: map[string][]string{
			"ports":      portStrings(sortedKeys(fs.ports), scanSampleMax),
			"open_ports": portStrings(pc.openList, scanSampleMax),
		},
	}
}

var craftNames = []struct {
	bit  uint8
	name string
}{{craftNULL, "null"}, {craftFIN, "fin"}, {craftXmas, "xmas"}, {craftOther, "other"}}

func (sp *scanPair) craftedFinding() report.Finding {
	var kinds []string
	for _, k := range craftNames {
		if sp.craftKinds&k.bit != 0 {
			kinds = append(kinds, k.name)
		}
	}
	tech, conf := "crafted_flags", report.ConfidenceMedium
	if len(kinds) >= 2 {
		tech, conf = "os_fingerprint", report.ConfidenceHigh
	}
	ports := sortedKeys(sp.craftPorts)
	synPorts := len(sp.fam[famSYN].ports)
	summary := fmt.Sprintf("%s sent %s with flag combinations no TCP stack sends (%s) to %s on %s",
		sp.src, plural(int(sp.crafted), "packet"), strings.Join(kinds, ", "), sp.dst, plural(len(ports), "port"))
	if tech == "os_fingerprint" {
		summary += ", as nmap OS detection does"
	}
	if synPorts > 0 {
		summary += fmt.Sprintf(", plus SYN probes to %s", plural(synPorts, "port"))
	}
	return report.Finding{
		Type:       report.AttackPortScan,
		Technique:  tech,
		Source:     sp.src.String(),
		Target:     sp.dst.String(),
		Severity:   report.SeverityLow,
		Confidence: conf,
		Summary:    summary,
		FirstSeen:  sp.first.UTC(),
		LastSeen:   sp.last.UTC(),
		Counts: map[string]int64{
			"crafted_packets": sp.crafted,
			"distinct_ports":  int64(len(ports)),
			"syn_ports":       int64(synPorts),
			"open_ports":      int64(countPorts(sp.fam[famSYN].ports).open),
		},
		Samples: map[string][]string{
			"ports": portStrings(ports, scanSampleMax),
			"kinds": kinds,
		},
	}
}

// horizontal reports, per (source, family), every port probed on at least
// SweepHosts hosts that did not answer or refused.
func (agg *scanAgg) horizontal(ps PortScanConfig) []report.Finding {
	type sweep struct {
		src         netip.Addr
		fam         scanFamily
		ports       []uint16
		counted     map[netip.Addr]struct{}
		probed      map[netip.Addr]struct{}
		open        map[netip.Addr]struct{}
		refused     map[netip.Addr]struct{}
		first, last time.Time
		probes      int64
	}
	type sk struct {
		src netip.Addr
		fam scanFamily
	}
	sweeps := map[sk]*sweep{}
	swept := map[horizKey]bool{}
	for hk, n := range agg.horizCounted {
		if n < ps.SweepHosts {
			continue
		}
		swept[hk] = true
		k := sk{hk.src, hk.fam}
		s := sweeps[k]
		if s == nil {
			s = &sweep{src: hk.src, fam: hk.fam, counted: map[netip.Addr]struct{}{}, probed: map[netip.Addr]struct{}{}, open: map[netip.Addr]struct{}{}, refused: map[netip.Addr]struct{}{}}
			sweeps[k] = s
		}
		s.ports = append(s.ports, hk.port)
	}
	if len(sweeps) == 0 {
		return nil
	}
	for hh, st := range agg.horiz {
		if !swept[hh.horizKey] {
			continue
		}
		s, h := sweeps[sk{hh.src, hh.fam}], hh.dst
		s.probed[h] = struct{}{}
		switch {
		case st&stRefused != 0:
			s.refused[h] = struct{}{}
			s.counted[h] = struct{}{}
		case st&stAnswered == 0:
			s.counted[h] = struct{}{}
		case st&stOpen != 0:
			s.open[h] = struct{}{}
		}
	}
	// Times and probe counts come from the pairs, which hold them.
	for _, sp := range agg.pairs {
		for fam := range famCount {
			s := sweeps[sk{sp.src, fam}]
			if s == nil {
				continue
			}
			fs := &sp.fam[fam]
			for _, port := range s.ports {
				if _, ok := fs.ports[port]; ok {
					if s.first.IsZero() || fs.first.Before(s.first) {
						s.first = fs.first
					}
					s.last = maxTime(s.last, fs.last)
					break
				}
			}
		}
	}
	var out []report.Finding
	for _, s := range sweeps {
		slices.Sort(s.ports)
		counted := len(s.counted)
		sev, conf := report.SeverityMedium, report.ConfidenceMedium
		if counted >= ps.SweepHighHosts {
			sev = report.SeverityHigh
		}
		if 2*counted >= len(s.probed) {
			conf = report.ConfidenceHigh
		}
		proto := "TCP"
		if s.fam == famUDP {
			proto = "UDP"
		}
		summary := fmt.Sprintf("%s swept %s port %s on %d hosts with %s probes (%d refused, %d unanswered, %d open)",
			s.src, proto, joinPorts(s.ports, 10), len(s.probed), famWords[s.fam], len(s.refused), counted-len(s.refused), len(s.open))
		if len(s.ports) > 1 {
			summary = fmt.Sprintf("%s swept %d %s ports (%s) across %d hosts with %s probes (%d hosts refused or unanswered, %d open)",
				s.src, len(s.ports), proto, joinPorts(s.ports, 10), len(s.probed), famWords[s.fam], counted, len(s.open))
		}
		out = append(out, report.Finding{
			Type:       report.AttackPortScan,
			Technique:  "horizontal_" + famNames[s.fam],
			Source:     s.src.String(),
			Target:     report.TargetMultiple,
			Severity:   sev,
			Confidence: conf,
			Summary:    summary,
			FirstSeen:  s.first.UTC(),
			LastSeen:   s.last.UTC(),
			Counts: map[string]int64{
				"hosts":        int64(counted),
				"hosts_probed": int64(len(s.probed)),
				"refused":      int64(len(s.refused)),
				"unanswered":   int64(counted - len(s.refused)),
				"open_hosts":   int64(len(s.open)),
				"swept_ports":  int64(len(s.ports)),
			},
			Samples: map[string][]string{
				"ports":      portStrings(s.ports, scanSampleMax),
				"hosts":      addrStrings(sortedAddrs(s.counted), scanSampleMax),
				"open_hosts": addrStrings(sortedAddrs(s.open), scanSampleMax),
			},
		})
	}
	return out
}

func sweepFindings(ps PortScanConfig, m map[netip.Addr]*sweepSource, technique, what string) []report.Finding {
	var out []report.Finding
	for _, s := range m {
		if len(s.hosts) < ps.SweepHosts {
			continue
		}
		var live []netip.Addr
		for h, ok := range s.hosts {
			if ok {
				live = append(live, h)
			}
		}
		slices.SortFunc(live, netip.Addr.Compare)
		hosts := len(s.hosts)
		sev, conf := report.SeverityMedium, report.ConfidenceMedium
		if hosts >= ps.SweepHighHosts {
			sev = report.SeverityHigh
		}
		if 2*(hosts-len(live)) >= hosts {
			conf = report.ConfidenceHigh
		}
		n := strconv.Itoa(hosts)
		if s.capped {
			n = "at least " + n
		}
		out = append(out, report.Finding{
			Type:       report.AttackPortScan,
			Technique:  technique,
			Source:     s.src.String(),
			Target:     report.TargetMultiple,
			Severity:   sev,
			Confidence: conf,
			Summary:    fmt.Sprintf("%s sent %d %s for %s distinct addresses (%d answered)", s.src, s.requests, what, n, len(live)),
			FirstSeen:  s.first.UTC(),
			LastSeen:   s.last.UTC(),
			Counts: map[string]int64{
				"hosts":      int64(hosts),
				"probes":     s.requests,
				"answered":   int64(len(live)),
				"unanswered": int64(hosts - len(live)),
			},
			Samples: map[string][]string{
				"hosts":      addrStrings(sortedAddrs(s.hosts), scanSampleMax),
				"live_hosts": addrStrings(live, scanSampleMax),
			},
		})
	}
	return out
}

// ---- accessors for the MCP tools ----

// ScanSource is one address that sent probes (connection attempts that
// carried no data), whatever the thresholds: the raw material of the
// port_scan findings.
type ScanSource struct {
	Source string `json:"source"`
	// SYNProbes counts SYN packets of probe connections (retransmissions
	// included); Probes counts probe packets of every kind.
	SYNProbes int64 `json:"syn_probes"`
	Probes    int64 `json:"probes"`
	// Targets is how many hosts were probed; Ports how many distinct
	// destination ports, over every target and protocol.
	Targets int `json:"targets"`
	Ports   int `json:"ports"`
	// OpenPorts counts (target, port) probes answered by SYN-ACK or a UDP
	// datagram.
	OpenPorts int `json:"open_ports"`
	// MaxPortsOneTarget is the largest number of ports probed on one
	// target, of one kind: what the vertical threshold compares.
	MaxPortsOneTarget int       `json:"max_ports_one_target"`
	Techniques        []string  `json:"techniques"`
	First             time.Time `json:"first_seen"`
	Last              time.Time `json:"last_seen"`
	// TopTargets lists the most probed targets (at most 20), most ports first.
	TopTargets []ScanTarget `json:"top_targets"`
}

// ScanTarget is what one source probed on one target, with one kind of probe.
type ScanTarget struct {
	Target     string   `json:"target"`
	Technique  string   `json:"technique"`
	Ports      int      `json:"ports"`
	Probes     int64    `json:"probes"`
	Answered   int      `json:"answered"`
	Refused    int      `json:"refused"`
	Unanswered int      `json:"unanswered"`
	OpenPorts  []uint16 `json:"open_ports"` // at most 20
}

// ScanSources lists every source of probes, those probing the most ports
// on one target first. The list covers every probe in the capture, below
// any threshold; the port_scan findings say which of them are scans.
func (a *Analysis) ScanSources() []ScanSource {
	var d *portscanDetector
	for _, det := range a.detectors {
		if p, ok := det.(*portscanDetector); ok {
			d = p
		}
	}
	if d == nil {
		return nil
	}
	agg := d.aggregate(a.capture)
	bySrc := map[netip.Addr]*ScanSource{}
	ports := map[netip.Addr]map[uint16]struct{}{}
	var order []netip.Addr
	for _, sp := range agg.pairs {
		s := bySrc[sp.src]
		if s == nil {
			s = &ScanSource{Source: sp.src.String(), First: sp.first.UTC(), Last: sp.last.UTC()}
			bySrc[sp.src] = s
			ports[sp.src] = map[uint16]struct{}{}
			order = append(order, sp.src)
		}
		probed := false
		for fam := range famCount {
			fs := &sp.fam[fam]
			if len(fs.ports) == 0 {
				continue
			}
			probed = true
			pc := countPorts(fs.ports)
			tech := sp.technique(fam)
			if !slices.Contains(s.Techniques, tech) {
				s.Techniques = append(s.Techniques, tech)
			}
			for p := range fs.ports {
				ports[sp.src][p] = struct{}{}
			}
			s.Probes += fs.probes
			if fam == famSYN {
				s.SYNProbes += fs.probes
			}
			s.OpenPorts += pc.open
			s.MaxPortsOneTarget = max(s.MaxPortsOneTarget, pc.ports)
			s.TopTargets = append(s.TopTargets, ScanTarget{
				Target: sp.dst.String(), Technique: tech, Ports: pc.ports, Probes: fs.probes,
				Answered: pc.answered, Refused: pc.refused, Unanswered: pc.ports - pc.answered,
				OpenPorts: head(pc.openList, scanSampleMax),
			})
		}
		if sp.crafted > 0 {
			s.Probes += sp.crafted
			if !slices.Contains(s.Techniques, "crafted_flags") {
				s.Techniques = append(s.Techniques, "crafted_flags")
			}
			probed = true
		}
		if probed {
			s.Targets++
		}
		s.First, s.Last = minTime(s.First, sp.first.UTC()), maxTime(s.Last, sp.last.UTC())
	}
	out := make([]ScanSource, 0, len(order))
	for _, src := range order {
		s := bySrc[src]
		if s.Targets == 0 {
			continue
		}
		s.Ports = len(ports[src])
		slices.Sort(s.Techniques)
		slices.SortFunc(s.TopTargets, func(x, y ScanTarget) int {
			return cmp.Or(cmp.Compare(y.Ports, x.Ports), cmp.Compare(y.Probes, x.Probes), cmp.Compare(x.Target, y.Target), cmp.Compare(x.Technique, y.Technique))
		})
		s.TopTargets = head(s.TopTargets, scanSampleMax)
		out = append(out, *s)
	}
	slices.SortStableFunc(out, func(x, y ScanSource) int {
		return cmp.Or(cmp.Compare(y.MaxPortsOneTarget, x.MaxPortsOneTarget), cmp.Compare(y.Probes, x.Probes), cmp.Compare(x.Source, y.Source))
	})
	return out
}

// ---- small helpers ----

func sortedKeys[K interface {
	comparable
	cmp.Ordered
}, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedAddrs[V any](m map[netip.Addr]V) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func portStrings(ports []uint16, n int) []string {
	ports = head(ports, n)
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(int(p))
	}
	return out
}

func addrStrings(addrs []netip.Addr, n int) []string {
	addrs = head(addrs, n)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// joinPorts lists up to n ports, saying how many more there are.
func joinPorts(ports []uint16, n int) string {
	s := strings.Join(portStrings(ports, n), ", ")
	if len(ports) > n {
		s += fmt.Sprintf(" and %d more", len(ports)-n)
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
