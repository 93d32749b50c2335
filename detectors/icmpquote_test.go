package detectors

import (
	"net/netip"
	"testing"
)

func TestQuotedUDP(t *testing.T) {
	v4 := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 66, 0, 10, 10, 66, 0, 20, 0xc3, 0x50, 0x00, 0xa1, 0, 8, 0, 0}
	v4opts := append([]byte{0x46, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 1}, 0x12, 0x34, 0x00, 0x35, 0, 8, 0, 0)
	v6 := make([]byte, 48)
	v6[0], v6[6] = 0x60, 17
	copy(v6[8:24], netip.MustParseAddr("2001:db8::1").AsSlice())
	copy(v6[24:40], netip.MustParseAddr("2001:db8::2").AsSlice())
	v6[42], v6[43] = 0x01, 0xf4
	tcp := append([]byte{}, v4...)
	tcp[9] = 6
	tests := []struct {
		name string
		q    []byte
		want udpProbe
		ok   bool
	}{
		{"IPv4 UDP to 161", v4, udpProbe{netip.MustParseAddr("10.66.0.10"), netip.MustParseAddr("10.66.0.20"), 161}, true},
		{"IPv4 with options", v4opts, udpProbe{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 53}, true},
		{"IPv6 UDP to 500", v6, udpProbe{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), 500}, true},
		{"quoted TCP", tcp, udpProbe{}, false},
		{"cut before the port", v4[:22], udpProbe{}, false},
		{"empty", nil, udpProbe{}, false},
		{"not IP", []byte{0x20, 1, 2, 3}, udpProbe{}, false},
	}
	for _, tt := range tests {
		got, ok := quotedUDP(tt.q)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: quotedUDP = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
