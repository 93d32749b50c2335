package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// HTTPPath is where HTTPHandler answers streamable HTTP.
const HTTPPath = "/mcp"

// sessionHeader is the streamable HTTP transport's session id header.
const sessionHeader = "Mcp-Session-Id"

// HTTPHandler returns an http.Handler serving the MCP streamable HTTP
// transport at HTTPPath, with the security rules of the MCP specification
// applied before mcp-go sees a request (see TransportConfig):
//
//   - an Origin that is not allowed gets 403, and so does a request that
//     reaches a loopback address with a non-loopback Host (DNS rebinding);
//   - with Transport.Token set, a request without that bearer token gets
//     401 and a WWW-Authenticate: Bearer challenge (a CORS preflight, which
//     never carries credentials, excepted);
//   - the origins named in Transport.AllowedOrigins get CORS headers, so a
//     page there can read the answers;
//   - a body over Transport.MaxMessageBytes gets 413, unread;
//   - an initialize beyond Transport.MaxSessions gets 503;
//   - a session id the server does not hold gets 404, DELETE included, and
//     sessions idle for Transport.SessionIdleTimeout are forgotten.
//
// The handler's sessions and its idle sweeper live until ctx is cancelled;
// which address to listen on, and whether anything but loopback is
// allowed, is the caller's choice.
func (s *Server) HTTPHandler(ctx context.Context) http.Handler {
	tc := s.cfg.Transport
	sessions := newSessionTable(tc.MaxSessions)
	opts := []server.StreamableHTTPOption{
		server.WithEndpointPath(HTTPPath),
		server.WithStreamableHTTPLogger(s.log),
		server.WithSessionIdManager(sessions),
		server.WithSessionIdleTTL(tc.SessionIdleTimeout),
	}
	if len(tc.AllowedOrigins) > 0 {
		// A page on a named origin must be able to read the answers, so
		// those origins (and only those) get CORS headers.
		opts = append(opts, server.WithStreamableHTTPCORS(
			server.WithCORSAllowedOrigins(tc.AllowedOrigins...),
			server.WithCORSAllowedHeaders("Content-Type", "Accept", "Authorization", sessionHeader, mcp.HeaderProtocolVersion, "Last-Event-ID"),
		))
	}
	h := server.NewStreamableHTTPServer(s.mcp, opts...)
	go func() {
		<-ctx.Done()
		// Stops the idle sweeper and ends every session, which also
		// releases the event streams (GET) still open.
		_ = h.Shutdown(context.WithoutCancel(ctx))
	}()
	mux := http.NewServeMux()
	mux.Handle(HTTPPath, &limitHandler{next: h, sessions: sessions, maxBody: tc.MaxMessageBytes})
	var handler http.Handler = mux
	if tc.Token != "" {
		handler = requireToken(handler, tc.Token)
	}
	return checkOrigin(handler, tc.AllowedOrigins)
}

// limitHandler bounds a request before mcp-go reads it: the body's size,
// the number of sessions, and DELETE of a session that does not exist
// (mcp-go would answer 500).
type limitHandler struct {
	next     http.Handler
	sessions *sessionTable
	maxBody  int64
}

func (h *limitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		body, ok := readBody(w, r, h.maxBody)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		if isInitialize(body) {
			if !h.sessions.admit(func() { h.next.ServeHTTP(w, r) }) {
				w.Header().Set("Retry-After", strconv.Itoa(60))
				http.Error(w, "Service Unavailable: too many sessions; end one (DELETE) or retry later", http.StatusServiceUnavailable)
			}
			return
		}
	case http.MethodDelete:
		// A client on the sessionless protocol (2026-07-28 and later) is
		// answered by mcp-go.
		if !mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
			id := r.Header.Get(sessionHeader)
			if id == "" {
				http.Error(w, "Bad Request: "+sessionHeader+" header required", http.StatusBadRequest)
				return
			}
			if !h.sessions.known(id) {
				http.Error(w, "Not Found: no such session", http.StatusNotFound)
				return
			}
		}
	}
	h.next.ServeHTTP(w, r)
}

// readBody reads r's body whole, up to max bytes. Above that it answers
// 413 and reports false, having read no more than max+1 bytes (none when
// Content-Length already says so). A body that does not arrive in time
// (ReadTimeout) gets 408.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	tooLarge := func() ([]byte, bool) {
		http.Error(w, fmt.Sprintf("Request Entity Too Large: the limit is %d bytes", max), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	if r.ContentLength > max {
		return tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case err != nil:
		http.Error(w, "Request Timeout: reading the body: "+err.Error(), http.StatusRequestTimeout)
		return nil, false
	}
	return body, true
}

// isInitialize reports whether body is an initialize request.
func isInitialize(body []byte) bool {
	var head struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &head) == nil && head.Method == string(mcp.MethodInitialize)
}

// ServeListener serves streamable HTTP on ln until ctx is cancelled, then
// shuts down gracefully (in-flight calls get five seconds). The timeouts
// of Transport apply. Serving beyond loopback is logged as a warning,
// louder without a Token.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	tc := s.cfg.Transport
	if !isLoopbackAddr(ln.Addr()) {
		if tc.Token == "" {
			s.log.Warn("serving MCP beyond loopback WITHOUT authentication: anyone who reaches this address can read the captures under the roots", "addr", ln.Addr().String())
		} else {
			s.log.Warn("serving MCP beyond loopback: every request needs the bearer token; use TLS (a reverse proxy) so it cannot be overheard", "addr", ln.Addr().String())
		}
	}
	handlerCtx, stopHandler := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHandler()
	srv := &http.Server{
		Handler:           s.HTTPHandler(handlerCtx),
		ReadHeaderTimeout: tc.ReadHeaderTimeout,
		ReadTimeout:       tc.ReadTimeout,
		IdleTimeout:       tc.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		// Ending the sessions first releases the event streams, which
		// would otherwise hold Shutdown for its whole grace period.
		stopHandler()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			// Calls still running after the grace period are cut off:
			// closing their connections cancels their contexts.
			srv.Close()
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// ListenAndServe listens on addr ("127.0.0.1:8080") and serves streamable
// HTTP at HTTPPath until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mcpserver: %w", err)
	}
	s.log.Info("serving MCP over streamable HTTP", "addr", ln.Addr().String(), "path", HTTPPath)
	return s.ServeListener(ctx, ln)
}

// isLoopbackAddr reports whether a listener's address is reachable from
// this machine only.
func isLoopbackAddr(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
