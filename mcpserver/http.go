package mcpserver

import (
	"context"
	"net/netip"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/report"
)

// listCap bounds the lists of detect_http_anomalies that are not paged;
// their *_total fields count everything.
const listCap = 50

// HTTPAnomaliesArgs are detect_http_anomalies' arguments.
type HTTPAnomaliesArgs struct {
	Target
	PageArgs
}

// SuspiciousUserAgent is a scanner's user agent and who sent it.
type SuspiciousUserAgent struct {
	UserAgent string `json:"user_agent"`
	// Scanner names the tool (nmap, sqlmap, nikto, gobuster, ...).
	Scanner  string `json:"scanner"`
	SourceIP string `json:"source_ip"`
	ServerIP string `json:"server_ip"`
	Requests int64  `json:"requests"`
}

// HighVolumeSource is a source that sent one server many requests or asked
// for many distinct paths.
type HighVolumeSource struct {
	SourceIP    string `json:"source_ip"`
	ServerIP    string `json:"server_ip"`
	Requests    int64  `json:"requests"`
	UniquePaths int64  `json:"unique_paths"`
	Answered    int64  `json:"answered"`
	NotFound    int64  `json:"not_found"`
}

// EnumerationPath is a path a flagged source asked for.
type EnumerationPath struct {
	SourceIP string `json:"source_ip"`
	ServerIP string `json:"server_ip"`
	Path     string `json:"path"`
	// Kind is "sample" (one of the first distinct paths), "exposed" (a
	// sensitive path that answered 200) or "injection" (a URI carrying
	// SQL injection, traversal or XSS markers).
	Kind string `json:"kind"`
}

// HTTPAnomaliesResult is detect_http_anomalies' answer.
type HTTPAnomaliesResult struct {
	CaptureInfo
	HTTPAnomaliesDetected bool `json:"http_anomalies_detected"`
	// Clients counts every (source, server) pair that spoke HTTP.
	Clients                   int                   `json:"clients"`
	SuspiciousUserAgents      []SuspiciousUserAgent `json:"suspicious_user_agents"`
	SuspiciousUserAgentsTotal int                   `json:"suspicious_user_agents_total"`
	HighVolumeSources         []HighVolumeSource    `json:"high_volume_sources"`
	HighVolumeSourcesTotal    int                   `json:"high_volume_sources_total"`
	EnumerationPaths          []EnumerationPath     `json:"enumeration_paths"`
	EnumerationPathsTotal     int                   `json:"enumeration_paths_total"`
	// Findings is this page of the http_enumeration findings.
	Findings []Finding `json:"findings"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *HTTPAnomaliesResult) shrink(keep float64) bool {
	longest := &r.EnumerationPaths
	switch {
	case len(r.EnumerationPaths) > 4 && cut(longest, keep):
	case len(r.HighVolumeSources) > 4 && cut(&r.HighVolumeSources, keep):
	case len(r.SuspiciousUserAgents) > 4 && cut(&r.SuspiciousUserAgents, keep):
	case cut(&r.Findings, keep):
		r.Page = pageOf(r.Total, r.Offset, len(r.Findings))
	case cut(&r.EnumerationPaths, keep), cut(&r.HighVolumeSources, keep), cut(&r.SuspiciousUserAgents, keep):
	default:
		return false
	}
	r.Truncated = true
	return true
}

func (s *Server) httpAnomaliesTool() toolSpec[HTTPAnomaliesArgs, HTTPAnomaliesResult] {
	return toolSpec[HTTPAnomaliesArgs, HTTPAnomaliesResult]{
		name:  "detect_http_anomalies",
		title: "Detect HTTP enumeration and attacks",
		desc: "HTTP attacks: scanner user agents (nikto, sqlmap, gobuster, ...), directory brute-forcing (many paths from one source, mostly 404), enumeration paths, SQL injection, traversal and XSS markers, sensitive files served. " +
			"Call it when the summary shows HTTP traffic; list_http_requests then shows the requests. Paged." + untrusted,
		extra: merge(targetExtra, pageExtra),
		args:  func() HTTPAnomaliesArgs { return HTTPAnomaliesArgs{} },
		run:   s.httpAnomalies,
	}
}

func (s *Server) httpAnomalies(ctx context.Context, args HTTPAnomaliesArgs) (*HTTPAnomaliesResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	a := l.a
	enum := ofType(a.Findings, report.AttackHTTPEnumeration)
	flagged := map[[2]string]bool{}
	for _, f := range enum {
		flagged[[2]string{f.Source, f.Target}] = true
	}
	clients := a.HTTPClients()
	res := &HTTPAnomaliesResult{
		CaptureInfo:           l.info,
		HTTPAnomaliesDetected: len(enum) > 0,
		Clients:               len(clients),
		SuspiciousUserAgents:  []SuspiciousUserAgent{},
		HighVolumeSources:     []HighVolumeSource{},
		EnumerationPaths:      []EnumerationPath{},
	}
	cfg := a.Config.HTTP
	for _, c := range clients {
		src, srv := c.Source.String(), c.Server.String()
		for _, ua := range c.UserAgents {
			if ua.Scanner == "" {
				continue
			}
			res.SuspiciousUserAgentsTotal++
			if len(res.SuspiciousUserAgents) < listCap {
				res.SuspiciousUserAgents = append(res.SuspiciousUserAgents, SuspiciousUserAgent{
					UserAgent: textsafe.Escape(ua.UserAgent, DefaultStringMax), Scanner: textsafe.Escape(ua.Scanner, 64),
					SourceIP: src, ServerIP: srv, Requests: ua.Requests,
				})
			}
		}
		if c.Requests >= int64(cfg.RequestThreshold) || c.UniquePaths >= int64(cfg.PathThreshold) {
			res.HighVolumeSourcesTotal++
			if len(res.HighVolumeSources) < listCap {
				res.HighVolumeSources = append(res.HighVolumeSources, HighVolumeSource{
					SourceIP: src, ServerIP: srv, Requests: c.Requests, UniquePaths: c.UniquePaths,
					Answered: c.Answered, NotFound: c.Status[404],
				})
			}
		}
		if !flagged[[2]string{src, srv}] {
			continue
		}
		for _, group := range []struct {
			kind  string
			paths []string
		}{{"exposed", c.ExposedPaths}, {"injection", c.InjectionURIs}, {"sample", c.SamplePaths}} {
			for _, p := range group.paths {
				res.EnumerationPathsTotal++
				if len(res.EnumerationPaths) < listCap {
					res.EnumerationPaths = append(res.EnumerationPaths, EnumerationPath{SourceIP: src, ServerIP: srv, Path: textsafe.Escape(p, DefaultStringMax), Kind: group.kind})
				}
			}
		}
	}
	var pg []report.Finding
	pg, res.Page = page(enum, offset, limit)
	res.Findings = safeFindings(pg)
	return res, nil
}

// HTTPRequestsArgs are list_http_requests' arguments.
type HTTPRequestsArgs struct {
	Target
	Source string `json:"source,omitempty" jsonschema:"Only requests sent by this IP address. Default: every source."`
	PageArgs
}

// HTTPRequest is one HTTP request as list_http_requests returns it, every
// string from the packet escaped and truncated.
type HTTPRequest struct {
	// Packet is the frame number (1-based, as tshark counts).
	Packet      int       `json:"packet"`
	Time        time.Time `json:"time"`
	Source      string    `json:"source"`
	Destination string    `json:"destination"`
	Port        uint16    `json:"port"`
	Method      string    `json:"method"`
	Host        string    `json:"host"`
	URI         string    `json:"uri"`
	UserAgent   string    `json:"user_agent"`
	// Status is the response's status code, 0 when none was seen.
	Status int `json:"status"`
}

// HTTPRequestsResult is list_http_requests' answer.
type HTTPRequestsResult struct {
	CaptureInfo
	// Requests is this page of the (filtered) requests, in capture order.
	Requests []HTTPRequest `json:"requests"`
	// NotListed counts requests seen beyond the server's listing bound:
	// they count in detect_http_anomalies but cannot be listed.
	NotListed int64 `json:"not_listed"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *HTTPRequestsResult) shrink(keep float64) bool {
	return cutPage(&r.Requests, &r.Page, &r.Truncated, keep)
}

func (s *Server) httpRequestsTool() toolSpec[HTTPRequestsArgs, HTTPRequestsResult] {
	return toolSpec[HTTPRequestsArgs, HTTPRequestsResult]{
		name:  "list_http_requests",
		title: "List HTTP requests",
		desc: "The HTTP requests in order (frame, time, addresses, method, Host, URI, User-Agent, response status), optionally from one source. Paged. " +
			"Call it after detect_http_anomalies to quote a client's requests as evidence." + untrusted,
		extra: merge(targetExtra, pageExtra),
		args:  func() HTTPRequestsArgs { return HTTPRequestsArgs{} },
		run:   s.httpRequests,
	}
}

func (s *Server) httpRequests(ctx context.Context, args HTTPRequestsArgs) (*HTTPRequestsResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	var src netip.Addr
	if args.Source != "" {
		if src, err = netip.ParseAddr(args.Source); err != nil {
			return nil, badArg("source %q is not an IP address", textsafe.Escape(args.Source, 64))
		}
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	all := l.a.HTTPRequests()
	if src.IsValid() {
		var mine []detectors.HTTPRequest
		for _, r := range all {
			if r.Source == src {
				mine = append(mine, r)
			}
		}
		all = mine
	}
	_, dropped := l.a.HTTPRequestsTruncated()
	res := &HTTPRequestsResult{CaptureInfo: l.info, NotListed: dropped}
	var pg []detectors.HTTPRequest
	pg, res.Page = page(all, offset, limit)
	res.Requests = make([]HTTPRequest, len(pg))
	for i, r := range pg {
		res.Requests[i] = HTTPRequest{
			Packet: r.Packet, Time: r.Time, Source: r.Source.String(), Destination: r.Destination.String(), Port: r.Port,
			Method: textsafe.Escape(r.Method, 32), Host: textsafe.Escape(r.Host, DefaultStringMax), URI: textsafe.Escape(r.URI, DefaultStringMax),
			UserAgent: textsafe.Escape(r.UserAgent, DefaultStringMax), Status: r.Status,
		}
	}
	return res, nil
}

// httpEntries is how many HTTP requests an analysis keeps, for the cache's
// size estimate.
func httpEntries(a *detectors.Analysis) int { return len(a.HTTPRequests()) }
