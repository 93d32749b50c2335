package pcapgen

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The evasive port scans: fragmented, with decoys, ACK, slow. One
// scanner session writes them all; the Attacks field chooses the habit.

// scanStyle is what a scanner session changes in the plain SYN scan.
type scanStyle struct {
	technique string
	ack       bool // ACK probes instead of SYN
	frag      int  // fragment size, 0 for whole datagrams
	decoys    bool
	interval  time.Duration
}

// scanSource is one source the probes come from: the real scanner, or a
// decoy whose probes leave from the scanner's MAC and whose answers go
// to the gateway.
type scanSource struct {
	probe, reply route
	real         bool
}

type scanner struct {
	sources []scanSource
	sport   uint16
	ports   []uint16
	open    map[uint16]bool
	style   scanStyle
	i       int
	next    int64 // when the next port may start (slow scans)
	queue   []func(g *gen) error
	truth   *AttackTruth
}

// defaultDecoys are nmap -D style decoys: public addresses.
var defaultDecoys = []string{"198.51.100.201", "203.0.113.202", "192.0.2.203", "198.51.100.204", "203.0.113.205"}

// filteredPort says whether an ACK scan gets no answer from port: a
// firewall drops every seventh.
func filteredPort(p uint16) bool { return p%7 == 0 }

func (g *gen) evasiveScan(name string, s PortScan, st scanStyle) session {
	src, dst := g.hostFor(s.Source), g.hostFor(s.Target)
	ports := make([]uint16, s.Ports)
	for i := range ports {
		ports[i] = uint16(i + 1)
	}
	g.rng.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
	t := &AttackTruth{Name: name, Type: "port_scan", Technique: st.technique, Source: s.Source, Target: s.Target, Ports: s.Ports}
	sc := &scanner{sport: s.SourcePort, ports: ports, open: map[uint16]bool{}, style: st, truth: t}
	if sc.sport == 0 {
		sc.sport = 40000 + uint16(g.rng.IntN(20000))
	}
	if !st.ack {
		for _, p := range s.Open {
			if int(p) >= 1 && int(p) <= s.Ports && !sc.open[p] {
				sc.open[p] = true
				t.Open = append(t.Open, p)
			}
		}
		slices.Sort(t.Open)
	} else {
		for _, p := range ports {
			if filteredPort(p) {
				t.Filtered++
			}
		}
	}
	real := g.newRoute(src, dst, false)
	sc.sources = []scanSource{{probe: real, reply: real, real: true}}
	if st.decoys {
		// nmap places the real scanner among the decoys, at a fixed
		// position for the whole scan.
		var decoys []scanSource
		for _, a := range s.Decoys {
			d := g.hostFor(a)
			probe := g.newRoute(d, dst, false)
			probe.amac, probe.vlan, probe.ttl = src.mac, src.vlan, 64
			decoys = append(decoys, scanSource{probe: probe, reply: g.newRoute(d, dst, false)})
			t.Decoys = append(t.Decoys, a)
		}
		pos := len(decoys) / 2
		sc.sources = append(decoys[:pos:pos], append(sc.sources, decoys[pos:]...)...)
	}
	return sc
}

func (s *scanner) due() int64 {
	if len(s.queue) == 0 {
		return s.next
	}
	return 0
}

func (s *scanner) step(g *gen) (bool, error) {
	if len(s.queue) == 0 {
		if s.i == len(s.ports) {
			return true, nil
		}
		s.queuePort(g, s.ports[s.i])
		s.i++
		s.next = g.ns + int64(s.style.interval)
	}
	err := s.queue[0](g)
	s.queue = s.queue[1:]
	return len(s.queue) == 0 && s.i == len(s.ports), err
}

// queuePort queues the packets of one port: every source's probe, the
// target's answers, and the real scanner's reset of an open port.
func (s *scanner) queuePort(g *gen, port uint16) {
	s.queue = s.queue[:0]
	for k := range s.sources {
		src := &s.sources[k]
		seq := g.rng.Uint32()
		ack := uint32(0)
		flags := flagSYN
		if s.style.ack {
			flags, ack = flagACK, g.rng.Uint32()
		}
		if s.style.frag > 0 {
			frames, err := g.b.tcpFragments(&src.probe, toServer, s.sport, port, flags, seq, ack, s.style.frag)
			for j, f := range frames {
				kind := fragmentMore
				if j == len(frames)-1 {
					kind = fragmentLast
				}
				s.queue = append(s.queue, func(g *gen) error {
					return g.emitFrag(&src.probe, toServer, layers.IPProtocolTCP, s.sport, port, f, err, kind)
				})
			}
			if err != nil {
				s.queue = append(s.queue, func(*gen) error { return err })
			}
		} else {
			s.queue = append(s.queue, func(g *gen) error {
				return g.sendTCP(&src.probe, toServer, s.sport, port, flags, seq, ack, nil)
			})
		}
		switch {
		case s.style.ack && filteredPort(port):
		case s.style.ack:
			s.queue = append(s.queue, func(g *gen) error {
				return g.sendTCP(&src.reply, toClient, port, s.sport, flagRST, ack, 0, nil)
			})
		case s.open[port]:
			iss := g.rng.Uint32()
			s.queue = append(s.queue, func(g *gen) error {
				return g.sendTCP(&src.reply, toClient, port, s.sport, flagSYN|flagACK, iss, seq+1, nil)
			})
			if src.real {
				s.queue = append(s.queue, func(g *gen) error {
					return g.sendTCP(&src.probe, toServer, s.sport, port, flagRST, seq+1, 0, nil)
				})
			}
		default:
			s.queue = append(s.queue, func(g *gen) error {
				return g.sendTCP(&src.reply, toClient, port, s.sport, flagRST|flagACK, 0, seq+1, nil)
			})
		}
	}
}

// scanDefaults fills the zero fields of an evasive scan.
func scanDefaults(s PortScan, source, target string, ports int) PortScan {
	s.Source = orAddr(s.Source, source)
	s.Target = orAddr(s.Target, target)
	if s.Ports == 0 {
		s.Ports = ports
	}
	if s.Open == nil {
		s.Open = []uint16{22, 80}
	}
	return s
}

func addrs(ss []string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
