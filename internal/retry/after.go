package retry

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxAfter caps what ParseAfter returns. A server may say anything; a day
// covers every real quota (AbuseIPDB's daily limit is the longest seen) and
// keeps the arithmetic far from overflow.
const MaxAfter = 24 * time.Hour

// ParseAfter reads a Retry-After value (RFC 9110 section 10.2.3): delay
// seconds, or an HTTP date measured from now. Some model endpoints send a
// decimal number of seconds ("1.5"), so a fraction is accepted too. It
// returns 0 for an absent, unreadable, negative or past value, and at most
// MaxAfter.
func ParseAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if isDecimal(v) {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0
		}
		// Compare before converting, so an absurd value cannot overflow.
		if secs >= MaxAfter.Seconds() {
			return MaxAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxAfter)
		}
	}
	return 0
}

// isDecimal reports whether s is digits with at most one decimal point:
// ParseFloat alone would also take "NaN", "Inf", "1e9" and hex floats,
// none of which a server means as a delay.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}
