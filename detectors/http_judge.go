package detectors

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// Thresholds of the HTTP judgement that are not Config: they say what
// "many" means for signals that need no tuning per network.
const (
	httpMinAnswered      = 10  // answers needed before a share of them is read
	httpMissHigh         = 0.5 // share of misses (404, 403, ...) that marks enumeration
	httpMissMedium       = 0.25
	httpMissNote         = 0.1
	httpWordlistPrefixes = 3  // distinct enumeration-list paths that mark a wordlist
	httpManyInjections   = 10 // injection requests that are high on their own
	httpManyHosts        = 20 // distinct Host values to one server that mark vhost fuzzing
	httpBruteHigh        = 20 // credential attempts for a high brute force
	httpBruteMedium      = 10
	httpMinCredentials   = 3 // distinct credentials below which attempts are one client retrying
)

// Findings judges every (source, server) pair.
//
// Each signal gives its own reading and the pair's finding is the worst
// one (severity, then confidence; on a tie the first technique below):
//   - credential_bruteforce: requests carrying credentials (a Basic or
//     Digest Authorization header, a POST with a password field or to a
//     login path) answered 401/403, or nearly all with the same page
//     while the passwords change: high from 20 attempts with at least 10
//     failures making half the answers, medium from 10 with 5. The same
//     credentials again and again (a monitor, a client retrying) are not
//     guessing;
//   - vhost_fuzzing: 20 or more distinct Host values to one server over
//     a quarter as many paths or fewer, mostly answered 404/400/421:
//     high; unanswered: medium; with found answers a low note (a proxy
//     or a CDN edge can see that);
//   - scanner_user_agent: a scanning tool's user agent: high; fewer
//     than 10 requests from nmap's scripts, masscan or zgrab (service
//     detection, internet-wide surveys) are a low note;
//   - sql_injection, path_traversal, xss: injection markers in URIs are
//     evidence on their own: 10 or more such requests are high whatever
//     the user agent and however few the paths (high confidence when one
//     marker was unambiguous), fewer are medium; high when a traversal's
//     answer held /etc/passwd lines. A 200 answer is not taken as
//     success: applications answer 200 with an error page;
//   - directory_bruteforce: PathThreshold unique paths with half the
//     answers misses (404, 403, 400, 410, 421), or with 3 distinct
//     enumeration-list paths that missed: high; a quarter misses, or 3
//     enumeration-list paths that missed however few the paths: medium.
//     The rate does not matter: a slow enumeration with a browser's user
//     agent is judged the same. Found enumeration-list pages without
//     misses are what a crawl of a WordPress site fetches: a note;
//   - sensitive_file_exposure: a 200 answer to a clearly secret path
//     (/.env, /.git/config, ...) on its own: medium; high when secrets
//     answered twice or more, or after probing 3 enumeration-list paths.
//     Any 200 to a sensitive path raises another medium finding to high;
//   - high_request_volume: volume with nothing hostile (RequestThreshold
//     requests or PathThreshold paths, with some misses or no answers to
//     judge by) is a low, low-confidence note. Health checks, polling and
//     crawling (few paths, or many found pages, answered 2xx/3xx) give
//     nothing.
//
// Every reading uses the exact counters, never the capped samples.
func (h *httpDetector) Findings(cfg Config, _ *capture.Capture) []report.Finding {
	h.settle()
	var out []report.Finding
	// In order of first request (then addresses), not of arrival: parts
	// merged in any order give the same list.
	order := slices.Clone(h.order)
	slices.SortStableFunc(order, func(x, y *httpPair) int {
		return cmp.Or(x.first.Compare(y.first), x.src.Compare(y.src), x.dst.Compare(y.dst))
	})
	for _, pr := range order {
		s := pr.stats()
		if f, ok := judgeHTTP(cfg.HTTP, &s); ok {
			out = append(out, f)
		}
	}
	return out
}

// httpReading is what one signal says of a pair.
type httpReading struct {
	technique  string
	severity   report.Severity
	confidence report.Confidence
}

// missShare is the share of answered requests that missed, and whether
// enough were answered to read it.
func missShare(s *HTTPClientStats) (float64, bool) {
	if s.Answered < httpMinAnswered {
		return 0, false
	}
	var n int64
	for code, c := range s.Status {
		if isMiss(code) {
			n += c
		}
	}
	return float64(n) / float64(s.Answered), true
}

// httpReadings returns every signal's reading of s, in the order ties are
// broken.
func httpReadings(cfg HTTPConfig, s *HTTPClientStats) []httpReading {
	var rs []httpReading
	add := func(t string, sev report.Severity, conf report.Confidence) {
		rs = append(rs, httpReading{t, sev, conf})
	}
	miss, answered := missShare(s)

	if r, ok := credentialReading(s); ok {
		rs = append(rs, r)
	}
	if s.DistinctHosts >= httpManyHosts && s.UniquePaths*4 <= s.DistinctHosts {
		switch {
		case answered && miss >= httpMissHigh:
			add("vhost_fuzzing", report.SeverityHigh, report.ConfidenceHigh)
		case !answered:
			add("vhost_fuzzing", report.SeverityMedium, report.ConfidenceMedium)
		default:
			add("vhost_fuzzing", report.SeverityLow, report.ConfidenceLow)
		}
	}
	if len(s.Scanners) > 0 {
		if surveyOnly(s) {
			// nmap's service detection, or an internet-wide survey,
			// fetching a few pages: the port scan finding carries the
			// story, this is a note.
			add("scanner_user_agent", report.SeverityLow, report.ConfidenceLow)
		} else {
			add("scanner_user_agent", report.SeverityHigh, report.ConfidenceHigh)
		}
	}
	if injections := s.SQLInjection + s.PathTraversal + s.XSS; injections > 0 {
		r := httpReading{injectionTechnique(s), report.SeverityMedium, report.ConfidenceMedium}
		if injections >= httpManyInjections {
			r.severity = report.SeverityHigh
		}
		if s.StrongInjection > 0 || s.PasswdLeaks > 0 {
			r.confidence = report.ConfidenceHigh
		}
		if s.PasswdLeaks > 0 {
			r.severity = report.SeverityHigh
		}
		rs = append(rs, r)
	}
	manyPaths := s.UniquePaths >= int64(cfg.PathThreshold)
	wordlist := s.EnumerationPrefixes >= httpWordlistPrefixes && s.EnumerationMisses >= httpWordlistPrefixes
	switch {
	case manyPaths && (answered && miss >= httpMissHigh || wordlist):
		add("directory_bruteforce", report.SeverityHigh, report.ConfidenceHigh)
	case wordlist, manyPaths && answered && miss >= httpMissMedium:
		add("directory_bruteforce", report.SeverityMedium, report.ConfidenceMedium)
	case manyPaths && (!answered || miss >= httpMissNote || s.EnumerationPrefixes >= httpWordlistPrefixes),
		s.Requests >= int64(cfg.RequestThreshold) && answered && miss >= httpMissHigh:
		// Volume, and a little that is off (misses, or no answers to
		// judge by): a note, never a verdict.
		add("high_request_volume", report.SeverityLow, report.ConfidenceLow)
	}
	switch {
	case s.StrongExposedRequests > 0 && s.EnumerationPrefixes >= httpWordlistPrefixes:
		// Probing the list and getting secrets back.
		add("sensitive_file_exposure", report.SeverityHigh, report.ConfidenceHigh)
	case s.StrongExposedRequests > 1:
		add("sensitive_file_exposure", report.SeverityHigh, report.ConfidenceMedium)
	case s.StrongExposedRequests > 0:
		add("sensitive_file_exposure", report.SeverityMedium, report.ConfidenceMedium)
	}
	return rs
}

// surveyTools are scanners whose user agent also comes from port
// scanners' service detection and internet-wide surveys: a few requests
// with them are reconnaissance of what runs, not an attack on the site.
var surveyTools = []string{"Nmap Scripting Engine", "masscan", "zgrab"}

// httpSurveyRequests is how many requests with survey tools' user agents
// stay a note.
const httpSurveyRequests = 10

// surveyOnly reports whether every scanner of s is a survey tool and they
// sent fewer than httpSurveyRequests requests.
func surveyOnly(s *HTTPClientStats) bool {
	if s.ScannerRequests >= httpSurveyRequests {
		return false
	}
	for _, t := range s.Scanners {
		if !slices.Contains(surveyTools, t) {
			return false
		}
	}
	return true
}

// credentialReading judges the credential attempts of a pair.
func credentialReading(s *HTTPClientStats) (httpReading, bool) {
	failures := s.CredentialFailures
	if s.DistinctCredentials >= httpMinCredentials && s.RepeatedAnswer*5 >= s.CredentialAnswered*4 &&
		s.PasswordBodies*5 >= s.CredentialAttempts*4 && s.RepeatedAnswerStatus != 401 && s.RepeatedAnswerStatus != 403 {
		// New passwords each time, one answer to nearly all: the
		// login form's failure page. (A client refreshing a token
		// also sends a new body each time and gets the same answer,
		// but its body holds no password.)
		failures = max(failures, s.RepeatedAnswer)
	}
	switch {
	case s.CredentialAttempts < httpBruteMedium:
		return httpReading{}, false
	case s.DistinctCredentials > 0 && s.DistinctCredentials < httpMinCredentials:
		// The same credentials again and again: a client or a monitor
		// retrying, not guessing.
		return httpReading{}, false
	case s.CredentialAttempts >= httpBruteHigh && failures >= httpBruteMedium && failures*2 >= s.CredentialAnswered:
		return httpReading{"credential_bruteforce", report.SeverityHigh, report.ConfidenceHigh}, true
	case failures >= httpBruteMedium/2 && failures*2 >= s.CredentialAnswered:
		return httpReading{"credential_bruteforce", report.SeverityMedium, report.ConfidenceMedium}, true
	}
	return httpReading{}, false
}

func judgeHTTP(cfg HTTPConfig, s *HTTPClientStats) (report.Finding, bool) {
	rs := httpReadings(cfg, s)
	if len(rs) == 0 {
		return report.Finding{}, false
	}
	best := rs[0]
	for _, r := range rs[1:] {
		if r.severity.Rank() > best.severity.Rank() ||
			r.severity == best.severity && r.confidence.Rank() > best.confidence.Rank() {
			best = r
		}
	}
	if s.ExposedRequests > 0 && best.severity.Rank() >= report.SeverityMedium.Rank() && best.technique != "sensitive_file_exposure" {
		best.severity = report.SeverityHigh
	}
	share404 := s.Status404Share()
	f := report.Finding{
		Type: report.AttackHTTPEnumeration, Source: s.Source.String(), Target: s.Server.String(),
		FirstSeen: s.FirstSeen, LastSeen: s.LastSeen,
		Technique: best.technique, Severity: best.severity, Confidence: best.confidence,
	}
	f.Summary = httpSummary(f.Technique, s, share404)
	f.Counts = map[string]int64{
		report.CountRequests:            s.Requests,
		report.CountUniquePaths:         s.UniquePaths,
		report.CountAnswered:            s.Answered,
		report.CountStatus2xx:           statusClass(s.Status, 2),
		report.CountStatus3xx:           statusClass(s.Status, 3),
		report.CountStatus4xx:           statusClass(s.Status, 4),
		report.CountStatus404:           s.Status[404],
		report.CountStatus5xx:           statusClass(s.Status, 5),
		report.CountEnumerationPaths:    s.EnumerationRequests,
		report.CountEnumerationPrefixes: int64(s.EnumerationPrefixes),
		report.CountEnumerationMisses:   s.EnumerationMisses,
		report.CountScannerRequests:     s.ScannerRequests,
		report.CountWithReferer:         s.WithReferer,
		report.CountSQLInjection:        s.SQLInjection,
		report.CountPathTraversal:       s.PathTraversal,
		report.CountXSS:                 s.XSS,
		report.CountStrongInjection:     s.StrongInjection,
		report.CountExposedPaths:        int64(len(s.ExposedPaths)),
		report.CountExposedRequests:     s.ExposedRequests,
		report.CountPasswdLeaks:         s.PasswdLeaks,
		report.CountDistinctUserAgents:  int64(len(s.UserAgents)),
		report.CountDistinctHosts:       s.DistinctHosts,
	}
	if s.CredentialAttempts > 0 {
		f.Counts[report.CountCredentialAttempts] = s.CredentialAttempts
		f.Counts[report.CountCredentialFailures] = s.CredentialFailures
		f.Counts[report.CountDistinctCredentials] = s.DistinctCredentials
		f.Counts[report.CountRepeatedAnswer] = s.RepeatedAnswer
	}
	if s.OtherMethodRequests > 0 {
		f.Counts[report.CountOtherMethodRequests] = s.OtherMethodRequests
	}
	if s.UniquePathsCapped {
		f.Counts[report.CountUniquePathsCapped] = 1
	}
	if s.DistinctHostsCapped {
		f.Counts[report.CountDistinctHostsCapped] = 1
	}
	f.Samples = map[string][]string{report.SamplePaths: s.SamplePaths}
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
	f.Samples[report.SampleUserAgents] = head(uas, httpMaxSamples)
	f.Samples[report.SampleMethods] = methods
	f.Samples[report.SamplePorts] = ports
	if len(s.OtherMethods) > 0 {
		f.Samples[report.SampleOtherMethods] = s.OtherMethods
	}
	if len(s.Scanners) > 0 {
		f.Samples[report.SampleScanners] = s.Scanners
	}
	if len(s.ExposedPaths) > 0 {
		f.Samples[report.SampleExposedPaths] = s.ExposedPaths
	}
	if len(s.InjectionURIs) > 0 {
		f.Samples[report.SampleInjectionURIs] = s.InjectionURIs
	}
	if f.Technique == "vhost_fuzzing" {
		f.Samples[report.SampleHosts] = s.SampleHosts
	}
	if len(s.LoginPaths) > 0 {
		f.Samples[report.SampleLoginPaths] = s.LoginPaths
	}
	return f, true
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
			s.Source, target, strings.Join(s.Scanners, ", "), humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.UniquePaths), "unique path"))
	case "directory_bruteforce":
		fmt.Fprintf(&b, "%s enumerated paths on %s: %s, %s", s.Source, target,
			humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.UniquePaths), "unique path"))
	case "high_request_volume":
		fmt.Fprintf(&b, "%s sent a high volume of requests to %s: %s, %s, with no scanner, wordlist or injection in them (a note, not an attack)", s.Source, target,
			humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.UniquePaths), "unique path"))
	case "vhost_fuzzing":
		fmt.Fprintf(&b, "%s fuzzed virtual hosts on %s: %s with %s over %s", s.Source, target,
			humanize.Count(int(s.Requests), "request"), humanize.Count(int(s.DistinctHosts), "distinct Host value"), humanize.Count(int(s.UniquePaths), "path"))
	case "credential_bruteforce":
		fmt.Fprintf(&b, "%s tried to log in to %s by brute force: %s carrying credentials (%s), %d answered 401/403",
			s.Source, target, humanize.Count(int(s.CredentialAttempts), "request"), humanize.Count(int(s.DistinctCredentials), "distinct credential"), s.CredentialFailures)
		if len(s.LoginPaths) > 0 {
			fmt.Fprintf(&b, ", to %s", strings.Join(head(s.LoginPaths, 3), ", "))
		}
		if s.RepeatedAnswer > 0 {
			fmt.Fprintf(&b, ", %d got the same answer (status %d)", s.RepeatedAnswer, s.RepeatedAnswerStatus)
		}
	case "sensitive_file_exposure":
		fmt.Fprintf(&b, "%s fetched sensitive files from %s: %s", s.Source, target, humanize.Count(int(s.Requests), "request"))
	default:
		fmt.Fprintf(&b, "%s sent injection attempts to %s: %s", s.Source, target, humanize.Count(int(s.Requests), "request"))
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
		fmt.Fprintf(&b, "; %s for known enumeration paths", humanize.Count(int(s.EnumerationRequests), "request"))
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
