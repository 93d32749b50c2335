package netscope

import (
	"net/netip"
	"testing"
)

func TestClass(t *testing.T) {
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
		{"198.20.0.1", ""},
		{"172.32.0.1", ""},
		{"192.0.0.9", "IETF protocol assignment (192.0.0.0/24)"},
		{"240.0.0.1", "reserved (240.0.0.0/4)"},
		{"100::1", "discard-only (100::/64)"},
		{"3fff::1", "documentation (3fff::/20)"},
		{"fe80::1%eth0", "link-local"},
		{"::ffff:203.0.113.9", "documentation (203.0.113.0/24)"},
	}
	for _, tt := range tests {
		if got := Class(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Class(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestClassInvalid(t *testing.T) {
	if got := Class(netip.Addr{}); got != "invalid" {
		t.Errorf("Class(zero Addr) = %q, want invalid", got)
	}
}

// TestInternal checks the ranges against their RFCs: RFC 1918 (10/8,
// 172.16/12, 192.168/16), RFC 6598 (100.64/10), RFC 1122 loopback
// (127/8), RFC 3927 link-local (169.254/16), RFC 4193 ULA (fc00::/7),
// RFC 4291 loopback and link-local (::1, fe80::/10), each at its edges.
func TestInternal(t *testing.T) {
	extra := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	tests := []struct {
		addr string
		want bool
	}{
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"11.0.0.0", false}, {"9.255.255.255", false},
		{"172.16.0.0", true}, {"172.31.255.255", true}, {"172.15.255.255", false}, {"172.32.0.0", false},
		{"192.168.0.0", true}, {"192.168.255.255", true}, {"192.169.0.0", false}, {"192.167.255.255", false},
		{"100.64.0.0", true}, {"100.127.255.255", true}, {"100.63.255.255", false}, {"100.128.0.0", false},
		{"127.0.0.1", true}, {"127.255.255.254", true}, {"128.0.0.1", false},
		{"169.254.0.1", true}, {"169.254.255.255", true}, {"169.255.0.1", false},
		{"8.8.8.8", false}, {"203.0.113.9", false}, {"192.0.2.1", false}, {"0.0.0.0", false},
		{"198.51.100.7", true}, {"198.51.101.7", false}, // extra
		{"::1", true}, {"::2", false}, {"::", false},
		{"fc00::1", true}, {"fdff:ffff::1", true}, {"fe00::1", false}, {"fbff::1", false},
		{"fe80::1", true}, {"febf::1", true}, {"fec0::1", false}, {"fe80::1%eth0", true},
		{"2001:db8::1", false}, {"2001:db8:1::9", true}, // extra
		{"2606:4700:4700::1111", false},
		{"::ffff:10.0.0.1", true}, {"::ffff:8.8.8.8", false}, {"::ffff:198.51.100.7", true},
	}
	for _, tt := range tests {
		if got := Internal(netip.MustParseAddr(tt.addr), extra); got != tt.want {
			t.Errorf("Internal(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if Internal(netip.Addr{}, nil) {
		t.Error("Internal(zero Addr) = true")
	}
}

// TestInternalNeverPublic: an internal address is never one intel may
// send out.
func TestInternalNeverPublic(t *testing.T) {
	for _, s := range []string{"10.1.2.3", "172.20.0.1", "192.168.9.9", "100.100.0.1", "127.0.0.2", "169.254.3.3", "::1", "fd12::1", "fe80::9"} {
		a := netip.MustParseAddr(s)
		if !Internal(a, nil) || Class(a) == "" {
			t.Errorf("%s: Internal %v, Class %q: want internal with a class", s, Internal(a, nil), Class(a))
		}
	}
}
