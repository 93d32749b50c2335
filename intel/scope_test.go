package intel

import (
	"net/netip"
	"testing"
	"time"
)

func TestClassifyIP(t *testing.T) {
	tests := []struct {
		ip   string
		want string
	}{
		{"8.8.8.8", ""},
		{"185.220.101.4", ""},
		{"2606:4700:4700::1111", ""},
		{"10.0.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.0.1", "private"},
		{"127.0.0.53", "loopback"},
		{"::1", "loopback"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"224.0.0.1", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"0.1.2.3", "reserved (0.0.0.0/8)"},
		{"100.64.0.1", "CGNAT (100.64.0.0/10)"},
		{"100.127.255.255", "CGNAT (100.64.0.0/10)"},
		{"100.128.0.1", ""},
		{"192.0.2.1", "documentation (192.0.2.0/24)"},
		{"198.51.100.1", "documentation (198.51.100.0/24)"},
		{"203.0.113.1", "documentation (203.0.113.0/24)"},
		{"2001:db8:1::1", "documentation (2001:db8::/32)"},
		{"fd00::1", "unique local (fc00::/7)"},
		{"fc00::1", "unique local (fc00::/7)"},
		{"::ffff:10.0.0.1", "private"},
		{"255.255.255.255", "broadcast"},
		{"198.19.0.1", "benchmarking (198.18.0.0/15)"},
	}
	for _, tt := range tests {
		if got := classifyIP(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("classifyIP(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

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

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"99999999999", 24 * time.Hour},
		{"Wed, 01 May 2024 12:00:30 GMT", 30 * time.Second},
		{"Wed, 01 May 2024 11:59:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
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
