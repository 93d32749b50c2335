package textsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Escape makes a string that came from a capture safe to show:
// every control or non-printable byte, every byte of a non-printable
// character (bidirectional overrides, zero-width characters, ...) and every
// byte of invalid UTF-8 becomes \xNN; a backslash becomes \\ so that an
// escape in the output can only have come from Escape. Printable Unicode is
// kept as it is.
//
// When the escaped text is longer than limit bytes, it is cut at a character
// boundary at or before limit bytes and a marker saying how many bytes of the
// original were left out is appended, e.g. "…[+1234 bytes]". limit <= 0
// means no limit.
//
// Non-printable means outside unicode.IsPrint: C0 and C1 controls, DEL,
// format characters (category Cf: the bidirectional embeddings, overrides
// and isolates U+202A-U+202E and U+2066-U+2069, zero-width characters),
// line and paragraph separators, and every space but U+0020.
//
// Escape only makes the bytes harmless to display; the words can still say
// anything, which is why every tool description tells the model that such
// strings are data from the capture, never instructions.
func Escape(s string, limit int) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\\' || !printable(r, n) {
			clean = false
			break
		}
		i += n
	}
	if clean && (limit <= 0 || len(s) <= limit) {
		return s
	}
	var b strings.Builder
	if limit > 0 {
		b.Grow(min(len(s)*2, limit+32))
	} else {
		b.Grow(len(s) + 16)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == '\\':
			piece = `\\`
		case printable(r, n):
			piece = s[i : i+n]
		default:
			var esc [4]byte
			esc[0], esc[1] = '\\', 'x'
			var sb strings.Builder
			for j := range n {
				c := s[i+j]
				esc[2], esc[3] = hexDigits[c>>4], hexDigits[c&0x0f]
				sb.Write(esc[:])
			}
			piece = sb.String()
		}
		if limit > 0 && b.Len()+len(piece) > limit {
			b.WriteString("…[+")
			b.WriteString(strconv.Itoa(len(s) - i))
			b.WriteString(" bytes]")
			return b.String()
		}
		b.WriteString(piece)
		i += n
	}
	return b.String()
}

// printable reports whether the rune r, decoded from n bytes, may appear as
// itself: valid UTF-8, and a letter, mark, number, punctuation, symbol or
// the ASCII space.
func printable(r rune, n int) bool {
	if r == utf8.RuneError && n <= 1 {
		return false // invalid UTF-8 (a literal U+FFFD decodes with n == 3)
	}
	return unicode.IsPrint(r)
}

// EscapeAll applies Escape to every string of a list, returning a new list
// (never nil, so JSON results keep an empty array rather than null).
func EscapeAll(in []string, limit int) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Escape(s, limit)
	}
	return out
}
