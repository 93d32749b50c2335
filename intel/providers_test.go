package intel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAbuseIPDBVerdicts(t *testing.T) {
	fake := newFakeAbuseIPDB(t, map[string]abuseData{
		"185.220.101.4": {"abuseConfidenceScore": 100, "totalReports": 1523, "numDistinctUsers": 311,
			"lastReportedAt": "2024-05-01T10:20:30+00:00", "usageType": "Reserved", "countryCode": "DE",
			"isp": "Tor Exit", "domain": "tor.example.org", "hostnames": []string{"exit1.tor.example.org"}},
		"45.155.205.1": {"abuseConfidenceScore": 40, "totalReports": 7, "lastReportedAt": "2024-04-30T00:00:00+00:00"},
	})
	p, err := NewAbuseIPDB(AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: testAbuseKey, BaseURL: fake.srv.URL + "/api/v2/"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ip   string
		want *Verdict
	}{
		{"malicious", "185.220.101.4", &Verdict{
			Found: true, Malicious: true, Score: 100, Reports: 1523,
			Categories: []string{"Reserved"},
			LastSeen:   time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC),
			Link:       "https://www.abuseipdb.com/check/185.220.101.4",
			Details: map[string]string{"country_code": "DE", "usage_type": "Reserved", "isp": "Tor Exit",
				"domain": "tor.example.org", "hostnames": "exit1.tor.example.org", "num_distinct_users": "311",
				"is_whitelisted": "false"},
		}},
		{"suspicious", "45.155.205.1", &Verdict{
			Found: true, Suspicious: true, Score: 40, Reports: 7,
			Categories: []string{"Data Center/Web Hosting/Transit"},
			LastSeen:   time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC),
			Link:       "https://www.abuseipdb.com/check/45.155.205.1",
			Details: map[string]string{"country_code": "NL", "usage_type": "Data Center/Web Hosting/Transit",
				"isp": "Example Hosting BV", "domain": "example-hosting.nl", "num_distinct_users": "0", "is_whitelisted": "false"},
		}},
		{"clean", "1.1.1.1", &Verdict{
			Found: true, Score: 0, Reports: 0,
			Categories: []string{"Data Center/Web Hosting/Transit"},
			Link:       "https://www.abuseipdb.com/check/1.1.1.1",
			Details: map[string]string{"country_code": "NL", "usage_type": "Data Center/Web Hosting/Transit",
				"isp": "Example Hosting BV", "domain": "example-hosting.nl", "num_distinct_users": "0", "is_whitelisted": "false"},
		}},
		{"ipv4-mapped is unmapped", "::ffff:1.1.1.1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.LookupIP(t.Context(), netip.MustParseAddr(tt.ip))
			if err != nil {
				t.Fatalf("LookupIP(%s): %v", tt.ip, err)
			}
			if tt.want == nil {
				if got.Link != "https://www.abuseipdb.com/check/1.1.1.1" {
					t.Errorf("Link = %q, want the unmapped address", got.Link)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LookupIP(%s) mismatch (-want +got):\n%s", tt.ip, diff)
			}
		})
	}
	if hits := fake.Hits(); !cmp.Equal(hits, []string{"185.220.101.4", "45.155.205.1", "1.1.1.1", "1.1.1.1"}) {
		t.Errorf("server saw %v", hits)
	}
	if _, err := p.LookupDomain(t.Context(), "evil.com"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("LookupDomain error = %v, want ErrUnsupported", err)
	}
}

func TestVirusTotalVerdicts(t *testing.T) {
	fake := newFakeVirusTotal(t, map[string]vtObject{
		"91.92.109.43": {"last_analysis_stats": vtStats(50, 9, 2, 30), "reputation": -41,
			"tags": []string{"c2"}, "last_analysis_date": 1714557630, "as_owner": "Bad Host Ltd", "asn": 64512,
			"country": "BG", "network": "91.92.109.0/24", "total_votes": map[string]int{"harmless": 0, "malicious": 4}},
		"8.8.8.8": {"last_analysis_stats": vtStats(70, 0, 0, 20), "reputation": 500, "as_owner": "GOOGLE",
			"asn": 15169, "country": "US", "last_analysis_date": 1714557630},
		"login-paypa1.com": {"last_analysis_stats": vtStats(60, 2, 1, 25), "reputation": -3, "tags": []string{},
			"registrar": "NameCheap, Inc.", "last_analysis_date": 1714557630,
			"categories": map[string]string{"Forcepoint ThreatSeeker": "phishing and other frauds", "BitDefender": "phishing", "Sophos": "phishing"}},
		"2606:4700:4700::1111": {"last_analysis_stats": vtStats(1, 0, 1, 0)},
	})
	p, err := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: testVTKey, BaseURL: fake.srv.URL + "/api/v3", Rate: Rate{Requests: 100, Per: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Unix(1714557630, 0).UTC()
	tests := []struct {
		name   string
		lookup func(context.Context) (*Verdict, error)
		want   *Verdict
	}{
		{"malicious ip", func(ctx context.Context) (*Verdict, error) {
			return p.LookupIP(ctx, netip.MustParseAddr("91.92.109.43"))
		},
			&Verdict{Found: true, Malicious: true, Score: 100, Reports: 11, Categories: []string{"c2"}, LastSeen: seen,
				Link: "https://www.virustotal.com/gui/ip-address/91.92.109.43",
				Details: map[string]string{"analysis_stats": "malicious=9 suspicious=2 harmless=50 undetected=30 timeout=0",
					"reputation": "-41", "votes": "harmless=0 malicious=4", "as_owner": "Bad Host Ltd", "asn": "64512",
					"country": "BG", "network": "91.92.109.0/24"}}},
		{"clean ip", func(ctx context.Context) (*Verdict, error) { return p.LookupIP(ctx, netip.MustParseAddr("8.8.8.8")) },
			&Verdict{Found: true, Score: 0, Reports: 0, LastSeen: seen,
				Link: "https://www.virustotal.com/gui/ip-address/8.8.8.8",
				Details: map[string]string{"analysis_stats": "malicious=0 suspicious=0 harmless=70 undetected=20 timeout=0",
					"reputation": "500", "votes": "harmless=0 malicious=0", "as_owner": "GOOGLE", "asn": "15169", "country": "US"}}},
		{"suspicious ipv6", func(ctx context.Context) (*Verdict, error) {
			return p.LookupIP(ctx, netip.MustParseAddr("2606:4700:4700::1111"))
		},
			&Verdict{Found: true, Score: 10, Reports: 1,
				Link: "https://www.virustotal.com/gui/ip-address/2606:4700:4700::1111",
				Details: map[string]string{"analysis_stats": "malicious=0 suspicious=1 harmless=1 undetected=0 timeout=0",
					"reputation": "0", "votes": "harmless=0 malicious=0"}}},
		{"phishing domain", func(ctx context.Context) (*Verdict, error) { return p.LookupDomain(ctx, "Login-PayPa1.com.") },
			&Verdict{Found: true, Suspicious: true, Score: 60, Reports: 3, LastSeen: seen,
				// Vendors sorted: BitDefender, Forcepoint ThreatSeeker, Sophos.
				Categories: []string{"phishing", "phishing and other frauds", "phishing"},
				Link:       "https://www.virustotal.com/gui/domain/login-paypa1.com",
				Details: map[string]string{"analysis_stats": "malicious=2 suspicious=1 harmless=60 undetected=25 timeout=0",
					"reputation": "-3", "votes": "harmless=0 malicious=0", "registrar": "NameCheap, Inc."}}},
		{"unknown domain", func(ctx context.Context) (*Verdict, error) { return p.LookupDomain(ctx, "never-seen-before.org") },
			&Verdict{Link: "https://www.virustotal.com/gui/domain/never-seen-before.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.lookup(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	want := []string{"91.92.109.43", "8.8.8.8", "2606:4700:4700::1111", "login-paypa1.com", "never-seen-before.org"}
	if diff := cmp.Diff(want, fake.Hits()); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
}

func TestBadKeyIsUnauthorizedAndNeverPrinted(t *testing.T) {
	abuse := newFakeAbuseIPDB(t, nil)
	vt := newFakeVirusTotal(t, nil)
	const wrongAbuse, wrongVT = "wrong-abuse-key-SECRET", "wrong-vt-key-SECRET"
	cfg := testConfig(abuse.srv.URL, vt.srv.URL)
	cfg.AbuseIPDB.APIKey, cfg.VirusTotal.APIKey = wrongAbuse, wrongVT
	c := mustNew(t, cfg)
	res, err := c.CheckIP(t.Context(), "185.220.101.4")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"abuseipdb", "virustotal"} {
		p := providerResult(t, res, name)
		if p.Status != StatusError || p.ErrorCode != "unauthorized" || !errors.Is(p.Err, ErrUnauthorized) {
			t.Errorf("%s: status %q code %q err %v, want an unauthorized error", name, p.Status, p.ErrorCode, p.Err)
		}
		var api *APIError
		if !errors.As(p.Err, &api) || api.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: error %v is not an *APIError with 401", name, p.Err)
		}
		if !strings.Contains(p.Error, "API key refused") {
			t.Errorf("%s: error %q does not say the key was refused", name, p.Error)
		}
	}
	if providerResult(t, res, "virustotal").Err.(*APIError).Code != "WrongCredentialsError" {
		t.Errorf("virustotal error code not kept: %v", providerResult(t, res, "virustotal").Err)
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "SECRET") {
		t.Errorf("a key leaked into the result: %s", js)
	}
	if !strings.Contains(string(js), "[redacted]") {
		t.Errorf("the fake's echoed key was not redacted but dropped or missed: %s", js)
	}
	if res.Verdict != LevelUnknown {
		t.Errorf("verdict = %q, want unknown when every provider failed", res.Verdict)
	}
	// Errors are not cached: a fixed key works at once.
	if n := len(abuse.Hits()); n != 1 {
		t.Errorf("abuseipdb saw %d requests, want 1 (401 is not retried)", n)
	}
}

func TestRetryAfterThenSuccess(t *testing.T) {
	fake := newFakeAbuseIPDB(t, map[string]abuseData{"185.220.101.4": {"abuseConfidenceScore": 90, "totalReports": 3}})
	fake.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-RateLimit-Limit", "1000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []map[string]any{{
				"detail": "Daily rate limit of 1000 requests exceeded for this endpoint.", "status": 429}}})
			return true
		}
		return false
	}
	p, err := NewAbuseIPDB(AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: testAbuseKey, BaseURL: fake.srv.URL + "/api/v2"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	v, err := p.LookupIP(t.Context(), netip.MustParseAddr("185.220.101.4"))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("retried after %s, want Retry-After's 1s honoured", el)
	}
	if v.Score != 90 || !v.Malicious {
		t.Errorf("verdict after retry = %+v", v)
	}
	times := fake.Times()
	if len(times) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
		t.Errorf("second request %s after the 429, want >= 1s", gap)
	}
}

func TestRateLimitedAfterBoundedRetries(t *testing.T) {
	var calls atomic.Int32
	fake := newFakeVirusTotal(t, nil)
	fake.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		calls.Add(1)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"code": "QuotaExceededError", "message": "Quota exceeded"}})
		return true
	}
	p, err := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: testVTKey, BaseURL: fake.srv.URL + "/api/v3", Rate: Rate{Requests: 100, Per: time.Second}, MaxRetries: 3}})
	if err != nil {
		t.Fatal(err)
	}
	p.r.backoff.Base = 5 * time.Millisecond // no Retry-After: back off up to 5, 10, 20 ms
	_, err = p.LookupIP(t.Context(), netip.MustParseAddr("91.92.109.43"))
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("error = %v, want ErrRateLimited", err)
	}
	var api *APIError
	if !errors.As(err, &api) || api.Code != "QuotaExceededError" || api.StatusCode != 429 {
		t.Errorf("error = %#v, want a 429 QuotaExceededError", err)
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("server saw %d requests, want 1 + MaxRetries(3)", n)
	}
}

func TestLongRetryAfterFailsFastAndPausesProvider(t *testing.T) {
	fake := newFakeAbuseIPDB(t, nil)
	fake.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []map[string]any{{"detail": "Daily rate limit exceeded", "status": 429}}})
		return true
	}
	p, err := NewAbuseIPDB(AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: testAbuseKey, BaseURL: fake.srv.URL + "/api/v2"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.LookupIP(t.Context(), netip.MustParseAddr("1.1.1.1"))
	var api *APIError
	if !errors.As(err, &api) || api.RetryAfter != time.Hour || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("error = %v, want a rate-limit APIError with RetryAfter 1h", err)
	}
	// The paused provider refuses at once without asking the server again.
	_, err = p.LookupIP(t.Context(), netip.MustParseAddr("8.8.8.8"))
	if !errors.Is(err, ErrRateLimited) {
		t.Errorf("second lookup error = %v, want ErrRateLimited", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s, want an immediate failure", el)
	}
	if n := len(fake.Hits()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestServerErrorRetried(t *testing.T) {
	fake := newFakeVirusTotal(t, map[string]vtObject{"8.8.8.8": {"last_analysis_stats": vtStats(70, 0, 0, 20)}})
	fake.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]any{"code": "TransientError", "message": "try again"}})
			return true
		}
		return false
	}
	p, err := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: testVTKey, BaseURL: fake.srv.URL + "/api/v3", Rate: Rate{Requests: 100, Per: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	p.r.backoff.Base = time.Millisecond
	v, err := p.LookupIP(t.Context(), netip.MustParseAddr("8.8.8.8"))
	if err != nil || !v.Found {
		t.Fatalf("LookupIP = %+v, %v; want success after one retry", v, err)
	}
	if n := len(fake.Hits()); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	released := make(chan struct{}, 8)
	fake := newFakeAbuseIPDB(t, nil)
	fake.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		// Hang until the client gives up; the handler then returns, so
		// the server's Close (in Cleanup) does not wait on it.
		<-r.Context().Done()
		released <- struct{}{}
		return true
	}
	cfg := testConfig(fake.srv.URL, noService(t).URL)
	cfg.Timeout = 100 * time.Millisecond
	cfg.VirusTotal.Disabled = true
	c := mustNew(t, cfg)
	start := time.Now()
	res, err := c.CheckIP(t.Context(), "185.220.101.4")
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s with a 100ms timeout", el)
	}
	p := providerResult(t, res, "abuseipdb")
	if !errors.Is(p.Err, context.DeadlineExceeded) || p.ErrorCode != "timeout" {
		t.Errorf("error %v (code %q), want one wrapping context.DeadlineExceeded", p.Err, p.ErrorCode)
	}
	select {
	case <-released:
	case <-time.After(2 * time.Second):
		t.Error("the server's handler never saw the request abandoned")
	}
	if n := len(fake.Hits()); n != 1 {
		t.Errorf("server saw %d requests; a timeout is not retried", n)
	}
}

func TestCallerDeadlineBeforeRateLimiterAllows(t *testing.T) {
	fake := newFakeVirusTotal(t, map[string]vtObject{"8.8.8.8": {"last_analysis_stats": vtStats(70, 0, 0, 20)}})
	p, err := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: testVTKey, BaseURL: fake.srv.URL + "/api/v3", Rate: Rate{Requests: 1, Per: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.LookupIP(t.Context(), netip.MustParseAddr("8.8.8.8")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = p.LookupIP(ctx, netip.MustParseAddr("8.8.4.4"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("waited %s for a token due in an hour", el)
	}
	if n := len(fake.Hits()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestNewProviderRequiresKeyAndValidConfig(t *testing.T) {
	if _, err := NewAbuseIPDB(AbuseIPDBConfig{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("NewAbuseIPDB without key: %v", err)
	}
	if _, err := NewVirusTotal(VirusTotalConfig{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("NewVirusTotal without key: %v", err)
	}
	if _, err := NewAbuseIPDB(AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: "k"}, MaxAgeInDays: 400}); err == nil {
		t.Error("MaxAgeInDays 400 accepted")
	}
	if _, err := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: "k", BaseURL: "ftp://x"}}); err == nil {
		t.Error("ftp base URL accepted")
	}
	if _, err := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: "k", Rate: Rate{Requests: -1, Per: time.Second}}}); err == nil {
		t.Error("negative rate accepted")
	}
}
