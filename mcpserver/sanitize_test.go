package mcpserver

import (
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"plain", "Mozilla/5.0 (X11; Linux x86_64)", 0, "Mozilla/5.0 (X11; Linux x86_64)"},
		{"printable unicode kept", "café ünïcode 日本", 0, "café ünïcode 日本"},
		{"controls", "a\x00b\x1b[31mc\r\nd\x7f", 0, `a\x00b\x1b[31mc\x0d\x0ad\x7f`},
		{"tab", "a\tb", 0, `a\x09b`},
		{"invalid utf-8", "ok\xff\xc3\x28", 0, `ok\xff\xc3(`},
		{"backslash", `C:\x41`, 0, `C:\\x41`},
		{"bidi override", "abc\u202Egpj.exe", 0, `abc\xe2\x80\xaegpj.exe`},
		{"zero width", "ad\u200bmin", 0, `ad\xe2\x80\x8bmin`},
		{"c1 control", "a\u0085b", 0, `a\xc2\x85b`},
		{"fits", "abcdef", 6, "abcdef"},
		{"cut", "abcdefgh", 4, "abcd…[+4 bytes]"},
		{"cut before an escape", "abc\x00def", 5, "abc…[+4 bytes]"},
		{"cut at a rune boundary", "ab日本", 4, "ab…[+6 bytes]"},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in, tt.limit); got != tt.want {
			t.Errorf("%s: Sanitize(%q, %d) = %q, want %q", tt.name, tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestSanitizeBound(t *testing.T) {
	long := strings.Repeat("\x01", 10000)
	got := Sanitize(long, DefaultStringMax)
	body, _, ok := strings.Cut(got, "…[+")
	if !ok || len(body) > DefaultStringMax || !strings.HasSuffix(got, " bytes]") {
		t.Errorf("Sanitize of 10000 control bytes: %d bytes, %q...", len(got), got[:min(40, len(got))])
	}
	if !clean(got) {
		t.Errorf("output not clean: %q", got)
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("GET /\x00\xff\u202e", 16)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = limit % 4096
		got := Sanitize(s, limit)
		if !clean(got) {
			t.Fatalf("Sanitize(%q, %d) = %q: not clean", s, limit, got)
		}
		if limit > 0 {
			body, _, _ := strings.Cut(got, "…[+")
			if len(body) > limit {
				t.Fatalf("Sanitize(%q, %d): %d bytes before the marker", s, limit, len(body))
			}
		}
	})
}
