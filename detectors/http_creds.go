package detectors

import (
	"bytes"
	"slices"
	"strings"
	"time"
)

// Login brute force is judged on what each attempt carried and how it was
// answered, not on volume: a monitor that logs in every minute sends the
// same credentials each time and succeeds; a brute force sends a new
// password each time and gets the same failure back.

// httpCredBody bounds the bytes of a request body read for credentials.
const httpCredBody = 512

// httpAnswerSig is an answer to a credential attempt: its status and body
// length (-1 when the length was not given).
type httpAnswerSig struct {
	status int
	length int64
}

// httpCreds accumulates the credential attempts of one (source, server).
type httpCreds struct {
	attempts, failures, answeredN int64
	passwords                     int64 // attempts whose body held a password field
	distinct                      cappedSet[uint64]
	answers                       map[httpAnswerSig]int64 // at most httpMaxMethods signatures
	paths                         timedList[string]       // the 5 earliest login paths
}

// creds returns the pair's credential counters, made on first use: most
// pairs never carry credentials.
func (pr *httpPair) creds() *httpCreds {
	if pr.cred == nil {
		pr.cred = &httpCreds{distinct: newCappedSet[uint64](httpMaxCredSet), answers: map[httpAnswerSig]int64{}}
	}
	return pr.cred
}

// attempt counts one request that carried credentials; path names where
// it went (nil when unknown), at time t.
func (h *httpDetector) attempt(pr *httpPair, cr *httpCreds, path []byte, t time.Time) {
	cr.attempts++
	if path != nil {
		if s := cut(path, httpMaxSampleText); cr.paths.add(t, s, 5, true) {
			h.text(pr, s)
		}
	}
}

// material counts one credential (an Authorization value, a login body)
// by its hash.
func (h *httpDetector) material(cr *httpCreds, b []byte) {
	h.addDistinct(&cr.distinct, httpHash(b))
}

// answered counts the status of an attempt's answer.
func (cr *httpCreds) answered(code int) {
	cr.answeredN++
	if code == 401 || code == 403 {
		cr.failures++
	}
}

// answer counts an attempt's answer by status and length.
func (cr *httpCreds) answer(status int, length int64) {
	sig := httpAnswerSig{status, length}
	if _, ok := cr.answers[sig]; ok || len(cr.answers) < httpMaxMethods {
		cr.answers[sig]++
	}
}

// repeated returns the most common answer and how many attempts got it.
func (cr *httpCreds) repeated() (httpAnswerSig, int64) {
	var best httpAnswerSig
	var n int64
	for sig, c := range cr.answers {
		if c > n || c == n && sig.status < best.status {
			best, n = sig, c
		}
	}
	return best, n
}

// credential handles an Authorization header of the current request.
// Only Basic and Digest carry a guessable password: NTLM and Negotiate
// answer their first leg with 401 by design, and a bearer token is issued,
// not guessed.
func (h *httpDetector) credential(c *httpConn, v []byte) {
	if c.cur.pair == nil || c.cur.other {
		return
	}
	if !hasPrefixFold(v, "basic ") && !hasPrefixFold(v, "digest ") {
		return
	}
	cr := c.cur.pair.creds()
	h.material(cr, v)
	h.markCred(c, cr, nil)
}

// requestBody reads the first body segment of the current request: a
// form or JSON body with a password field makes it a credential attempt,
// and the body of any attempt counts as its credential.
func (h *httpDetector) requestBody(c *httpConn, b []byte) {
	c.bodyCheck = false
	b = b[:min(len(b), httpCredBody)]
	password := passwordField(b)
	if !c.cur.cred && !password {
		return
	}
	cr := c.cur.pair.creds()
	if password {
		cr.passwords++
	}
	h.material(cr, b)
	h.markCred(c, cr, nil)
}

// markCred makes the current request a credential attempt, in c.cur and
// in its queued copy, counting it once.
func (h *httpDetector) markCred(c *httpConn, cr *httpCreds, path []byte) {
	if c.cur.cred {
		return
	}
	c.cur.cred = true
	h.attempt(c.cur.pair, cr, path, time.Time{})
	for i := len(c.pending) - 1; i >= 0; i-- {
		if c.pending[i].id == c.cur.id {
			c.pending[i].cred = true
			break
		}
	}
}

// loginMarkers are parts of the lower-case paths of login forms and
// authentication endpoints.
var loginMarkers = []string{"login", "logon", "signin", "sign-in", "sign_in", "j_security_check", "authenticate", "/auth"}

func loginPath(lowerPath []byte) bool {
	for _, m := range loginMarkers {
		if bytes.Contains(lowerPath, []byte(m)) {
			return true
		}
	}
	return false
}

// passwordField reports whether a request body holds a password field:
// a form field name or a JSON key such as password, passwd, pass, pwd,
// j_password or new_password, before '=' or ':', or is a WordPress
// XML-RPC login call. Words that merely hold the letters (compass,
// bypass_cache) do not count.
func passwordField(b []byte) bool {
	if indexFold(b, "wp.getusersblogs") >= 0 {
		return true
	}
	for _, key := range []string{"pass", "pwd"} {
		for off := 0; ; {
			i := indexFold(b[off:], key)
			if i < 0 {
				break
			}
			at := off + i
			off = at + len(key)
			if !fieldStart(b[:at]) {
				continue
			}
			j := off
			for j < len(b) && j-off < 8 && isWordByte(b[j]) && b[j] != '_' {
				j++
			}
			if key == "pass" && !slices.Contains([]string{"", "word", "wd", "wrd", "phrase"}, strings.ToLower(string(b[off:j]))) ||
				key == "pwd" && j != off {
				continue
			}
			tail := b[j:]
			if len(tail) > 0 && tail[0] == '=' || bytes.HasPrefix(tail, []byte(`":`)) || bytes.HasPrefix(tail, []byte(`" :`)) {
				return true
			}
		}
	}
	return false
}

// fieldStart reports whether a password key after before starts a field
// name, or ends one that names whose password it is (user_pass,
// newpassword, j_password).
func fieldStart(before []byte) bool {
	if len(before) == 0 || !isWordByte(before[len(before)-1]) || before[len(before)-1] == '_' {
		return true
	}
	for _, p := range []string{"user", "new", "old", "login", "confirm", "current", "admin"} {
		if n := len(before) - len(p); n >= 0 && asciiEqualFold(before[n:], p) && (n == 0 || !isWordByte(before[n-1]) || before[n-1] == '_') {
			return true
		}
	}
	return false
}

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && asciiEqualFold(b[:len(s)], s)
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// indexFold returns the index of the lower-case ASCII s in b, ignoring
// case, or -1.
func indexFold(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if asciiEqualFold(b[i:i+len(s)], s) {
			return i
		}
	}
	return -1
}

// isMiss reports whether a status says the thing asked for is not there
// (or not for this client): what enumeration mostly gets back.
func isMiss(code int) bool {
	switch code {
	case 400, 403, 404, 410, 421:
		return true
	}
	return false
}
