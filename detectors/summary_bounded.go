package detectors

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// The summary's bounded state: what it keeps of the flows the flow table
// evicted, and of the address pairs past Limits.MaxHosts.
//
// Ports are exact whatever happens (there are at most 2 × 65,536 of them).
// Conversations are kept per address pair up to MaxHosts; past it the
// smallest are folded into per-address totals (hosts), themselves pruned
// the same way, so the talkers that matter (a flood's target, which gains
// from every folded pair) stay exact while spoofed sources that sent one
// packet each fall out. Unique addresses become an estimate (a nameSet of
// address hashes, as the DNS detector counts names) once anything was
// folded.

// hostCapacity is the hashes the unique-address sketch keeps: its
// estimate is within about 1% past it.
const hostCapacity = 1 << 16

// convAcc is one address pair's traffic, both directions.
type convAcc struct {
	first       netip.Addr // the address that sent first
	packets     [2]uint64  // [0] sent by pairKey.a
	bytes       [2]uint64
	flows       int
	start, last time.Time
}

func (a *convAcc) weight() uint64 { return a.packets[0] + a.packets[1] }

// sentAt counts a packet (or the first of several) that from sent at t:
// the pair's first sender is the one with the earliest packet, and the
// smaller address of those that sent at the same instant, so that neither
// the order packets arrive in nor the order parts merge in decides.
func (a *convAcc) sentAt(from netip.Addr, t time.Time) {
	if t.Before(a.start) || t.Equal(a.start) && from.Less(a.first) {
		a.first, a.start = from, t
	}
}

// add counts pk packets and by bytes from one address to the other of k.
func addConv(m map[pairKey]*convAcc, from, to netip.Addr, pk, by uint64, start, last time.Time, flows int) {
	k, d := pairKey{from, to}, 0
	if to.Less(from) {
		k, d = pairKey{to, from}, 1
	}
	a := m[k]
	if a == nil {
		a = &convAcc{first: from, start: start}
		m[k] = a
	} else if pk > 0 {
		a.sentAt(from, start)
	}
	a.packets[d] += pk
	a.bytes[d] += by
	a.flows += flows
	a.last = maxTime(a.last, last)
}

// addFlow counts one flow into m, as a conversation of its two addresses.
func addFlowConv(m map[pairKey]*convAcc, f *capture.Flow) {
	ca, sa := f.Client.Addr(), f.Server.Addr()
	if f.Packets[0] > 0 {
		addConv(m, ca, sa, f.Packets[0], f.Bytes[0], f.First, f.Last, 1)
		addConv(m, sa, ca, f.Packets[1], f.Bytes[1], f.Last, f.Last, 0)
	} else {
		addConv(m, sa, ca, f.Packets[1], f.Bytes[1], f.First, f.Last, 1)
	}
}

// hostAcc is what the folded conversations of one address sent and
// received.
type hostAcc struct {
	packets, bytes [2]uint64 // [0] sent, [1] received
}

// summaryBounds is the summary's state past its bounds.
type summaryBounds struct {
	maxHosts int                     `partial:"-"`
	ports    map[portKey]*PortCount  // evicted flows per server port, exact
	convs    map[pairKey]*convAcc    // evicted flows per address pair
	hosts    map[netip.Addr]*hostAcc // folded conversations per address
	ips      nameSet                 // hashes of the addresses of everything folded, then of the final conversations
	// hash keys the address hashes of ips: Config.HashKey's, the same in
	// every part of one analysis, so their samples merge.
	hash sampleHash `partial:"-"`

	evicted      int    // flows evicted from the flow table
	foldedConvs  int    // address pairs folded into hosts
	droppedHosts int    // addresses pruned from hosts
	droppedPkts  uint64 // packets sent by the pruned addresses
}

type portKey struct {
	proto uint8
	port  uint16
}

func newSummaryBounds(maxHosts int, hash sampleHash) *summaryBounds {
	return &summaryBounds{
		maxHosts: maxHosts,
		ports:    map[portKey]*PortCount{},
		convs:    map[pairKey]*convAcc{},
		hosts:    map[netip.Addr]*hostAcc{},
		hash:     hash,
	}
}

// folded reports whether any conversation was left out of the exact
// tables (evicted flows alone are all still in the conversations).
func (b *summaryBounds) folded() bool { return b.foldedConvs > 0 }

func (b *summaryBounds) sawAddr(a netip.Addr) {
	b.ips.add(b.hash.addr(a), 0, hostCapacity)
}

// flow counts an evicted flow.
func (b *summaryBounds) flow(f *capture.Flow) {
	b.evicted++
	addPort(b.ports, f)
	// Its addresses reach the unique-address sketch through its
	// conversation: when that is folded, or from the final list.
	addFlowConv(b.convs, f)
	b.convs = b.foldConvs(b.convs)
}

// foldConvs keeps m under maxHosts, folding the smallest pairs into hosts.
func (b *summaryBounds) foldConvs(m map[pairKey]*convAcc) map[pairKey]*convAcc {
	return prune(m, b.maxHosts, (*convAcc).weight, b.fold)
}

// fold adds one conversation to the totals of its two addresses.
func (b *summaryBounds) fold(k pairKey, a *convAcc) {
	b.foldedConvs++
	b.sawAddr(k.a)
	b.sawAddr(k.b)
	host := func(addr netip.Addr) *hostAcc {
		h := b.hosts[addr]
		if h == nil {
			h = &hostAcc{}
			b.hosts[addr] = h
		}
		return h
	}
	if k.a == k.b { // a host talking to itself: each packet once, as sent
		h := host(k.a)
		h.packets[0] += a.packets[0] + a.packets[1]
		h.bytes[0] += a.bytes[0] + a.bytes[1]
	} else {
		for d, addr := range [2]netip.Addr{k.a, k.b} {
			h := host(addr)
			h.packets[0] += a.packets[d]
			h.bytes[0] += a.bytes[d]
			h.packets[1] += a.packets[1-d]
			h.bytes[1] += a.bytes[1-d]
		}
	}
	b.pruneHosts()
}

// pruneHosts keeps the per-address totals under maxHosts, counting what
// it drops.
func (b *summaryBounds) pruneHosts() {
	b.hosts = prune(b.hosts, b.maxHosts, func(h *hostAcc) uint64 { return h.packets[0] + h.packets[1] }, func(_ netip.Addr, h *hostAcc) {
		b.droppedHosts++
		b.droppedPkts += h.packets[0]
	})
}

// addPort counts f under its server port.
func addPort(m map[portKey]*PortCount, f *capture.Flow) {
	k := portKey{f.Proto, f.Server.Port()}
	pc := m[k]
	if pc == nil {
		pc = &PortCount{Port: k.port, Proto: protoName(f.Proto)}
		m[k] = pc
	}
	pc.Flows++
	pc.Packets += f.Packets[0] + f.Packets[1]
	pc.Bytes += f.Bytes[0] + f.Bytes[1]
}

// warnings say what the summary estimated.
func (b *summaryBounds) warnings(uniqueIPs int) []string {
	if !b.folded() {
		return nil
	}
	w := []string{}
	if b.foldedConvs > 0 {
		w = append(w, fmt.Sprintf("conversations capped at %d address pairs: %d smaller pairs were folded into their addresses' totals, so the conversation list lacks them while top talkers and ports still count them", b.maxHosts, b.foldedConvs))
	}
	if b.droppedHosts > 0 {
		w = append(w, fmt.Sprintf("talkers capped at %d addresses: %d addresses that sent %d packets in all (spoofed sources look like this) are left out of the talkers", b.maxHosts, b.droppedHosts, b.droppedPkts))
	}
	w = append(w, fmt.Sprintf("unique IPs is an estimate: about %d addresses", uniqueIPs))
	return w
}
