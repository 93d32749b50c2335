package intel

import (
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// parseIP parses an address as given by a person or a packet: plain, in
// brackets, or with a zone. IPv4-mapped IPv6 addresses are unmapped so that
// ::ffff:10.0.0.1 is treated (and kept private) as 10.0.0.1.
func parseIP(s string) (netip.Addr, error) {
	in := s
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if s == "" {
		return netip.Addr{}, newInputError(KindIP, in, "empty")
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, newInputError(KindIP, in, "not an IPv4 or IPv6 address")
	}
	return addr.Unmap(), nil
}

// reservedPrefixes are ranges netip's predicates do not cover that must
// never be sent out: they name no host on the public Internet, so a lookup
// would only leak what the capture contained.
var reservedPrefixes = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "reserved (0.0.0.0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "CGNAT (100.64.0.0/10)"},
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

// classifyIP returns "" for an address that may be sent to an outside
// service, otherwise the class of address it is.
func classifyIP(addr netip.Addr) string {
	addr = addr.Unmap()
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
	case addr.Is6() && netip.MustParsePrefix("fc00::/7").Contains(addr):
		return "unique local (fc00::/7)"
	case addr.IsPrivate():
		return "private"
	}
	if addr.Is4() && addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return "broadcast"
	}
	for _, r := range reservedPrefixes {
		if r.prefix.Contains(addr) {
			return r.class
		}
	}
	return ""
}

// normalizeDomain validates a host name and returns it in lower case,
// ASCII (punycode, as DNS carries it) and without a trailing dot. Underscores are accepted in
// labels because service names (_sip._tcp.example.com) appear in DNS traffic.
func normalizeDomain(s string) (string, error) {
	in := s
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", newInputError(KindDomain, in, "empty")
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return "", newInputError(KindDomain, in, "is an IP address, not a domain")
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			// DNS carries internationalised names as punycode; converting
			// here would need golang.org/x/text, which this module does not
			// carry, so ask for the wire form.
			return "", newInputError(KindDomain, in, "non-ASCII name; give its punycode (xn--) form")
		}
	}
	ascii := strings.ToLower(s)
	if len(ascii) > 253 {
		return "", newInputError(KindDomain, in, "longer than 253 characters")
	}
	for _, label := range strings.Split(ascii, ".") {
		if label == "" {
			return "", newInputError(KindDomain, in, "empty label")
		}
		if len(label) > 63 {
			return "", newInputError(KindDomain, in, "label longer than 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", newInputError(KindDomain, in, "label starts or ends with a hyphen")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", newInputError(KindDomain, in, "not a valid host name")
			}
		}
	}
	return ascii, nil
}

// internalSuffixes name no public host: special-use names (RFC 6761, 6762,
// 8375, 9476), the ICANN-reserved .internal, and suffixes routinely used on
// private networks. A name under them is never sent out.
var internalSuffixes = []string{
	"local", "localhost", "internal", "lan", "home", "corp", "intranet",
	"private", "localdomain", "home.arpa", "test", "example", "invalid",
	"onion", "alt", "in-addr.arpa", "ip6.arpa",
}

// classifyDomain returns "" for a normalised name that may be sent to an
// outside service, otherwise why it may not.
func classifyDomain(name string) string {
	if !strings.Contains(name, ".") {
		return "single-label name"
	}
	for _, suf := range internalSuffixes {
		if name == suf || strings.HasSuffix(name, "."+suf) {
			return "internal name (." + suf + ")"
		}
	}
	if strings.Contains(name, "_") {
		return "service name (underscore label)"
	}
	suffix, icann := publicsuffix.PublicSuffix(name)
	if !icann && !strings.Contains(suffix, ".") {
		// The list's default rule answered: the top-level domain is not
		// one the world knows, so the name is local.
		return "not a public DNS name (unknown top-level domain ." + suffix + ")"
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(name); err != nil {
		return "not a public DNS name (a public suffix itself)"
	}
	return ""
}
