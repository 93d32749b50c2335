package mcpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// normalizeOrigin reduces an origin to lower-case scheme://host[:port], the
// form browsers send, so an allow-list entry matches however it is typed.
func normalizeOrigin(origin string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(origin))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] with scheme http or https", origin)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// isLoopbackOrigin reports whether origin (normalized) is a page served
// from this machine: http or https on localhost, 127.0.0.0/8 or [::1].
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// originAllowed reports whether a request with this Origin header may be
// served: no Origin at all (not a browser), a loopback origin, or one in
// allowed (normalized). "null" (a sandboxed or file: page) never is.
func originAllowed(header []string, allowed []string) bool {
	if len(header) == 0 {
		return true
	}
	if len(header) > 1 {
		return false
	}
	o, err := normalizeOrigin(header[0])
	if err != nil {
		return false
	}
	return isLoopbackOrigin(o) || slices.Contains(allowed, o)
}

// checkOrigin answers 403 to a request whose Origin is not allowed.
func checkOrigin(next http.Handler, allowed []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !originAllowed(r.Header.Values("Origin"), allowed) {
			http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireToken answers 401 to a request without "Authorization: Bearer
// token" (a CORS preflight excepted). The comparison is of SHA-256 digests in constant time, so
// neither the token's bytes nor its length leak through timing.
func requireToken(next http.Handler, token string) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			// A CORS preflight never carries credentials; it is answered
			// from the CORS settings alone, and the request it precedes
			// must carry the token.
			next.ServeHTTP(w, r)
			return
		}
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="reconpcap"`)
			http.Error(w, "Unauthorized: a bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer is the token of an "Authorization: Bearer TOKEN" header (the
// scheme is case-insensitive, RFC 7235).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
