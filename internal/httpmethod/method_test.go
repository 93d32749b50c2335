package httpmethod

import (
	"slices"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"GET", "GET", true},
		{"POST", "POST", true},
		{"PROPFIND", "PROPFIND", true},
		{"VERSION-CONTROL", "VERSION-CONTROL", true},
		{"UPDATEREDIRECTREF", "UPDATEREDIRECTREF", true},
		{"RPC_IN_DATA", "RPC_IN_DATA", true},
		{"PRI", "PRI", true},
		{"get", "", false}, // methods are case-sensitive
		{"GETX", "", false},
		{"GE", "", false},
		{"", "", false},
		{"BREW", "", false},
		{"UPDATEREDIRECTREFX", "", false},
		{"GET\x00", "", false},
	}
	for _, tt := range tests {
		got, ok := Canonical([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if Known([]byte(tt.in)) != tt.ok {
			t.Errorf("Known(%q) = %v, want %v", tt.in, !tt.ok, tt.ok)
		}
	}
}

func TestCanonicalDoesNotKeepInput(t *testing.T) {
	b := []byte("DELETE")
	got, _ := Canonical(b)
	copy(b, "XXXXXX")
	if got != "DELETE" {
		t.Errorf("Canonical's result changed with its input: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { Canonical(b[:3]); StartsRequest([]byte("OPTIONS * HTTP/1.1")) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

func TestStartsRequest(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\n", true},
		{"OPTIONS * HTTP/1.1\r\n", true},
		{"PROPFIND /dav HTTP/1.1\r\n", true},
		{"UPDATEREDIRECTREF /x HTTP/1.1\r\n", true},
		{"CONNECT example.com:443 HTTP/1.1\r\n", true},
		{"PRI * HTTP/2.0\r\n", true},
		{"HTTP/1.1 200 OK\r\n", false}, // a response, not a request
		{"GET", false},
		{"GET/ HTTP/1.1", false},
		{"get / HTTP/1.1", false},
		{" GET / HTTP/1.1", false},
		{"SSH-2.0-OpenSSH_9.6\r\n", false},
		{"\x16\x03\x01\x02\x00", false},
		{"", false},
		{strings.Repeat("A", 100) + " / HTTP/1.1", false},
	}
	for _, tt := range tests {
		if got := StartsRequest([]byte(tt.in)); got != tt.want {
			t.Errorf("StartsRequest(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestAll(t *testing.T) {
	all := All()
	if len(all) != 49 || all[0] != "GET" || !slices.Contains(all, "PROPFIND") || !slices.Contains(all, "RPC_CONNECT") {
		t.Fatalf("All() = %d methods %q...", len(all), all[:min(5, len(all))])
	}
	longest := 0
	for _, m := range all {
		longest = max(longest, len(m))
		if !Known([]byte(m)) {
			t.Errorf("All() lists %q, which Known refuses", m)
		}
	}
	if longest != maxLen {
		t.Errorf("longest method %d bytes, maxLen %d", longest, maxLen)
	}
	all[0] = "CHANGED"
	if All()[0] != "GET" {
		t.Error("All() shares its slice with callers")
	}
}
