package detectors

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
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
)

// HTTPRequest is one request as the pass read it, for listing.
type HTTPRequest struct {
	// Packet is the 1-based number of the frame that carried the request
	// line, as tshark numbers frames.
	Packet      int        `json:"packet"`
	Time        time.Time  `json:"time"`
	Source      netip.Addr `json:"source"`
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
	// PasswdLeaks counts traversal answers that held /etc/passwd lines.
	PasswdLeaks int64 `json:"passwd_leaks"`
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
}

// httpPair accumulates what one source asked of one server.
type httpPair struct {
	src, dst      netip.Addr
	ports         []uint16
	first, last   time.Time
	requests      int64
	methods       map[string]int64
	agents        map[string]*httpAgent
	agentOrder    []*httpAgent
	tools         []string
	hosts         map[string]string // interned Host values
	paths         map[uint64]struct{}
	pathsCapped   bool
	pathSamples   []string
	referers      int64
	scannerReqs   int64
	enumReqs      int64
	enumMask      uint64
	sqli, trav    int64
	xss           int64
	strongInject  int64
	injectSamples []string
	answered      int64
	status        map[int]int64
	exposed       []string
	strongExposed int
	passwdLeaks   int64
	otherMethods  int64    // request lines with a method outside httpMethods
	otherSamples  []string // those methods
}

// httpDetector finds HTTP enumeration, scanner user agents and injection
// attempts, per (source, server).
type httpDetector struct {
	maxRequests int
	conns       map[*capture.Flow]*httpConn
	pairs       map[httpPairKey]*httpPair
	order       []*httpPair
	reqs        httpRecords
	dropped     int64
	seed        maphash.Seed
	scratch     []byte // decoded URI, reused
	scratch2    []byte // lower-case path, reused
}

func newHTTPDetector(cfg Config) *httpDetector {
	return &httpDetector{
		maxRequests: cfg.HTTP.MaxRequests,
		conns:       make(map[*capture.Flow]*httpConn),
		pairs:       make(map[httpPairKey]*httpPair),
		seed:        maphash.MakeSeed(),
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
		if p.TCPFlags&capture.FlagSYN != 0 && len(h.conns) > 0 {
			// A new connection on the same addresses and ports starts
			// its sequence numbers afresh.
			if c := h.conns[p.Flow]; c != nil {
				if p.TCPFlags&capture.FlagACK == 0 {
					*c = httpConn{}
				} else {
					c.dir[di] = httpDir{}
				}
			}
		}
		return
	}
	c := h.conns[p.Flow]
	if c == nil {
		// Only a segment that starts like a request line or a
		// response makes a connection worth following.
		if !looksLikeResponse(p.Payload) && !startsRequestLine(p.Payload, len(p.Payload) < p.PayloadLen) {
			return
		}
		c = &httpConn{}
		h.conns[p.Flow] = c
	}
	h.segment(c, di, p)
}

// startsRequestLine reports whether payload starts with a known method
// and a space, and its first line (within httpMaxLine) names an HTTP
// version, or was cut by the snap length before it could.
func startsRequestLine(pl []byte, cut bool) bool {
	sp := bytes.IndexByte(pl[:min(len(pl), 21)], ' ')
	if sp <= 0 || !knownMethod(pl[:sp]) {
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
	if c.cur.pair != nil && c.cur.pair.src == p.Src && c.cur.pair.dst == p.Dst {
		return c.cur.pair
	}
	k := httpPairKey{p.Src, p.Dst}
	pr := h.pairs[k]
	if pr == nil {
		pr = &httpPair{src: p.Src, dst: p.Dst, first: p.Time,
			methods: map[string]int64{}, agents: map[string]*httpAgent{},
			hosts: map[string]string{}, paths: map[uint64]struct{}{}, status: map[int]int64{}}
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
	if !slices.Contains(pr.ports, p.DstPort) && len(pr.ports) < httpMaxPorts {
		pr.ports = append(pr.ports, p.DstPort)
	}
	m := pr.method(method)
	pr.methods[m]++

	path := uriPath(uri)
	hv := maphash.Bytes(h.seed, path)
	if _, seen := pr.paths[hv]; !seen {
		if len(pr.paths) < httpMaxPathSet {
			pr.paths[hv] = struct{}{}
			if len(pr.pathSamples) < httpMaxSamples {
				pr.pathSamples = append(pr.pathSamples, cut(path, httpMaxSampleText))
			}
		} else {
			pr.pathsCapped = true
		}
	}

	h.scratch2 = appendLower(h.scratch2[:0], path)
	req := pendingReq{rec: -1, head: m == "HEAD", pair: pr}
	if i := enumerationIndex(h.scratch2); i >= 0 {
		pr.enumReqs++
		pr.enumMask |= 1 << i
	}
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
		if len(pr.injectSamples) < httpMaxSamples {
			pr.injectSamples = append(pr.injectSamples, cut(uri, httpMaxSampleText))
		}
	}

	if h.reqs.n < h.maxRequests {
		req.rec = int32(h.reqs.n)
		h.reqs.add(HTTPRequest{Packet: p.Index, Time: p.Time, Source: p.Src, Destination: p.Dst,
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

// otherMethod notes a request line with a method outside httpMethods: it
// is not counted as a request, but queued so that its answer does not
// shift the answers of the requests after it.
func (h *httpDetector) otherMethod(c *httpConn, method []byte, p *capture.Packet) {
	pr := h.pair(c, p)
	pr.otherMethods++
	if len(pr.otherSamples) < httpMaxSamples && !slices.Contains(pr.otherSamples, string(method)) {
		pr.otherSamples = append(pr.otherSamples, string(method))
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
	for _, m := range [...]string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "PROPFIND"} {
		if string(b) == m {
			return m
		}
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
func (h *httpDetector) userAgent(c *httpConn, v []byte) {
	pr := c.cur.pair
	if pr == nil || c.cur.other {
		return
	}
	a := pr.agents[string(v)]
	if a == nil {
		a = &httpAgent{ua: cut(v, httpMaxKeptAgent), tool: ScannerTool(string(v))}
		if len(pr.agents) < httpMaxAgents {
			pr.agents[string(v)] = a
			pr.agentOrder = append(pr.agentOrder, a)
		}
		if a.tool != "" && !slices.Contains(pr.tools, a.tool) {
			pr.tools = append(pr.tools, a.tool)
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

// host records the Host header of the current request.
func (h *httpDetector) host(c *httpConn, v []byte) {
	pr := c.cur.pair
	if pr == nil || c.cur.rec < 0 {
		return
	}
	s, ok := pr.hosts[string(v)]
	if !ok {
		s = cut(v, httpMaxSampleText)
		if len(pr.hosts) < 64 {
			pr.hosts[s] = s
		}
	}
	h.reqs.at(c.cur.rec).Host = s
}

// response matches a status code to its request.
func (h *httpDetector) response(req pendingReq, code int) {
	pr := req.pair
	if req.other {
		return
	}
	pr.answered++
	pr.status[code]++
	if req.rec >= 0 {
		h.reqs.at(req.rec).Status = code
	}
	if req.sensitive && code == 200 {
		path, strong := strings.CutPrefix(req.path, "!")
		if !slices.Contains(pr.exposed, path) && len(pr.exposed) < httpMaxSamples {
			pr.exposed = append(pr.exposed, path)
			if strong {
				pr.strongExposed++
			}
		}
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

func cut(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
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

// Injection kinds, a bit each.
const (
	injSQL = 1 << iota
	injTraversal
	injXSS
)

// injectionMarker is a substring of a decoded, lower-cased URI. Strong
// markers are unambiguous on their own; weak ones ("../", a NUL byte)
// can come from a sloppy client.
type injectionMarker struct {
	s      string
	kind   int
	strong bool
}

var injectionMarkers = []injectionMarker{
	{"union select", injSQL, true},
	{"union all select", injSQL, true},
	{"union distinct select", injSQL, true},
	{"' or '", injSQL, true},
	{"' or 1=1", injSQL, true},
	{"or 1=1", injSQL, false},
	{"xp_cmdshell", injSQL, true},
	{"sleep(", injSQL, false},
	{"benchmark(", injSQL, true},
	{"waitfor delay", injSQL, true},
	{"information_schema", injSQL, true},
	{"extractvalue(", injSQL, true},
	{"updatexml(", injSQL, true},
	{"load_file(", injSQL, true},
	{"into outfile", injSQL, true},
	{"../", injTraversal, false},
	{"..\\", injTraversal, false},
	{"/etc/passwd", injTraversal, true},
	{"/etc/shadow", injTraversal, true},
	{"win.ini", injTraversal, true},
	{"\x00", injTraversal, false},
	{"<script", injXSS, true},
	{"javascript:", injXSS, true},
	{"onerror=", injXSS, true},
	{"onload=", injXSS, true},
	{"<svg", injXSS, true},
	{"<iframe", injXSS, true},
}

const injectionBytes = " '(.\\<:=\x00"

// injectionKinds returns the injection kinds a decoded URI carries, and
// whether one marker was strong.
func injectionKinds(decoded []byte) (kinds int, strong bool) {
	// Every marker holds one of these bytes (or, like xp_cmdshell and
	// information_schema, never comes without one): most URIs are
	// cleared by one scan.
	if bytes.IndexAny(decoded, injectionBytes) < 0 {
		return 0, false
	}
	for _, m := range injectionMarkers {
		if kinds&m.kind != 0 && (strong || !m.strong) {
			continue
		}
		if bytes.Contains(decoded, []byte(m.s)) {
			kinds |= m.kind
			strong = strong || m.strong
		}
	}
	return kinds, strong
}

// enumerationPrefixes are paths scanners and brute-forcers try, lower
// case, matched as prefixes of the lower-cased path. At most 64 (one bit
// each in httpPair.enumMask).
var enumerationPrefixes = []string{
	"/.env", "/.git", "/.svn", "/.hg/", "/.bzr", "/.ds_store", "/.aws", "/.ssh", "/.htaccess", "/.htpasswd",
	"/.idea", "/.vscode", "/.docker", "/.bash_history", "/admin", "/backup", "/phpmyadmin", "/pma/", "/myadmin",
	"/wp-admin", "/wp-login.php", "/wp-config", "/xmlrpc.php", "/server-status", "/server-info", "/config.php",
	"/configuration.php", "/web.config", "/cgi-bin/", "/actuator", "/console", "/manager/html", "/jmx-console",
	"/_vti_bin", "/_vti_pvt", "/_vti_inf", "/hnap1", "/etc/passwd", "/phpinfo.php", "/info.php", "/debug",
	"/id_rsa", "/dump.sql", "/db.sql", "/database.sql", "/shell", "/install.php", "/setup.php", "/sdk",
	"/solr/admin", "/owa/", "/autodiscover/autodiscover.xml", "/boaform", "/vendor/phpunit",
}

// enumerationBySecond lists, for each second byte of a path, the
// indexes of the enumeration prefixes that start with it, so a path is
// compared with a handful of prefixes, not all of them.
var enumerationBySecond = func() (idx [256][]int) {
	for i, p := range enumerationPrefixes {
		idx[p[1]] = append(idx[p[1]], i)
	}
	return idx
}()

func enumerationIndex(lowerPath []byte) int {
	if len(lowerPath) < 2 {
		return -1
	}
	for _, i := range enumerationBySecond[lowerPath[1]] {
		if bytes.HasPrefix(lowerPath, []byte(enumerationPrefixes[i])) {
			return i
		}
	}
	return -1
}

// sensitivePaths are paths whose 200 answer leaks something. Strong ones
// are a finding on their own; the others (server-status, phpinfo) are
// often fetched on purpose by monitoring and only add to another finding.
var sensitivePaths = []struct {
	prefix string
	strong bool
}{
	{"/.env", true}, {"/.git/config", true}, {"/.git/head", true}, {"/.git/index", true}, {"/.git/logs", true},
	{"/.aws/credentials", true}, {"/.aws/config", true}, {"/.htpasswd", true}, {"/.ssh/", true},
	{"/.svn/entries", true}, {"/.svn/wc.db", true}, {"/.hg/hgrc", true}, {"/.bash_history", true},
	{"/.docker/config.json", true}, {"/wp-config.php.", true}, {"/etc/passwd", true}, {"/web.config", true},
	{"/actuator/env", true}, {"/actuator/heapdump", true}, {"/id_rsa", true},
	{"/server-status", false}, {"/server-info", false}, {"/phpinfo.php", false}, {"/.ds_store", false},
}

// backupSuffixes name backup copies of files; an archive counts when its
// name says backup. A 200 answer to one raises a finding but is none on
// its own: downloading a dump or an archive can be what the site is for.
var backupSuffixes = []string{".bak", ".old", ".orig", ".swp", ".sql", ".sql.gz", "~", ".save", ".backup"}
var archiveSuffixes = []string{".zip", ".tar", ".tar.gz", ".tgz", ".7z", ".rar"}

var sensitiveBySecond = func() (idx [256][]int) {
	for i, p := range sensitivePaths {
		idx[p.prefix[1]] = append(idx[p.prefix[1]], i)
	}
	return idx
}()

func sensitivePath(lowerPath []byte) (sensitive, strong bool) {
	if len(lowerPath) < 2 {
		return false, false
	}
	for _, i := range sensitiveBySecond[lowerPath[1]] {
		if bytes.HasPrefix(lowerPath, []byte(sensitivePaths[i].prefix)) {
			return true, sensitivePaths[i].strong
		}
	}
	for _, s := range backupSuffixes {
		if bytes.HasSuffix(lowerPath, []byte(s)) {
			return true, false
		}
	}
	if bytes.Contains(lowerPath, []byte("backup")) {
		for _, s := range archiveSuffixes {
			if bytes.HasSuffix(lowerPath, []byte(s)) {
				return true, false
			}
		}
	}
	return false, false
}

// scannerAgents maps a lower-case substring of a user agent to the tool
// it names. Order matters where one needle holds another (dirbuster
// before dirb). Clients that are not scanners (curl, wget,
// python-requests, python-httpx, Go-http-client, browsers) are absent on
// purpose.
var scannerAgents = []struct{ needle, tool string }{
	{"nmap scripting engine", "Nmap Scripting Engine"},
	{"sqlmap", "sqlmap"},
	{"nikto", "Nikto"},
	{"gobuster", "gobuster"},
	{"dirbuster", "DirBuster"},
	{"dirsearch", "dirsearch"},
	{"dirb", "dirb"},
	{"fuzz faster u fool", "ffuf"},
	{"ffuf", "ffuf"},
	{"wfuzz", "wfuzz"},
	{"feroxbuster", "feroxbuster"},
	{"nuclei", "nuclei"},
	{"projectdiscovery", "projectdiscovery"},
	{"masscan", "masscan"},
	{"zgrab", "zgrab"},
	{"wpscan", "WPScan"},
	{"whatweb", "WhatWeb"},
	{"acunetix", "Acunetix"},
	{"netsparker", "Netsparker"},
	{"nessus", "Nessus"},
	{"openvas", "OpenVAS"},
	{"arachni", "Arachni"},
	{"skipfish", "skipfish"},
	{"w3af", "w3af"},
	{"(hydra)", "Hydra"},
	{"thc-hydra", "Hydra"},
	{"burpcollaborator", "Burp Collaborator"},
	{"commix", "commix"},
	{"jaeles", "jaeles"},
	{"katana", "katana"},
	{"gospider", "gospider"},
	{"joomscan", "JoomScan"},
	{"droopescan", "droopescan"},
	{"zmeu", "ZmEu"},
	{"jorgee", "Jorgee"},
	{"morfeus", "Morfeus"},
	{"havij", "Havij"},
	{"xsstrike", "XSStrike"},
	{"qualys", "Qualys"},
}

// ScannerTool names the scanning tool a User-Agent value belongs to, or
// returns "" for ordinary clients (browsers, curl, wget, python-requests,
// Go-http-client, ...). Matching is a case-insensitive substring test.
func ScannerTool(ua string) string {
	b := []byte(ua)
	for _, s := range scannerAgents {
		if containsFold(b, s.needle) {
			return s.tool
		}
	}
	return ""
}

// stats copies a pair's state into its exported form.
func (pr *httpPair) stats() HTTPClientStats {
	s := HTTPClientStats{
		Source: pr.src, Server: pr.dst, Ports: slices.Clone(pr.ports), FirstSeen: pr.first, LastSeen: pr.last,
		Requests: pr.requests, UniquePaths: int64(len(pr.paths)), UniquePathsCapped: pr.pathsCapped,
		Methods: maps(pr.methods), Scanners: slices.Clone(pr.tools), ScannerRequests: pr.scannerReqs,
		WithReferer: pr.referers, Answered: pr.answered, Status: maps(pr.status),
		EnumerationRequests: pr.enumReqs, EnumerationPrefixes: popcount(pr.enumMask),
		SQLInjection: pr.sqli, PathTraversal: pr.trav, XSS: pr.xss, PasswdLeaks: pr.passwdLeaks,
		SamplePaths: slices.Clone(pr.pathSamples), ExposedPaths: slices.Clone(pr.exposed),
		InjectionURIs:       slices.Clone(pr.injectSamples),
		OtherMethodRequests: pr.otherMethods, OtherMethods: slices.Clone(pr.otherSamples),
	}
	for _, a := range pr.agentOrder {
		s.UserAgents = append(s.UserAgents, HTTPAgentCount{UserAgent: a.ua, Requests: a.count, Scanner: a.tool})
	}
	slices.SortStableFunc(s.UserAgents, func(x, y HTTPAgentCount) int { return cmp.Compare(y.Requests, x.Requests) })
	if s.Ports == nil {
		s.Ports = []uint16{}
	}
	for _, l := range []*[]string{&s.OtherMethods, &s.Scanners, &s.SamplePaths, &s.ExposedPaths, &s.InjectionURIs} {
		if *l == nil {
			*l = []string{}
		}
	}
	if s.UserAgents == nil {
		s.UserAgents = []HTTPAgentCount{}
	}
	return s
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// Findings judges every (source, server) pair.
//
// Severity, most telling first:
//   - a scanner user agent: high (technique scanner_user_agent);
//   - RequestThreshold requests or PathThreshold unique paths: medium
//     (directory_bruteforce); many requests repeating fewer than
//     PathThreshold paths (at least two requests a path), under 10% of
//     them 404 and none on the enumeration list, stay
//     medium but with low confidence (high_request_volume: polling looks
//     like that); high when at least half of the answered
//     requests answered 404 (10 answers at least) or when 3 or more
//     distinct enumeration paths of the list were asked for. A pair that
//     looks like a browser loading pages (most requests carry a Referer,
//     under 10% of answers are 404, no enumeration path) is left alone;
//   - injection markers in URIs (sql_injection, path_traversal, xss):
//     medium even for one request from a browser user agent, since a
//     normal client never sends them; high when a traversal's answer held
//     /etc/passwd lines. A 200 answer to an injection is not taken as
//     success: applications answer 200 with an error page;
//   - a 200 answer to a sensitive path (/.env, /.git/config, backups, ...)
//     raises any of the above to high and is named in the summary; on its
//     own, for the clearly secret paths, it is a medium finding
//     (sensitive_file_exposure).
func (h *httpDetector) Findings(cfg Config, _ *capture.Capture) []report.Finding {
	var out []report.Finding
	for _, pr := range h.order {
		s := pr.stats()
		if f, ok := judgeHTTP(cfg.HTTP, &s); ok {
			out = append(out, f)
		}
	}
	return out
}

func judgeHTTP(cfg HTTPConfig, s *HTTPClientStats) (report.Finding, bool) {
	volume := s.Requests >= int64(cfg.RequestThreshold) || s.UniquePaths >= int64(cfg.PathThreshold)
	share404 := s.Status404Share()
	high404 := s.Answered >= 10 && share404 >= 0.5
	manyEnum := s.EnumerationPrefixes >= 3
	if volume && len(s.Scanners) == 0 && !high404 && s.EnumerationRequests == 0 &&
		s.WithReferer*2 > s.Requests && share404 < 0.1 {
		volume = false // a browser loading pages and their resources
	}
	injections := s.SQLInjection + s.PathTraversal + s.XSS
	strongExposed := false
	for _, p := range s.ExposedPaths {
		if _, strong := sensitivePath([]byte(strings.ToLower(p))); strong {
			strongExposed = true
		}
	}
	f := report.Finding{
		Type: report.AttackHTTPEnumeration, Source: s.Source.String(), Target: s.Server.String(),
		FirstSeen: s.FirstSeen, LastSeen: s.LastSeen,
	}
	switch {
	case len(s.Scanners) > 0:
		f.Technique, f.Severity, f.Confidence = "scanner_user_agent", report.SeverityHigh, report.ConfidenceHigh
	case volume && s.UniquePaths < int64(cfg.PathThreshold) && 2*s.UniquePaths <= s.Requests && share404 < 0.1 && s.EnumerationRequests == 0:
		// Many requests for few paths, almost all found: a client polling
		// or reloading, more often than a scan. The volume rule
		// keeps it medium; the confidence says how little it proves.
		f.Technique, f.Severity, f.Confidence = "high_request_volume", report.SeverityMedium, report.ConfidenceLow
	case volume:
		f.Technique, f.Severity, f.Confidence = "directory_bruteforce", report.SeverityMedium, report.ConfidenceMedium
		if high404 || manyEnum {
			f.Severity, f.Confidence = report.SeverityHigh, report.ConfidenceHigh
		}
	case injections > 0:
		f.Technique, f.Severity, f.Confidence = injectionTechnique(s), report.SeverityMedium, report.ConfidenceMedium
		if s.PasswdLeaks > 0 {
			f.Severity = report.SeverityHigh
		}
		if s.PasswdLeaks > 0 || hasStrongInjection(s) {
			f.Confidence = report.ConfidenceHigh
		}
	case strongExposed:
		f.Technique, f.Severity, f.Confidence = "sensitive_file_exposure", report.SeverityMedium, report.ConfidenceMedium
	default:
		return f, false
	}
	if len(s.ExposedPaths) > 0 && f.Technique != "sensitive_file_exposure" {
		f.Severity = report.SeverityHigh
	}
	f.Summary = httpSummary(f.Technique, s, share404)
	f.Counts = map[string]int64{
		"requests":             s.Requests,
		"unique_paths":         s.UniquePaths,
		"answered":             s.Answered,
		"status_2xx":           statusClass(s.Status, 2),
		"status_3xx":           statusClass(s.Status, 3),
		"status_4xx":           statusClass(s.Status, 4),
		"status_404":           s.Status[404],
		"status_5xx":           statusClass(s.Status, 5),
		"enumeration_paths":    s.EnumerationRequests,
		"enumeration_prefixes": int64(s.EnumerationPrefixes),
		"scanner_requests":     s.ScannerRequests,
		"with_referer":         s.WithReferer,
		"sql_injection":        s.SQLInjection,
		"path_traversal":       s.PathTraversal,
		"xss":                  s.XSS,
		"exposed_paths":        int64(len(s.ExposedPaths)),
		"passwd_leaks":         s.PasswdLeaks,
		"distinct_user_agents": int64(len(s.UserAgents)),
	}
	if s.OtherMethodRequests > 0 {
		f.Counts["other_method_requests"] = s.OtherMethodRequests
	}
	if s.UniquePathsCapped {
		f.Counts["unique_paths_capped"] = 1
	}
	f.Samples = map[string][]string{"paths": s.SamplePaths}
	var uas, methods, ports []string
	for _, a := range s.UserAgents {
		uas = append(uas, cut([]byte(a.UserAgent), httpMaxSampleText))
	}
	for m := range s.Methods {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	for _, p := range s.Ports {
		ports = append(ports, strconv.Itoa(int(p)))
	}
	f.Samples["user_agents"] = head(uas, httpMaxSamples)
	f.Samples["methods"] = methods
	f.Samples["ports"] = ports
	if len(s.OtherMethods) > 0 {
		f.Samples["other_methods"] = s.OtherMethods
	}
	if len(s.Scanners) > 0 {
		f.Samples["scanners"] = s.Scanners
	}
	if len(s.ExposedPaths) > 0 {
		f.Samples["exposed_paths"] = s.ExposedPaths
	}
	if len(s.InjectionURIs) > 0 {
		f.Samples["injection_uris"] = s.InjectionURIs
	}
	return f, true
}

func hasStrongInjection(s *HTTPClientStats) bool {
	for _, u := range s.InjectionURIs {
		if _, strong := injectionKinds(decodeURI(nil, []byte(u))); strong {
			return true
		}
	}
	return false
}

func injectionTechnique(s *HTTPClientStats) string {
	switch {
	case s.SQLInjection >= s.PathTraversal && s.SQLInjection >= s.XSS:
		return "sql_injection"
	case s.PathTraversal >= s.XSS:
		return "path_traversal"
	}
	return "xss"
}

func statusClass(m map[int]int64, class int) int64 {
	var n int64
	for code, c := range m {
		if code/100 == class {
			n += c
		}
	}
	return n
}

func httpSummary(technique string, s *HTTPClientStats, share404 float64) string {
	var b strings.Builder
	target := s.Server.String()
	if len(s.Ports) == 1 {
		target = netip.AddrPortFrom(s.Server, s.Ports[0]).String()
	}
	switch technique {
	case "scanner_user_agent":
		fmt.Fprintf(&b, "%s scanned the web server %s with %s (user agent): %s, %s",
			s.Source, target, strings.Join(s.Scanners, ", "), humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.UniquePaths), "unique path"))
	case "directory_bruteforce":
		fmt.Fprintf(&b, "%s enumerated paths on %s: %s, %s", s.Source, target,
			humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.UniquePaths), "unique path"))
	case "high_request_volume":
		fmt.Fprintf(&b, "%s sent a high volume of requests to %s: %s for only %s (repeated requests, not path enumeration)", s.Source, target,
			humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.UniquePaths), "unique path"))
	case "sensitive_file_exposure":
		fmt.Fprintf(&b, "%s fetched sensitive files from %s: %s", s.Source, target, humanize.Count(int(s.Requests), "request"))
	default:
		fmt.Fprintf(&b, "%s sent injection attempts to %s: %s", s.Source, target, humanize.Count(int(s.Requests), "request"))
	}
	switch {
	case s.Status[404] > 0:
		fmt.Fprintf(&b, "; %d of %d answered 404 (%.0f%%)", s.Status[404], s.Answered, share404*100)
	case s.Answered > 0:
		fmt.Fprintf(&b, "; %d answered, none 404", s.Answered)
	default:
		b.WriteString("; no responses in the capture")
	}
	if s.EnumerationRequests > 0 {
		fmt.Fprintf(&b, "; %s for known enumeration paths", humanize.Count(int(s.EnumerationRequests), "request"))
	}
	var inj []string
	for _, k := range []struct {
		n    int64
		name string
	}{{s.SQLInjection, "SQL injection"}, {s.PathTraversal, "path traversal"}, {s.XSS, "XSS"}} {
		if k.n > 0 {
			inj = append(inj, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(inj) > 0 {
		fmt.Fprintf(&b, "; injection attempts: %s", strings.Join(inj, ", "))
	}
	if s.PasswdLeaks > 0 {
		b.WriteString("; an answer held /etc/passwd lines: the traversal worked")
	}
	if len(s.ExposedPaths) > 0 {
		fmt.Fprintf(&b, " and %s answered 200: something leaked", strings.Join(head(s.ExposedPaths, 3), ", "))
	}
	return b.String()
}

// httpDetector finds the HTTP detector among an analysis's detectors.
func (a *Analysis) httpDetector() *httpDetector {
	for _, d := range a.detectors {
		if h, ok := d.(*httpDetector); ok {
			return h
		}
	}
	return nil
}

// HTTPRequests returns every kept request in capture order (at most
// Config.HTTP.MaxRequests; HTTPRequestsTruncated says whether more were
// seen). The slice is built once and shared: do not modify it.
func (a *Analysis) HTTPRequests() []HTTPRequest {
	h := a.httpDetector()
	if h == nil {
		return nil
	}
	return h.reqs.all()
}

// httpRecords keeps requests in fixed-size chunks, so that a long list
// grows without copying what it holds.
type httpRecords struct {
	chunks [][]HTTPRequest
	n      int
	once   sync.Once
	flat   []HTTPRequest
}

const httpRecordChunk = 1024

func (r *httpRecords) add(q HTTPRequest) {
	if r.n%httpRecordChunk == 0 {
		r.chunks = append(r.chunks, make([]HTTPRequest, 0, httpRecordChunk))
	}
	last := &r.chunks[len(r.chunks)-1]
	*last = append(*last, q)
	r.n++
}

// all joins the chunks, once, after the pass (callers may be
// concurrent).
func (r *httpRecords) all() []HTTPRequest {
	r.once.Do(func() {
		r.flat = make([]HTTPRequest, 0, r.n)
		for _, c := range r.chunks {
			r.flat = append(r.flat, c...)
		}
	})
	return r.flat
}

func (r *httpRecords) at(i int32) *HTTPRequest {
	return &r.chunks[i/httpRecordChunk][i%httpRecordChunk]
}

// HTTPRequestsTruncated reports whether requests beyond
// Config.HTTP.MaxRequests were counted but not kept for listing, and how
// many.
func (a *Analysis) HTTPRequestsTruncated() (truncated bool, dropped int64) {
	n := a.HTTPRequestsDropped()
	return n > 0, n
}

// HTTPRequestsDropped is how many requests were counted but not kept for
// listing, beyond Config.HTTP.MaxRequests.
func (a *Analysis) HTTPRequestsDropped() int64 {
	if h := a.httpDetector(); h != nil {
		return h.dropped
	}
	return 0
}

// HTTPClients returns what each source asked of each server, most
// requests first.
func (a *Analysis) HTTPClients() []HTTPClientStats {
	h := a.httpDetector()
	if h == nil {
		return nil
	}
	out := make([]HTTPClientStats, 0, len(h.order))
	for _, pr := range h.order {
		out = append(out, pr.stats())
	}
	slices.SortStableFunc(out, func(x, y HTTPClientStats) int {
		return cmp.Or(cmp.Compare(y.Requests, x.Requests), x.Source.Compare(y.Source), x.Server.Compare(y.Server))
	})
	return out
}
