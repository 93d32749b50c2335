package detectors

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/agents-of-shield/reconpcap/report"
)

// Findings judges every (source, server) pair.
//
// Severity, most telling first:
//   - a scanner user agent: high (technique scanner_user_agent);
//   - RequestThreshold requests or PathThreshold unique paths: medium
//     (directory_bruteforce); many requests repeating fewer than
//     PathThreshold paths (at least two requests a path), under 10% of
//     them 404 and none on the enumeration list, stay
//     medium but with low confidence (high_request_volume: polling looks
//     like that); high when at least half of the answered
//     requests answered 404 (10 answers at least) or when 3 or more
//     distinct enumeration paths of the list were asked for. A pair that
//     looks like a browser loading pages (most requests carry a Referer,
//     under 10% of answers are 404, no enumeration path) is left alone;
//   - injection markers in URIs (sql_injection, path_traversal, xss):
//     medium even for one request from a browser user agent, since a
//     normal client never sends them; high when a traversal's answer held
//     /etc/passwd lines. A 200 answer to an injection is not taken as
//     success: applications answer 200 with an error page;
//   - a 200 answer to a sensitive path (/.env, /.git/config, backups, ...)
//     raises any of the above to high and is named in the summary; on its
//     own, for the clearly secret paths, it is a medium finding
//     (sensitive_file_exposure).
func (h *httpDetector) Findings(cfg Config, _ *Capture) []report.Finding {
	var out []report.Finding
	for _, pr := range h.order {
		s := pr.stats()
		if f, ok := judgeHTTP(cfg.HTTP, &s); ok {
			out = append(out, f)
		}
	}
	return out
}

func judgeHTTP(cfg HTTPConfig, s *HTTPClientStats) (report.Finding, bool) {
	volume := s.Requests >= int64(cfg.RequestThreshold) || s.UniquePaths >= int64(cfg.PathThreshold)
	share404 := s.Status404Share()
	high404 := s.Answered >= 10 && share404 >= 0.5
	manyEnum := s.EnumerationPrefixes >= 3
	if volume && len(s.Scanners) == 0 && !high404 && s.EnumerationRequests == 0 &&
		s.WithReferer*2 > s.Requests && share404 < 0.1 {
		volume = false // a browser loading pages and their resources
	}
	injections := s.SQLInjection + s.PathTraversal + s.XSS
	strongExposed := false
	for _, p := range s.ExposedPaths {
		if _, strong := sensitivePath([]byte(strings.ToLower(p))); strong {
			strongExposed = true
		}
	}
	f := report.Finding{
		Type: report.AttackHTTPEnumeration, Source: s.Source.String(), Target: s.Server.String(),
		FirstSeen: s.FirstSeen, LastSeen: s.LastSeen,
	}
	switch {
	case len(s.Scanners) > 0:
		f.Technique, f.Severity, f.Confidence = "scanner_user_agent", report.SeverityHigh, report.ConfidenceHigh
	case volume && s.UniquePaths < int64(cfg.PathThreshold) && 2*s.UniquePaths <= s.Requests && share404 < 0.1 && s.EnumerationRequests == 0:
		// Many requests for few paths, almost all found: a client polling
		// or reloading, more often than a scan. The volume rule
		// keeps it medium; the confidence says how little it proves.
		f.Technique, f.Severity, f.Confidence = "high_request_volume", report.SeverityMedium, report.ConfidenceLow
	case volume:
		f.Technique, f.Severity, f.Confidence = "directory_bruteforce", report.SeverityMedium, report.ConfidenceMedium
		if high404 || manyEnum {
			f.Severity, f.Confidence = report.SeverityHigh, report.ConfidenceHigh
		}
	case injections > 0:
		f.Technique, f.Severity, f.Confidence = injectionTechnique(s), report.SeverityMedium, report.ConfidenceMedium
		if s.PasswdLeaks > 0 {
			f.Severity = report.SeverityHigh
		}
		if s.PasswdLeaks > 0 || hasStrongInjection(s) {
			f.Confidence = report.ConfidenceHigh
		}
	case strongExposed:
		f.Technique, f.Severity, f.Confidence = "sensitive_file_exposure", report.SeverityMedium, report.ConfidenceMedium
	default:
		return f, false
	}
	if len(s.ExposedPaths) > 0 && f.Technique != "sensitive_file_exposure" {
		f.Severity = report.SeverityHigh
	}
	f.Summary = httpSummary(f.Technique, s, share404)
	f.Counts = map[string]int64{
		"requests":             s.Requests,
		"unique_paths":         s.UniquePaths,
		"answered":             s.Answered,
		"status_2xx":           statusClass(s.Status, 2),
		"status_3xx":           statusClass(s.Status, 3),
		"status_4xx":           statusClass(s.Status, 4),
		"status_404":           s.Status[404],
		"status_5xx":           statusClass(s.Status, 5),
		"enumeration_paths":    s.EnumerationRequests,
		"enumeration_prefixes": int64(s.EnumerationPrefixes),
		"scanner_requests":     s.ScannerRequests,
		"with_referer":         s.WithReferer,
		"sql_injection":        s.SQLInjection,
		"path_traversal":       s.PathTraversal,
		"xss":                  s.XSS,
		"exposed_paths":        int64(len(s.ExposedPaths)),
		"passwd_leaks":         s.PasswdLeaks,
		"distinct_user_agents": int64(len(s.UserAgents)),
	}
	if s.OtherMethodRequests > 0 {
		f.Counts["other_method_requests"] = s.OtherMethodRequests
	}
	if s.UniquePathsCapped {
		f.Counts["unique_paths_capped"] = 1
	}
	f.Samples = map[string][]string{"paths": s.SamplePaths}
	var uas, methods, ports []string
	for _, a := range s.UserAgents {
		uas = append(uas, cut([]byte(a.UserAgent), httpMaxSampleText))
	}
	for m := range s.Methods {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	for _, p := range s.Ports {
		ports = append(ports, strconv.Itoa(int(p)))
	}
	f.Samples["user_agents"] = head(uas, httpMaxSamples)
	f.Samples["methods"] = methods
	f.Samples["ports"] = ports
	if len(s.OtherMethods) > 0 {
		f.Samples["other_methods"] = s.OtherMethods
	}
	if len(s.Scanners) > 0 {
		f.Samples["scanners"] = s.Scanners
	}
	if len(s.ExposedPaths) > 0 {
		f.Samples["exposed_paths"] = s.ExposedPaths
	}
	if len(s.InjectionURIs) > 0 {
		f.Samples["injection_uris"] = s.InjectionURIs
	}
	return f, true
}

func hasStrongInjection(s *HTTPClientStats) bool {
	for _, u := range s.InjectionURIs {
		if _, strong := injectionKinds(decodeURI(nil, []byte(u))); strong {
			return true
		}
	}
	return false
}

func injectionTechnique(s *HTTPClientStats) string {
	switch {
	case s.SQLInjection >= s.PathTraversal && s.SQLInjection >= s.XSS:
		return "sql_injection"
	case s.PathTraversal >= s.XSS:
		return "path_traversal"
	}
	return "xss"
}

func statusClass(m map[int]int64, class int) int64 {
	var n int64
	for code, c := range m {
		if code/100 == class {
			n += c
		}
	}
	return n
}

func httpSummary(technique string, s *HTTPClientStats, share404 float64) string {
	var b strings.Builder
	target := s.Server.String()
	if len(s.Ports) == 1 {
		target = netip.AddrPortFrom(s.Server, s.Ports[0]).String()
	}
	switch technique {
	case "scanner_user_agent":
		fmt.Fprintf(&b, "%s scanned the web server %s with %s (user agent): %s, %s",
			s.Source, target, strings.Join(s.Scanners, ", "), plural(int(s.Requests), "request"), plural(int(s.UniquePaths), "unique path"))
	case "directory_bruteforce":
		fmt.Fprintf(&b, "%s enumerated paths on %s: %s, %s", s.Source, target,
			plural(int(s.Requests), "request"), plural(int(s.UniquePaths), "unique path"))
	case "high_request_volume":
		fmt.Fprintf(&b, "%s sent a high volume of requests to %s: %s for only %s (repeated requests, not path enumeration)", s.Source, target,
			plural(int(s.Requests), "request"), plural(int(s.UniquePaths), "unique path"))
	case "sensitive_file_exposure":
		fmt.Fprintf(&b, "%s fetched sensitive files from %s: %s", s.Source, target, plural(int(s.Requests), "request"))
	default:
		fmt.Fprintf(&b, "%s sent injection attempts to %s: %s", s.Source, target, plural(int(s.Requests), "request"))
	}
	switch {
	case s.Status[404] > 0:
		fmt.Fprintf(&b, "; %d of %d answered 404 (%.0f%%)", s.Status[404], s.Answered, share404*100)
	case s.Answered > 0:
		fmt.Fprintf(&b, "; %d answered, none 404", s.Answered)
	default:
		b.WriteString("; no responses in the capture")
	}
	if s.EnumerationRequests > 0 {
		fmt.Fprintf(&b, "; %s for known enumeration paths", plural(int(s.EnumerationRequests), "request"))
	}
	var inj []string
	for _, k := range []struct {
		n    int64
		name string
	}{{s.SQLInjection, "SQL injection"}, {s.PathTraversal, "path traversal"}, {s.XSS, "XSS"}} {
		if k.n > 0 {
			inj = append(inj, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(inj) > 0 {
		fmt.Fprintf(&b, "; injection attempts: %s", strings.Join(inj, ", "))
	}
	if s.PasswdLeaks > 0 {
		b.WriteString("; an answer held /etc/passwd lines: the traversal worked")
	}
	if len(s.ExposedPaths) > 0 {
		fmt.Fprintf(&b, " and %s answered 200: something leaked", strings.Join(head(s.ExposedPaths, 3), ", "))
	}
	return b.String()
}
