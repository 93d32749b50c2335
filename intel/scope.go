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
