package detectors

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/httpmethod"
)

// The HTTP/1.x parser reads requests and responses from TCP payload as it
// flows, one segment at a time, without reassembling streams: full
// reassembly costs about ten times the whole pass. It keeps, per direction
// of a connection, the next expected sequence number (so retransmissions
// are not parsed twice), where it stands in the message (request line,
// headers, body to skip), and at most one partial line carried from the
// previous segment, so headers split across segments are read whole.

const (
	// httpMaxLine bounds the partial line kept across segments; longer
	// lines keep their first httpMaxLine bytes.
	httpMaxLine = 8 << 10
	// httpMaxPending bounds the requests of one connection waiting for
	// their response; older ones are dropped and stay unanswered.
	httpMaxPending = 64
)

// httpState is where a direction of a connection stands.
type httpState uint8

const (
	httpIdle    httpState = iota // expecting the start of a message
	httpHeaders                  // inside a header block
	httpBody                     // skipping a body of known length
	httpLost                     // skipping until a segment starts like a message
)

// httpRole is what a direction of a connection carries, learnt from its
// first message: the engine's guess of who is the client can be wrong
// when a capture starts mid-connection, the first line cannot.
type httpRole uint8

const (
	roleUnknown httpRole = iota
	roleRequests
	roleResponses
)

// httpDir is the parser state of one direction of a connection.
type httpDir struct {
	next     uint32 // next expected sequence number, valid when synced
	synced   bool
	role     httpRole
	state    httpState
	overlong bool // the partial line was cut at httpMaxLine
	// lineDropped says the partial line did not fit the detector's
	// budget of buffered bytes: it is skipped whole when it ends.
	lineDropped bool
	bodyLeft    int64 // bytes of body still to skip in httpBody
	line        []byte
	// The message whose header block is being read.
	contentLength int64 // -1 when absent
	chunked       bool
	noBody        bool // a response to HEAD, or 1xx, 204, 304
	status        int  // the response's status code
	// started says the direction reached the start of a message in this
	// part of the capture, at the segment of sequence number startSeq,
	// or began afresh with a handshake (fresh); before, on a connection
	// joined mid-stream, its segments go to the connection's head.
	started  bool
	fresh    bool
	startSeq uint32
}

// pendingReq is a request waiting for its response.
type pendingReq struct {
	rec       int32 // index in the kept request list, -1 when not kept
	head      bool
	traversal bool      // the URI tried a path traversal
	path      string    // the path, kept only when sensitive
	sensitive bool      // the path names a file whose 200 answer is a leak
	other     bool      // a made-up method: queued for its answer, not counted
	enum      bool      // the path is on the enumeration list
	cred      bool      // the request carried credentials
	id        uint32    // the request's number on its connection
	pair      *httpPair // the (source, server) the request counts for
}

// httpConn is the state of one TCP connection that carried HTTP.
type httpConn struct {
	dir     [2]httpDir
	pending []pendingReq
	// seen is the number of the connection's last packet; fin has bit
	// k set once direction k sent a FIN; reset once either sent a RST.
	seen  int
	fin   uint8
	reset bool
	// cur is the request whose headers are being read (valid while the
	// request side is in httpHeaders).
	cur pendingReq
	// checkBuf is the request whose 2xx answer is being read for the
	// content of /etc/passwd (a traversal that worked), when passwdCheck.
	passwdCheck bool
	checkBuf    pendingReq
	nextID      uint32
	// bodyCheck says the current request's body is still to be read for
	// credentials (its first segment only).
	bodyCheck bool
	// answering is the request whose response headers are being read,
	// when it carried credentials: the answer's length tells a login
	// form's failure page.
	answering pendingReq

	// What reconciles a connection that a part of a split capture met
	// mid-stream with the part before it (merge_http.go). joined says
	// no handshake began the connection in this part; head holds what
	// its directions sent before they reached a message start; orphans
	// are the answers to requests this part did not see, and
	// orphanCheck says the last one's body is being read for
	// /etc/passwd lines. popped counts answers matched to this part's
	// own requests.
	joined        bool
	ends          [2]netip.AddrPort // the sender of each direction
	head          *httpHead
	orphans       []httpOrphan
	orphanCheck   bool
	orphanHeaders bool // the last orphan's header block is being read
	popped        int64
	firstT, lastT time.Time
}

// httpOrphan is an answer whose request the part did not see.
type httpOrphan struct {
	t      time.Time
	code   int
	length int64 // the Content-Length, -1 when absent
	noBody bool  // the status allows no body
	ended  bool  // its header block ended in the part
	passwd bool  // its body held /etc/passwd lines
	late   bool  // a merge left it for a part before (see settle)
}

// checkPasswd reads a piece of a response body for /etc/passwd lines,
// when a traversal's answer, or an orphan's, is being read.
func (c *httpConn) checkPasswd(b []byte) {
	if !c.passwdCheck && !c.orphanCheck || !bytes.Contains(b, []byte("root:x:0:0:")) {
		return
	}
	if c.passwdCheck {
		c.checkBuf.pair.passwdLeaks++
	} else {
		c.orphans[len(c.orphans)-1].passwd = true
	}
	c.passwdCheck, c.orphanCheck = false, false
}

// done reports whether the connection was closed both ways or reset.
func (c *httpConn) done() bool { return c.reset || c.fin == 3 }

func (d *httpDir) resync() {
	d.state = httpLost
	d.line = d.line[:0]
	d.overlong = false
	d.lineDropped = false
	d.bodyLeft = 0
}

// segment parses one TCP segment of one direction.
func (h *httpDetector) segment(c *httpConn, di int, p *capture.Packet) {
	ds := &c.dir[di]
	data := p.Payload
	wire := p.PayloadLen // bytes the segment carried on the wire
	seq := p.TCPSeq
	if p.TCPFlags&capture.FlagSYN != 0 {
		seq++ // the SYN takes one sequence number
	}
	if ds.synced {
		switch diff := int32(seq - ds.next); {
		case diff < 0:
			// A retransmission, or a segment overlapping what was
			// parsed: skip the bytes already seen.
			old := int(-diff)
			if old >= wire || old >= len(data) {
				return
			}
			data, wire, seq = data[old:], wire-old, ds.next
		case diff > 0:
			// Bytes are missing from the capture. Inside a body of
			// known length they are just skipped; elsewhere the
			// parser cannot tell where it stands.
			if !ds.skipMissing(int64(diff)) {
				ds.resync()
			}
		}
	}
	ds.next = seq + uint32(wire)
	ds.synced = true
	h.parse(c, ds, data, p)
	if missing := wire - len(data); missing > 0 {
		// The snap length cut the segment. A message's first line cut
		// short still says what it is (tshark reads it too): take what
		// is left of it.
		if ds.state == httpIdle && len(ds.line) > 0 {
			ds.overlong = true
			line := bytes.TrimSuffix(ds.line, []byte{'\r'})
			if ds.role == roleResponses {
				h.responseLine(c, ds, line, p)
			} else {
				h.requestLine(c, ds, line, p)
			}
		}
		if !ds.skipMissing(int64(missing)) {
			ds.resync()
		}
	}
}

// skipMissing accounts for n bytes missing from the capture; it reports
// whether the parser still knows where it stands.
func (d *httpDir) skipMissing(n int64) bool {
	if d.state == httpLost {
		return true
	}
	if d.state != httpBody || n > d.bodyLeft {
		return false
	}
	d.bodyLeft -= n
	if d.bodyLeft == 0 {
		d.state = httpIdle
	}
	return true
}

// parse walks the messages of one segment's payload.
func (h *httpDetector) parse(c *httpConn, ds *httpDir, data []byte, p *capture.Packet) {
	start := true // at the start of the segment
	for len(data) > 0 {
		switch ds.state {
		case httpBody:
			n := min(int64(len(data)), ds.bodyLeft)
			if c.bodyCheck && ds.role == roleRequests {
				h.requestBody(c, data[:n])
			}
			if ds.role == roleResponses {
				c.checkPasswd(data[:n])
			}
			data = data[n:]
			ds.bodyLeft -= n
			if ds.bodyLeft == 0 {
				ds.state = httpIdle
			}
			start = false
			continue
		case httpLost:
			if !start || !ds.resyncsAt(data) {
				if ds.role == roleResponses {
					c.checkPasswd(data)
				}
				return
			}
			ds.state = httpIdle
		}
		if ds.state == httpIdle && len(ds.line) == 0 && !ds.overlong {
			// Between messages: blank lines are allowed, anything
			// else must start like a message of this direction.
			for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
				data = data[1:]
			}
			if len(data) == 0 {
				return
			}
			if !ds.looksLikeStart(data) {
				ds.resync()
				continue
			}
			if !ds.started {
				ds.started, ds.startSeq = true, p.TCPSeq
			}
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			h.keep(ds, data)
			return
		}
		line := data[:i]
		data = data[i+1:]
		start = false
		if ds.lineDropped {
			// The start of this line did not fit the budget: a
			// header is lost, a message's first line loses the place.
			ds.line, ds.lineDropped, ds.overlong = ds.line[:0], false, false
			if ds.state == httpIdle {
				ds.resync()
			}
			continue
		}
		if len(ds.line) > 0 || ds.overlong {
			h.keep(ds, line)
			line = ds.line
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if ds.role == roleResponses {
			h.responseLine(c, ds, line, p)
		} else {
			h.requestLine(c, ds, line, p)
		}
		ds.line = ds.line[:0]
		if cap(ds.line) > 1024 {
			h.bounds.lineBytes -= cap(ds.line)
			ds.line = nil // a long line was rare: do not hold its buffer
		}
		ds.overlong = false
	}
}

// looksLikeStart reports whether data starts like a message this
// direction carries (learning the direction's role from the first one).
func (d *httpDir) looksLikeStart(data []byte) bool {
	switch d.role {
	case roleRequests:
		return looksLikeRequest(data)
	case roleResponses:
		return looksLikeResponse(data)
	}
	switch {
	case looksLikeRequest(data):
		d.role = roleRequests
	case looksLikeResponse(data):
		d.role = roleResponses
	default:
		return false
	}
	return true
}

// resyncsAt reports whether a lost direction finds its place again at
// data, the start of a segment. A request must name its HTTP version in
// its first line, or be a known method whose line goes on in the next
// segment: bodies the parser could not follow (chunked, of unknown
// length) are full of segments that start with a capital and a space,
// and would otherwise count as requests with made-up methods. The part
// of a rotated capture that meets such a body mid-stream ignores it the
// same way (see http_heads.go).
func (d *httpDir) resyncsAt(data []byte) bool {
	if d.role != roleResponses && looksLikeRequest(data) && !plausibleRequestLine(data) {
		return false
	}
	return d.looksLikeStart(data)
}

// plausibleRequestLine reports whether the first line of pl names an
// HTTP version, or, running past pl, starts with a known method.
func plausibleRequestLine(pl []byte) bool {
	line := pl[:min(len(pl), httpMaxLine)]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		return bytes.Contains(line[:i], []byte(" HTTP/"))
	}
	sp := bytes.IndexByte(pl[:min(len(pl), 21)], ' ')
	return sp > 0 && httpmethod.Known(pl[:sp])
}

// looksLikeRequest reports whether data starts with a method token and a
// space: an upper-case token of at most 20 characters. A token cut by the
// end of the segment also looks like one.
func looksLikeRequest(data []byte) bool {
	for i, b := range data {
		switch {
		case b >= 'A' && b <= 'Z', b == '-' || b == '_':
			if i >= 20 {
				return false
			}
		case b == ' ':
			return i > 0
		default:
			return false
		}
	}
	return len(data) > 0
}

var httpVersionPrefix = []byte("HTTP/1.")

func looksLikeResponse(data []byte) bool {
	n := min(len(data), len(httpVersionPrefix))
	return bytes.Equal(data[:n], httpVersionPrefix[:n])
}

// requestLine handles one line of the request side.
func (h *httpDetector) requestLine(c *httpConn, ds *httpDir, line []byte, p *capture.Packet) {
	if ds.state == httpIdle {
		method, uri, ok := splitRequestLine(line, ds.overlong)
		if !ok {
			ds.resync()
			return
		}
		c.bodyCheck = false
		if !httpmethod.Known(method) {
			// Scanners probe with made-up methods (nmap's XFOC);
			// tshark does not call them requests and neither do the
			// counts, but the answer still comes, so it takes its
			// place in the queue.
			h.otherMethod(c, method, p)
		} else {
			h.request(c, method, uri, p)
		}
		ds.state = httpHeaders
		ds.contentLength, ds.chunked = -1, false
		return
	}
	if len(line) == 0 { // the end of the header block
		switch {
		case ds.chunked:
			// Chunk sizes are not followed: skip until a segment
			// starts like a request.
			ds.resync()
		case ds.contentLength > 0:
			ds.state, ds.bodyLeft = httpBody, ds.contentLength
			c.bodyCheck = !c.cur.other && c.cur.pair != nil
		default:
			ds.state = httpIdle
		}
		return
	}
	name, value, ok := splitHeader(line)
	if !ok {
		return
	}
	switch {
	case asciiEqualFold(name, "authorization"):
		h.credential(c, value)
	case asciiEqualFold(name, "user-agent"):
		h.userAgent(c, value, p.Time)
	case asciiEqualFold(name, "host"):
		h.host(c, value, p.Time)
	case asciiEqualFold(name, "referer"):
		if !c.cur.other {
			c.cur.pair.referers++
		}
	case asciiEqualFold(name, "content-length"):
		ds.contentLength = parseContentLength(value)
	case asciiEqualFold(name, "transfer-encoding"):
		ds.chunked = containsFold(value, "chunked")
	}
}

// responseLine handles one line of the response side.
func (h *httpDetector) responseLine(c *httpConn, ds *httpDir, line []byte, p *capture.Packet) {
	if ds.state == httpIdle {
		code, ok := parseStatusLine(line)
		if !ok {
			ds.resync()
			return
		}
		ds.state, ds.status = httpHeaders, code
		ds.contentLength, ds.chunked, ds.noBody = -1, false, code < 200 || code == 204 || code == 304
		c.passwdCheck, c.orphanCheck, c.orphanHeaders = false, false, false
		c.answering = pendingReq{}
		if code >= 100 && code < 200 {
			return // informational: the final answer follows
		}
		if len(c.pending) == 0 {
			// Its request came before the capture, or before this
			// part of it: the part before may hold it.
			if c.joined && len(c.orphans) < httpMaxPending {
				c.orphans = append(c.orphans, httpOrphan{t: p.Time, code: code, length: -1, noBody: ds.noBody})
				c.orphanCheck, c.orphanHeaders = code >= 200 && code < 300, true
			}
			return
		}
		req := c.pending[0]
		copy(c.pending, c.pending[1:])
		c.pending = c.pending[:len(c.pending)-1]
		c.popped++
		if req.head {
			ds.noBody = true
		}
		h.response(req, code, p.Time)
		if req.cred {
			c.answering = req
		}
		if req.traversal && code >= 200 && code < 300 {
			c.checkBuf, c.passwdCheck = req, true
		}
		return
	}
	if len(line) == 0 {
		if c.orphanHeaders {
			o := &c.orphans[len(c.orphans)-1]
			o.ended, o.length, c.orphanHeaders = true, ds.contentLength, false
		}
		if c.answering.cred {
			length := ds.contentLength
			if ds.noBody {
				length = 0
			}
			c.answering.pair.creds().answer(ds.status, length)
			c.answering = pendingReq{}
		}
		switch {
		case ds.status == 101:
			// Switching protocols: what follows is not HTTP/1.
			ds.resync()
			c.dir[0].resync()
			c.dir[1].resync()
		case ds.noBody || ds.contentLength == 0:
			ds.state = httpIdle
		case ds.contentLength > 0:
			ds.state, ds.bodyLeft = httpBody, ds.contentLength
		default:
			// Chunked, or a body that lasts until the connection
			// closes: skip until a segment starts like a response.
			ds.resync()
		}
		return
	}
	name, value, ok := splitHeader(line)
	if !ok {
		return
	}
	switch {
	case asciiEqualFold(name, "content-length"):
		ds.contentLength = parseContentLength(value)
	case asciiEqualFold(name, "transfer-encoding"):
		ds.chunked = containsFold(value, "chunked")
		if ds.chunked {
			ds.contentLength = -1
		}
	}
}

// splitRequestLine splits "METHOD URI HTTP/1.x". A line cut at
// httpMaxLine (overlong) has lost its version and is taken without it.
func splitRequestLine(line []byte, overlong bool) (method, uri []byte, ok bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp > 20 {
		return nil, nil, false
	}
	method, rest := line[:sp], bytes.TrimLeft(line[sp+1:], " ")
	if overlong {
		return method, rest, len(rest) > 0
	}
	v := bytes.LastIndexByte(rest, ' ')
	if v <= 0 || !bytes.HasPrefix(rest[v+1:], []byte("HTTP/")) {
		return nil, nil, false
	}
	return method, bytes.TrimRight(rest[:v], " "), true
}

// parseStatusLine reads the code of "HTTP/1.x NNN reason".
func parseStatusLine(line []byte) (int, bool) {
	if !bytes.HasPrefix(line, httpVersionPrefix) || len(line) < 12 || line[8] != ' ' {
		return 0, false
	}
	c := line[9:12]
	if c[0] < '1' || c[0] > '5' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9' {
		return 0, false
	}
	return int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0'), true
}

func splitHeader(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	return line[:i], bytes.TrimSpace(line[i+1:]), true
}

func parseContentLength(v []byte) int64 {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// asciiEqualFold compares b with the lower-case ASCII s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b holds the lower-case ASCII s, ignoring case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if asciiEqualFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
