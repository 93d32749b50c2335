package detectors

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
)

// TestHTTPJudgeReadings checks the judgement of a pair's counters against
// the rules of issue 10: repetition is not enumeration, volume alone is at
// most a low note, injections and credential guessing stand on their own.
func TestHTTPJudgeReadings(t *testing.T) {
	ok200 := func(n int64) map[int]int64 { return map[int]int64{200: n} }
	tests := []struct {
		name      string
		s         HTTPClientStats
		technique string // "" for no finding
		sev       report.Severity
		conf      report.Confidence
	}{
		{"health check: one path polled, all 200",
			HTTPClientStats{Requests: 300, UniquePaths: 2, Answered: 300, Status: ok200(300)}, "", "", ""},
		{"polling a dozen pages, all 200",
			HTTPClientStats{Requests: 77, UniquePaths: 12, Answered: 77, Status: ok200(77)}, "", "", ""},
		{"polling a missing page",
			HTTPClientStats{Requests: 77, UniquePaths: 12, Answered: 77, Status: map[int]int64{404: 77}}, "high_request_volume", report.SeverityLow, report.ConfidenceLow},
		{"crawl of found pages",
			HTTPClientStats{Requests: 180, UniquePaths: 170, Answered: 180, Status: map[int]int64{200: 150, 301: 25, 404: 5}}, "", "", ""},
		{"crawl with broken links",
			HTTPClientStats{Requests: 100, UniquePaths: 100, Answered: 100, Status: map[int]int64{200: 85, 404: 15}}, "high_request_volume", report.SeverityLow, report.ConfidenceLow},
		{"crawl of a site that has /wp-admin, /wp-login.php, /xmlrpc.php",
			HTTPClientStats{Requests: 60, UniquePaths: 60, Answered: 60, Status: ok200(60), EnumerationRequests: 3, EnumerationPrefixes: 3}, "high_request_volume", report.SeverityLow, report.ConfidenceLow},
		{"many paths, no answers seen",
			HTTPClientStats{Requests: 80, UniquePaths: 80}, "high_request_volume", report.SeverityLow, report.ConfidenceLow},
		{"many paths, 30% misses",
			HTTPClientStats{Requests: 100, UniquePaths: 100, Answered: 100, Status: map[int]int64{200: 70, 404: 30}}, "directory_bruteforce", report.SeverityMedium, report.ConfidenceMedium},
		{"many paths, most 404",
			HTTPClientStats{Requests: 150, UniquePaths: 150, Answered: 150, Status: map[int]int64{200: 9, 404: 141}}, "directory_bruteforce", report.SeverityHigh, report.ConfidenceHigh},
		{"many paths, most 403",
			HTTPClientStats{Requests: 40, UniquePaths: 40, Answered: 40, Status: map[int]int64{403: 38, 200: 2}}, "directory_bruteforce", report.SeverityHigh, report.ConfidenceHigh},
		{"a few wordlist paths that missed",
			HTTPClientStats{Requests: 5, UniquePaths: 5, Answered: 5, Status: map[int]int64{404: 5}, EnumerationRequests: 5, EnumerationPrefixes: 5, EnumerationMisses: 5}, "directory_bruteforce", report.SeverityMedium, report.ConfidenceMedium},
		{"many paths unanswered with wordlist misses is no contradiction",
			HTTPClientStats{Requests: 30, UniquePaths: 30, Answered: 4, Status: map[int]int64{404: 4}, EnumerationPrefixes: 4, EnumerationMisses: 4}, "directory_bruteforce", report.SeverityHigh, report.ConfidenceHigh},
		{"30 SQL injections to one path with a browser user agent",
			HTTPClientStats{Requests: 40, UniquePaths: 1, Answered: 40, Status: ok200(40), SQLInjection: 30, StrongInjection: 20}, "sql_injection", report.SeverityHigh, report.ConfidenceHigh},
		{"3 SQL injections",
			HTTPClientStats{Requests: 3, UniquePaths: 1, Answered: 3, Status: ok200(3), SQLInjection: 3, StrongInjection: 1}, "sql_injection", report.SeverityMedium, report.ConfidenceHigh},
		{"3 weak injections",
			HTTPClientStats{Requests: 3, UniquePaths: 1, Answered: 3, Status: ok200(3), PathTraversal: 3}, "path_traversal", report.SeverityMedium, report.ConfidenceMedium},
		{"12 weak traversals",
			HTTPClientStats{Requests: 12, UniquePaths: 1, Answered: 12, Status: ok200(12), PathTraversal: 12}, "path_traversal", report.SeverityHigh, report.ConfidenceMedium},
		{"login brute force answered 401",
			HTTPClientStats{Requests: 25, UniquePaths: 1, Answered: 25, Status: map[int]int64{401: 25}, CredentialAttempts: 25, CredentialFailures: 25, CredentialAnswered: 25, DistinctCredentials: 25, RepeatedAnswer: 25, RepeatedAnswerStatus: 401}, "credential_bruteforce", report.SeverityHigh, report.ConfidenceHigh},
		{"login brute force answered by one failure page",
			HTTPClientStats{Requests: 30, UniquePaths: 1, Answered: 30, Status: ok200(30), CredentialAttempts: 30, CredentialAnswered: 30, DistinctCredentials: 30, PasswordBodies: 30, RepeatedAnswer: 29, RepeatedAnswerStatus: 200}, "credential_bruteforce", report.SeverityHigh, report.ConfidenceHigh},
		{"a client refreshing its token at a login path, the same answer each time",
			HTTPClientStats{Requests: 30, UniquePaths: 1, Answered: 30, Status: ok200(30), CredentialAttempts: 30, CredentialAnswered: 30, DistinctCredentials: 30, RepeatedAnswer: 30, RepeatedAnswerStatus: 200}, "", "", ""},
		{"a monitor logging in with the same credentials",
			HTTPClientStats{Requests: 60, UniquePaths: 1, Answered: 60, Status: map[int]int64{302: 60}, CredentialAttempts: 60, CredentialAnswered: 60, DistinctCredentials: 1, RepeatedAnswer: 60, RepeatedAnswerStatus: 302}, "", "", ""},
		{"a client retrying a wrong password",
			HTTPClientStats{Requests: 30, UniquePaths: 1, Answered: 30, Status: map[int]int64{401: 30}, CredentialAttempts: 30, CredentialFailures: 30, CredentialAnswered: 30, DistinctCredentials: 1}, "", "", ""},
		{"logins answered differently each time",
			HTTPClientStats{Requests: 30, UniquePaths: 1, Answered: 30, Status: ok200(30), CredentialAttempts: 30, CredentialAnswered: 30, DistinctCredentials: 30, RepeatedAnswer: 3, RepeatedAnswerStatus: 200}, "", "", ""},
		{"12 failed logins",
			HTTPClientStats{Requests: 12, UniquePaths: 1, Answered: 12, Status: map[int]int64{401: 8, 200: 4}, CredentialAttempts: 12, CredentialFailures: 8, CredentialAnswered: 12, DistinctCredentials: 12}, "credential_bruteforce", report.SeverityMedium, report.ConfidenceMedium},
		{"a user mistyping three times",
			HTTPClientStats{Requests: 4, UniquePaths: 1, Answered: 4, Status: map[int]int64{401: 3, 302: 1}, CredentialAttempts: 4, CredentialFailures: 3, CredentialAnswered: 4, DistinctCredentials: 4}, "", "", ""},
		{"hydra's user agent: the brute force is named",
			HTTPClientStats{Requests: 40, UniquePaths: 1, Answered: 40, Status: map[int]int64{401: 40}, Scanners: []string{"Hydra"}, CredentialAttempts: 40, CredentialFailures: 40, CredentialAnswered: 40, DistinctCredentials: 40}, "credential_bruteforce", report.SeverityHigh, report.ConfidenceHigh},
		{"virtual host fuzzing",
			HTTPClientStats{Requests: 100, UniquePaths: 1, Answered: 100, Status: map[int]int64{404: 97, 200: 3}, DistinctHosts: 100}, "vhost_fuzzing", report.SeverityHigh, report.ConfidenceHigh},
		{"virtual host fuzzing with ffuf's user agent",
			HTTPClientStats{Requests: 100, UniquePaths: 1, Answered: 100, Status: map[int]int64{404: 97, 200: 3}, DistinctHosts: 100, Scanners: []string{"ffuf"}}, "vhost_fuzzing", report.SeverityHigh, report.ConfidenceHigh},
		{"many sites behind one CDN address, all found",
			HTTPClientStats{Requests: 40, UniquePaths: 5, Answered: 40, Status: ok200(40), DistinctHosts: 25}, "vhost_fuzzing", report.SeverityLow, report.ConfidenceLow},
		{"a few virtual hosts of one server",
			HTTPClientStats{Requests: 40, UniquePaths: 8, Answered: 40, Status: ok200(40), DistinctHosts: 4}, "", "", ""},
		{"scanner user agent over 404s",
			HTTPClientStats{Requests: 200, UniquePaths: 200, Answered: 200, Status: map[int]int64{404: 195, 200: 5}, Scanners: []string{"gobuster"}}, "scanner_user_agent", report.SeverityHigh, report.ConfidenceHigh},
		{"nmap's service detection: a few NSE requests",
			HTTPClientStats{Requests: 8, UniquePaths: 4, Answered: 8, Status: map[int]int64{404: 4, 200: 2, 405: 2}, Scanners: []string{"Nmap Scripting Engine"}, ScannerRequests: 8}, "scanner_user_agent", report.SeverityLow, report.ConfidenceLow},
		{"nmap's scripts probing the site",
			HTTPClientStats{Requests: 31, UniquePaths: 8, Answered: 31, Status: map[int]int64{404: 13, 200: 18}, Scanners: []string{"Nmap Scripting Engine"}, ScannerRequests: 27}, "scanner_user_agent", report.SeverityHigh, report.ConfidenceHigh},
		{"one nikto request",
			HTTPClientStats{Requests: 1, UniquePaths: 1, Answered: 1, Status: map[int]int64{404: 1}, Scanners: []string{"Nikto"}, ScannerRequests: 1}, "scanner_user_agent", report.SeverityHigh, report.ConfidenceHigh},
		{"/.env answered 200 on its own",
			HTTPClientStats{Requests: 1, UniquePaths: 1, Answered: 1, Status: ok200(1), ExposedRequests: 1, StrongExposedRequests: 1, ExposedPaths: []string{"/.env"}}, "sensitive_file_exposure", report.SeverityMedium, report.ConfidenceMedium},
		{"a leak raises enumeration to high",
			HTTPClientStats{Requests: 100, UniquePaths: 100, Answered: 100, Status: map[int]int64{200: 70, 404: 30}, ExposedRequests: 1, ExposedPaths: []string{"/db.sql"}}, "directory_bruteforce", report.SeverityHigh, report.ConfidenceMedium},
		{"a backup fetched during a crawl raises nothing",
			HTTPClientStats{Requests: 100, UniquePaths: 100, Answered: 100, Status: map[int]int64{200: 85, 404: 15}, ExposedRequests: 1, ExposedPaths: []string{"/db.sql"}}, "high_request_volume", report.SeverityLow, report.ConfidenceLow},
	}
	cfg := Config{}.Defaults().HTTP
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.Source, tt.s.Server = netip.MustParseAddr("10.66.0.10"), netip.MustParseAddr("10.66.0.20")
			f, ok := judgeHTTP(cfg, &tt.s)
			if tt.technique == "" {
				if ok {
					t.Fatalf("want no finding, got %s %s/%s: %s", f.Technique, f.Severity, f.Confidence, f.Summary)
				}
				return
			}
			if !ok {
				t.Fatalf("want %s %s/%s, got no finding", tt.technique, tt.sev, tt.conf)
			}
			if f.Technique != tt.technique || f.Severity != tt.sev || f.Confidence != tt.conf {
				t.Errorf("got %s %s/%s, want %s %s/%s", f.Technique, f.Severity, f.Confidence, tt.technique, tt.sev, tt.conf)
			}
			if f.Summary == "" || f.Source != "10.66.0.10" || f.Target != "10.66.0.20" {
				t.Errorf("summary %q, %s -> %s", f.Summary, f.Source, f.Target)
			}
		})
	}
}

// loginRun writes n login attempts from one client, each on its own
// connection. body(i) is the form sent (empty: no body); auth(i) the
// Authorization header (empty: none); answer(i) the response.
type loginRun struct {
	n      int
	method string
	path   string
	ua     string
	body   func(i int) string
	auth   func(i int) string
	answer func(i int) string
	split  bool // the body in a segment of its own, after the headers
	query  func(i int) string
}

func (r loginRun) write(t *testing.T) string {
	s := newHTTPSynth(t)
	for i := range r.n {
		c := s.conn(fmt.Sprintf("10.66.0.10:%d", 41000+i), "10.66.0.20:80")
		target := r.path
		if r.query != nil {
			target += "?" + r.query(i)
		}
		hdr := r.method + " " + target + " HTTP/1.1\r\nHost: 10.66.0.20\r\nUser-Agent: " + r.ua + "\r\n"
		if r.auth != nil {
			hdr += "Authorization: " + r.auth(i) + "\r\n"
		}
		var body string
		if r.body != nil {
			body = r.body(i)
			hdr += fmt.Sprintf("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", len(body))
		}
		hdr += "\r\n"
		if r.split {
			c.send(true, hdr)
			c.send(true, body)
		} else {
			c.send(true, hdr+body)
		}
		c.send(false, r.answer(i))
	}
	return s.close()
}

func TestHTTPCredentialBruteforce(t *testing.T) {
	failPage := "<html><body>Login failed: wrong user name or password</body></html>"
	answer401 := func(int) string {
		return "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n"
	}
	answerPage := func(int) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(failPage), failPage)
	}
	guess := func(i int) string { return fmt.Sprintf("username=admin&password=guess%04d", i) }
	tests := []struct {
		name      string
		run       loginRun
		technique string
		sev       report.Severity
		attempts  int64 // credential_attempts
		distinct  int64 // distinct_credentials
	}{
		{"form answered 401", loginRun{n: 30, method: "POST", path: "/login.php", ua: httpUA, body: guess, answer: answer401},
			"credential_bruteforce", report.SeverityHigh, 30, 30},
		{"form answered by the same failure page, body in its own segment", loginRun{n: 40, method: "POST", path: "/account/session", ua: "curl/8.5.0", body: guess, answer: answerPage, split: true},
			"credential_bruteforce", report.SeverityHigh, 40, 40},
		{"JSON body to an API path", loginRun{n: 25, method: "POST", path: "/api/v1/users/token", ua: "python-requests/2.31.0",
			body:   func(i int) string { return fmt.Sprintf(`{"user":"root","password":"p%d"}`, i) },
			answer: func(int) string { return "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" }},
			"credential_bruteforce", report.SeverityHigh, 25, 25},
		{"basic authentication guesses", loginRun{n: 25, method: "GET", path: "/admin/", ua: "Mozilla/4.0 (Hydra)",
			auth:   func(i int) string { return fmt.Sprintf("Basic YWRtaW46cGFzcw%03d", i) },
			answer: answer401},
			"credential_bruteforce", report.SeverityHigh, 25, 25},
		{"a login form sent with GET, the same password each time", loginRun{n: 30, method: "GET", path: "/dvwa/vulnerabilities/brute/", ua: httpUA,
			query: func(int) string { return "username=admin&password=x&Login=Login" }, answer: answerPage},
			"", "", 30, 1},
		{"a login form sent with GET, guessed", loginRun{n: 30, method: "GET", path: "/dvwa/vulnerabilities/brute/", ua: httpUA,
			query: func(i int) string { return fmt.Sprintf("username=admin&password=g%d&Login=Login", i) }, answer: answerPage},
			"credential_bruteforce", report.SeverityHigh, 30, 30},
		{"12 failed logins", loginRun{n: 12, method: "POST", path: "/signin", ua: httpUA, body: guess, answer: answer401},
			"credential_bruteforce", report.SeverityMedium, 12, 12},
		{"a monitor logging in with one account", loginRun{n: 40, method: "POST", path: "/login", ua: "curl/8.5.0",
			body:   func(int) string { return "username=monitor&password=s3cret" },
			answer: func(int) string { return "HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n" }},
			"", "", 40, 1},
		{"form posts that carry no password", loginRun{n: 40, method: "POST", path: "/api/v1/events", ua: "curl/8.5.0",
			body:   func(i int) string { return fmt.Sprintf("event=click&id=%d", i) },
			answer: func(int) string { return "HTTP/1.1 204 No Content\r\n\r\n" }},
			"", "", 0, 0},
		{"NTLM handshakes: the first leg answers 401", loginRun{n: 30, method: "GET", path: "/intranet/", ua: httpUA,
			auth:   func(i int) string { return fmt.Sprintf("NTLM TlRMTVNTUAABAAAAB4IIog%04d", i) },
			answer: answer401},
			"", "", 0, 0},
		{"token refreshes at an auth path", loginRun{n: 30, method: "POST", path: "/auth/refresh", ua: "okhttp/4.12.0",
			body:   func(i int) string { return fmt.Sprintf(`{"refresh_token":"eyJhbGciOi.%06d"}`, i) },
			answer: func(int) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" }},
			"", "", 30, 30},
		{"WordPress XML-RPC guesses", loginRun{n: 25, method: "POST", path: "/xmlrpc.php", ua: httpUA,
			body: func(i int) string {
				return fmt.Sprintf("<?xml version=\"1.0\"?><methodCall><methodName>wp.getUsersBlogs</methodName><params><param><value>admin</value></param><param><value>pw%d</value></param></params></methodCall>", i)
			},
			answer: answerPage},
			"credential_bruteforce", report.SeverityHigh, 25, 25},
		{"a user mistyping", loginRun{n: 3, method: "POST", path: "/login", ua: httpUA, body: guess, answer: answer401},
			"", "", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyzeSynth(t, tt.run.write(t), Config{})
			cl := a.HTTPClients()
			if len(cl) != 1 || cl[0].Requests != int64(tt.run.n) {
				t.Fatalf("clients %+v", cl)
			}
			if cl[0].CredentialAttempts != tt.attempts || cl[0].DistinctCredentials != tt.distinct {
				t.Errorf("credential attempts %d, distinct %d; want %d, %d", cl[0].CredentialAttempts, cl[0].DistinctCredentials, tt.attempts, tt.distinct)
			}
			fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
			if tt.technique == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %s %s: %s", fs[0].Technique, fs[0].Severity, fs[0].Summary)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("%d findings, want 1", len(fs))
			}
			f := fs[0]
			if f.Technique != tt.technique || f.Severity != tt.sev || f.Source != "10.66.0.10" || f.Target != "10.66.0.20" {
				t.Errorf("got %s %s %s->%s, want %s %s", f.Technique, f.Severity, f.Source, f.Target, tt.technique, tt.sev)
			}
			if f.Counts["credential_attempts"] != tt.attempts || !strings.Contains(f.Summary, "brute force") {
				t.Errorf("counts %v, summary %q", f.Counts, f.Summary)
			}
		})
	}
}

// writeVhostFuzz writes n requests for one path, each with its own Host
// value, answered with status.
func writeVhostFuzz(t *testing.T, n int, ua string, status int) string {
	s := newHTTPSynth(t)
	c := s.conn("10.66.0.10:43000", "10.66.0.20:80")
	for i := range n {
		c.send(true, fmt.Sprintf("GET / HTTP/1.1\r\nHost: w%03d.corp.example\r\nUser-Agent: %s\r\n\r\n", i, ua))
		c.send(false, fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", status))
	}
	return s.close()
}

func TestHTTPVhostFuzzing(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		ua        string
		status    int
		technique string
		sev       report.Severity
	}{
		{"ffuf over Host, default server 404", 120, "Fuzz Faster U Fool v2.1.0", 404, "vhost_fuzzing", report.SeverityHigh},
		{"browser user agent, 404", 60, httpUA, 404, "vhost_fuzzing", report.SeverityHigh},
		{"answered 421 Misdirected", 60, "curl/8.5.0", 421, "vhost_fuzzing", report.SeverityHigh},
		{"every Host found", 60, "curl/8.5.0", 200, "vhost_fuzzing", report.SeverityLow},
		{"a handful of virtual hosts", 10, httpUA, 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyzeSynth(t, writeVhostFuzz(t, tt.n, tt.ua, tt.status), Config{})
			if cl := a.HTTPClients(); len(cl) != 1 || cl[0].DistinctHosts != int64(tt.n) || cl[0].UniquePaths != 1 {
				t.Fatalf("clients %+v, want %d distinct hosts over one path", cl, tt.n)
			}
			fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
			if tt.technique == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Technique != tt.technique || fs[0].Severity != tt.sev {
				t.Fatalf("findings %+v, want %s %s", fs, tt.technique, tt.sev)
			}
			if hosts := fs[0].Samples["hosts"]; len(hosts) != min(tt.n, httpMaxSamples) || hosts[0] != "w000.corp.example" {
				t.Errorf("hosts sample %q", hosts)
			}
		})
	}
}

// TestHTTPAnyPort checks that HTTP is found by its content: enumeration
// with a browser user agent on ports no HTTP list names.
func TestHTTPAnyPort(t *testing.T) {
	for _, port := range []int{4444, 53, 443, 31337} {
		t.Run(fmt.Sprint(port), func(t *testing.T) {
			s := newHTTPSynth(t)
			c := s.conn("10.66.0.10:44000", fmt.Sprintf("10.66.0.20:%d", port))
			for i := range 40 {
				c.send(true, fmt.Sprintf("GET /w%02d/ HTTP/1.1\r\nHost: 10.66.0.20:%d\r\nUser-Agent: %s\r\n\r\n", i, port, httpUA))
				c.send(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
			}
			a := analyzeSynth(t, s.close(), Config{})
			fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
			if len(fs) != 1 || fs[0].Technique != "directory_bruteforce" || fs[0].Severity != report.SeverityHigh {
				t.Fatalf("findings %+v, want one directory_bruteforce high", fs)
			}
			if got := fs[0].Samples["ports"]; !slices.Equal(got, []string{fmt.Sprint(port)}) || fs[0].Counts["status_404"] != 40 {
				t.Errorf("ports %q, 404s %d", got, fs[0].Counts["status_404"])
			}
			// 80 segments start a request or a response (the
			// handshake and ACKs carry none).
			if n := a.Summary.Protocols["http"]; n != 80 {
				t.Errorf("summary counts %d HTTP packets, want 80", n)
			}
		})
	}
}

// TestHTTPExactCounters pins that the judgement reads the exact counters,
// not the 20-item samples: a UNION SELECT arriving as the 21st injection,
// and /.env answered 200 after 25 other sensitive paths.
func TestHTTPExactCounters(t *testing.T) {
	s := newHTTPSynth(t)
	c := s.conn("10.66.0.10:45000", "10.66.0.20:80")
	for i := range 20 {
		c.send(true, fmt.Sprintf("GET /view?file=../x%d HTTP/1.1\r\nHost: t\r\nUser-Agent: %s\r\n\r\n", i, httpUA))
		c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	}
	c.send(true, "GET /item?id=1+UNION+ALL+SELECT+NULL HTTP/1.1\r\nHost: t\r\nUser-Agent: "+httpUA+"\r\n\r\n")
	c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	a := analyzeSynth(t, s.close(), Config{})
	fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
	if len(fs) != 1 || fs[0].Confidence != report.ConfidenceHigh || fs[0].Severity != report.SeverityHigh || fs[0].Counts["strong_injection"] != 1 {
		t.Fatalf("21 injections, the last a UNION SELECT: %+v", fs)
	}
	if n := len(fs[0].Samples["injection_uris"]); n != httpMaxSamples {
		t.Errorf("%d injection samples, want the first %d", n, httpMaxSamples)
	}

	s = newHTTPSynth(t)
	c = s.conn("10.66.0.11:45001", "10.66.0.20:80")
	for i := range 25 {
		c.send(true, fmt.Sprintf("GET /old/site%02d.bak HTTP/1.1\r\nHost: t\r\nUser-Agent: curl/8.5.0\r\n\r\n", i))
		c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	}
	c.send(true, "GET /.env HTTP/1.1\r\nHost: t\r\nUser-Agent: curl/8.5.0\r\n\r\n")
	c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nDB_PASS=hunt")
	a = analyzeSynth(t, s.close(), Config{})
	fs = findingsOf(a.Findings, report.AttackHTTPEnumeration)
	if len(fs) != 1 || fs[0].Technique != "sensitive_file_exposure" || fs[0].Counts["exposed_requests"] != 26 {
		t.Fatalf("/.env as the 26th leak: %+v", fs)
	}
}

// TestHTTPSQLiWithBrowserAgent is sqlmap --random-agent: tens of
// injection requests to one path from a browser user agent are high,
// however few the paths and whatever the volume.
func TestHTTPSQLiWithBrowserAgent(t *testing.T) {
	payloads := []string{
		"1+AND+5184=7831", "1'+AND+9503=3550+AND+'PQQr'='PQQr", "1)+AND+EXTRACTVALUE(2971,CONCAT(0x5c,0x71))",
		"1;SELECT+PG_SLEEP(5)--", "1'+WAITFOR+DELAY+'0:0:5'--", "1+ORDER+BY+1--+abcd",
		"(SELECT+(CASE+WHEN+(5560=3328)+THEN+1+ELSE+0+END))", "1+UNION+ALL+SELECT+NULL,NULL--+x",
	}
	s := newHTTPSynth(t)
	c := s.conn("10.66.0.10:46000", "10.66.0.20:80")
	for i := range 60 {
		c.send(true, fmt.Sprintf("GET /item.php?id=%s HTTP/1.1\r\nHost: 10.66.0.20\r\nUser-Agent: %s\r\n\r\n", payloads[i%len(payloads)], httpUA))
		c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	}
	a := analyzeSynth(t, s.close(), Config{})
	fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	if f := fs[0]; f.Technique != "sql_injection" || f.Severity != report.SeverityHigh || f.Confidence != report.ConfidenceHigh || f.Counts["sql_injection"] != 60 {
		t.Errorf("got %s %s/%s with %d SQL injections, want sql_injection high/high with 60", f.Technique, f.Severity, f.Confidence, f.Counts["sql_injection"])
	}
}

func TestPasswordField(t *testing.T) {
	for body, want := range map[string]bool{
		"username=admin&password=123456":   true,
		"user=admin&pass=x":                true,
		"j_username=a&j_password=b":        true,
		"login=a&pwd=b":                    true,
		`{"user":"root","password":"x"}`:   true,
		`{"Passwd" : "x"}`:                 true,
		"event=click&id=3":                 false,
		"bypass_cache=1":                   false,
		"compass=north&passenger_count=2":  false,
		"":                                 false,
		"newpassword=a&confirm_password=a": true,
		"userpass=x":                       true,
		"passport=x":                       false,
	} {
		if got := passwordField([]byte(body)); got != want {
			t.Errorf("passwordField(%q) = %v, want %v", body, got, want)
		}
	}
}
