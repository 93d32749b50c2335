package detectors

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// A part of a rotated capture meets the connections that cross into it
// mid-stream: the rest of a body, the second half of a request line, the
// answer to a request of the part before. Until a direction reaches the
// start of a message the part cannot parse it; its head logs those
// segments (at most httpHeadSegs, httpHeadBytes of payload) so that the
// merge can replay them through the earlier part's parser state, which
// knows what they are.

const (
	httpHeadSegs  = 64
	httpHeadBytes = 64 << 10
)

// httpHeadSeg is one segment a head logged.
type httpHeadSeg struct {
	dir   uint8
	flags uint8
	seq   uint32
	wire  int // payload bytes on the wire
	index int
	t     time.Time
	data  []byte // the first bytes of the payload, within httpHeadBytes
}

// httpHead is what a connection joined mid-stream sent before its
// directions reached a message start.
type httpHead struct {
	ends          [2]netip.AddrPort // the sender of each direction
	segs          []httpHeadSeg
	bytes         int  // payload bytes held
	full          bool // more segments came than are logged: no replay
	firstT, lastT time.Time
	// span is the sequence range each direction's segments covered, full
	// or not: a head that overflowed inside a body the earlier part knows
	// the length of is skipped whole, as the parser skips missing bytes.
	span [2]seqSpan
}

// seqSpan is a range of sequence numbers [first, end).
type seqSpan struct {
	first, end uint32
	have       bool
}

// add widens s to [seq, seq+n).
func (s *seqSpan) add(seq uint32, n int) {
	end := seq + uint32(n)
	if !s.have {
		s.first, s.end, s.have = seq, end, true
		return
	}
	if int32(seq-s.first) < 0 {
		s.first = seq
	}
	if int32(end-s.end) > 0 {
		s.end = end
	}
}

// join widens s by o.
func (s *seqSpan) join(o seqSpan) {
	if o.have {
		s.add(o.first, int(o.end-o.first))
	}
}

// joinedMidStream reports whether this part has seen no handshake of f.
func joinedMidStream(f *capture.Flow) bool {
	return (f.Flags[0]|f.Flags[1])&capture.FlagSYN == 0
}

// logHead adds a segment of direction di to hd.
func (h *httpDetector) logHead(hd *httpHead, di int, p *capture.Packet) {
	if hd.firstT.IsZero() || p.Time.Before(hd.firstT) {
		hd.firstT = p.Time
	}
	hd.lastT = maxTime(hd.lastT, p.Time)
	seq := p.TCPSeq
	if p.TCPFlags&capture.FlagSYN != 0 {
		seq++
	}
	if p.Src == hd.ends[di].Addr() && p.SrcPort == hd.ends[di].Port() || !hd.ends[di].IsValid() {
		hd.span[di].add(seq, p.PayloadLen)
	}
	if hd.full {
		return
	}
	if len(hd.segs) >= httpHeadSegs {
		h.bounds.headBytes -= hd.bytes
		hd.full, hd.segs, hd.bytes = true, nil, 0
		return
	}
	hd.ends[di], hd.ends[1-di] = netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	n := min(len(p.Payload), httpHeadBytes-hd.bytes)
	// Heads take at most a quarter of the buffer budget: a capture cut
	// mid-stream holds many connections that are not HTTP at all.
	if b := &h.bounds; b.headBytes+n > b.maxLineBytes/4 || b.lineBytes+b.headBytes+n > b.maxLineBytes {
		n = 0
	}
	h.bounds.headBytes += n
	hd.bytes += n
	hd.segs = append(hd.segs, httpHeadSeg{dir: uint8(di), flags: p.TCPFlags, seq: p.TCPSeq, wire: p.PayloadLen,
		index: p.Index, t: p.Time, data: bytes.Clone(p.Payload[:n])})
}

// headless logs a segment of a flow no connection follows yet, when
// this part joined it mid-stream.
func (h *httpDetector) headless(di int, p *capture.Packet) {
	if !joinedMidStream(p.Flow) {
		return
	}
	hd := h.heads[p.Flow]
	if hd == nil {
		if len(h.heads) >= h.bounds.maxConns {
			h.evictHeads()
		}
		hd = &httpHead{}
		h.heads[p.Flow] = hd
	}
	h.logHead(hd, di, p)
}

// dropHead returns hd's bytes to the budget.
func (h *httpDetector) dropHead(hd *httpHead) {
	if hd != nil {
		h.bounds.headBytes -= hd.bytes
		hd.segs, hd.bytes = nil, 0
	}
}

// evictHeads drops the quarter of the heads seen last the longest ago.
func (h *httpDetector) evictHeads() {
	type entry struct {
		f  *capture.Flow
		hd *httpHead
	}
	all := make([]entry, 0, len(h.heads))
	for f, hd := range h.heads {
		all = append(all, entry{f, hd})
	}
	slices.SortFunc(all, func(x, y entry) int {
		return cmp.Or(x.hd.lastT.Compare(y.hd.lastT), x.hd.firstT.Compare(y.hd.firstT))
	})
	for _, e := range all[:max(1, len(all)/4)] {
		h.dropHead(e.hd)
		delete(h.heads, e.f)
	}
}

// packet rebuilds the packet of a logged segment for a replay.
func (hd *httpHead) packet(s *httpHeadSeg) *capture.Packet {
	src, dst := hd.ends[s.dir], hd.ends[1-s.dir]
	return &capture.Packet{Index: s.index, Time: s.t, Layers: capture.LayerTCP, Src: src.Addr(), Dst: dst.Addr(),
		SrcPort: src.Port(), DstPort: dst.Port(), TCPFlags: s.flags, TCPSeq: s.seq, Payload: s.data, PayloadLen: s.wire,
		FromClient: s.dir == 0}
}
