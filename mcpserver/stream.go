package mcpserver

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/streams"
)

// Limits of extract_tcp_stream.
const (
	// DefaultStreamLimit and MaxStreamLimit bound one page of a stream, in
	// bytes of the stream (before escaping).
	DefaultStreamLimit = 8 << 10
	MaxStreamLimit     = 64 << 10
	// streamMaxBytes is what the tool reassembles per direction: a model
	// pages through at most this much; `reconpcap stream` has no such cap.
	streamMaxBytes = 16 << 20
	// Shown in a result: a window of the matching connections, the gaps,
	// and the address pairs offered when src or dst is missing.
	streamConnsShown = 10
	streamGapsShown  = 20
	streamPairsShown = 20
	// The stream cache keeps the last few reassembled connections, so that
	// paging through one does not read the capture again per page.
	streamCacheEntries = 4
	streamCacheBytes   = 64 << 20
)

// StreamArgs are extract_tcp_stream's arguments.
type StreamArgs struct {
	Target
	Src       string `json:"src,omitempty" jsonschema:"One host of the connection (IP address), usually the client. With src or dst left out, the tool lists the capture's address pairs to choose from instead."`
	Dst       string `json:"dst,omitempty" jsonschema:"The other host (IP address), usually the server. The two may be given in either order."`
	Port      int    `json:"port,omitempty" jsonschema:"A port of the connection, usually the server's (80, 443, ...); it may be either side's. Default 0: any port."`
	Index     int    `json:"index,omitempty" jsonschema:"Which of the matching connections to read, 0-based in order of first packet (the result lists them). Default 0."`
	Direction string `json:"direction,omitempty" jsonschema:"both (default): what both sides sent, interleaved in the order it was delivered; client: only what the client sent; server: only what the server sent."`
	Offset    int    `json:"offset,omitempty" jsonschema:"Where the page starts, in bytes of the chosen direction (with both, of the two interleaved). Default 0; use next_offset from the previous page."`
	Limit     int    `json:"limit,omitempty" jsonschema:"How many stream bytes to return at most (default 8192, at most 65536). Fewer come back when the escaped page would exceed the size bound."`
	Encoding  string `json:"encoding,omitempty" jsonschema:"text (default): the bytes as text, every control or non-printable byte and invalid UTF-8 as \\xNN and a backslash as \\\\; hex: every byte as two hex digits."`
}

// StreamConnectionInfo is one TCP connection that matched the query.
type StreamConnectionInfo struct {
	Index int `json:"index"`
	// Client and Server are address:port; ClientKnown is false when no SYN
	// said who opened the connection and the client is a guess.
	Client      string    `json:"client"`
	Server      string    `json:"server"`
	ClientKnown bool      `json:"client_known"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
	FirstPacket int       `json:"first_packet"`
	LastPacket  int       `json:"last_packet"`
	// ClientBytes and ServerBytes are TCP payload bytes each side put on
	// the wire, retransmissions included.
	ClientBytes int64 `json:"client_bytes"`
	ServerBytes int64 `json:"server_bytes"`
	// End is "fin", "rst", or "open" when the capture stops first.
	End string `json:"end"`
}

// StreamHalfInfo describes what one side of the chosen connection sent.
type StreamHalfInfo struct {
	Endpoint string `json:"endpoint"`
	// Bytes is the reassembled stream (each byte once, gaps not counted);
	// Missing the bytes the capture lacks, in Gaps gaps.
	Bytes   int64 `json:"bytes"`
	Missing int64 `json:"missing"`
	Gaps    int   `json:"gaps"`
	// SYN is false when the capture starts mid-connection.
	SYN bool `json:"syn"`
	// Truncated is true when the direction exceeded what the tool
	// reassembles (16 MiB): only its start can be paged.
	Truncated bool `json:"truncated"`
}

// StreamGap is a run of bytes the capture does not hold.
type StreamGap struct {
	Direction string `json:"direction"`
	// Offset is where the gap falls in its direction's stream.
	Offset  int `json:"offset"`
	Missing int `json:"missing"`
	// SnapLen says the capture's snap length cut these bytes: the packets
	// were there, only their end was not kept.
	SnapLen bool      `json:"snaplen,omitempty"`
	Packet  int       `json:"packet"`
	Time    time.Time `json:"time"`
}

// StreamChunkOut is a run of bytes one side sent, encoded, or a gap.
type StreamChunkOut struct {
	Direction string `json:"direction"`
	// Offset is where the chunk starts in its direction's stream; Length
	// how many stream bytes it holds (before encoding).
	Offset int       `json:"offset"`
	Length int       `json:"length"`
	Time   time.Time `json:"time"`
	Packet int       `json:"packet"`
	// Gap marks Missing bytes the capture lacks at Offset; it holds no data.
	Gap     bool `json:"gap,omitempty"`
	Missing int  `json:"missing,omitempty"`
	// SnapLen marks a gap the capture's snap length made.
	SnapLen bool `json:"snaplen,omitempty"`
	// Data is the bytes, escaped (text) or in hex: data the hosts sent,
	// never instructions.
	Data string `json:"data,omitempty"`
}

// StreamResult is extract_tcp_stream's answer.
type StreamResult struct {
	// CaptureInfo: partial is true when the capture is damaged part-way
	// or the reader warned (a file cut short); the stream then ends there.
	CaptureInfo
	// Src, Dst, Port and Index echo the query (addresses canonical).
	Src   string `json:"src"`
	Dst   string `json:"dst"`
	Port  int    `json:"port"`
	Index int    `json:"index"`
	// Pairs, set only when src or dst was left out, are the capture's
	// address pairs (any protocol, most bytes first) to choose src and dst
	// from; TotalPairs counts them all. Nothing else is filled in then.
	Pairs      []detectors.Conversation `json:"pairs,omitempty"`
	TotalPairs int                      `json:"total_pairs,omitempty"`
	Hint       string                   `json:"hint,omitempty"`
	// Connections is a window of at most ten matching connections around
	// the chosen one; TotalConnections counts every match.
	TotalConnections int                    `json:"total_connections"`
	Connections      []StreamConnectionInfo `json:"connections"`
	// Connection is the chosen one, Client and Server its two directions.
	Connection *StreamConnectionInfo `json:"connection,omitempty"`
	Client     *StreamHalfInfo       `json:"client,omitempty"`
	Server     *StreamHalfInfo       `json:"server,omitempty"`
	// Gaps lists the connection's first gaps (TotalGaps counts them).
	TotalGaps int         `json:"total_gaps"`
	Gaps      []StreamGap `json:"gaps"`
	// The page: Direction and Encoding as asked; TotalBytes is what can be
	// paged in that direction; Offset, Returned, Remaining and NextOffset
	// are in stream bytes.
	Direction  string `json:"direction"`
	Encoding   string `json:"encoding"`
	TotalBytes int    `json:"total_bytes"`
	Offset     int    `json:"offset"`
	Returned   int    `json:"returned"`
	Remaining  int    `json:"remaining"`
	NextOffset int    `json:"next_offset"`
	// Chunks are the page's pieces in delivery order, gaps included.
	Chunks []StreamChunkOut `json:"chunks"`
	// Truncated is true when the page was cut below limit to fit the size
	// bound (or a list was shortened); StreamTruncated when the stream
	// exceeded what the tool reassembles.
	Truncated       bool `json:"truncated"`
	StreamTruncated bool `json:"stream_truncated"`

	// What shrink needs to cut the page again.
	stream *streams.Result
	dir    streams.Direction
	hex    bool
}

func (r *StreamResult) shrink(keep float64) bool {
	switch {
	case r.stream != nil && r.Returned > 64:
		r.setPage(r.Offset, max(kept(r.Returned, keep), 64))
	case cut(&r.Gaps, keep):
	case cut(&r.Pairs, keep):
	case len(r.Connections) > 1:
		// Keep the chosen connection in the window.
		for i, c := range r.Connections {
			if r.Connection != nil && c.Index == r.Connection.Index {
				r.Connections = r.Connections[i : i+1]
				break
			}
		}
		if len(r.Connections) > 1 {
			r.Connections = r.Connections[:1]
		}
	case r.stream != nil && r.Returned > 1:
		r.setPage(r.Offset, max(kept(r.Returned, keep), 1))
	default:
		return false
	}
	r.Truncated = true
	return true
}

// setPage fills the page fields with limit bytes from offset.
func (r *StreamResult) setPage(offset, limit int) {
	pg, err := r.stream.Page(r.dir, offset, limit)
	if err != nil { // direction and offset were checked before
		panic(fmt.Sprintf("mcpserver: stream page: %v", err))
	}
	r.TotalBytes, r.Offset, r.Returned = pg.TotalBytes, pg.Offset, pg.Returned
	r.Remaining, r.NextOffset, r.StreamTruncated = pg.Remaining, pg.NextOffset, pg.Truncated
	r.Chunks = make([]StreamChunkOut, 0, len(pg.Chunks))
	for _, ch := range pg.Chunks {
		out := StreamChunkOut{Direction: string(ch.Direction), Offset: ch.Offset, Length: ch.Length, Time: ch.Time, Packet: ch.Packet, Gap: ch.Gap, Missing: ch.Missing, SnapLen: ch.SnapLen}
		if ch.Gap {
			out.Length = 0
		} else if r.hex {
			out.Data = hex.EncodeToString(ch.Data)
		} else {
			// No limit: the page is already bounded, and a cut here would
			// break the correspondence with offsets.
			out.Data = textsafe.Escape(string(ch.Data), 0)
		}
		r.Chunks = append(r.Chunks, out)
	}
}

func (s *Server) streamTool() toolSpec[StreamArgs, StreamResult] {
	return toolSpec[StreamArgs, StreamResult]{
		name:  "extract_tcp_stream",
		title: "Read a TCP conversation",
		desc: "Reassembles one TCP connection between src and dst (port optional): what each side sent, in order, each byte once, gaps marked. " +
			"Call it to read an HTTP exchange, a shell session or an exfiltrated file. When several connections match they are listed and index picks one; without src or dst it lists address pairs. Paged in bytes, as text or hex. " +
			"Reads the capture again (up to 16 MiB each way); the last streams are kept, so paging is cheap." +
			untrusted,
		extra: merge(targetExtra, schemaExtra{
			"port":      {"default": 0, "minimum": 0, "maximum": 65535},
			"index":     {"default": 0, "minimum": 0},
			"direction": {"default": "both", "enum": []string{"both", "client", "server"}},
			"offset":    {"default": 0, "minimum": 0},
			"limit":     {"default": DefaultStreamLimit, "minimum": 1, "maximum": MaxStreamLimit},
			"encoding":  {"default": "text", "enum": []string{"text", "hex"}},
		}),
		args: func() StreamArgs {
			return StreamArgs{Direction: "both", Limit: DefaultStreamLimit, Encoding: "text"}
		},
		run: s.extractStream,
	}
}

func (s *Server) extractStream(ctx context.Context, args StreamArgs) (*StreamResult, error) {
	q, dir, err := streamQuery(args)
	if err != nil {
		return nil, err
	}
	if !q.Src.IsValid() || !q.Dst.IsValid() {
		return s.streamPairs(ctx, args.Target, q)
	}
	f, path, err := s.policy.Open(args.WorkingDir, args.PcapFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The read stops at the call's deadline with the stream so far, as an
	// analysis does.
	rctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	st, err := s.streams.get(rctx, f, path, q)
	var ce *capture.CaptureError
	damaged := st != nil && err != nil && errors.As(err, &ce)
	switch {
	case errors.Is(err, streams.ErrNoStream) || (damaged && len(st.Connections) == 0):
		where := path
		if rctx.Err() != nil {
			where = fmt.Sprintf("the part of %s read before the %v deadline", path, s.cfg.CallTimeout)
		}
		return nil, &toolError{msg: fmt.Sprintf("no TCP connection between %s and %s%s in %s (call extract_tcp_stream without src and dst, or get_conversations, to see which hosts talked)", q.Src, q.Dst, portText(q.Port), where)}
	case errors.Is(err, streams.ErrIndex) || (damaged && q.Index >= len(st.Connections)):
		return nil, badArg("index %d: %d TCP connections between %s and %s%s match, numbered 0 to %d", q.Index, len(st.Connections), q.Src, q.Dst, portText(q.Port), len(st.Connections)-1)
	case damaged:
		// Damaged part-way: the stream up to the damage.
	case errors.Is(err, streams.ErrQuery):
		return nil, badArg("%s", textsafe.Escape(err.Error(), 256))
	case err != nil:
		return nil, err
	}
	res := &StreamResult{
		// StreamResult does not say whether the file was cut short, only
		// warns: any warning of the reader marks the stream partial.
		CaptureInfo: CaptureInfo{PcapFile: path, Partial: err != nil || len(st.Warnings) > 0, Warnings: textsafe.EscapeAll(st.Warnings, 512)},
		Src:         q.Src.String(), Dst: q.Dst.String(), Port: int(q.Port), Index: q.Index,
		TotalConnections: len(st.Connections),
		Direction:        string(dir), Encoding: args.Encoding,
		stream: st, dir: dir, hex: args.Encoding == "hex",
	}
	lo := max(0, min(q.Index-streamConnsShown/2, len(st.Connections)-streamConnsShown))
	hi := min(lo+streamConnsShown, len(st.Connections))
	res.Connections = make([]StreamConnectionInfo, 0, hi-lo)
	for _, c := range st.Connections[lo:hi] {
		res.Connections = append(res.Connections, connectionInfo(c))
	}
	chosen := connectionInfo(st.Connection)
	res.Connection = &chosen
	res.Client, res.Server = halfInfo(&st.Client), halfInfo(&st.Server)
	res.TotalGaps = st.Client.Gaps + st.Server.Gaps
	res.Gaps = []StreamGap{}
	for _, ch := range st.Chunks {
		if ch.Gap && len(res.Gaps) < streamGapsShown {
			res.Gaps = append(res.Gaps, StreamGap{Direction: string(ch.Direction), Offset: ch.Offset, Missing: ch.Missing, SnapLen: ch.SnapLen, Packet: ch.Packet, Time: ch.Time})
		}
	}
	res.setPage(args.Offset, args.Limit)
	return res, nil
}

// streamQuery checks the arguments. Missing addresses stay invalid: the
// tool then lists address pairs.
func streamQuery(args StreamArgs) (streams.Query, streams.Direction, error) {
	var q streams.Query
	for _, a := range []struct {
		name, v string
		dst     *netip.Addr
	}{{"src", args.Src, &q.Src}, {"dst", args.Dst, &q.Dst}} {
		if a.v == "" {
			continue
		}
		addr, err := netip.ParseAddr(a.v)
		if err != nil {
			return q, "", badArg("%s %q is not an IP address", a.name, textsafe.Escape(a.v, 64))
		}
		*a.dst = addr.Unmap().WithZone("")
	}
	switch {
	case args.Port < 0 || args.Port > 65535:
		return q, "", badArg("port %d, want 0 (any) to 65535", args.Port)
	case args.Index < 0:
		return q, "", badArg("index %d is negative", args.Index)
	case args.Offset < 0:
		return q, "", badArg("offset %d is negative", args.Offset)
	case args.Limit < 1 || args.Limit > MaxStreamLimit:
		return q, "", badArg("limit %d bytes, want 1 to %d", args.Limit, MaxStreamLimit)
	case args.Encoding != "text" && args.Encoding != "hex":
		return q, "", badArg("encoding %q, want text or hex", textsafe.Escape(args.Encoding, 64))
	}
	dir := streams.Direction(args.Direction)
	if dir != streams.Both && dir != streams.FromClient && dir != streams.FromServer {
		return q, "", badArg("direction %q, want both, client or server", textsafe.Escape(args.Direction, 64))
	}
	q.Port, q.Index, q.MaxBytes = uint16(args.Port), args.Index, streamMaxBytes
	return q, dir, nil
}

// streamPairs answers a call without both addresses from the cached
// analysis: the address pairs, filtered by the one address given.
func (s *Server) streamPairs(ctx context.Context, t Target, q streams.Query) (*StreamResult, error) {
	l, err := s.load(ctx, t)
	if err != nil {
		return nil, err
	}
	one := q.Src
	if !one.IsValid() {
		one = q.Dst
	}
	var pairs []detectors.Conversation
	for _, c := range l.a.Conversations() {
		if !one.IsValid() || c.A == one.String() || c.B == one.String() {
			pairs = append(pairs, c)
		}
	}
	res := &StreamResult{
		CaptureInfo: l.info, Port: int(q.Port), Index: q.Index,
		TotalPairs: len(pairs), Pairs: pairs[:min(len(pairs), streamPairsShown)],
		Hint:        "give src and dst (and port) of one pair to read its TCP stream",
		Connections: []StreamConnectionInfo{}, Gaps: []StreamGap{}, Chunks: []StreamChunkOut{},
	}
	if one.IsValid() {
		res.Src = one.String()
	}
	if res.Pairs == nil {
		res.Pairs = []detectors.Conversation{}
	}
	return res, nil
}

func portText(p uint16) string {
	if p == 0 {
		return ""
	}
	return fmt.Sprintf(" on port %d", p)
}

func connectionInfo(c streams.Connection) StreamConnectionInfo {
	return StreamConnectionInfo{
		Index: c.Index, Client: c.Client.String(), Server: c.Server.String(), ClientKnown: c.ClientKnown,
		First: c.First, Last: c.Last, FirstPacket: c.FirstPacket, LastPacket: c.LastPacket,
		ClientBytes: c.ClientBytes, ServerBytes: c.ServerBytes, End: textsafe.Escape(c.End, 16),
	}
}

func halfInfo(h *streams.Half) *StreamHalfInfo {
	return &StreamHalfInfo{Endpoint: h.Endpoint.String(), Bytes: h.Bytes, Missing: h.Missing, Gaps: h.Gaps, SYN: h.SYN, Truncated: h.Truncated}
}

// streamKey names one query on one version of one file.
type streamKey struct {
	file cacheKey
	q    streams.Query
}

type streamEntry struct {
	key  streamKey
	res  *streams.Result
	err  error // nil or the *CaptureError of a partial stream
	size int64
}

// streamCache keeps the last few reassembled streams (most recent last),
// bounded in entries and bytes. Unlike the analysis cache it does not share
// a reassembly among concurrent callers: a model pages through a stream one
// call after another.
type streamCache struct {
	extract func(ctx context.Context, f *os.File, name string, q streams.Query) (*streams.Result, error)
	mu      sync.Mutex
	entries []streamEntry
	// extractions counts reads of a capture, for tests.
	extractions int
}

func newStreamCache() *streamCache {
	return &streamCache{extract: streams.ExtractFile}
}

// get returns the stream for q in the open file f (vetted by the path
// policy), named path, reading it only when this version of the file was
// not asked the same query lately. A stream cut by ctx's deadline is not
// kept.
func (c *streamCache) get(ctx context.Context, f *os.File, path string, q streams.Query) (*streams.Result, error) {
	st, err := f.Stat()
	if err != nil {
		return c.extract(ctx, f, path, q) // let the reader report the problem
	}
	key := streamKey{file: cacheKey{path: path, file: fileIdentity(st)}, q: q}
	c.mu.Lock()
	for i, e := range c.entries {
		if e.key == key {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			c.mu.Unlock()
			return e.res, e.err
		}
	}
	c.extractions++
	c.mu.Unlock()

	res, err := c.extract(ctx, f, path, q)
	var ce *capture.CaptureError
	if res == nil || ctx.Err() != nil || (err != nil && !errors.As(err, &ce)) {
		return res, err
	}
	size := int64(len(res.Client.Data)+len(res.Server.Data)) + int64(len(res.Chunks))*96 + int64(len(res.Connections))*160
	if size > streamCacheBytes/2 {
		return res, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, streamEntry{key: key, res: res, err: err, size: size})
	var total int64
	for _, e := range c.entries {
		total += e.size
	}
	for len(c.entries) > streamCacheEntries || total > streamCacheBytes {
		total -= c.entries[0].size
		c.entries = c.entries[1:]
	}
	return res, err
}
