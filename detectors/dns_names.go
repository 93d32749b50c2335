package detectors

import (
	"bytes"
	"math"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// registeredDomain returns the registered domain of a lower-case name
// (the public suffix plus one label) as a suffix of name: "a.b.example.co.uk"
// gives "example.co.uk". A name that is itself a public suffix, or has a
// single label, is its own registered domain. Names outside the ICANN list
// take the list's default rule (the last label is the suffix), so
// "x.y.local" gives "y.local".
//
// Reverse lookups are grouped under in-addr.arpa and ip6.arpa, where the
// list would make every /8 a domain of its own.
func registeredDomain(name string) string {
	for _, z := range [...]string{"in-addr.arpa", "ip6.arpa"} {
		if len(name) > len(z) && strings.HasSuffix(name, z) && name[len(name)-len(z)-1] == '.' {
			return name[len(name)-len(z):]
		}
	}
	suffix, _ := publicsuffix.PublicSuffix(name)
	if len(suffix) >= len(name) {
		return name
	}
	rest := name[:len(name)-len(suffix)-1] // without ".suffix"
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// excludedDomain says why a registered domain is never judged a tunnel:
// its names are random-looking or unique by design, and nobody outside
// runs its authoritative servers.
func excludedDomain(reg string) string {
	switch {
	case reg == "arpa" || strings.HasSuffix(reg, ".arpa"):
		return "reverse_lookup"
	case reg == "local" || strings.HasSuffix(reg, ".local") || strings.HasPrefix(reg, "_"):
		return "local_service_discovery"
	}
	// The public suffix list names some platform zones as suffixes of
	// their own (dscx.akamaiedge.net is a registered domain), so every
	// parent of reg is looked up.
	for z := reg; ; {
		if _, ok := dnsInfrastructure[z]; ok {
			return "cdn_infrastructure"
		}
		if _, ok := dnsBlocklists[z]; ok {
			return "dnsbl"
		}
		i := strings.IndexByte(z, '.')
		if i < 0 {
			return ""
		}
		z = z[i+1:]
	}
}

// dnsInfrastructure lists registered domains of CDNs and large platforms
// whose host names are encoded by design (e1234.dscx.akamaiedge.net,
// d1abc2defgh.cloudfront.net, r3---sn-abc.googlevideo.com). The names are
// chosen by the platform, not by a client, so they cannot carry a tunnel.
var dnsInfrastructure = map[string]struct{}{
	"akamaiedge.net": {}, "akamai.net": {}, "akamaihd.net": {}, "akamaized.net": {}, "edgekey.net": {}, "edgesuite.net": {},
	"cloudfront.net": {}, "amazonaws.com": {}, "fbcdn.net": {}, "facebook.com": {}, "1e100.net": {}, "googlevideo.com": {},
	"gvt1.com": {}, "gvt2.com": {}, "googleusercontent.com": {}, "googleapis.com": {}, "gstatic.com": {}, "ytimg.com": {},
	"cloudflare.net": {}, "cloudflare.com": {}, "fastly.net": {}, "fastlylb.net": {}, "azureedge.net": {}, "msedge.net": {},
	"trafficmanager.net": {}, "windows.net": {}, "llnwd.net": {}, "cdn77.org": {}, "edgecastcdn.net": {}, "footprint.net": {},
	"apple.com": {}, "icloud.com": {}, "aaplimg.com": {}, "mzstatic.com": {}, "microsoft.com": {}, "live.com": {},
}

// dnsBlocklists lists DNSBL and reputation zones, queried with reversed
// addresses or hashes that are unique and encoded-looking by design.
var dnsBlocklists = map[string]struct{}{
	"spamhaus.org": {}, "spamcop.net": {}, "sorbs.net": {}, "barracudacentral.org": {}, "surbl.org": {},
	"uribl.com": {}, "senderscore.com": {}, "mailspike.net": {}, "abuseat.org": {}, "dnswl.org": {},
	"uceprotect.net": {}, "junkemailfilter.com": {}, "spameatingmonkey.net": {}, "senderbase.org": {},
	// Reputation services asked the same way by security products (hashes
	// and addresses in the names, answers in 127.0.0.0/8): Sophos, McAfee
	// GTI, Team Cymru's malware hash registry and origin lookups.
	"sophosxl.net": {}, "mcafee.com": {}, "cymru.com": {},
}

// measureSubdomain measures the subdomain part of a name.
func measureSubdomain(sub []byte) nameStats {
	var st nameStats
	var freq [256]uint16
	chars := 0
	numeric, nibbles := 0, 0
	start := 0
	for i := 0; i <= len(sub); i++ {
		if i < len(sub) && sub[i] != '.' {
			freq[sub[i]]++
			chars++
			continue
		}
		label := sub[start:i]
		start = i + 1
		st.labels++
		st.labelChars += len(label)
		st.maxLabel = max(st.maxLabel, len(label))
		if k := labelEncoding(label); k != encNone {
			st.encoded++
			st.enc |= 1 << k
			st.encodedChars += len(label)
		}
		// Leading runs: a DNSBL name is the reversed address, then the
		// list's zone (1.2.0.192.zen under spamhaus.org).
		if len(label) == 1 && isHexDigit(label[0]) && nibbles == st.labels-1 {
			nibbles++
		}
		if len(label) >= 1 && len(label) <= 3 && allDigits(label) && numeric == st.labels-1 {
			numeric++
		}
	}
	st.reversedIP = numeric >= 4 || nibbles >= 16
	st.embedsDomain = endsInTLD(sub)

	if chars > 0 {
		n := float64(chars)
		for _, f := range freq {
			if f > 0 {
				q := float64(f) / n
				st.entropy -= q * math.Log2(q)
			}
		}
	}
	return st
}

// Encodings of a label's data, as labelEncoding tells them apart.
const (
	encHex = iota
	encBase32
	encBase64
	// encBinary is raw bytes outside ASCII (iodine's Base128): host names
	// never hold them, internationalised names travel as xn-- punycode.
	encBinary
	encCount
	encNone = -1
)

var encNames = [encCount]string{"hex", "base32", "base64", "binary"}

// endsInTLD reports whether the last label of a subdomain of two labels
// or more is a top-level domain of the ICANN list (com, net, uk, ...).
func endsInTLD(sub []byte) bool {
	i := bytes.LastIndexByte(sub, '.')
	last := sub[i+1:]
	if i <= 0 || len(last) < 2 || len(last) > 24 {
		return false
	}
	var buf [24]byte
	for j, c := range last {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[j] = c
	}
	suffix, icann := publicsuffix.PublicSuffix(bstr(buf[:len(last)]))
	return icann && len(suffix) == len(last)
}

// looksEncoded reports whether a label looks like encoded data.
func looksEncoded(label []byte) bool { return labelEncoding(label) != encNone }

// labelEncoding says whether a label looks like hex, base32, base64 or
// binary data rather than a word or a host name, and which: at least
// dnsEncodedMinLen characters of the alphabet, with digits mixed in (and,
// for base64, both cases), or an eighth of its bytes outside ASCII.
// Hyphenated host names (ec2-54-1-2-3, r3---sn-abc) are not encoded: a
// hyphen is only allowed in base64 with both cases present.
func labelEncoding(label []byte) int {
	if len(label) < dnsEncodedMinLen {
		return encNone
	}
	var lower, upper, digit, other, high, b64 int
	hex := true
	for _, c := range label {
		switch {
		case 'a' <= c && c <= 'z':
			lower++
			hex = hex && c <= 'f'
		case 'A' <= c && c <= 'Z':
			upper++
			hex = hex && c <= 'F'
		case '0' <= c && c <= '9':
			digit++
		case c == '-' || c == '_' || c == '+' || c == '/' || c == '=':
			b64++
			hex = false
		case c >= 0x80:
			high++
		default:
			other++
		}
	}
	switch {
	case high*8 >= len(label):
		return encBinary
	case other+high > 0:
		return encNone
	case hex && digit > 0 && lower+upper > 0:
		return encHex
	case b64 == 0 && digit*10 >= len(label) && (lower == 0 || upper == 0):
		return encBase32 // (or base36) in one case, digits at least a tenth
	case lower > 0 && upper > 0 && (digit > 0 || b64 > 0) && upper*10 >= len(label) && lower*10 >= len(label):
		return encBase64 // both cases well mixed
	}
	return encNone
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
