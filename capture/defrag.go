package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// IP fragment reassembly.
//
// A scanner that splits its probes into fragments (nmap -f) hides the TCP
// header from any analysis that reads packets one at a time. The engine
// therefore reassembles IPv4 and IPv6 fragments before the transport
// layer: the fragment that completes a datagram is decoded again as the
// whole datagram (its transport header, ports, flags and payload), as
// tshark shows it; the fragments before it stay IP packets with
// LayerFragment. Packet and address counts do not change.
//
// Everything in a fragment is chosen by the sender, so the reassembly is
// bounded: at most FragMaxDatagrams datagrams and fragMaxBytes bytes in
// flight (the oldest is given up first), at most 65,535 bytes per
// datagram, fragMaxSpans holes per datagram, and a datagram not completed
// within FragTimeout of capture time is given up. Fragments that overlap
// are what IDS evasion and the teardrop attack send: the datagram is
// dropped, as Linux and RFC 5722 do, and counted.
//
// With Config.HoldFragments the fragments reach the analyzers only once
// their datagram settles, and with Config.KeepPending a part of a capture
// keeps its unsettled datagrams for the merge (defrag_hold.go); their
// frames count in the bytes in flight.

const (
	// FragTimeout is how long, in capture time, a datagram may take to
	// complete (Linux waits 30 s; Windows 60 s).
	FragTimeout = 60 * time.Second
	// FragMaxDatagrams and fragMaxBytes bound the datagrams in flight.
	FragMaxDatagrams = 4096
	fragMaxBytes     = 32 << 20
	// fragMaxSpans bounds the separate pieces one datagram may hold
	// before it is complete: fragments in order merge into one.
	fragMaxSpans = 64
	// fragMaxHeld bounds the frames held for one datagram until it
	// settles (Config.HoldFragments): its pieces and their retransmissions.
	fragMaxHeld = 2 * fragMaxSpans
	// fragMaxOverlapPairs bounds the (source, target) pairs whose
	// overlapping fragments are kept for findings; beyond, only counted.
	fragMaxOverlapPairs = 4096
	// ipMaxDatagram is the largest IP datagram, header included.
	ipMaxDatagram = 65535
)

// FragmentStats counts IP fragments and what became of their datagrams.
type FragmentStats struct {
	// Packets is how many packets were IP fragments.
	Packets int `json:"packets"`
	// Reassembled counts datagrams completed and analysed whole.
	Reassembled int `json:"reassembled"`
	// Overlapping counts datagrams dropped because fragments overlapped;
	// Conflicting those of them whose overlapping bytes differed.
	Overlapping int `json:"overlapping"`
	Conflicting int `json:"conflicting"`
	// Incomplete counts datagrams given up: not completed within 60 s
	// of capture time or by the end of the capture, or pushed out by
	// newer ones when too many were in flight.
	Incomplete int `json:"incomplete"`
	// Oversized counts datagrams whose fragments reach past 65,535 bytes
	// (the ping of death).
	Oversized int `json:"oversized"`
}

// FragmentOverlap is what one source sent one target in overlapping
// fragments.
type FragmentOverlap struct {
	Src, Dst netip.Addr
	// Datagrams counts datagrams with overlapping fragments; Conflicting
	// those whose overlapping bytes differed (two versions of the same
	// bytes: one for the IDS, one for the target).
	Datagrams, Conflicting int
	// Oversized counts datagrams that reached past 65,535 bytes.
	Oversized   int
	First, Last time.Time
}

// FragmentOverlaps returns every (source, target) that sent overlapping or
// oversized fragments, in order of first sight.
func (c *Capture) FragmentOverlaps() []FragmentOverlap {
	if c.defrag == nil {
		return nil
	}
	out := make([]FragmentOverlap, 0, len(c.defrag.overlapOrder))
	for _, k := range c.defrag.overlapOrder {
		out = append(out, *c.defrag.overlaps[k])
	}
	return out
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	v6       bool
}

type fragSpan struct{ start, end int }

// fragDatagram is one datagram being reassembled.
type fragDatagram struct {
	key   fragKey
	first time.Time
	// data holds the captured bytes at their offsets; spans the byte
	// ranges the fragments declare (a snap length may have cut their
	// bytes, not their lengths); captured the ranges data really holds.
	data     []byte
	spans    []fragSpan
	captured []fragSpan
	end      int // the datagram's length, from the last fragment; -1 until it arrives
	frags    int
	dead     bool // overlapping or oversized: further fragments are absorbed
	// held are the fragments' frames, in the order read, when the
	// analyzers see them only once the datagram settles (Config.HoldFragments).
	held []heldFrame
}

type defragmenter struct {
	m     map[fragKey]*fragDatagram
	queue []*fragDatagram // in order of first fragment, for timeouts and eviction
	bytes int             // datagram bytes and held frames in flight
	buf   []byte          `partial:"-"` // the datagram handed to the decoder, reused
	// hold keeps the frames of fragments until their datagram settles.
	hold bool
	// out are held frames whose datagram settled (given up, or completed
	// before the datagram itself is handed): the analyzers see them next.
	out []heldFrame
	// joins are the datagrams pending in several merged parts, their
	// frames in time order: HandPending reassembles them as one pass
	// would have.
	joins []fragJoin

	overlaps     map[hostPair]*FragmentOverlap
	overlapOrder []hostPair
}

func newDefragmenter(hold bool) *defragmenter {
	return &defragmenter{m: map[fragKey]*fragDatagram{}, overlaps: map[hostPair]*FragmentOverlap{}, hold: hold}
}

// fragment is one fragment as the decoder read it.
type fragment struct {
	key    fragKey
	offset int    // in bytes
	length int    // declared by the IP header
	data   []byte // what the capture holds of it
	more   bool
}

// reassemble takes the fragment the decoder just read into p. When it
// completes its datagram, p becomes the whole datagram, decoded again. It
// returns true when p is held until its datagram settles (Config.
// HoldFragments): the caller hands it to no analyzer now. filter, when not
// nil, says whether a held fragment will be kept when it is handed.
func (c *Capture) reassemble(dec *decoder, p *Packet, filter Filter) (held bool) {
	if c.defrag == nil {
		c.defrag = newDefragmenter(c.hold)
	}
	held, refused := c.defrag.take(&c.Fragments, dec, p, filter, false, false)
	if held && !refused {
		c.widen(p.Time)
	}
	return held
}

// take is reassemble on df; refused says whether the filter (when not
// nil, asked only of a fragment held) or the part that read it (on
// replay) refused a held fragment. On replay (HandPending: fragments
// already counted, read by other parts) neither the count nor the
// timeouts and bounds of the datagrams in flight apply: only the
// datagram's own timeout does.
func (df *defragmenter) take(st *FragmentStats, dec *decoder, p *Packet, filter Filter, refused, replay bool) (held, _ bool) {
	fr, ok := dec.fragment(p)
	if !ok {
		return false, false
	}
	if !replay {
		st.Packets++
		df.expire(st, p.Time)
	}
	dg := df.m[fr.key]
	if dg != nil && p.Time.Sub(dg.first) > FragTimeout {
		// A replayed datagram that took too long: given up, and the
		// fragment starts another, as expire does in one pass.
		df.forget(st, dg)
		dg = nil
	}
	if dg == nil {
		for !replay && (len(df.m) >= FragMaxDatagrams || df.bytes >= fragMaxBytes) {
			if !df.evictOldest(st) {
				break
			}
		}
		dg = &fragDatagram{key: fr.key, first: p.Time, end: -1}
		df.m[fr.key] = dg
		df.queue = append(df.queue, dg)
	}
	if dg.dead {
		return false, false
	}
	dg.frags++
	switch df.add(st, dg, fr) {
	case fragOverlap, fragConflict, fragOversized, fragGivenUp:
		return false, false
	}
	if dg.end < 0 || len(dg.spans) != 1 || dg.spans[0] != (fragSpan{0, dg.end}) {
		if !df.hold {
			return false, false
		}
		if len(dg.held) >= fragMaxHeld {
			// Copies of one fragment sent over and over: given up, as
			// a datagram of too many pieces is.
			df.drop(st, dg, fragGivenUp)
			return false, false
		}
		if filter != nil {
			refused = !filter.Match(p, p.Index)
		}
		h := heldFrame{Index: p.Index, Time: p.Time, Length: p.Length, CaptureLength: p.CaptureLength, LinkType: p.LinkType, Data: bytes.Clone(p.Data), Refused: refused}
		dg.held = append(dg.held, h)
		df.bytes += cap(h.Data)
		// Past the bound the oldest datagrams are given up, this one
		// too if it is the oldest: its frames, p's copy included, are
		// then handed as fragments.
		for !replay && df.bytes > fragMaxBytes && df.evictOldest(st) {
		}
		return true, refused
	}
	// Complete: the fragments before it are handed first, then p as the
	// datagram, rebuilt with its IP header in front of the captured
	// prefix and decoded as if it had arrived whole.
	delete(df.m, dg.key)
	df.bytes -= cap(dg.data)
	df.release(dg)
	st.Reassembled++
	have := 0
	if len(dg.captured) > 0 && dg.captured[0].start == 0 {
		have = dg.captured[0].end
	}
	first := df.header(dg.key, dg.end)
	df.buf = append(df.buf, dg.data[:have]...)
	keep := Packet{Index: p.Index, Time: p.Time, Length: p.Length, CaptureLength: p.CaptureLength, LinkType: p.LinkType,
		Layers: p.Layers & (LayerEthernet | LayerVLAN | LayerLinuxSLL | LayerLoopback | LayerMalformed), SrcMAC: p.SrcMAC, HasMAC: p.HasMAC, Data: p.Data}
	*p = keep
	dec.decodeFrom(p, first, df.buf)
	p.Fragments = dg.frags
	dg.data = nil
	return false, false
}

type fragResult uint8

const (
	fragAdded fragResult = iota
	fragDuplicate
	fragOverlap
	fragConflict
	fragOversized
	fragGivenUp // too many holes: counted as incomplete
)

// add places fr in dg and says what happened.
func (df *defragmenter) add(st *FragmentStats, dg *fragDatagram, fr fragment) fragResult {
	start, end := fr.offset, fr.offset+fr.length
	hdr := 20
	if fr.key.v6 {
		hdr = 0 // IPv6's payload length excludes the fixed header
	}
	if end+hdr > ipMaxDatagram || (!fr.more && dg.end >= 0 && dg.end != end) || (fr.more && dg.end >= 0 && end > dg.end) {
		if end+hdr > ipMaxDatagram {
			df.drop(st, dg, fragOversized)
			return fragOversized
		}
		df.drop(st, dg, fragOverlap) // two different ends: the fragments contradict each other
		return fragOverlap
	}
	// An exact copy of a fragment already held is a retransmission.
	for _, s := range dg.spans {
		if start < s.end && s.start < end {
			if s.start <= start && end <= s.end && df.sameBytes(dg, fr) {
				return fragDuplicate
			}
			res := fragOverlap
			if !df.sameBytes(dg, fr) {
				res = fragConflict
			}
			df.drop(st, dg, res)
			return res
		}
	}
	if len(dg.spans) >= fragMaxSpans {
		df.drop(st, dg, fragGivenUp)
		return fragGivenUp
	}
	if !fr.more {
		dg.end = end
	}
	if need := fr.offset + len(fr.data); need > len(dg.data) {
		old := cap(dg.data)
		dg.data = slices.Grow(dg.data, need-len(dg.data))[:need]
		df.bytes += cap(dg.data) - old
	}
	copy(dg.data[fr.offset:], fr.data)
	dg.spans = addSpan(dg.spans, fragSpan{start, end})
	if len(fr.data) > 0 {
		dg.captured = addSpan(dg.captured, fragSpan{start, fr.offset + len(fr.data)})
	}
	return fragAdded
}

// sameBytes reports whether the captured bytes of fr equal those dg
// already holds where both have them.
func (df *defragmenter) sameBytes(dg *fragDatagram, fr fragment) bool {
	for i, b := range fr.data {
		o := fr.offset + i
		if o >= len(dg.data) {
			break
		}
		if covered(dg.captured, o) && dg.data[o] != b {
			return false
		}
	}
	return true
}

func covered(spans []fragSpan, o int) bool {
	for _, s := range spans {
		if s.start <= o && o < s.end {
			return true
		}
	}
	return false
}

// addSpan inserts s into sorted, non-overlapping spans, merging neighbours.
func addSpan(spans []fragSpan, s fragSpan) []fragSpan {
	i, _ := slices.BinarySearchFunc(spans, s.start, func(x fragSpan, t int) int { return x.start - t })
	spans = slices.Insert(spans, i, s)
	out := spans[:0]
	for _, x := range spans {
		if n := len(out); n > 0 && x.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, x.end)
			continue
		}
		out = append(out, x)
	}
	return out
}

// drop marks dg dead, frees its bytes, hands its held fragments and
// counts why.
func (df *defragmenter) drop(st *FragmentStats, dg *fragDatagram, why fragResult) {
	dg.dead = true
	df.bytes -= cap(dg.data)
	dg.data, dg.spans, dg.captured = nil, nil, nil
	df.release(dg)
	switch why {
	case fragGivenUp:
		st.Incomplete++
		return
	case fragOversized:
		st.Oversized++
	case fragConflict:
		st.Conflicting++
		st.Overlapping++
	default:
		st.Overlapping++
	}
	k := hostPair{dg.key.src, dg.key.dst}
	o := df.overlaps[k]
	if o == nil {
		if len(df.overlaps) >= fragMaxOverlapPairs {
			return
		}
		o = &FragmentOverlap{Src: k.src, Dst: k.dst, First: dg.first}
		df.overlaps[k] = o
		df.overlapOrder = append(df.overlapOrder, k)
	}
	if dg.first.After(o.Last) {
		o.Last = dg.first
	}
	switch why {
	case fragOversized:
		o.Oversized++
	case fragConflict:
		o.Conflicting++
		o.Datagrams++
	default:
		o.Datagrams++
	}
}

// expire gives up the datagrams older than FragTimeout at now.
func (df *defragmenter) expire(st *FragmentStats, now time.Time) {
	for len(df.queue) > 0 {
		dg := df.queue[0]
		if df.m[dg.key] == dg && now.Sub(dg.first) <= FragTimeout {
			return
		}
		df.queue = df.queue[1:]
		df.forget(st, dg)
	}
}

// evictOldest gives up the oldest datagram in flight; false when none is.
func (df *defragmenter) evictOldest(st *FragmentStats) bool {
	for len(df.queue) > 0 {
		dg := df.queue[0]
		df.queue = df.queue[1:]
		if df.m[dg.key] == dg {
			df.forget(st, dg)
			return true
		}
	}
	return false
}

// forget removes dg if it is still in flight, counting it.
func (df *defragmenter) forget(st *FragmentStats, dg *fragDatagram) {
	if df.m[dg.key] != dg {
		return // completed, or replaced by a later datagram with the same key
	}
	delete(df.m, dg.key)
	df.bytes -= cap(dg.data)
	dg.data = nil
	df.release(dg)
	if !dg.dead {
		st.Incomplete++
	}
}

// header writes the IP header of a reassembled datagram of n payload bytes
// into df.buf and returns the layer the decoder starts from.
func (df *defragmenter) header(k fragKey, n int) gopacket.LayerType {
	if k.v6 {
		var h [40]byte
		h[0] = 0x60
		binary.BigEndian.PutUint16(h[4:], uint16(n))
		h[6] = k.proto
		h[7] = 64
		s, d := k.src.As16(), k.dst.As16()
		copy(h[8:], s[:])
		copy(h[24:], d[:])
		df.buf = append(df.buf[:0], h[:]...)
		return layers.LayerTypeIPv6
	}
	var h [20]byte
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	binary.BigEndian.PutUint16(h[4:], uint16(k.id))
	h[8] = 64
	h[9] = k.proto
	s, d := k.src.As4(), k.dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	df.buf = append(df.buf[:0], h[:]...)
	return layers.LayerTypeIPv4
}

// fragment reads the fragment header the decoder just decoded into p.
func (d *decoder) fragment(p *Packet) (fragment, bool) {
	switch {
	case p.Layers&LayerIPv4 != 0:
		ip := &d.ip4.IPv4
		hl := int(ip.IHL) * 4
		if hl < 20 || int(ip.Length) < hl {
			return fragment{}, false
		}
		n := int(ip.Length) - hl
		data := ip.Payload
		if len(data) > n {
			data = data[:n]
		}
		return fragment{
			key:    fragKey{src: p.Src, dst: p.Dst, id: uint32(ip.Id), proto: uint8(ip.Protocol)},
			offset: int(ip.FragOffset) * 8, length: n, data: data,
			more: ip.Flags&layers.IPv4MoreFragments != 0,
		}, true
	case p.Layers&LayerIPv6 != 0 && slices.Contains(d.decoded, layers.LayerTypeIPv6Fragment):
		if d.ip6.Length == 0 || len(d.frag.Payload) > len(d.ip6.Payload) {
			return fragment{}, false // a jumbogram is never fragmented
		}
		// The fragment's data follows the extension headers up to and
		// including the fragment header: the IPv6 payload length covers
		// them all.
		n := int(d.ip6.Length) - (len(d.ip6.Payload) - len(d.frag.Payload))
		if n < 0 {
			return fragment{}, false
		}
		data := d.frag.Payload
		if len(data) > n {
			data = data[:n]
		}
		return fragment{
			key:    fragKey{src: p.Src, dst: p.Dst, id: d.frag.Identification, proto: uint8(d.frag.NextHeader), v6: true},
			offset: int(d.frag.FragmentOffset) * 8, length: n, data: data,
			more: d.frag.MoreFragments,
		}, true
	}
	return fragment{}, false
}

// hostPair is a (source, destination) address pair.
type hostPair struct{ src, dst netip.Addr }
