package detectors

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/httpmethod"
)

// Bounds of what the HTTP detector keeps per (source, server).
const (
	httpMaxSamples    = 20      // paths, exposed paths, injection URIs, hosts
	httpMaxAgents     = 32      // distinct user agents counted one by one
	httpMaxMethods    = 16      // distinct methods; the rest count as OTHER
	httpMaxPorts      = 8       // server ports named
	httpMaxPathSet    = 1 << 17 // unique paths counted exactly; beyond, a lower bound
	httpMaxKeptURI    = 2 << 10 // a kept request's URI is cut here
	httpMaxKeptAgent  = 512     // a kept request's user agent is cut here
	httpMaxSampleText = 200     // a sample string is cut here
	httpMaxHostSet    = 4096    // distinct Host values counted exactly; beyond, a lower bound
	httpMaxCredSet    = 4096    // distinct credentials counted exactly; beyond, a lower bound
)

// HTTPRequest is one request as the pass read it, for listing.
type HTTPRequest struct {
	// Packet is the 1-based number of the frame that carried the request
	// line, as tshark numbers frames.
	Packet int        `json:"packet"`
	Time   time.Time  `json:"time"`
	Source netip.Addr `json:"source"`
	// SourcePort is the client's port: with the addresses and Port it
	// names the connection.
	SourcePort  uint16     `json:"source_port"`
	Destination netip.Addr `json:"destination"`
	Port        uint16     `json:"port"`
	Method      string     `json:"method"`
	Host        string     `json:"host"`
	// URI is the request target as sent (query included), cut at 2 KiB.
	URI string `json:"uri"`
	// UserAgent is cut at 512 bytes; empty when the request had none.
	UserAgent string `json:"user_agent"`
	// Status is the response's status code, 0 when none was seen.
	Status int `json:"status"`
}

// HTTPAgentCount is one user agent with the requests that carried it.
type HTTPAgentCount struct {
	UserAgent string `json:"user_agent"`
	Requests  int64  `json:"requests"`
	// Scanner names the scanning tool the user agent belongs to, or "".
	Scanner string `json:"scanner,omitempty"`
}

// HTTPClientStats is what one source asked of one server.
type HTTPClientStats struct {
	Source    netip.Addr `json:"source"`
	Server    netip.Addr `json:"server"`
	Ports     []uint16   `json:"ports"`
	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	Requests  int64      `json:"requests"`
	// UniquePaths counts distinct paths, query string removed. When
	// UniquePathsCapped is set it is a lower bound.
	UniquePaths       int64            `json:"unique_paths"`
	UniquePathsCapped bool             `json:"unique_paths_capped,omitempty"`
	Methods           map[string]int64 `json:"methods"`
	UserAgents        []HTTPAgentCount `json:"user_agents"`
	// Scanners names the scanning tools seen in user agents, in order of
	// first appearance; ScannerRequests counts their requests.
	Scanners        []string `json:"scanners"`
	ScannerRequests int64    `json:"scanner_requests"`
	// WithReferer counts requests that carried a Referer header (a
	// browser fetching a page's resources sends one; tools rarely do).
	WithReferer int64 `json:"with_referer"`
	// Answered counts requests whose response was seen; Status counts
	// them by code.
	Answered int64         `json:"answered"`
	Status   map[int]int64 `json:"status"`
	// EnumerationRequests counts requests for well-known enumeration
	// paths; EnumerationPrefixes how many distinct ones of the list.
	EnumerationRequests int64 `json:"enumeration_requests"`
	EnumerationPrefixes int   `json:"enumeration_prefixes"`
	SQLInjection        int64 `json:"sql_injection"`
	PathTraversal       int64 `json:"path_traversal"`
	XSS                 int64 `json:"xss"`
	// StrongInjection counts the requests among them that carried an
	// unambiguous marker (UNION SELECT, a tautology, <script, ...).
	StrongInjection int64 `json:"strong_injection"`
	// PasswdLeaks counts traversal answers that held /etc/passwd lines.
	PasswdLeaks int64 `json:"passwd_leaks"`
	// EnumerationMisses counts requests for enumeration paths answered
	// 400, 403, 404, 410 or 421: a wordlist probing what is not there.
	EnumerationMisses int64 `json:"enumeration_misses"`
	// ExposedRequests counts GET requests for sensitive paths answered
	// 200; StrongExposedRequests those for clearly secret paths (/.env,
	// /.git/config, ...). ExposedPaths names the first of them.
	ExposedRequests       int64 `json:"exposed_requests"`
	StrongExposedRequests int64 `json:"strong_exposed_requests"`
	// DistinctHosts counts distinct Host header values (a lower bound
	// when DistinctHostsCapped); SampleHosts names the first 20.
	DistinctHosts       int64    `json:"distinct_hosts"`
	DistinctHostsCapped bool     `json:"distinct_hosts_capped,omitempty"`
	SampleHosts         []string `json:"sample_hosts"`
	// CredentialAttempts counts requests that carried credentials: an
	// Authorization header, a POST whose form or JSON body has a password
	// field, or a POST to a login path. CredentialFailures counts those
	// answered 401 or 403; CredentialAnswered those answered at all.
	CredentialAttempts int64 `json:"credential_attempts"`
	CredentialFailures int64 `json:"credential_failures"`
	CredentialAnswered int64 `json:"credential_answered"`
	// DistinctCredentials counts distinct Authorization values and login
	// bodies seen (0 when none could be read); PasswordBodies the attempts
	// whose body held a password field. RepeatedAnswer is how many
	// answered attempts got the most common answer (status and length):
	// a login form answering each wrong password with the same page.
	// RepeatedAnswerStatus is that answer's status code.
	DistinctCredentials  int64    `json:"distinct_credentials"`
	PasswordBodies       int64    `json:"password_bodies"`
	RepeatedAnswer       int64    `json:"repeated_answer"`
	RepeatedAnswerStatus int      `json:"repeated_answer_status"`
	LoginPaths           []string `json:"login_paths"`
	// OtherMethodRequests counts request lines whose method is not an
	// HTTP method (scanners probe with made-up ones, such as nmap's
	// XFOC); they are not in Requests. OtherMethods names them.
	OtherMethodRequests int64    `json:"other_method_requests"`
	OtherMethods        []string `json:"other_methods"`
	// SamplePaths are the first distinct paths; ExposedPaths the sensitive
	// paths that answered 200; InjectionURIs URIs that carried injection
	// markers. Each holds at most 20.
	SamplePaths   []string `json:"sample_paths"`
	ExposedPaths  []string `json:"exposed_paths"`
	InjectionURIs []string `json:"injection_uris"`
}

// Status404Share is the share of answered requests that answered 404.
func (s *HTTPClientStats) Status404Share() float64 {
	if s.Answered == 0 {
		return 0
	}
	return float64(s.Status[404]) / float64(s.Answered)
}

type httpPairKey struct{ src, dst netip.Addr }

// httpAgent is one user agent of a pair.
type httpAgent struct {
	ua    string
	tool  string
	count int64
	first time.Time
}

// httpPair accumulates what one source asked of one server.
type httpPair struct {
	src, dst      netip.Addr
	ports         timedList[uint16]
	first, last   time.Time
	requests      int64
	methods       map[string]int64
	agents        map[string]*httpAgent // the httpMaxAgents earliest (see keepAgent)
	tools         timedList[string]
	hosts         map[string]string   // interned Host values, for the kept requests
	host0         uint64              // the first Host value's hash
	hostN         int64               // distinct Host values
	hostSet       map[uint64]struct{} // the others, from the second
	hostsCapped   bool
	hostSamples   timedList[string]
	paths         cappedSet[uint64]
	pathSamples   timedList[string]
	bytes         int  // what the pair keeps: httpPairBase and its text
	evicted       bool // dropped from the tables (see httpBounds)
	referers      int64
	scannerReqs   int64
	enumReqs      int64
	enumMask      uint64
	sqli, trav    int64
	xss           int64
	strongInject  int64
	injectSamples timedList[string]
	answered      int64
	status        map[int]int64
	exposed       timedList[string]
	exposedReqs   int64
	strongExposed int64
	enumMiss      int64
	passwdLeaks   int64
	cred          *httpCreds        // nil until a request carries credentials
	otherMethods  int64             // request lines with a method httpmethod does not know
	otherSamples  timedList[string] // those methods
}

// httpDetector finds HTTP enumeration, scanner user agents and injection
// attempts, per (source, server).
type httpDetector struct {
	maxRequests int `partial:"-"`
	bounds      httpBounds
	conns       map[*capture.Flow]*httpConn
	// heads holds what connections joined mid-stream sent before they
	// could be parsed (see http_heads.go).
	heads    map[*capture.Flow]*httpHead
	pairs    map[httpPairKey]*httpPair
	order    []*httpPair
	reqs     httpRecords
	dropped  int64
	merging  bool      `partial:"-"` // a merge replays segments: keep every request (merge_http.go)
	misfits  int64     // connections a merge could not join exactly (merge_http.go)
	settled  sync.Once `partial:"-"` // see settle
	scratch  []byte    `partial:"-"` // decoded URI, reused
	scratch2 []byte    `partial:"-"` // lower-case path, reused
}

func newHTTPDetector(cfg Config) *httpDetector {
	return &httpDetector{
		maxRequests: cfg.HTTP.MaxRequests,
		bounds:      newHTTPBounds(cfg.HTTP),
		conns:       make(map[*capture.Flow]*httpConn),
		heads:       make(map[*capture.Flow]*httpHead),
		pairs:       make(map[httpPairKey]*httpPair),
	}
}

// Packet parses the TCP payload of flows that carry HTTP/1.x.
func (h *httpDetector) Packet(p *capture.Packet) {
	if p.Flow == nil || p.Layers&capture.LayerTCP == 0 {
		return
	}
	di := 1
	if p.FromClient {
		di = 0
	}
	if len(p.Payload) == 0 {
		// Only the flags that start or end a connection matter here:
		// a bare ACK costs no lookup.
		if len(h.conns) == 0 || p.TCPFlags&(capture.FlagSYN|capture.FlagFIN|capture.FlagRST) == 0 {
			return
		}
		c := h.conns[p.Flow]
		if c == nil {
			return
		}
		c.seen = p.Index
		if p.TCPFlags&capture.FlagSYN != 0 {
			// A new connection on the same addresses and ports starts
			// its sequence numbers afresh.
			h.release(c)
			if p.TCPFlags&capture.FlagACK == 0 {
				h.dropHead(c.head)
				*c = httpConn{seen: p.Index, firstT: p.Time, lastT: p.Time, ends: c.ends}
			} else {
				c.dir[di] = httpDir{started: true, fresh: true}
				c.fin &^= 1 << di
			}
			return
		}
		h.ending(c, di, p)
		return
	}
	c := h.conns[p.Flow]
	if c == nil {
		// Only a segment that starts like a request line or a
		// response makes a connection worth following.
		if !looksLikeResponse(p.Payload) && !startsRequestLine(p.Payload, len(p.Payload) < p.PayloadLen) {
			h.headless(di, p)
			return
		}
		if len(h.conns) >= h.bounds.maxConns {
			h.evictConns()
		}
		c = &httpConn{firstT: p.Time}
		c.ends[di], c.ends[1-di] = netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
		if joinedMidStream(p.Flow) {
			c.joined = true
			if hd := h.heads[p.Flow]; hd != nil {
				c.head = hd
				c.firstT = hd.firstT
				delete(h.heads, p.Flow)
			}
		}
		h.conns[p.Flow] = c
	}
	c.seen = p.Index
	c.lastT = maxTime(c.lastT, p.Time)
	started := c.dir[di].started
	h.segment(c, di, p)
	if c.joined && !started && !c.dir[di].started {
		if c.head == nil {
			c.head = &httpHead{}
		}
		h.logHead(c.head, di, p)
	}
	h.ending(c, di, p)
}

// ending notes a FIN or RST: a connection closed both ways, or reset,
// sends nothing more to parse, so its line buffers go back to the budget
// and it is the first to be dropped when the table fills. It stays in
// the table until then: a retransmission after the FIN is still known
// as one.
func (h *httpDetector) ending(c *httpConn, di int, p *capture.Packet) {
	switch {
	case p.TCPFlags&capture.FlagRST != 0:
		c.reset = true
	case p.TCPFlags&capture.FlagFIN != 0:
		c.fin |= 1 << di
	default:
		return
	}
	if c.done() {
		h.release(c)
	}
}

// startsRequestLine reports whether payload starts with a known method
// and a space, and its first line (within httpMaxLine) names an HTTP
// version, or was cut by the snap length before it could.
func startsRequestLine(pl []byte, cut bool) bool {
	sp := bytes.IndexByte(pl[:min(len(pl), 21)], ' ')
	if sp <= 0 || !httpmethod.Known(pl[:sp]) {
		return false
	}
	line := pl[:min(len(pl), httpMaxLine)]
	i := bytes.IndexByte(line, '\n')
	if i < 0 && cut {
		return true
	}
	if i >= 0 {
		line = line[:i]
	}
	return bytes.Contains(line, []byte(" HTTP/"))
}

// pair finds or creates the stats of src asking dst.
func (h *httpDetector) pair(c *httpConn, p *capture.Packet) *httpPair {
	if h.bounds.pairBytes > h.bounds.maxPairBytes {
		h.evictPairs()
	}
	if c.cur.pair != nil && !c.cur.pair.evicted && c.cur.pair.src == p.Src && c.cur.pair.dst == p.Dst {
		return c.cur.pair
	}
	k := httpPairKey{p.Src, p.Dst}
	pr := h.pairs[k]
	if pr == nil {
		if len(h.pairs) >= h.bounds.maxPairs {
			h.evictPairs()
		}
		pr = &httpPair{src: p.Src, dst: p.Dst, first: p.Time,
			methods: map[string]int64{}, agents: map[string]*httpAgent{},
			hosts: map[string]string{}, paths: newCappedSet[uint64](httpMaxPathSet), status: map[int]int64{}}
		pr.bytes = httpPairBase
		h.bounds.pairBytes += httpPairBase
		h.pairs[k] = pr
		h.order = append(h.order, pr)
	}
	return pr
}

// request counts one request line.
func (h *httpDetector) request(c *httpConn, method, uri []byte, p *capture.Packet) {
	pr := h.pair(c, p)
	pr.requests++
	if p.Time.Before(pr.first) {
		pr.first = p.Time
	}
	if p.Time.After(pr.last) {
		pr.last = p.Time
	}
	pr.ports.add(p.Time, p.DstPort, httpMaxPorts, true)
	m := pr.method(method)
	pr.methods[m]++

	path := uriPath(uri)
	if h.addDistinct(&pr.paths, httpHash(path)) && pr.pathSamples.admits(p.Time, httpMaxSamples) {
		h.sample(pr, &pr.pathSamples, p.Time, cut(path, httpMaxSampleText), true)
	}

	h.scratch2 = appendLower(h.scratch2[:0], path)
	req := pendingReq{rec: -1, head: m == "HEAD", pair: pr}
	if i := enumerationIndex(h.scratch2); i >= 0 {
		pr.enumReqs++
		pr.enumMask |= 1 << i
		req.enum = true
	}
	c.nextID++
	req.id = c.nextID
	// Only a GET answered 200 hands the file out: a 200 to a PUT or a
	// POST is an upload or a form that worked.
	if sensitive, strong := sensitivePath(h.scratch2); sensitive && m == "GET" {
		req.sensitive = true
		req.path = cut(path, httpMaxSampleText)
		if strong {
			req.path = "!" + req.path // marks a path whose leak stands alone
		}
	}
	h.scratch = decodeURI(h.scratch[:0], uri)
	kinds, strong := injectionKinds(h.scratch)
	if kinds != 0 {
		if kinds&injSQL != 0 {
			pr.sqli++
		}
		if kinds&injTraversal != 0 {
			pr.trav++
			req.traversal = true
		}
		if kinds&injXSS != 0 {
			pr.xss++
		}
		if strong {
			pr.strongInject++
		}
		if pr.injectSamples.admits(p.Time, httpMaxSamples) {
			h.sample(pr, &pr.injectSamples, p.Time, cut(uri, httpMaxSampleText), false)
		}
	}

	if m == "POST" && loginPath(h.scratch2) {
		req.cred = true
		h.attempt(pr, pr.creds(), path, p.Time)
	}
	if q := bytes.IndexByte(uri, '?'); q >= 0 && passwordField(uri[q+1:]) {
		// A login form sent with GET: the password is in the query.
		cr := pr.creds()
		if !req.cred {
			req.cred = true
			h.attempt(pr, cr, path, p.Time)
		}
		cr.passwords++
		h.material(cr, uri[q+1:])
	}

	if h.reqs.n < h.maxRequests || h.merging {
		req.rec = int32(h.reqs.n)
		h.reqs.add(HTTPRequest{Packet: p.Index, Time: p.Time, Source: p.Src, SourcePort: p.SrcPort, Destination: p.Dst,
			Port: p.DstPort, Method: m, URI: cut(uri, httpMaxKeptURI)})
	} else {
		h.dropped++
	}
	c.cur = req
	if len(c.pending) == httpMaxPending {
		copy(c.pending, c.pending[1:])
		c.pending = c.pending[:len(c.pending)-1]
	}
	c.pending = append(c.pending, req)
}

// otherMethod notes a request line with a method httpmethod does not know: it
// is not counted as a request, but queued so that its answer does not
// shift the answers of the requests after it.
func (h *httpDetector) otherMethod(c *httpConn, method []byte, p *capture.Packet) {
	pr := h.pair(c, p)
	pr.otherMethods++
	if pr.otherSamples.admits(p.Time, httpMaxSamples) {
		h.sample(pr, &pr.otherSamples, p.Time, string(method), true)
	}
	c.cur = pendingReq{rec: -1, pair: pr, other: true}
	if len(c.pending) == httpMaxPending {
		copy(c.pending, c.pending[1:])
		c.pending = c.pending[:len(c.pending)-1]
	}
	c.pending = append(c.pending, c.cur)
}

// method interns a method name.
func (pr *httpPair) method(b []byte) string {
	if m, ok := httpmethod.Canonical(b); ok {
		return m
	}
	if _, ok := pr.methods[string(b)]; ok || len(pr.methods) < httpMaxMethods {
		for k := range pr.methods {
			if k == string(b) {
				return k
			}
		}
		return string(b)
	}
	return "OTHER"
}

// userAgent counts the User-Agent header of the current request.
func (h *httpDetector) userAgent(c *httpConn, v []byte, t time.Time) {
	pr := c.cur.pair
	if pr == nil || c.cur.other {
		return
	}
	// Keyed by the kept (cut) text: a longer user agent must not make
	// the key longer than what is kept.
	key := v[:min(len(v), httpMaxKeptAgent)]
	a := pr.agents[string(key)]
	if a == nil {
		a = &httpAgent{ua: string(key), tool: ScannerTool(string(v)), first: t}
		if pr.keepAgent(a) {
			h.text(pr, a.ua)
		}
		if a.tool != "" {
			pr.tools.add(t, a.tool, httpMaxSamples, true)
		}
	}
	a.count++
	if a.tool != "" {
		pr.scannerReqs++
	}
	if c.cur.rec >= 0 {
		h.reqs.at(c.cur.rec).UserAgent = a.ua
	}
}

// addHost counts a Host value by its hash and reports whether it was new.
// Nearly every pair names one host: the set is made at the second.
func (h *httpDetector) addHost(pr *httpPair, hv uint64) bool {
	switch {
	case pr.hostN == 0:
		pr.host0, pr.hostN = hv, 1
		return true
	case hv == pr.host0:
		return false
	case pr.hostSet == nil:
		pr.hostSet = make(map[uint64]struct{}, 8)
	}
	if _, seen := pr.hostSet[hv]; seen {
		return false
	}
	if len(pr.hostSet)+1 >= httpMaxHostSet || !h.distinctRoom(len(pr.hostSet)) {
		pr.hostsCapped = true
		return false
	}
	pr.hostSet[hv] = struct{}{}
	pr.hostN++
	h.bounds.distinct++
	return true
}

// host counts the Host header of the current request and records it.
func (h *httpDetector) host(c *httpConn, v []byte, t time.Time) {
	pr := c.cur.pair
	if pr == nil || c.cur.other {
		return
	}
	h.scratch = appendLower(h.scratch[:0], v)
	if h.addHost(pr, httpHash(h.scratch)) && pr.hostSamples.admits(t, httpMaxSamples) {
		h.sample(pr, &pr.hostSamples, t, cut(v, httpMaxSampleText), true)
	}
	if c.cur.rec < 0 {
		return
	}
	s, ok := pr.hosts[string(v)]
	if !ok {
		s = cut(v, httpMaxSampleText)
		if len(pr.hosts) < 64 {
			pr.hosts[h.text(pr, s)] = s
		}
	}
	h.reqs.at(c.cur.rec).Host = s
}

// response matches a status code to its request.
func (h *httpDetector) response(req pendingReq, code int, t time.Time) {
	pr := req.pair
	if req.other {
		return
	}
	pr.answered++
	pr.status[code]++
	if req.rec >= 0 {
		h.reqs.at(req.rec).Status = code
	}
	if req.enum && isMiss(code) {
		pr.enumMiss++
	}
	if req.cred {
		pr.creds().answered(code)
	}
	if req.sensitive && code == 200 {
		path, strong := strings.CutPrefix(req.path, "!")
		pr.exposedReqs++
		if strong {
			pr.strongExposed++
		}
		h.sample(pr, &pr.exposed, t, path, true)
	}
}

// uriPath returns the path of a request target: scheme and authority of
// an absolute URI removed, query and fragment cut.
func uriPath(uri []byte) []byte {
	if i := bytes.Index(uri, []byte("://")); i > 0 && i < 10 && uri[0] != '/' {
		rest := uri[i+3:]
		j := bytes.IndexByte(rest, '/')
		if j < 0 {
			return []byte("/")
		}
		uri = rest[j:]
	}
	if i := bytes.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// cutMarkMax bounds the marker cut adds: "…[+" (5 bytes), at most 20
// digits and " bytes]".
const cutMarkMax = 32

// cut copies b, at most n bytes of it; a cut one ends with a marker
// saying how much was left out ("…[+37 bytes]", as textsafe marks its
// cuts), so a sample never passes for the whole string.
func cut(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…[+" + strconv.Itoa(len(b)-n) + " bytes]"
}

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, lower(c))
	}
	return dst
}

// decodeURI percent-decodes uri once ('+' read as a space), lower-cases
// it, and folds runs of spaces and SQL comments "/**/" into one space, so
// "UNION/**/ALL+SELECT" reads "union all select".
func decodeURI(dst, uri []byte) []byte {
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		switch {
		case c == '%' && i+2 < len(uri) && isHex(uri[i+1]) && isHex(uri[i+2]):
			c = unhex(uri[i+1])<<4 | unhex(uri[i+2])
			i += 2
		case c == '+':
			c = ' '
		}
		c = lower(c)
		if c == ' ' || c == '\t' {
			if n := len(dst); n > 0 && dst[n-1] == ' ' {
				continue
			}
			c = ' '
		}
		dst = append(dst, c)
		if n := len(dst); n >= 4 && string(dst[n-4:]) == "/**/" {
			dst = dst[:n-4]
			if n := len(dst); n == 0 || dst[n-1] != ' ' {
				dst = append(dst, ' ')
			}
		}
	}
	return dst
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
