package intel

import (
	"testing"
)

func TestNormalizeAndClassifyDomain(t *testing.T) {
	tests := []struct {
		in, norm, class string
	}{
		{"Evil.COM.", "evil.com", ""},
		{"cdn.login-paypa1.com", "cdn.login-paypa1.com", ""},
		{"xn--bcher-kva.de", "xn--bcher-kva.de", ""},
		{"foo.co.uk", "foo.co.uk", ""},
		{"co.uk", "co.uk", "not a public DNS name (a public suffix itself)"},
		{"localhost", "localhost", "single-label name"},
		{"wpad", "wpad", "single-label name"},
		{"printer.local", "printer.local", "internal name (.local)"},
		{"db.internal", "db.internal", "internal name (.internal)"},
		{"nas.lan", "nas.lan", "internal name (.lan)"},
		{"router.home.arpa", "router.home.arpa", "internal name (.home.arpa)"},
		{"a.test", "a.test", "internal name (.test)"},
		{"www.example", "www.example", "internal name (.example)"},
		{"x.invalid", "x.invalid", "internal name (.invalid)"},
		{"app.localhost", "app.localhost", "internal name (.localhost)"},
		{"dc01.corp", "dc01.corp", "internal name (.corp)"},
		{"1.0.0.10.in-addr.arpa", "1.0.0.10.in-addr.arpa", "internal name (.in-addr.arpa)"},
		{"host.notarealtld", "host.notarealtld", "not a public DNS name (unknown top-level domain .notarealtld)"},
		{"_ldap._tcp.evil.com", "_ldap._tcp.evil.com", "service name (underscore label)"},
	}
	for _, tt := range tests {
		norm, err := normalizeDomain(tt.in)
		if err != nil {
			t.Errorf("normalizeDomain(%q): %v", tt.in, err)
			continue
		}
		if norm != tt.norm {
			t.Errorf("normalizeDomain(%q) = %q, want %q", tt.in, norm, tt.norm)
		}
		if got := classifyDomain(norm); got != tt.class {
			t.Errorf("classifyDomain(%q) = %q, want %q", norm, got, tt.class)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 10, "plain"},
		{"a\nb\tc", 10, "a b c"},
		{"\x1b[2Jred\u202eevil", 20, "[2Jredevil"},
		{"abcdefghij", 8, "abcde..."},
		{"ééééé", 8, "éé..."},
	}
	for _, tt := range tests {
		if got := clean(tt.in, tt.n); got != tt.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
