package mcpserver

import (
	"fmt"
	"time"
)

// Defaults for the zero fields of TransportConfig.
const (
	DefaultMaxMessageBytes    = 4 << 20
	DefaultSessionIdleTimeout = 30 * time.Minute
	DefaultMaxSessions        = 1000
	DefaultReadHeaderTimeout  = 5 * time.Second
	DefaultReadTimeout        = 30 * time.Second
	DefaultIdleTimeout        = 2 * time.Minute
)

// TransportConfig bounds what a client can make the transports hold. The
// zero value is ready to use: 4 MiB messages, loopback origins only, no
// token, sessions that expire after 30 idle minutes, at most 1,000 of them,
// and a request that must arrive whole within 30 seconds.
type TransportConfig struct {
	// MaxMessageBytes bounds one JSON-RPC message: an HTTP request body
	// (413 above it) or a stdio line (answered with an error). Zero means
	// 4 MiB.
	MaxMessageBytes int64

	// AllowedOrigins are the browser origins ("https://app.example",
	// scheme://host[:port]) whose requests HTTPHandler serves, besides the
	// loopback origins (http or https on localhost, 127.0.0.0/8, [::1], any
	// port), which are always allowed. A request without Origin (a client
	// that is not a browser) is served; any other Origin, "null" included,
	// gets 403, as the MCP specification requires against DNS rebinding.
	AllowedOrigins []string

	// Token, when set, is the bearer token every HTTP request must carry
	// (Authorization: Bearer TOKEN); others get 401. Empty means no
	// authentication: keep the server on loopback then.
	Token string

	// SessionIdleTimeout is how long an HTTP session lives without a
	// request before it is forgotten (its id then gets 404 and the client
	// initializes again). Zero means 30 minutes.
	SessionIdleTimeout time.Duration

	// MaxSessions caps the live HTTP sessions. An initialize beyond the
	// cap gets 503 with Retry-After until one ends (DELETE) or expires: a
	// flood of initialize calls cannot push out the sessions clients hold.
	// Zero means 1,000.
	MaxSessions int

	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are ServeListener's
	// http.Server limits: a request's headers must arrive within
	// ReadHeaderTimeout (zero: 5 s), the whole request, body included,
	// within ReadTimeout (zero: 30 s), and a kept-alive connection is closed
	// after IdleTimeout without a request (zero: 2 min). There is no write
	// timeout: a tool call or an event stream may take minutes.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
}

// withDefaults returns c with its zero fields filled in, or an error for a
// negative one.
func (c TransportConfig) withDefaults() (TransportConfig, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxMessageBytes", c.MaxMessageBytes},
		{"SessionIdleTimeout", int64(c.SessionIdleTimeout)},
		{"MaxSessions", int64(c.MaxSessions)},
		{"ReadHeaderTimeout", int64(c.ReadHeaderTimeout)},
		{"ReadTimeout", int64(c.ReadTimeout)},
		{"IdleTimeout", int64(c.IdleTimeout)},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("mcpserver: Transport.%s is negative", f.name)
		}
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.SessionIdleTimeout == 0 {
		c.SessionIdleTimeout = DefaultSessionIdleTimeout
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	origins := make([]string, 0, len(c.AllowedOrigins))
	for _, o := range c.AllowedOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return c, fmt.Errorf("mcpserver: Transport.AllowedOrigins: %w", err)
		}
		origins = append(origins, n)
	}
	c.AllowedOrigins = origins
	return c, nil
}
