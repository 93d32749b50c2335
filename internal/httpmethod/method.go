package httpmethod

// methods are the request methods tshark's HTTP dissector recognises.
var methods = [...]string{
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT",
	"CHECKOUT", "CHECKIN", "UNCHECKOUT", "MERGE", "MKACTIVITY", "MKWORKSPACE", "VERSION-CONTROL",
	"BASELINE-CONTROL", "LABEL", "UPDATE", "ACL", "BIND", "UNBIND", "REBIND", "ORDERPATCH",
	"MKCALENDAR", "MKREDIRECTREF", "UPDATEREDIRECTREF", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE",
	"POLL", "BCOPY", "BDELETE", "BMOVE", "BPROPFIND", "BPROPPATCH", "RPC_IN_DATA", "RPC_OUT_DATA",
	"RPC_CONNECT", "PRI",
}

// maxLen is the length of the longest method, UPDATEREDIRECTREF.
const maxLen = 17

// All returns the known methods, most common first. The slice is new on
// every call: callers may keep or change it.
func All() []string { return append([]string(nil), methods[:]...) }

// Canonical returns the known method m names, as a string that does not
// refer to m (so a caller can keep it without keeping the packet), and
// whether m is known. Methods are case-sensitive (RFC 9110 section 9.1):
// "get" is not GET. It does not allocate.
func Canonical(m []byte) (string, bool) {
	if len(m) == 0 || len(m) > maxLen {
		return "", false
	}
	for _, k := range methods {
		if string(m) == k {
			return k, true
		}
	}
	return "", false
}

// Known reports whether m is a known method.
func Known(m []byte) bool {
	_, ok := Canonical(m)
	return ok
}

// StartsRequest reports whether payload begins like an HTTP request line:
// a known method followed by a space. It reads at most maxLen+1 bytes, so
// it is cheap enough to ask of every TCP payload.
func StartsRequest(payload []byte) bool {
	n := min(len(payload), maxLen+1)
	for i := 0; i < n; i++ {
		switch c := payload[i]; {
		case c == ' ':
			return Known(payload[:i])
		case (c < 'A' || c > 'Z') && c != '-' && c != '_':
			// Methods are upper-case letters, '-' and '_': binary and
			// other text payloads end here, mostly at their first byte.
			return false
		}
	}
	return false
}
