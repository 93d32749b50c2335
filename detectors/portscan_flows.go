package detectors

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// The probes, from the flows the engine kept.

// scanAgg is every probe of the capture, grouped per (source, target).
// It depends on the capture only, not on thresholds, so it is built once:
// from the flows the table evicted during the pass, then from those it
// holds at the end (finish). Its tables are bounded (portscan_bounds.go).
type scanAgg struct {
	pairs  []*scanPair `partial:"-"` // sorted, once finished
	byPair map[addrPair]*scanPair
	// horiz holds the state of every (source, family, port, target)
	// probed; horizCounted counts, per (source, family, port), the targets
	// that did not answer or refused. Flat maps: most keys have one target.
	horiz        map[horizHost]uint8
	horizCounted map[horizKey]int `partial:"-"` // by finish
	// bounds keeps its maxima from the Limits with the rest: a part
	// decoded into a fresh aggregate must not lose them.
	bounds scanBounds
	// service is the service probes per pair, gathered by finish.
	service map[addrPair]*serviceProbes `partial:"-"`
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
	first, last time.Time
	// mac is the link-layer source of the probes, when every probe flow
	// the source opened came from one (macMixed otherwise).
	mac              capture.MAC
	hasMAC, macMixed bool
}

type famStats struct {
	ports       map[uint16]uint8 // probed port -> state bits
	probes      int64            // probe packets, retransmissions included
	fragmented  int64            // probe flows whose probes came in IP fragments
	first, last time.Time
}

// aggregate returns the probes of c, built once per capture.
func (d *portscanDetector) aggregate(c *capture.Capture) *scanAgg {
	d.once.Do(func() {
		d.aggFor = c
		d.agg = d.finish(d.live, c)
		d.live = nil
	})
	if d.aggFor == c {
		return d.agg
	}
	return d.finish(newScanAgg(d.lim), c)
}

// FlowEvicted judges a flow the flow table let go, as finish judges the
// ones it kept.
func (d *portscanDetector) FlowEvicted(f *capture.Flow) {
	if d.live != nil {
		if pr, ok := probeOf(f); ok {
			// Whether a traceroute's time exceeded messages make its
			// UDP probes no scan is known only at the end: they may
			// come later, or in another part of the capture.
			agg := d.live
			if pr.traceroute() {
				if d.liveTrace == nil {
					d.liveTrace = newScanAgg(d.lim)
				}
				agg = d.liveTrace
			}
			agg.addProbe(pr, f)
		}
	}
	d.evictFirst(f)
}

func newScanAgg(lim Limits) *scanAgg {
	return &scanAgg{byPair: map[addrPair]*scanPair{}, horiz: map[horizHost]uint8{}, horizCounted: map[horizKey]int{}, bounds: newScanBounds(lim)}
}

// addFlow adds one flow's probe, if it is one, to agg, unless it is a
// traceroute's.
func (d *portscanDetector) addFlow(agg *scanAgg, f *capture.Flow) {
	pr, ok := probeOf(f)
	if !ok {
		return
	}
	if _, ok := d.timeExc[pr.src]; ok && pr.traceroute() {
		return
	}
	agg.addProbe(pr, f)
}

// probeOf judges f: whether it is a probe, and to a possible target.
func probeOf(f *capture.Flow) (probe, bool) {
	pr, ok := classify(f)
	return pr, ok && probeTarget(pr.dst.Addr())
}

// traceroute reports whether pr could be a traceroute's: a UDP probe to
// its default ports, no scan when its source got time exceeded.
func (pr probe) traceroute() bool {
	return pr.fam == famUDP && pr.dst.Port() >= tracerouteFirst && pr.dst.Port() <= tracerouteLast
}

// addProbe adds the probe pr of flow f to agg.
func (agg *scanAgg) addProbe(pr probe, f *capture.Flow) {
	k := addrPair{pr.src, pr.dst.Addr()}
	sp := agg.byPair[k]
	if sp == nil {
		sp = &scanPair{src: k.src, dst: k.dst, first: f.First, last: f.Last}
		agg.byPair[k] = sp
		defer agg.bound()
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
		return
	}
	sp.connect = sp.connect || pr.connect
	if pr.src == f.Client.Addr() && f.HasClientMAC {
		switch {
		case !sp.hasMAC && !sp.macMixed:
			sp.mac, sp.hasMAC = f.ClientMAC, true
		case sp.hasMAC && sp.mac != f.ClientMAC:
			sp.hasMAC, sp.macMixed = false, true
		}
	}
	fs := &sp.fam[pr.fam]
	if fs.ports == nil {
		fs.ports = map[uint16]uint8{}
		fs.first, fs.last = f.First, f.Last
	}
	fs.ports[pr.dst.Port()] |= pr.state
	fs.probes += pr.probes
	if pr.fragmented {
		fs.fragmented++
	}
	fs.first, fs.last = minTime(fs.first, f.First), maxTime(fs.last, f.Last)
	agg.addHoriz(horizHost{horizKey{pr.src, pr.fam, pr.dst.Port()}, pr.dst.Addr()}, pr.state, f.First, f.Last)
}

// finish adds the flows c holds to agg and settles what only the whole
// capture tells.
func (d *portscanDetector) finish(agg *scanAgg, c *capture.Capture) *scanAgg {
	agg.service = d.serviceTable(c)
	if t := d.liveTrace; t != nil && agg == d.live {
		agg.merge(t.without(d.timeExc))
	}
	if c == nil {
		return agg
	}
	for _, f := range c.Flows() {
		d.addFlow(agg, f)
	}
	agg.pairs = make([]*scanPair, 0, len(agg.byPair))
	for _, sp := range agg.byPair {
		agg.pairs = append(agg.pairs, sp)
	}
	agg.byPair = nil
	if agg.horizCounted == nil {
		agg.horizCounted = map[horizKey]int{}
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
		n := d.unreach[addrPair{sp.src, sp.dst}]
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
	for hk, hs := range agg.bounds.horizKeys {
		if hs.extra > 0 {
			agg.horizCounted[hk] += hs.extra
		}
	}
	slices.SortFunc(agg.pairs, func(a, b *scanPair) int {
		return cmp.Or(a.src.Compare(b.src), a.dst.Compare(b.dst))
	})
	return agg
}

// without drops from agg the probes of the sources in srcs.
func (agg *scanAgg) without(srcs map[netip.Addr]struct{}) *scanAgg {
	for k := range agg.byPair {
		if _, ok := srcs[k.src]; ok {
			delete(agg.byPair, k)
		}
	}
	for hh := range agg.horiz {
		if _, ok := srcs[hh.src]; ok {
			delete(agg.horiz, hh)
		}
	}
	for hk := range agg.bounds.horizKeys {
		if _, ok := srcs[hk.src]; ok {
			delete(agg.bounds.horizKeys, hk)
		}
	}
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
	// fragmented: the prober's packets came in IP fragments (nmap -f).
	fragmented bool
}

// classify judges one flow: whether it is a probe, of which family, and
// what the target answered.
func classify(f *capture.Flow) (probe, bool) {
	pr, ok := classifyFlow(f)
	if ok {
		d := 0
		if pr.src != f.Client.Addr() {
			d = 1
		}
		pr.fragmented = f.Fragmented[d] > 0
	}
	return pr, ok
}

func classifyFlow(f *capture.Flow) (probe, bool) {
	switch f.Proto {
	case 6:
		return classifyTCP(f)
	case 17:
		// The prober is the side that spoke first: the engine's guess
		// from the ports makes a probe sent from port 53 (nmap -g 53) a
		// DNS server's answer.
		d, src, dst := 0, f.Client, f.Server
		if f.ServerFirst {
			d, src, dst = 1, f.Server, f.Client
		}
		o := 1 - d
		if f.Packets[d] == 0 || f.Packets[d] > udpProbeMaxPackets || f.Payload[d] > 1500 ||
			f.Packets[o] > udpProbeMaxReplies || f.Payload[o] > udpProbeMaxReplyBytes {
			return probe{}, false
		}
		pr := probe{src: src.Addr(), dst: dst, fam: famUDP, probes: int64(f.Packets[d]), state: stProbed}
		if f.Packets[o] > 0 {
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
			if cf&(capture.FlagACK|capture.FlagRST) != 0 && !f.ClientMACVaries {
				pr.state |= stReacted
			}
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
	case ackProbeSide(f, 0):
		return ackProbe(f, 0), true
	case ackProbeSide(f, 1):
		return ackProbe(f, 1), true
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

// ackProbeMaxPackets bounds the bare ACKs one ACK probe flow may hold
// (nmap retries a probe once or twice).
const ackProbeMaxPackets = 3

// ackProbeSide reports whether side d of f sent an ACK probe (nmap -sA and
// -sW, which send the same packets): a few bare ACKs with no data and no
// connection behind them, answered by nothing or by a reset alone. A
// connection seen mid-way has data or ACKs on the other side.
func ackProbeSide(f *capture.Flow, d int) bool {
	o := 1 - d
	return f.Packets[d] > 0 && f.Packets[d] <= ackProbeMaxPackets && f.Flags[d] == capture.FlagACK && f.Payload[d] == 0 &&
		(f.Packets[o] == 0 || (f.Flags[o]&^capture.FlagACK == capture.FlagRST && f.Payload[o] == 0))
}

func ackProbe(f *capture.Flow, d int) probe {
	src, dst := f.Client, f.Server
	if d == 1 {
		src, dst = f.Server, f.Client
	}
	pr := probe{src: src.Addr(), dst: dst, fam: famACK, probes: int64(f.Packets[d]), state: stProbed}
	if f.Packets[1-d] > 0 {
		pr.state |= stAnswered | stRefused
	}
	return pr
}

// bareSide reports whether side d of f sent only packets without SYN, ACK
// or RST, and no payload.
func bareSide(f *capture.Flow, d int) bool {
	return f.Packets[d] > 0 && f.Flags[d]&(capture.FlagSYN|capture.FlagACK|capture.FlagRST) == 0 && f.Payload[d] == 0
}
