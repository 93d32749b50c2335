package netscope

import "net/netip"

var (
	cgnat = netip.MustParsePrefix("100.64.0.0/10")
	ula   = netip.MustParsePrefix("fc00::/7")
)

// Internal reports whether addr is in a private network (RFC 1918,
// carrier-grade NAT 100.64.0.0/10, loopback, link-local, IPv6 unique local
// fc00::/7) or in one of extra. An IPv4-mapped IPv6 address is judged as
// IPv4, and a zone is ignored, so fe80::1%eth0 is link-local like fe80::1.
func Internal(addr netip.Addr, extra []netip.Prefix) bool {
	addr = addr.Unmap().WithZone("")
	if addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || cgnat.Contains(addr) {
		return true
	}
	for _, p := range extra {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// reserved are ranges netip's predicates do not cover that name no host on
// the public Internet: a lookup would only leak what the capture held.
var reserved = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "reserved (0.0.0.0/8)"},
	{cgnat, "CGNAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (192.0.2.0/24)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (203.0.113.0/24)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (3fff::/20)"},
}

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// Class returns "" for an address that names a host on the public
// Internet, otherwise the kind of address it is ("private", "loopback",
// "documentation (192.0.2.0/24)", ...), worded for a person. Every address
// Internal accepts without extra has a class.
func Class(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	switch {
	case !addr.IsValid():
		return "invalid"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsLoopback():
		return "loopback"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsMulticast():
		return "multicast"
	case ula.Contains(addr):
		return "unique local (fc00::/7)"
	case addr.IsPrivate():
		return "private"
	case addr == broadcast:
		return "broadcast"
	}
	for _, r := range reserved {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	return ""
}
