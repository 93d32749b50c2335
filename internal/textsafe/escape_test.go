package textsafe

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"plain", "Mozilla/5.0 (X11; Linux x86_64)", 0, "Mozilla/5.0 (X11; Linux x86_64)"},
		{"printable unicode kept", "café ünïcode 日本", 0, "café ünïcode 日本"},
		{"literal U+FFFD kept", "a\uFFFDb", 0, "a\uFFFDb"},
		{"controls", "a\x00b\x1b[31mc\r\nd\x7f", 0, `a\x00b\x1b[31mc\x0d\x0ad\x7f`},
		{"ansi clear screen and title", "\x1b[2J\x1b]0;pwned\x07", 0, `\x1b[2J\x1b]0;pwned\x07`},
		{"tab", "a\tb", 0, `a\x09b`},
		{"invalid utf-8", "ok\xff\xc3\x28", 0, `ok\xff\xc3(`},
		{"truncated rune", "ab\xe6\x97", 0, `ab\xe6\x97`},
		{"overlong slash", "\xc0\xaf", 0, `\xc0\xaf`},
		{"surrogate half", "\xed\xa0\x80", 0, `\xed\xa0\x80`},
		{"backslash", `C:\x41`, 0, `C:\\x41`},
		// Bidirectional controls: U+202A-U+202E and U+2066-U+2069.
		{"LRE", "a\u202Ab", 0, `a\xe2\x80\xaab`},
		{"RLE", "a\u202Bb", 0, `a\xe2\x80\xabb`},
		{"PDF", "a\u202Cb", 0, `a\xe2\x80\xacb`},
		{"LRO", "a\u202Db", 0, `a\xe2\x80\xadb`},
		{"RLO", "abc\u202Egpj.exe", 0, `abc\xe2\x80\xaegpj.exe`},
		{"LRI", "a\u2066b", 0, `a\xe2\x81\xa6b`},
		{"RLI", "a\u2067b", 0, `a\xe2\x81\xa7b`},
		{"FSI", "a\u2068b", 0, `a\xe2\x81\xa8b`},
		{"PDI", "a\u2069b", 0, `a\xe2\x81\xa9b`},
		{"LRM", "a\u200Eb", 0, `a\xe2\x80\x8eb`},
		{"arabic letter mark", "a\u061Cb", 0, `a\xd8\x9cb`},
		{"zero width space", "ad\u200bmin", 0, `ad\xe2\x80\x8bmin`},
		{"zero width joiner", "a\u200Db", 0, `a\xe2\x80\x8db`},
		{"BOM", "\uFEFFx", 0, `\xef\xbb\xbfx`},
		{"soft hyphen", "pay\u00ADpal", 0, `pay\xc2\xadpal`},
		{"tag character", "a\U000E0041b", 0, `a\xf3\xa0\x81\x81b`},
		{"c1 control", "a\u0085b", 0, `a\xc2\x85b`},
		{"CSI c1", "a\u009b31mb", 0, `a\xc2\x9b31mb`},
		{"no-break space", "a\u00A0b", 0, `a\xc2\xa0b`},
		{"line separator", "a\u2028b", 0, `a\xe2\x80\xa8b`},
		{"fits", "abcdef", 6, "abcdef"},
		{"cut", "abcdefgh", 4, "abcd…[+4 bytes]"},
		{"cut before an escape", "abc\x00def", 5, "abc…[+4 bytes]"},
		{"escape exactly fits", "ab\x00", 6, `ab\x00`},
		{"cut at a rune boundary", "ab日本", 4, "ab…[+6 bytes]"},
		{"cut counts original bytes", "a\u202Eb", 4, "a…[+4 bytes]"},
		{"negative limit is none", "abc\x01", -1, `abc\x01`},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		if got := Escape(tt.in, tt.limit); got != tt.want {
			t.Errorf("%s: Escape(%q, %d) = %q, want %q", tt.name, tt.in, tt.limit, got, tt.want)
		}
	}
}

// TestEscapeEveryFormatChar: every format character (category Cf), every
// control and every separator but U+0020 is escaped, over the planes where
// characters are assigned (0-3, and 14's tags and variation selectors) and
// the start of the private-use plane 15.
func TestEscapeEveryFormatChar(t *testing.T) {
	for r := rune(0); r <= 0xF0100; r++ {
		if r == 0x40000 {
			r = 0xE0000
		}
		if !utf8.ValidRune(r) || r == '\\' {
			continue
		}
		hidden := unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Zl, r) ||
			unicode.Is(unicode.Zp, r) || (unicode.Is(unicode.Zs, r) && r != ' ') || unicode.Is(unicode.Co, r) ||
			!unicode.Is(unicode.Zs, r) && !unicode.IsGraphic(r)
		s := string(r)
		got := Escape(s, 0)
		if hidden && got == s {
			t.Errorf("U+%04X (%q) kept as it is", r, s)
		}
		if !hidden && got != s {
			t.Errorf("U+%04X printable, but escaped to %q", r, got)
		}
	}
}

func TestEscapeAll(t *testing.T) {
	got := EscapeAll([]string{"a\x00", "ok"}, 0)
	if len(got) != 2 || got[0] != `a\x00` || got[1] != "ok" {
		t.Errorf("EscapeAll = %q", got)
	}
	if got := EscapeAll(nil, 0); got == nil || len(got) != 0 {
		t.Errorf("EscapeAll(nil) = %#v, want an empty non-nil list", got)
	}
}

func TestEscapeBound(t *testing.T) {
	for _, in := range []string{strings.Repeat("\x01", 10000), strings.Repeat("日", 10000), strings.Repeat("\u202e", 10000)} {
		got := Escape(in, 256)
		body, _, ok := strings.Cut(got, "…[+")
		if !ok || len(body) > 256 || !strings.HasSuffix(got, " bytes]") {
			t.Errorf("Escape of %d bytes: %d bytes, %q...", len(in), len(got), got[:min(40, len(got))])
		}
		if !printableOnly(got) {
			t.Errorf("output not clean: %q", got)
		}
	}
}

// printableOnly reports whether s is valid UTF-8 of printable characters,
// with every backslash the start of \\ or \xNN.
func printableOnly(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			i++
		case i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]):
			i += 3
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func FuzzEscape(f *testing.F) {
	f.Add("GET /\x00\xff\u202e", 16)
	f.Add(`a\b`, 0)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = limit % 4096
		got := Escape(s, limit)
		if !printableOnly(got) {
			t.Fatalf("Escape(%q, %d) = %q: not clean", s, limit, got)
		}
		if limit > 0 {
			body, _, _ := strings.Cut(got, "…[+")
			if len(body) > limit {
				t.Fatalf("Escape(%q, %d): %d bytes before the marker", s, limit, len(body))
			}
		}
		if limit <= 0 && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || !unicode.IsPrint(r) }) && got != s {
			t.Fatalf("Escape(%q) = %q: printable text changed", s, got)
		}
	})
}
