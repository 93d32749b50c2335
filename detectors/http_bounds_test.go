package detectors

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// httpFloodCapture writes conns one-request connections from conns
// sources (never closed unless closeEach), with an enumerating client
// interleaved: one 404-answered request for a distinct path after every
// tenth connection.
func httpFloodCapture(t *testing.T, conns int, closeEach bool) (path string, enumRequests int) {
	s := newHTTPSynth(t)
	enum := s.conn("192.0.2.66:50000", "198.51.100.7:80")
	for i := range conns {
		c := s.conn(fmt.Sprintf("10.1.%d.%d:%d", i/250, i%250+1, 20000+i%1000), "198.51.100.7:80")
		c.send(true, fmt.Sprintf("GET /page/%d HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: "+httpUA+"\r\n\r\n", i))
		c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		if closeEach {
			c.raw(true, c.cseq, "FA", nil)
			c.raw(false, c.sseq, "FA", nil)
		}
		if i%10 == 0 {
			enum.send(true, fmt.Sprintf("GET /backup/%d.tar.gz HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: curl/8.5.0\r\n\r\n", i))
			enum.send(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			enumRequests++
		}
	}
	return s.close(), enumRequests
}

// TestHTTPBounds floods the connection and pair tables with small bounds:
// the tables stay within them, every request is counted (kept or in the
// eviction counters), the enumerating client keeps its finding with
// exact counts, and the warnings say what was dropped.
func TestHTTPBounds(t *testing.T) {
	tests := []struct {
		name      string
		conns     int
		closeEach bool
		cfg       HTTPConfig
		warn      []string // substrings of the warnings
		noWarn    []string
	}{
		{"defaults hold 300 connections", 300, false, HTTPConfig{}, nil, []string{"HTTP: "}},
		{"open connections past the bound", 300, false, HTTPConfig{MaxConnections: 16},
			[]string{"unfinished connections were dropped past the bound of 16"}, []string{"pairs with"}},
		{"closed connections are dropped silently", 300, true, HTTPConfig{MaxConnections: 16},
			nil, []string{"unfinished connections"}},
		{"pairs past the bound", 300, false, HTTPConfig{MaxPairs: 20},
			[]string{"pairs with", "past the bound of 20 (HTTPConfig.MaxPairs)", "(0 had one)"}, nil},
		{"both", 300, false, HTTPConfig{MaxPairs: 20, MaxConnections: 16},
			[]string{"unfinished connections", "HTTPConfig.MaxPairs"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, enumN := httpFloodCapture(t, tc.conns, tc.closeEach)
			a := analyzeFile(t, path, Config{HTTP: tc.cfg})
			h := a.dets.http
			b := h.bounds
			if len(h.conns) > b.maxConns || len(h.pairs) > b.maxPairs || len(h.order) != len(h.pairs) {
				t.Errorf("connections %d (bound %d), pairs %d (list %d, bound %d)", len(h.conns), b.maxConns, len(h.pairs), len(h.order), b.maxPairs)
			}
			var kept int64
			for _, cl := range a.HTTPClients() {
				kept += cl.Requests
			}
			if want := int64(tc.conns + enumN); kept+b.evictedRequests != want {
				t.Errorf("kept %d + dropped %d requests, want %d", kept, b.evictedRequests, want)
			}
			var enum []report.Finding
			for _, f := range findingsOf(a.Findings, report.AttackHTTPEnumeration) {
				if f.Source == "192.0.2.66" {
					enum = append(enum, f)
				}
			}
			if len(enum) != 1 || enum[0].Counts["requests"] != int64(enumN) || enum[0].Counts["unique_paths"] != int64(enumN) {
				t.Errorf("enumeration findings %+v, want one of %d requests and paths", enum, enumN)
			}
			w := strings.Join(a.Warnings, "\n")
			for _, s := range tc.warn {
				if !strings.Contains(w, s) {
					t.Errorf("warnings %q, want %q", a.Warnings, s)
				}
			}
			for _, s := range tc.noWarn {
				if strings.Contains(w, s) {
					t.Errorf("warnings %q, want none with %q", a.Warnings, s)
				}
			}
		})
	}
}

// TestHTTPDistinctBudget gives every pair's sets together a budget of 100
// hashes: the first enumerator takes them, the second stops at the floor
// (4×PathThreshold) and both are still judged, with lower bounds marked
// as such.
func TestHTTPDistinctBudget(t *testing.T) {
	s := newHTTPSynth(t)
	const paths = 300
	for _, cli := range []string{"192.0.2.1:40000", "192.0.2.2:40000"} {
		c := s.conn(cli, "198.51.100.7:80")
		for i := range paths {
			c.send(true, fmt.Sprintf("GET /f%d HTTP/1.1\r\nHost: h\r\n\r\n", i))
			c.send(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		}
	}
	a := analyzeFile(t, s.close(), Config{HTTP: HTTPConfig{MaxDistinct: 100, PathThreshold: 20}})
	got := map[string]HTTPClientStats{}
	for _, cl := range a.HTTPClients() {
		got[cl.Source.String()] = cl
	}
	if c := got["192.0.2.1"]; c.Requests != paths || c.UniquePaths != 100 || !c.UniquePathsCapped {
		t.Errorf("first: requests %d unique %d capped %v, want %d, 100, true", c.Requests, c.UniquePaths, c.UniquePathsCapped, paths)
	}
	if c := got["192.0.2.2"]; c.Requests != paths || c.UniquePaths != 80 || !c.UniquePathsCapped {
		t.Errorf("second: requests %d unique %d capped %v, want %d, 80 (the floor), true", c.Requests, c.UniquePaths, c.UniquePathsCapped, paths)
	}
	if n := len(findingsOf(a.Findings, report.AttackHTTPEnumeration)); n != 2 {
		t.Errorf("%d enumeration findings, want 2", n)
	}
	if w := strings.Join(a.Warnings, "\n"); !strings.Contains(w, "HTTPConfig.MaxDistinct") {
		t.Errorf("warnings %q, want the distinct budget named", a.Warnings)
	}
}

// TestHTTPLineBudget splits request lines across segments on several
// connections at once with a budget for one buffer: the lines that did
// not fit are skipped (the request is lost, not misread), the others are
// read whole, and the warning counts the lost lines.
func TestHTTPLineBudget(t *testing.T) {
	s := newHTTPSynth(t)
	var conns []*httpTCPConn
	for i := range 3 {
		conns = append(conns, s.conn(fmt.Sprintf("10.0.0.%d:40000", i+1), "10.0.0.9:80"))
	}
	// Every connection sends a request (so it is followed), starts
	// another's request line, then all finish theirs.
	for _, c := range conns {
		c.send(true, "GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
	}
	for i, c := range conns {
		c.send(true, fmt.Sprintf("GET /conn%d/", i))
	}
	for _, c := range conns {
		c.send(true, "rest HTTP/1.1\r\nHost: h\r\n\r\n")
		c.send(true, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	}
	a := analyzeFile(t, s.close(), Config{HTTP: HTTPConfig{MaxBufferedBytes: 300}})
	var uris []string
	for _, r := range a.HTTPRequests() {
		uris = append(uris, r.Source.String()+" "+r.URI)
	}
	want := "10.0.0.1 /first,10.0.0.2 /first,10.0.0.3 /first,10.0.0.1 /conn0/rest,10.0.0.1 /next,10.0.0.2 /next,10.0.0.3 /next"
	if strings.Join(uris, ",") != want {
		t.Errorf("requests %q, want %q", uris, want)
	}
	if w := strings.Join(a.Warnings, "\n"); !strings.Contains(w, "HTTP: 2 header or request lines") {
		t.Errorf("warnings %q, want 2 lines not read", a.Warnings)
	}
	if h := a.dets.http; h.bounds.lineBytes < 0 || h.bounds.lineBytes > 300 {
		t.Errorf("line bytes held %d, want 0..300", h.bounds.lineBytes)
	}
}

// TestHTTPPairBytes sends one request each from many sources with long
// user agents and Host values under a small budget for what the pairs
// keep: the pairs' text stays within it (give or take one request's), the
// accounting matches what they hold, and the warning names the budget.
func TestHTTPPairBytes(t *testing.T) {
	h := newHTTPDetector(Config{}.Defaults())
	h.bounds.maxPairBytes = 64 << 10
	flow := &capture.Flow{Proto: 6}
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerTCP, Flow: flow, FromClient: true, Dst: netip.MustParseAddr("10.0.0.9"), DstPort: 80}
	const sources = 400
	for i := range sources {
		p.Index++
		p.Src = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		req := fmt.Sprintf("GET /p HTTP/1.1\r\nHost: %s%d\r\nUser-Agent: %s%d\r\n\r\n", strings.Repeat("h", 150), i, strings.Repeat("u", 480), i)
		p.Payload, p.PayloadLen, p.TCPSeq = []byte(req), len(req), uint32(i*1000)
		h.Packet(p)
	}
	kept := 0
	for _, pr := range h.order {
		kept += pr.bytes
	}
	if kept != h.bounds.pairBytes || kept > h.bounds.maxPairBytes+4<<10 {
		t.Errorf("pairs keep %d bytes, counted %d, budget %d", kept, h.bounds.pairBytes, h.bounds.maxPairBytes)
	}
	if h.bounds.evictedPairs == 0 || int64(len(h.order))+h.bounds.evictedPairs != sources {
		t.Errorf("%d pairs kept, %d dropped; want %d in all, some dropped", len(h.order), h.bounds.evictedPairs, sources)
	}
	if w := strings.Join(h.warnings(), "\n"); !strings.Contains(w, "or of "+humanize.Bytes(64<<10)+" kept for them") {
		t.Errorf("warnings %q, want the pair budget named", w)
	}
}

// TestHTTPEvictionKeepsHostile puts one injection attempt early among
// busier ordinary clients under a small pair bound: the ordinary pairs
// go first, the hostile one keeps its counts.
func TestHTTPEvictionKeepsHostile(t *testing.T) {
	h := newHTTPDetector(Config{HTTP: HTTPConfig{MaxPairs: 8}}.Defaults())
	p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerTCP, FromClient: true, Dst: netip.MustParseAddr("10.0.0.9"), DstPort: 80}
	send := func(src netip.Addr, uri string) {
		p.Index++
		p.Flow = &capture.Flow{Proto: 6} // a connection per request
		p.Src = src
		req := "GET " + uri + " HTTP/1.1\r\nHost: h\r\nUser-Agent: " + httpUA + "\r\n\r\n"
		p.Payload, p.PayloadLen = []byte(req), len(req)
		h.Packet(p)
	}
	attacker := netip.MustParseAddr("192.0.2.99")
	send(attacker, "/item?id=1'+UNION+SELECT+password+FROM+users--")
	for i := range 100 {
		src := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
		for j := range 5 {
			send(src, fmt.Sprintf("/page/%d", j))
		}
	}
	var found *httpPair
	for _, pr := range h.order {
		if pr.src == attacker {
			found = pr
		}
	}
	if found == nil || found.requests != 1 || found.strongInject != 1 {
		t.Fatalf("the injection's pair was dropped or lost its counts: %+v", found)
	}
	if h.bounds.evictedHostile != 0 || h.bounds.evictedPairs == 0 || len(h.order) > 8 {
		t.Errorf("dropped %d pairs (%d hostile), %d kept; want some dropped, none hostile, at most 8 kept", h.bounds.evictedPairs, h.bounds.evictedHostile, len(h.order))
	}
}
