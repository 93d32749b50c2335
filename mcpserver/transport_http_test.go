package mcpserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// httpServer serves s on a loopback port with ServeListener (timeouts
// included) until the test ends, and returns the endpoint's URL.
func httpServer(t *testing.T, tc TransportConfig) string {
	t.Helper()
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	s, err := New(Config{Roots: []string{dir}, Transport: tc})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("ServeListener: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ServeListener did not stop")
		}
	})
	return "http://" + ln.Addr().String() + HTTPPath
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

const listToolsBody = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`

// do sends one raw request and returns its status and headers (the body
// is read and dropped).
func do(t *testing.T, method, url, body string, header map[string]string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// initialize opens a session and returns its id.
func initialize(t *testing.T, url string, header map[string]string) string {
	t.Helper()
	code, h := do(t, http.MethodPost, url, initializeBody, header)
	if code != http.StatusOK || h.Get(sessionHeader) == "" {
		t.Fatalf("initialize: status %d, session %q", code, h.Get(sessionHeader))
	}
	return h.Get(sessionHeader)
}

func TestHTTPOrigin(t *testing.T) {
	url := httpServer(t, TransportConfig{AllowedOrigins: []string{"https://App.Example/"}})
	for _, tc := range []struct {
		origin string // "" sends none
		want   int
	}{
		{"", http.StatusOK},
		{"http://localhost:5173", http.StatusOK},
		{"http://127.0.0.1", http.StatusOK},
		{"https://127.8.9.10:8443", http.StatusOK},
		{"http://[::1]:3000", http.StatusOK},
		{"https://app.example", http.StatusOK},
		{"null", http.StatusForbidden},
		{"http://evil.example", http.StatusForbidden},
		{"http://app.example", http.StatusForbidden},       // another scheme is another origin
		{"https://app.example:8443", http.StatusForbidden}, // and so is another port
		{"http://localhost.evil.example", http.StatusForbidden},
		{"http://127.0.0.1.evil.example", http.StatusForbidden},
		{"file://", http.StatusForbidden},
		{"chrome-extension://abcdef", http.StatusForbidden},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := map[string]string{}
			if tc.origin != "" {
				h["Origin"] = tc.origin
			}
			code, hdr := do(t, http.MethodPost, url, initializeBody, h)
			if code != tc.want {
				t.Fatalf("Origin %q: status %d, want %d", tc.origin, code, tc.want)
			}
			if code == http.StatusForbidden && hdr.Get(sessionHeader) != "" {
				t.Errorf("Origin %q: refused, yet given session %q", tc.origin, hdr.Get(sessionHeader))
			}
		})
	}
}

func TestHTTPOriginTwoHeaders(t *testing.T) {
	url := httpServer(t, TransportConfig{})
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(initializeBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Origin", "http://localhost")
	req.Header.Add("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("two Origin headers: status %d, want 403", resp.StatusCode)
	}
}

func TestNormalizeOriginRejects(t *testing.T) {
	for _, o := range []string{"", "null", "evil.example", "ftp://x.example", "https://x.example/path", "https://user@x.example", "https://x.example?q=1"} {
		if _, err := New(Config{Roots: []string{t.TempDir()}, Transport: TransportConfig{AllowedOrigins: []string{o}}}); err == nil {
			t.Errorf("AllowedOrigins %q accepted", o)
		}
	}
}

func TestHTTPToken(t *testing.T) {
	const token = "k9ZpQ2-test-token"
	url := httpServer(t, TransportConfig{Token: token})
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "Bearer k9ZpQ2-test-tokeX", http.StatusUnauthorized},
		{"prefix", "Bearer k9ZpQ2", http.StatusUnauthorized},
		{"longer", "Bearer " + token + "x", http.StatusUnauthorized},
		{"basic", "Basic " + token, http.StatusUnauthorized},
		{"bare", token, http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"right", "Bearer " + token, http.StatusOK},
		{"scheme in lower case", "bearer " + token, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			code, hdr := do(t, http.MethodPost, url, initializeBody, h)
			if code != tc.want {
				t.Fatalf("Authorization %q: status %d, want %d", tc.auth, code, tc.want)
			}
			if code == http.StatusUnauthorized && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: WWW-Authenticate %q", hdr.Get("WWW-Authenticate"))
			}
		})
	}

	// A real client with the token works end to end; DELETE and GET need
	// the token too.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "token-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	if got := decode[SummaryResult](t, c, "read_pcap_summary", nil); got.TotalPackets != 24 {
		t.Errorf("total_packets %d, want 24", got.TotalPackets)
	}
	id := initialize(t, url, map[string]string{"Authorization": "Bearer " + token})
	if code, _ := do(t, http.MethodDelete, url, "", map[string]string{sessionHeader: id}); code != http.StatusUnauthorized {
		t.Errorf("DELETE without the token: %d, want 401", code)
	}
	if code, _ := do(t, http.MethodGet, url, "", map[string]string{sessionHeader: id}); code != http.StatusUnauthorized {
		t.Errorf("GET without the token: %d, want 401", code)
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	// The padding keeps the body a valid initialize request, so anything
	// but 413 means the size alone was not refused.
	body := func(n int) string {
		pad := n - len(initializeBody) - len(`,"pad":""`)
		return strings.Replace(initializeBody, `"id":1,`, `"id":1,"pad":"`+strings.Repeat("a", pad)+`",`, 1)
	}
	for _, tc := range []struct {
		name    string
		limit   int64
		size    int
		chunked bool
		want    int
	}{
		{"default, 1 MiB", 0, 1 << 20, false, http.StatusOK},
		{"default, 4 MiB exactly", 0, DefaultMaxMessageBytes, false, http.StatusOK},
		{"default, 4 MiB + 1", 0, DefaultMaxMessageBytes + 1, false, http.StatusRequestEntityTooLarge},
		{"default, 20 MiB", 0, 20 << 20, false, http.StatusRequestEntityTooLarge},
		{"default, 20 MiB chunked", 0, 20 << 20, true, http.StatusRequestEntityTooLarge},
		{"64 KiB limit, 64 KiB", 64 << 10, 64 << 10, true, http.StatusOK},
		{"64 KiB limit, 65 KiB", 64 << 10, 65 << 10, false, http.StatusRequestEntityTooLarge},
		{"64 KiB limit, 65 KiB chunked", 64 << 10, 65 << 10, true, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := httpServer(t, TransportConfig{MaxMessageBytes: tc.limit})
			b := body(tc.size)
			if len(b) != tc.size {
				t.Fatalf("body of %d bytes, want %d", len(b), tc.size)
			}
			var r io.Reader = strings.NewReader(b)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length: sent chunked
			}
			req, _ := http.NewRequest(http.MethodPost, url, r)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				// The server may close the connection while a refused body
				// is still being sent; the status must have come first.
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%d-byte body: status %d, want %d", tc.size, resp.StatusCode, tc.want)
			}
		})
	}
}

func TestHTTPDeleteSession(t *testing.T) {
	url := httpServer(t, TransportConfig{})
	id := initialize(t, url, nil)
	for _, tc := range []struct {
		name, id string
		want     int
	}{
		{"no header", "", http.StatusBadRequest},
		{"unknown, well formed", "mcp-session-" + strings.Repeat("A", 26), http.StatusNotFound},
		{"unknown, garbage", "../x y;<>", http.StatusNotFound},
		{"live", id, http.StatusOK},
		{"already deleted", id, http.StatusNotFound},
	} {
		h := map[string]string{}
		if tc.id != "" {
			h[sessionHeader] = tc.id
		}
		if code, _ := do(t, http.MethodDelete, url, "", h); code != tc.want {
			t.Errorf("%s: DELETE status %d, want %d", tc.name, code, tc.want)
		}
	}
	if code, _ := do(t, http.MethodPost, url, listToolsBody, map[string]string{sessionHeader: id}); code != http.StatusNotFound {
		t.Errorf("tools/list on a deleted session: %d, want 404", code)
	}
	if code, _ := do(t, http.MethodPost, url, listToolsBody, map[string]string{sessionHeader: "mcp-session-made-up"}); code != http.StatusNotFound {
		t.Errorf("tools/list on a made-up session: %d, want 404", code)
	}
}

func TestHTTPSessionCap(t *testing.T) {
	const max = 3
	url := httpServer(t, TransportConfig{MaxSessions: max})
	var ids []string
	for range max {
		ids = append(ids, initialize(t, url, nil))
	}
	code, h := do(t, http.MethodPost, url, initializeBody, nil)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || h.Get(sessionHeader) != "" {
		t.Fatalf("initialize beyond the cap: status %d, Retry-After %q, session %q; want 503 with Retry-After and no session", code, h.Get("Retry-After"), h.Get(sessionHeader))
	}
	// The sessions held are untouched by the refusal.
	for _, id := range ids {
		if code, _ := do(t, http.MethodPost, url, listToolsBody, map[string]string{sessionHeader: id}); code != http.StatusOK {
			t.Errorf("tools/list on a held session after a refusal: %d", code)
		}
	}
	if code, _ := do(t, http.MethodDelete, url, "", map[string]string{sessionHeader: ids[0]}); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	initialize(t, url, nil) // the freed slot
	if code, _ := do(t, http.MethodPost, url, initializeBody, nil); code != http.StatusServiceUnavailable {
		t.Errorf("initialize with the table full again: %d, want 503", code)
	}
}

// TestHTTPSessionCapConcurrent sends many initialize calls at once: exactly
// the cap succeed.
func TestHTTPSessionCapConcurrent(t *testing.T) {
	const max, tries = 5, 40
	url := httpServer(t, TransportConfig{MaxSessions: max})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range tries {
		wg.Go(func() {
			code, _ := do(t, http.MethodPost, url, initializeBody, nil)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusOK] != max || codes[http.StatusServiceUnavailable] != tries-max {
		t.Errorf("%d concurrent initialize calls, cap %d: statuses %v", tries, max, codes)
	}
}

func TestHTTPSessionIdleExpiry(t *testing.T) {
	const idle = 2 * time.Second
	url := httpServer(t, TransportConfig{SessionIdleTimeout: idle, MaxSessions: 2})
	idleID := initialize(t, url, nil)
	busyID := initialize(t, url, nil)
	// mcp-go sweeps every idle/2: an idle session is gone within 1.5 idle.
	// Keep one session busy meanwhile.
	deadline := time.Now().Add(idle + 1500*time.Millisecond)
	for time.Now().Before(deadline) {
		if code, _ := do(t, http.MethodPost, url, listToolsBody, map[string]string{sessionHeader: busyID}); code != http.StatusOK {
			t.Fatalf("tools/list on a busy session: %d", code)
		}
		time.Sleep(idle / 4)
	}
	if code, _ := do(t, http.MethodPost, url, listToolsBody, map[string]string{sessionHeader: idleID}); code != http.StatusNotFound {
		t.Errorf("tools/list on a session idle for %v: %d, want 404", idle+1500*time.Millisecond, code)
	}
	if code, _ := do(t, http.MethodPost, url, listToolsBody, map[string]string{sessionHeader: busyID}); code != http.StatusOK {
		t.Errorf("tools/list on the busy session: %d, want 200", code)
	}
	// The expired session's slot is free again (cap 2).
	initialize(t, url, nil)
}

// TestHTTPSlowRequest sends a request slowly, headers or body: the server
// closes the connection once ReadHeaderTimeout or ReadTimeout has passed.
func TestHTTPSlowRequest(t *testing.T) {
	const readHeader, read = 500 * time.Millisecond, 1500 * time.Millisecond
	url := httpServer(t, TransportConfig{ReadHeaderTimeout: readHeader, ReadTimeout: read})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), HTTPPath)
	for _, tc := range []struct {
		name  string
		start string // sent at once
		limit time.Duration
	}{
		{"slow headers", "POST /mcp HTTP/1.1\r\nHost: " + addr + "\r\n", readHeader},
		{"slow body", "POST /mcp HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", read},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, tc.start); err != nil {
				t.Fatal(err)
			}
			// Trickle a byte every 100 ms, as a slowloris client does,
			// while watching for the server to close.
			closed := make(chan time.Duration, 1)
			go func() {
				io.Copy(io.Discard, bufio.NewReader(conn))
				closed <- time.Since(start)
			}()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			give := time.After(tc.limit + 5*time.Second)
			for {
				select {
				case d := <-closed:
					if d > tc.limit+2*time.Second {
						t.Errorf("closed after %v, want within %v of %v", d, 2*time.Second, tc.limit)
					}
					if d < tc.limit-100*time.Millisecond {
						t.Errorf("closed after %v, before the %v timeout: not the timeout at work", d, tc.limit)
					}
					return
				case <-tick.C:
					conn.Write([]byte("X"))
				case <-give:
					t.Fatalf("the connection was still open %v after the %v timeout", 5*time.Second, tc.limit)
				}
			}
		})
	}
}

func TestTransportDefaults(t *testing.T) {
	s, err := New(Config{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Config().Transport
	want := TransportConfig{
		MaxMessageBytes:    4 << 20,
		SessionIdleTimeout: 30 * time.Minute,
		MaxSessions:        1000,
		ReadHeaderTimeout:  5 * time.Second,
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		AllowedOrigins:     []string{},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	for _, tc := range []TransportConfig{{MaxMessageBytes: -1}, {MaxSessions: -1}, {ReadTimeout: -time.Second}, {SessionIdleTimeout: -1}} {
		if _, err := New(Config{Roots: []string{t.TempDir()}, Transport: tc}); err == nil {
			t.Errorf("%+v accepted", tc)
		}
	}
}

// addrListener is a loopback listener that reports another address, so the
// warning for serving beyond loopback can be tested without doing it.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

func TestServeListenerWarnsBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, addr, token string
		want              string // in the log; "" for no warning
	}{
		{"loopback", "127.0.0.1:8765", "", ""},
		{"loopback v6", "[::1]:8765", "", ""},
		{"all interfaces, no token", "0.0.0.0:8765", "", "WITHOUT authentication"},
		{"remote with a token", "192.0.2.7:8765", "tok", "needs the bearer token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			s, err := New(Config{
				Roots:     []string{t.TempDir()},
				Logger:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
				Transport: TransportConfig{Token: tc.token},
			})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() {
				served <- s.ServeListener(ctx, addrListener{ln, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tc.addr))})
			}()
			time.Sleep(100 * time.Millisecond)
			cancel()
			if err := <-served; err != nil {
				t.Fatal(err)
			}
			got := logs.String()
			if tc.want == "" && strings.Contains(got, "level=WARN") {
				t.Errorf("warned on %s: %s", tc.addr, got)
			}
			if tc.want != "" && (!strings.Contains(got, "level=WARN") || !strings.Contains(got, tc.want)) {
				t.Errorf("on %s: log %q, want a warning with %q", tc.addr, got, tc.want)
			}
		})
	}
}

// TestHTTPCORS: a named origin gets CORS headers, its preflight passes
// without the token (browsers send none), and the request itself still
// needs the token.
func TestHTTPCORS(t *testing.T) {
	const token = "cors-test-token"
	url := httpServer(t, TransportConfig{Token: token, AllowedOrigins: []string{"https://app.example"}})
	for _, tc := range []struct {
		name, method, origin, auth string
		preflight                  bool
		want                       int
		allowOrigin                string // Access-Control-Allow-Origin wanted
	}{
		{"preflight, named origin", http.MethodOptions, "https://app.example", "", true, http.StatusNoContent, "https://app.example"},
		{"preflight, other origin", http.MethodOptions, "https://evil.example", "", true, http.StatusForbidden, ""},
		{"options, not a preflight", http.MethodOptions, "https://app.example", "", false, http.StatusUnauthorized, ""},
		{"post with token", http.MethodPost, "https://app.example", "Bearer " + token, false, http.StatusOK, "https://app.example"},
		{"post without token", http.MethodPost, "https://app.example", "", false, http.StatusUnauthorized, ""},
		{"post from loopback", http.MethodPost, "http://localhost:3000", "Bearer " + token, false, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Origin": tc.origin}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			if tc.preflight {
				h["Access-Control-Request-Method"] = "POST"
				h["Access-Control-Request-Headers"] = "authorization, content-type, mcp-session-id"
			}
			body := ""
			if tc.method == http.MethodPost {
				body = initializeBody
			}
			code, hdr := do(t, tc.method, url, body, h)
			if code != tc.want || hdr.Get("Access-Control-Allow-Origin") != tc.allowOrigin {
				t.Errorf("status %d, Access-Control-Allow-Origin %q; want %d and %q", code, hdr.Get("Access-Control-Allow-Origin"), tc.want, tc.allowOrigin)
			}
			if tc.preflight && code == http.StatusNoContent && !strings.Contains(strings.ToLower(hdr.Get("Access-Control-Allow-Headers")), "authorization") {
				t.Errorf("preflight allows headers %q, want Authorization among them", hdr.Get("Access-Control-Allow-Headers"))
			}
		})
	}
}
