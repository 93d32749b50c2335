package filter

import (
	"fmt"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
)

// maxDomain is the longest name DNS allows, in its text form.
const maxDomain = 253

// DNSUnder matches DNS messages (queries and answers, on the ports capture
// decodes DNS on: 53, mDNS 5353, LLMNR 5355) with a question for domain
// or a name under it, compared without regard to case. domain is a name
// of letters, digits, '-' and '_' labels; anything else is an error, since
// names come from captures and are written into a regular expression.
func DNSUnder(domain string) (Expr, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if d == "" || len(d) > maxDomain {
		return Expr{}, fmt.Errorf("domain %q: want a DNS name of 1 to %d characters", domain, maxDomain)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return Expr{}, fmt.Errorf("domain %q: empty or over-long label", domain)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return Expr{}, fmt.Errorf("domain %q: only letters, digits, '-' and '_' may make a label", domain)
			}
		}
	}
	return Expr{dnsNode(d)}, nil
}

type dnsNode string

func (n dnsNode) match(p *capture.Packet, _ int) bool {
	if p.Layers&capture.LayerDNS == 0 || p.DNS == nil {
		return false
	}
	for _, q := range p.DNS.Questions {
		if under(q.Name, string(n)) {
			return true
		}
	}
	return false
}

// under reports whether name is domain or ends in "."+domain, ignoring
// ASCII case (domain is lower case).
func under(name []byte, domain string) bool {
	if len(name) < len(domain) {
		return false
	}
	tail := name[len(name)-len(domain):]
	for i := range tail {
		c := tail[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != domain[i] {
			return false
		}
	}
	return len(name) == len(domain) || name[len(name)-len(domain)-1] == '.'
}

func (dnsNode) class() class { return classTransport }

func (n dnsNode) render(b *strings.Builder, bare bool) {
	// Wireshark's matches is a case-insensitive regular expression; the
	// string literal takes "\\." for the regexp's "\.".
	re := `"(^|\\.)` + strings.ReplaceAll(string(n), ".", `\\.`) + `$"`
	writeGuarded(b, "dns.qry.name matches "+re, bare)
}
