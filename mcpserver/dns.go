package mcpserver

import (
	"context"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/report"
)

// DNSArgs are analyze_dns' arguments.
type DNSArgs struct {
	Target
}

// DNSResult is analyze_dns' answer: the capture's DNS statistics with every
// name escaped, and the dns_tunneling findings.
type DNSResult struct {
	CaptureInfo
	TunnelingDetected bool `json:"tunneling_detected"`
	detectors.DNSReport
	Findings []Finding `json:"findings"`
	// FindingsTotal counts every dns_tunneling finding when the list is cut.
	FindingsTotal int  `json:"findings_total"`
	Truncated     bool `json:"truncated"`
}

func (r *DNSResult) shrink(keep float64) bool {
	for _, try := range []func() bool{
		func() bool { return cut(&r.TopNames, keep) },
		func() bool { return cut(&r.Clients, keep) },
		func() bool { return cut(&r.SuspiciousTLDs, keep) },
		func() bool { return len(r.TopDomains) > 1 && cut(&r.TopDomains, keep) },
		func() bool { return cut(&r.Findings, keep) },
		func() bool { return cut(&r.TopDomains, keep) },
	} {
		if try() {
			r.Truncated = true
			return true
		}
	}
	return false
}

func (s *Server) dnsTool() toolSpec[DNSArgs, DNSResult] {
	return toolSpec[DNSArgs, DNSResult]{
		name:  "analyze_dns",
		title: "Analyse DNS",
		desc: "DNS statistics: query types and response codes, top names, per-domain tunnelling signals (unique subdomains, label length, entropy), clients and resolvers, abused top-level domains, and dns_tunneling findings. " +
			"Call it when the summary shows many or random-looking DNS names; list_dns_queries lists the queries." + untrusted,
		extra: targetExtra,
		args:  func() DNSArgs { return DNSArgs{} },
		run:   s.dns,
	}
}

func (s *Server) dns(ctx context.Context, args DNSArgs) (*DNSResult, error) {
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	tunnels := ofType(l.a.Findings, report.AttackDNSTunneling)
	res := &DNSResult{
		CaptureInfo:       l.info,
		TunnelingDetected: len(tunnels) > 0,
		DNSReport:         safeDNSReport(l.a.DNS()),
		Findings:          safeFindings(tunnels),
		FindingsTotal:     len(tunnels),
	}
	return res, nil
}

// safeDNSReport escapes every name of the report, in copies of its lists.
func safeDNSReport(r detectors.DNSReport) detectors.DNSReport {
	const nameMax = 160
	r.QTypes = nonNilMap(r.QTypes)
	r.RCodes = nonNilMap(r.RCodes)
	names := make([]detectors.NameCount, len(r.TopNames))
	for i, n := range r.TopNames {
		names[i] = detectors.NameCount{Name: textsafe.Escape(n.Name, nameMax), Count: n.Count}
	}
	r.TopNames = names
	doms := make([]detectors.DNSDomainStats, len(r.TopDomains))
	for i, d := range r.TopDomains {
		d.Domain = textsafe.Escape(d.Domain, nameMax)
		d.LongestName = textsafe.Escape(d.LongestName, nameMax)
		d.Excluded = textsafe.Escape(d.Excluded, 64)
		d.Signals = textsafe.EscapeAll(d.Signals, 64)
		d.QTypes = nonNilMap(d.QTypes)
		doms[i] = d
	}
	r.TopDomains = doms
	tlds := make([]detectors.DNSTLDNote, len(r.SuspiciousTLDs))
	for i, t := range r.SuspiciousTLDs {
		t.TLD = textsafe.Escape(t.TLD, 64)
		t.Domain = textsafe.Escape(t.Domain, nameMax)
		t.Note = textsafe.Escape(t.Note, 256)
		tlds[i] = t
	}
	r.SuspiciousTLDs = tlds
	clients := make([]detectors.DNSClientStats, len(r.Clients))
	for i, c := range r.Clients {
		c.Client = textsafe.Escape(c.Client, 64)
		c.Resolvers = textsafe.EscapeAll(c.Resolvers, 64)
		clients[i] = c
	}
	r.Clients = clients
	return r
}

func nonNilMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}
