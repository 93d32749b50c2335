package streams

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// Errors Extract wraps, so callers can tell a query that matched
// nothing from a broken capture.
var (
	// ErrQuery: the Query itself is wrong (an address missing,
	// a negative index or limit).
	ErrQuery = errors.New("invalid stream query")
	// ErrNoStream: no TCP connection in the capture matches the query.
	ErrNoStream = errors.New("no TCP connection matches")
	// ErrIndex: connections match, but fewer than the query's Index
	// asks for. The result still lists them.
	ErrIndex = errors.New("no matching connection with that index")
)

// Defaults of Query's limits.
const (
	// DefaultMaxBytes is the bytes kept per direction when
	// Query.MaxBytes is zero.
	DefaultMaxBytes = 64 << 20
	// DefaultBufferedPages is the out-of-order buffer when
	// Query.MaxBufferedPages is zero: 4096 pages of 1900 bytes, about
	// 7.6 MB.
	DefaultBufferedPages = 4096
)

// Direction names a side of a TCP connection: the bytes one side sent.
type Direction string

// The directions of a stream. Both is only for paging: the two
// directions interleaved in the order the data was delivered.
const (
	FromClient Direction = "client"
	FromServer Direction = "server"
	Both       Direction = "both"
)

// Query says which TCP connection Extract reassembles.
type Query struct {
	// Src and Dst are the two hosts, in either order; both are required.
	Src netip.Addr `json:"src"`
	Dst netip.Addr `json:"dst"`
	// Port is a port of the connection, usually the server's; it may stand
	// on either side. Zero matches every port.
	Port uint16 `json:"port"`
	// Index chooses among the connections that match, 0-based in order of
	// their first packet. Zero is the first.
	Index int `json:"index"`
	// MaxBytes bounds the bytes kept per direction; past it the stream is
	// still counted but its bytes are dropped and the direction is marked
	// truncated. Zero means DefaultMaxBytes.
	MaxBytes int `json:"max_bytes,omitempty"`
	// MaxBufferedPages bounds the out-of-order data held, per direction,
	// while waiting for a missing segment, in pages of 1900 bytes. When it
	// is full the reassembler stops waiting, marks a gap and goes on. Zero
	// means DefaultBufferedPages.
	MaxBufferedPages int `json:"max_buffered_pages,omitempty"`
}

// String names the query the way error messages do.
func (q Query) String() string {
	s := fmt.Sprintf("%s <-> %s", q.Src, q.Dst)
	if q.Port != 0 {
		s += fmt.Sprintf(" port %d", q.Port)
	}
	return s
}

// Validate reports what is wrong with a query, wrapping ErrQuery.
func (q Query) Validate() error {
	switch {
	case !q.Src.IsValid() || !q.Dst.IsValid():
		return fmt.Errorf("%w: both addresses are required", ErrQuery)
	case q.Index < 0:
		return fmt.Errorf("%w: index %d is negative", ErrQuery, q.Index)
	case q.MaxBytes < 0:
		return fmt.Errorf("%w: max bytes %d is negative", ErrQuery, q.MaxBytes)
	case q.MaxBufferedPages < 0:
		return fmt.Errorf("%w: max buffered pages %d is negative", ErrQuery, q.MaxBufferedPages)
	}
	return nil
}

// Connection is one TCP connection that matched a query, with what
// each side sent on the wire (retransmissions included).
type Connection struct {
	// Index is the connection's place among the matches, as
	// Query.Index counts.
	Index  int            `json:"index"`
	Client netip.AddrPort `json:"client"`
	Server netip.AddrPort `json:"server"`
	// ClientKnown is true when a SYN or SYN-ACK said who opened the
	// connection; otherwise the client is a guess from the ports.
	ClientKnown bool      `json:"client_known"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
	// FirstPacket and LastPacket are 1-based packet numbers in the file,
	// as tshark numbers frames.
	FirstPacket   int   `json:"first_packet"`
	LastPacket    int   `json:"last_packet"`
	ClientPackets int   `json:"client_packets"`
	ServerPackets int   `json:"server_packets"`
	ClientBytes   int64 `json:"client_bytes"` // TCP payload bytes the client sent, retransmissions included
	ServerBytes   int64 `json:"server_bytes"`
	// End is how the connection ended in the capture: "fin", "rst", or
	// "open" when the capture stops before either.
	End string `json:"end"`
}

// Half is one direction of a reassembled connection: the bytes one
// side sent, in order, each byte once.
type Half struct {
	// Endpoint is the sending side.
	Endpoint netip.AddrPort `json:"endpoint"`
	// Bytes counts the bytes reassembled, gaps not included; it can exceed
	// len(Data) when MaxBytes cut the stream.
	Bytes int64 `json:"bytes"`
	// Missing counts the bytes lost in gaps (segments the capture does not
	// hold), Gaps how many gaps there were.
	Missing int64 `json:"missing"`
	Gaps    int   `json:"gaps"`
	// Truncated is true when MaxBytes was reached: Data holds only the
	// first MaxBytes bytes.
	Truncated bool `json:"truncated"`
	// SYN is true when the capture holds this side's SYN; otherwise the
	// stream starts mid-connection, at the first segment captured.
	SYN bool `json:"syn"`
	// Data is the reassembled byte stream.
	Data []byte `json:"-"`
}

// Chunk is a run of bytes one side sent without the other side
// sending in between, in the order the data became contiguous (the order a
// receiving application reads it). A chunk with Gap set holds no data: it
// marks Missing bytes that the capture lacks at Offset.
type Chunk struct {
	Direction Direction `json:"direction"`
	// Offset is where Data starts in its direction's byte stream (gaps are
	// not counted: the stream is what was captured).
	Offset int `json:"offset"`
	// Length is the number of bytes reassembled into this chunk; Data can
	// be shorter when MaxBytes cut the stream.
	Length int `json:"length"`
	// Time and Packet are those of the chunk's first segment.
	Time    time.Time `json:"time"`
	Packet  int       `json:"packet"`
	Gap     bool      `json:"gap,omitempty"`
	Missing int       `json:"missing,omitempty"`
	// SnapLen is set on a gap whose bytes the capture's snap length cut
	// from the end of a segment, rather than a segment lost whole.
	SnapLen bool   `json:"snaplen,omitempty"`
	Data    []byte `json:"data,omitempty"`
}

// Result is one reassembled TCP connection and the list of every
// connection that matched the query.
type Result struct {
	Query Query `json:"query"`
	// Connections lists every matching connection in order of first
	// packet; Connection is the chosen one (Connections[Query.Index]).
	Connections []Connection `json:"connections"`
	Connection  Connection   `json:"connection"`
	// Client and Server are the two directions: what the client sent, and
	// what the server sent.
	Client Half `json:"client"`
	Server Half `json:"server"`
	// Chunks interleaves both directions.
	Chunks []Chunk `json:"chunks"`
	// Packets is how many packets the capture holds; Warnings are the
	// capture's own (cut short, damaged).
	Packets  int      `json:"packets"`
	Warnings []string `json:"warnings,omitempty"`
}

// Half returns the direction d (FromClient or FromServer).
func (r *Result) Half(d Direction) *Half {
	if d == FromServer {
		return &r.Server
	}
	return &r.Client
}

// Extract reassembles one TCP connection between q.Src and q.Dst in
// a single pass over the capture at path: every other packet costs an
// address comparison, and only the chosen connection's segments go through
// gopacket's reassembly, with bounded buffers. Both directions are put in
// sequence order, each byte once (a retransmission keeps the first copy),
// a connection whose SYN is not in the capture starts at its first segment,
// and segments the capture lacks become gap chunks with their size.
//
// Data after a gap waits for the missing segment until the other side
// acknowledges past it (the receiver had the bytes, only the capture lost
// them), the buffer limit is reached, or the capture ends. The bytes then
// equal tshark's "follow,tcp,raw" output, whose "[N bytes missing in
// capture file]" lines are the gap chunks, except that tshark drops data
// after a gap that was never acknowledged, where Extract keeps it.
//
// The result is non-nil whenever the capture could be read. It lists every
// matching connection even when the error is ErrIndex; with
// ErrNoStream the list is empty. A capture damaged part-way gives the
// stream up to the damage together with the *CaptureError.
func Extract(ctx context.Context, path string, q Query) (*Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	f, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ExtractFile(ctx, f, path, q)
}

// ExtractFile is Extract on the open file f, read from its start and not
// closed; name is what the errors call it. A deadline of ctx that passes
// during the read gives the stream read so far, with a warning
// (capture.ScanFile).
func ExtractFile(ctx context.Context, f *os.File, name string, q Query) (*Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	path := name
	q.Src, q.Dst = q.Src.Unmap().WithZone(""), q.Dst.Unmap().WithZone("")
	if q.MaxBytes == 0 {
		q.MaxBytes = DefaultMaxBytes
	}
	if q.MaxBufferedPages == 0 {
		q.MaxBufferedPages = DefaultBufferedPages
	}
	x := newStreamExtractor(q)
	c, err := capture.ScanFile(ctx, f, name, capture.Config{}, x)
	if c == nil {
		return nil, err
	}
	res := x.result()
	res.Packets = c.Packets
	res.Warnings = c.Warnings
	if err != nil {
		return res, err
	}
	switch {
	case len(res.Connections) == 0:
		return res, fmt.Errorf("%w: %s in %s", ErrNoStream, q, path)
	case q.Index >= len(res.Connections):
		return res, fmt.Errorf("%w: %s in %s: index %d asked for, %d connections match", ErrIndex, q, path, q.Index, len(res.Connections))
	}
	return res, nil
}

// connKey is a connection's two endpoints, lower first, so both
// directions find it.
type connKey [2]netip.AddrPort

func makeConnKey(a, b netip.AddrPort) connKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return connKey{a, b}
}

// streamConn follows one matching connection. Sides are counted by sender:
// 0 is a, the sender of the connection's first packet, 1 is b; which of
// them is the client is decided at the end, when every SYN has been seen.
type streamConn struct {
	a, b                   netip.AddrPort
	first, last            time.Time
	firstPacket            int
	lastPacket             int
	packets                [2]int
	payload                [2]int64
	synFrom, synAckFrom    int // sender of a SYN (-1 none)
	isn                    uint32
	fin, rst               bool
	clientIsA, clientKnown bool
}

// side is 0 when src is a, 1 otherwise.
func (c *streamConn) side(src netip.AddrPort) int {
	if src == c.a {
		return 0
	}
	return 1
}

// startsNew reports whether a SYN with sequence number seq opens a new
// connection on the same endpoints (port reuse) rather than repeating this
// one's SYN: tshark makes it a new stream too.
func (c *streamConn) startsNew(seq uint32) bool {
	if c.synFrom >= 0 {
		return seq != c.isn
	}
	return c.fin || c.rst
}

// decideClient settles which side is the client: the SYN's sender, else
// the SYN-ACK's receiver, else the side not on the query's port, else the
// engine's port heuristic.
func (c *streamConn) decideClient(port uint16) {
	switch {
	case c.synFrom >= 0:
		c.clientIsA, c.clientKnown = c.synFrom == 0, true
	case c.synAckFrom >= 0:
		c.clientIsA, c.clientKnown = c.synAckFrom == 1, true
	case port != 0 && c.a.Port() != c.b.Port() && (c.a.Port() == port || c.b.Port() == port):
		c.clientIsA = c.b.Port() == port
	default:
		c.clientIsA = capture.ClientByPorts(c.a.Port(), c.b.Port())
	}
}

func (c *streamConn) info(index int) Connection {
	ci, si := 0, 1
	client, server := c.a, c.b
	if !c.clientIsA {
		ci, si = 1, 0
		client, server = c.b, c.a
	}
	end := "open"
	switch {
	case c.rst:
		end = "rst"
	case c.fin:
		end = "fin"
	}
	return Connection{
		Index: index, Client: client, Server: server, ClientKnown: c.clientKnown,
		First: c.first, Last: c.last, FirstPacket: c.firstPacket, LastPacket: c.lastPacket,
		ClientPackets: c.packets[ci], ServerPackets: c.packets[si],
		ClientBytes: c.payload[ci], ServerBytes: c.payload[si], End: end,
	}
}

// rawChunk is a chunk before the sides are named: side 0 is the chosen
// connection's a.
type rawChunk struct {
	side    int
	offset  int64
	length  int
	time    time.Time
	packet  int
	missing int
	snap    bool
}

// streamExtractor is the Analyzer of Extract.
type streamExtractor struct {
	q       Query
	conns   []*streamConn
	current map[connKey]*streamConn

	// The chosen connection has one assembler per direction, so that one
	// direction can be flushed past a lost segment without the other.
	chosen  *streamConn
	asm     [2]*reassembly.Assembler
	flows   [2]gopacket.Flow // network flow of each side's packets
	syn     [2]bool
	started [2]bool
	base    [2]uint32 // sequence number of each direction's first byte
	dataEnd [2]uint32 // sequence number just past the furthest data seen
	// A segment the snap length cut: its captured and real ends.
	cut             [2]bool
	cutFrom, cutEnd [2]uint32
	cutPacket       [2]int
	cutTime         [2]time.Time
	snapGap         [2]bool // the gap being flushed is a cut one

	data      [2][]byte
	total     [2]int64
	missing   [2]int64
	gaps      [2]int
	truncated [2]bool
	chunks    []rawChunk
}

func newStreamExtractor(q Query) *streamExtractor {
	return &streamExtractor{q: q, current: make(map[connKey]*streamConn)}
}

// Packet drops every packet that is not TCP between the query's hosts on
// its port before doing anything else: that test is all most packets cost.
func (x *streamExtractor) Packet(p *capture.Packet) {
	if p.Layers&capture.LayerTCP == 0 || p.Layers&capture.LayerFragment != 0 || p.TCP == nil {
		return
	}
	if !(p.Src == x.q.Src && p.Dst == x.q.Dst) && !(p.Src == x.q.Dst && p.Dst == x.q.Src) {
		return
	}
	if x.q.Port != 0 && p.SrcPort != x.q.Port && p.DstPort != x.q.Port {
		return
	}
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	k := makeConnKey(src, dst)
	c := x.current[k]
	syn := p.TCPFlags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN
	if c != nil && syn && c.startsNew(p.TCP.Seq) {
		c = nil
	}
	if c == nil {
		c = &streamConn{a: src, b: dst, first: p.Time, firstPacket: p.Index, synFrom: -1, synAckFrom: -1}
		x.current[k] = c
		x.conns = append(x.conns, c)
		if len(x.conns)-1 == x.q.Index {
			x.choose(c)
		}
	}
	s := c.side(src)
	c.packets[s]++
	c.payload[s] += int64(p.PayloadLen)
	c.last, c.lastPacket = p.Time, p.Index
	if p.Time.Before(c.first) {
		c.first = p.Time
	}
	switch {
	case syn && c.synFrom < 0:
		c.synFrom, c.isn = s, p.TCP.Seq
	case p.TCPFlags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN|capture.FlagACK && c.synAckFrom < 0:
		c.synAckFrom = s
	}
	c.fin = c.fin || p.TCPFlags&capture.FlagFIN != 0
	c.rst = c.rst || p.TCPFlags&capture.FlagRST != 0
	if c == x.chosen {
		x.feed(p, s)
	}
}

// feed hands one segment of the chosen connection, sent by side s, to its
// direction's assembler, after using its acknowledgement: when it
// acknowledges bytes the other direction is still waiting for, the
// receiver had them and only the capture lost them, so waiting is over
// (tshark's follow draws the same conclusion).
func (x *streamExtractor) feed(p *capture.Packet, s int) {
	t := p.TCP
	if o := 1 - s; t.ACK && x.started[o] {
		next := x.nextSeq(o)
		if int32(x.dataEnd[o]-next) > 0 && int32(t.Ack-next) > 0 {
			x.asm[o].FlushWithOptions(reassembly.FlushOptions{T: endOfTime})
		}
	}
	if !x.started[s] {
		x.started[s] = true
		x.base[s] = t.Seq
		if t.SYN {
			x.base[s]++
		}
		x.dataEnd[s] = x.base[s]
	}
	if t.SYN {
		x.syn[s] = true
	}
	if end := t.Seq + uint32(len(t.Payload)); len(t.Payload) > 0 && int32(end-x.dataEnd[s]) > 0 {
		x.dataEnd[s] = end
	}
	// The segment after one the snap length cut need not wait: the bytes
	// between them are known to be missing from the file.
	afterCut := x.cut[s] && len(t.Payload) > 0 && x.nextSeq(s) == x.cutFrom[s] && int32(t.Seq-x.cutFrom[s]) > 0 && int32(t.Seq-x.cutEnd[s]) <= 0
	ac := &streamContext{ci: gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: p.CaptureLength, Length: p.Length, AncillaryData: []any{p.Index}}}
	x.asm[s].AssembleWithContext(x.flows[s], t, ac)
	if afterCut {
		x.snapGap[s] = true
		x.asm[s].FlushWithOptions(reassembly.FlushOptions{T: endOfTime})
		x.snapGap[s], x.cut[s] = false, false
	}
	if n := len(t.Payload); p.PayloadLen > n {
		x.cut[s], x.cutFrom[s], x.cutEnd[s] = true, t.Seq+uint32(n), t.Seq+uint32(p.PayloadLen)
		x.cutPacket[s], x.cutTime[s] = p.Index, p.Time
	}
}

// endOfTime is later than any packet: flushing with it pushes every page
// a direction holds.
var endOfTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// nextSeq is the sequence number direction s waits for: its first byte's
// plus every byte delivered or given up as lost.
func (x *streamExtractor) nextSeq(s int) uint32 {
	return x.base[s] + uint32(x.total[s]+x.missing[s])
}

// choose starts reassembly for c, the connection the query's Index names.
// Each direction's assembler sees only that direction's segments, so its
// pool holds one connection whose TCPDirClientToServer half is the
// direction and whose other half stays empty.
func (x *streamExtractor) choose(c *streamConn) {
	x.chosen = c
	et := layers.EndpointIPv4
	if c.a.Addr().Is6() {
		et = layers.EndpointIPv6
	}
	a, b := c.a.Addr().AsSlice(), c.b.Addr().AsSlice()
	x.flows[0] = gopacket.NewFlow(et, a, b)
	x.flows[1] = gopacket.NewFlow(et, b, a)
	for s := range x.asm {
		x.asm[s] = reassembly.NewAssembler(reassembly.NewStreamPool(&streamFactory{x: x, side: s}))
		x.asm[s].MaxBufferedPagesPerConnection = x.q.MaxBufferedPages
		x.asm[s].MaxBufferedPagesTotal = x.q.MaxBufferedPages
	}
}

// deliver takes in-order bytes from the assembler. skip > 0 is the number
// of bytes lost before them.
func (x *streamExtractor) deliver(side, skip int, data []byte, ci gopacket.CaptureInfo) {
	packet := 0
	if len(ci.AncillaryData) == 1 {
		packet, _ = ci.AncillaryData[0].(int)
	}
	if skip > 0 {
		x.missing[side] += int64(skip)
		x.gaps[side]++
		x.chunks = append(x.chunks, rawChunk{side: side, offset: x.total[side], time: ci.Timestamp, packet: packet, missing: skip, snap: x.snapGap[side]})
	}
	if len(data) == 0 {
		return
	}
	off := x.total[side]
	x.total[side] += int64(len(data))
	keep := min(len(data), x.q.MaxBytes-len(x.data[side]))
	if keep < len(data) {
		x.truncated[side] = true
	}
	x.data[side] = append(x.data[side], data[:keep]...)
	if n := len(x.chunks); n > 0 {
		if last := &x.chunks[n-1]; last.side == side && last.missing == 0 && last.offset+int64(last.length) == off {
			last.length += len(data)
			return
		}
	}
	x.chunks = append(x.chunks, rawChunk{side: side, offset: off, length: len(data), time: ci.Timestamp, packet: packet})
}

// result flushes what the assembler still holds (segments after a gap it
// was waiting to fill) and names the sides.
func (x *streamExtractor) result() *Result {
	res := &Result{Query: x.q, Connections: make([]Connection, 0, len(x.conns)), Chunks: []Chunk{}}
	for i, c := range x.conns {
		c.decideClient(x.q.Port)
		res.Connections = append(res.Connections, c.info(i))
	}
	c := x.chosen
	if c == nil {
		return res
	}
	for s, a := range x.asm {
		a.FlushAll()
		// The last segment captured was cut: its tail is missing too.
		if x.cut[s] && x.nextSeq(s) == x.cutFrom[s] {
			n := int(x.cutEnd[s] - x.cutFrom[s])
			x.missing[s] += int64(n)
			x.gaps[s]++
			x.chunks = append(x.chunks, rawChunk{side: s, offset: x.total[s], time: x.cutTime[s], packet: x.cutPacket[s], missing: n, snap: true})
		}
	}
	res.Connection = res.Connections[x.q.Index]
	res.Chunks = make([]Chunk, 0, len(x.chunks))
	names := [2]Direction{FromClient, FromServer}
	if !c.clientIsA {
		names = [2]Direction{FromServer, FromClient}
	}
	for s, ep := range [2]netip.AddrPort{c.a, c.b} {
		h := res.Half(names[s])
		*h = Half{Endpoint: ep, Bytes: x.total[s], Missing: x.missing[s], Gaps: x.gaps[s], Truncated: x.truncated[s], SYN: x.syn[s], Data: x.data[s]}
		if h.Data == nil {
			h.Data = []byte{}
		}
	}
	for _, rc := range x.chunks {
		ch := Chunk{Direction: names[rc.side], Offset: int(rc.offset), Length: rc.length, Time: rc.time, Packet: rc.packet}
		if rc.missing > 0 {
			ch.Gap, ch.Missing, ch.SnapLen = true, rc.missing, rc.snap
		} else {
			d := x.data[rc.side]
			ch.Data = d[min(int(rc.offset), len(d)):min(int(rc.offset)+rc.length, len(d))]
		}
		res.Chunks = append(res.Chunks, ch)
	}
	return res
}

// streamContext carries a packet's capture info, with its packet number as
// the only ancillary datum, through the assembler's pages.
type streamContext struct{ ci gopacket.CaptureInfo }

func (c *streamContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

type streamFactory struct {
	x    *streamExtractor
	side int
}

func (f *streamFactory) New(_, _ gopacket.Flow, _ *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	return &streamSink{x: f.x, side: f.side}
}

// streamSink receives one direction of the chosen connection from its
// assembler.
type streamSink struct {
	x    *streamExtractor
	side int
}

// Accept takes every segment, and starts a direction whose SYN the capture
// lacks at its first segment.
func (s *streamSink) Accept(_ *layers.TCP, _ gopacket.CaptureInfo, _ reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	if nextSeq < 0 { // the assembler's invalidSequence: nothing seen yet in this direction
		*start = true
	}
	return true
}

func (s *streamSink) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	n, _ := sg.Lengths()
	_, _, _, skip := sg.Info()
	var data []byte
	if n > 0 {
		data = sg.Fetch(n)
	}
	ci := sg.CaptureInfo(0)
	if n == 0 && ac != nil {
		// No byte to take the time of (a FIN after a gap): the segment's own.
		ci = ac.GetCaptureInfo()
	}
	s.x.deliver(s.side, skip, data, ci)
}

// ReassemblyComplete comes only from FlushAll, at the end: a direction's
// half closed by a FIN or RST stays in the pool, where later segments (a
// retransmitted FIN, data after the close) find it closed and are dropped.
func (s *streamSink) ReassemblyComplete(_ reassembly.AssemblerContext) bool { return true }

// Page is a window of a reassembled stream, for callers that must
// bound what they return (the MCP tool extract_tcp_stream).
type Page struct {
	// Direction is what is paged: one side's bytes, or Both for the
	// two interleaved in chunk order.
	Direction Direction `json:"direction"`
	// Offset and Limit are the request: bytes from Offset, at most Limit
	// (0: no limit). With Both, offsets count the bytes of both
	// directions in chunk order; otherwise they are offsets in that
	// direction's stream.
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	// TotalBytes is what can be paged; Returned what this page holds;
	// Remaining what is left after it, to be read from NextOffset.
	TotalBytes int `json:"total_bytes"`
	Returned   int `json:"returned"`
	Remaining  int `json:"remaining"`
	NextOffset int `json:"next_offset"`
	// Truncated is true when MaxBytes cut the stream, so TotalBytes is
	// less than the connection carried.
	Truncated bool `json:"truncated"`
	// Chunks are the page's pieces, the first and last possibly cut at the
	// page's edges (Offset and Length then describe the piece). Gap chunks
	// at a position inside the page are included.
	Chunks []Chunk `json:"chunks"`
}

// Page returns at most limit bytes (limit <= 0: all) of direction dir
// (FromClient, FromServer, or Both / "" for both interleaved),
// starting offset bytes in. An offset past the end gives an empty page.
func (r *Result) Page(dir Direction, offset, limit int) (Page, error) {
	if dir == "" {
		dir = Both
	}
	if dir != FromClient && dir != FromServer && dir != Both {
		return Page{}, fmt.Errorf("%w: direction %q: want client, server or both", ErrQuery, dir)
	}
	if offset < 0 {
		return Page{}, fmt.Errorf("%w: offset %d is negative", ErrQuery, offset)
	}
	pg := Page{Direction: dir, Offset: offset, Limit: max(limit, 0), Chunks: []Chunk{}}
	for _, ch := range r.Chunks {
		if dir == Both || ch.Direction == dir {
			pg.TotalBytes += len(ch.Data)
		}
	}
	switch dir {
	case Both:
		pg.Truncated = r.Client.Truncated || r.Server.Truncated
	default:
		pg.Truncated = r.Half(dir).Truncated
	}
	end := pg.TotalBytes
	if limit > 0 && offset+limit < end {
		end = offset + limit
	}
	pos := 0 // where the chunk starts in the paged bytes
	for _, ch := range r.Chunks {
		if dir != Both && ch.Direction != dir {
			continue
		}
		n := len(ch.Data)
		if ch.Gap {
			if pos >= offset && (pos < end || (pos == pg.TotalBytes && end == pg.TotalBytes)) {
				pg.Chunks = append(pg.Chunks, ch)
			}
			continue
		}
		from, to := max(offset, pos), min(end, pos+n)
		if from < to {
			piece := ch
			piece.Offset += from - pos
			piece.Data = ch.Data[from-pos : to-pos]
			piece.Length = len(piece.Data)
			pg.Chunks = append(pg.Chunks, piece)
			pg.Returned += to - from
		}
		pos += n
	}
	pg.NextOffset = offset + pg.Returned
	pg.Remaining = max(pg.TotalBytes-pg.NextOffset, 0)
	if offset > pg.TotalBytes {
		pg.NextOffset = offset
	}
	return pg, nil
}
