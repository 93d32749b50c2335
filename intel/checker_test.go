package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckMergesProviders(t *testing.T) {
	abuse := newFakeAbuseIPDB(t, map[string]abuseData{
		"185.220.101.4": {"abuseConfidenceScore": 100, "totalReports": 1523},
		"45.155.205.1":  {"abuseConfidenceScore": 30, "totalReports": 2},
	})
	vt := newFakeVirusTotal(t, map[string]vtObject{
		"185.220.101.4":    {"last_analysis_stats": vtStats(50, 9, 0, 30)},
		"8.8.8.8":          {"last_analysis_stats": vtStats(70, 0, 0, 20)},
		"login-paypa1.com": {"last_analysis_stats": vtStats(60, 4, 0, 25)},
		"github.com":       {"last_analysis_stats": vtStats(70, 0, 0, 20)},
	})
	dir := t.TempDir()
	listPath := filepath.Join(dir, "c2.txt")
	if err := os.WriteFile(listPath, []byte("45.155.205.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(abuse.srv.URL, vt.srv.URL)
	cfg.IndicatorFiles = []string{listPath}
	c := mustNew(t, cfg)

	tests := []struct {
		indicator string
		kind      Kind
		verdict   Level
		score     int
		statuses  []Status // local, abuseipdb, virustotal
	}{
		{"185.220.101.4", KindIP, LevelMalicious, 100, []Status{StatusOK, StatusOK, StatusOK}},
		{"8.8.8.8", KindIP, LevelClean, 0, []Status{StatusOK, StatusOK, StatusOK}},
		// The list match makes it malicious even though AbuseIPDB only
		// finds it suspicious and VirusTotal has never seen it.
		{"45.155.205.1", KindIP, LevelMalicious, 100, []Status{StatusOK, StatusOK, StatusOK}},
		{"login-paypa1.com", KindDomain, LevelMalicious, 100, []Status{StatusOK, StatusSkipped, StatusOK}},
		{"GitHub.com.", KindDomain, LevelClean, 0, []Status{StatusOK, StatusSkipped, StatusOK}},
		{"never-seen-before.org", KindDomain, LevelUnknown, 0, []Status{StatusOK, StatusSkipped, StatusOK}},
	}
	for _, tt := range tests {
		t.Run(tt.indicator, func(t *testing.T) {
			res, err := c.Check(t.Context(), tt.indicator)
			if err != nil {
				t.Fatal(err)
			}
			var statuses []Status
			for _, p := range res.Providers {
				statuses = append(statuses, p.Status)
				if p.Status == StatusError {
					t.Errorf("%s failed: %v", p.Provider, p.Err)
				}
			}
			if res.Kind != tt.kind || res.Verdict != tt.verdict || res.Score != tt.score || !res.Public {
				t.Errorf("got kind %s verdict %s score %d public %v, want %s %s %d true",
					res.Kind, res.Verdict, res.Score, res.Public, tt.kind, tt.verdict, tt.score)
			}
			if diff := cmp.Diff(tt.statuses, statuses); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
	res, _ := c.CheckDomain(t.Context(), "github.com")
	if p := providerResult(t, res, "abuseipdb"); p.Skipped != "abuseipdb does not look up domains" {
		t.Errorf("abuseipdb skip reason %q", p.Skipped)
	}
}

func TestResultJSON(t *testing.T) {
	abuse := newFakeAbuseIPDB(t, map[string]abuseData{"185.220.101.4": {"abuseConfidenceScore": 100, "totalReports": 12,
		"lastReportedAt": "2024-05-01T10:20:30+00:00", "usageType": "Reserved", "isp": "Tor\x1b[31m Exit\u202e"}})
	cfg := testConfig(abuse.srv.URL, "http://127.0.0.1:1")
	cfg.VirusTotal.APIKey = ""
	c := mustNew(t, cfg)
	res, err := c.CheckIP(t.Context(), "185.220.101.4")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "indicator": "185.220.101.4",
  "kind": "ip",
  "public": true,
  "verdict": "malicious",
  "score": 100,
  "providers": [
    {
      "provider": "abuseipdb",
      "status": "ok",
      "verdict": {
        "found": true,
        "malicious": true,
        "suspicious": false,
        "score": 100,
        "categories": [
          "Reserved"
        ],
        "reports": 12,
        "last_seen": "2024-05-01T10:20:30Z",
        "link": "https://www.abuseipdb.com/check/185.220.101.4",
        "details": {
          "country_code": "NL",
          "domain": "example-hosting.nl",
          "is_whitelisted": "false",
          "isp": "Tor[31m Exit",
          "num_distinct_users": "0",
          "usage_type": "Reserved"
        }
      }
    },
    {
      "provider": "virustotal",
      "status": "skipped",
      "skipped": "no API key: set VIRUSTOTAL_API_KEY or Config.VirusTotal.APIKey"
    }
  ]
}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestNonPublicNeverSent(t *testing.T) {
	dir := t.TempDir()
	listPath := filepath.Join(dir, "internal.txt")
	if err := os.WriteFile(listPath, []byte("10.1.2.3\nfileserver.corp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := noService(t)
	cfg := testConfig(out.URL, out.URL)
	cfg.IndicatorFiles = []string{listPath}
	c := mustNew(t, cfg)
	ips := []string{"10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "::1", "169.254.169.254", "fe80::1%eth0",
		"224.0.0.251", "ff02::fb", "0.0.0.0", "::", "100.64.1.1", "192.0.2.10", "198.51.100.7", "203.0.113.99",
		"2001:db8::1", "fd12:3456::1", "::ffff:192.168.1.1", "255.255.255.255", "240.0.0.1", "198.18.0.1"}
	for _, ip := range ips {
		res, err := c.CheckIP(t.Context(), ip)
		if err != nil {
			t.Errorf("CheckIP(%s): %v", ip, err)
			continue
		}
		if res.Public {
			t.Errorf("%s reported public", ip)
		}
		for _, p := range res.Providers[1:] {
			if p.Status != StatusSkipped || !strings.HasSuffix(p.Skipped, "address never sent to an outside service") {
				t.Errorf("%s: %s status %q reason %q", ip, p.Provider, p.Status, p.Skipped)
			}
		}
	}
	names := []string{"printer.local", "fileserver.corp", "db.internal", "nas.lan", "router.home.arpa", "foo.test",
		"www.example", "x.invalid", "app.localhost", "localhost", "wpad", "thing.notarealtld", "4.3.2.1.in-addr.arpa", "co.uk"}
	for _, name := range names {
		res, err := c.CheckDomain(t.Context(), name)
		if err != nil {
			t.Errorf("CheckDomain(%s): %v", name, err)
			continue
		}
		if res.Public || providerResult(t, res, "virustotal").Status != StatusSkipped {
			t.Errorf("%s: public %v, virustotal %+v", name, res.Public, providerResult(t, res, "virustotal"))
		}
	}
	// The local list still sees them.
	for _, ind := range []string{"10.1.2.3", "fileserver.corp"} {
		res, err := c.Check(t.Context(), ind)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != LevelMalicious || providerResult(t, res, "local").Verdict.Details["matched"] != ind {
			t.Errorf("%s: verdict %s, local %+v", ind, res.Verdict, providerResult(t, res, "local").Verdict)
		}
	}
	// Providers used alone refuse too.
	a, _ := NewAbuseIPDB(AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: "k", BaseURL: out.URL}})
	v, _ := NewVirusTotal(VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: "k", BaseURL: out.URL}})
	for _, ip := range []string{"10.0.0.1", "::ffff:127.0.0.1", "192.0.2.1"} {
		addr, _ := parseIP(ip)
		if _, err := a.LookupIP(t.Context(), addr); !errors.Is(err, ErrNotPublic) {
			t.Errorf("abuseipdb LookupIP(%s) = %v, want ErrNotPublic", ip, err)
		}
		if _, err := v.LookupIP(t.Context(), addr); !errors.Is(err, ErrNotPublic) {
			t.Errorf("virustotal LookupIP(%s) = %v, want ErrNotPublic", ip, err)
		}
	}
	if _, err := v.LookupDomain(t.Context(), "printer.local"); !errors.Is(err, ErrNotPublic) {
		t.Errorf("virustotal LookupDomain(printer.local) = %v, want ErrNotPublic", err)
	}
}

func TestKeysFromEnvironmentOnlyAsDefault(t *testing.T) {
	abuse := newFakeAbuseIPDB(t, nil)
	vt := newFakeVirusTotal(t, nil)
	env := map[string]string{"ABUSEIPDB_API_KEY": testAbuseKey, "VIRUSTOTAL_API_KEY": "env-vt-key-not-used"}
	cfg := testConfig(abuse.srv.URL, vt.srv.URL)
	cfg.AbuseIPDB.APIKey = "" // from the environment
	cfg.Getenv = func(k string) string { return env[k] }
	c := mustNew(t, cfg)
	res, err := c.CheckIP(t.Context(), "8.8.8.8")
	if err != nil {
		t.Fatal(err)
	}
	// abuseipdb used the environment's key (the fake accepts only it);
	// virustotal kept Config's key over the environment's.
	for _, name := range []string{"abuseipdb", "virustotal"} {
		if p := providerResult(t, res, name); p.Status != StatusOK {
			t.Errorf("%s: %+v", name, p)
		}
	}

	cfg = testConfig(abuse.srv.URL, vt.srv.URL)
	cfg.AbuseIPDB.APIKey, cfg.VirusTotal.APIKey = "", ""
	c = mustNew(t, cfg)
	res, err = c.CheckIP(t.Context(), "8.8.8.8")
	if err != nil {
		t.Fatal(err)
	}
	want := []ProviderResult{
		{Provider: "abuseipdb", Status: StatusSkipped, Skipped: "no API key: set ABUSEIPDB_API_KEY or Config.AbuseIPDB.APIKey"},
		{Provider: "virustotal", Status: StatusSkipped, Skipped: "no API key: set VIRUSTOTAL_API_KEY or Config.VirusTotal.APIKey"},
	}
	if diff := cmp.Diff(want, res.Providers); diff != "" {
		t.Errorf("providers without keys (-want +got):\n%s", diff)
	}
	if res.Verdict != LevelUnknown {
		t.Errorf("verdict %s, want unknown", res.Verdict)
	}

	cfg.Offline = true
	cfg.Getenv = func(k string) string { t.Errorf("Offline read %s", k); return "" }
	mustNew(t, cfg)
}

func TestCache(t *testing.T) {
	vt := newFakeVirusTotal(t, map[string]vtObject{"8.8.8.8": {"last_analysis_stats": vtStats(70, 0, 0, 20)}})
	cfg := testConfig("http://127.0.0.1:1", vt.srv.URL)
	cfg.AbuseIPDB.Disabled = true
	c := mustNew(t, cfg)
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	c.cache.now = func() time.Time { return now }

	first, err := c.CheckIP(t.Context(), "8.8.8.8")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CheckIP(t.Context(), "::ffff:8.8.8.8") // same indicator, unmapped
	if err != nil {
		t.Fatal(err)
	}
	if n := len(vt.Hits()); n != 1 {
		t.Fatalf("server saw %d requests, want 1 (second from cache)", n)
	}
	if first.Providers[0].Cached || !second.Providers[0].Cached {
		t.Errorf("cached flags: first %v second %v", first.Providers[0].Cached, second.Providers[0].Cached)
	}
	if diff := cmp.Diff(first.Providers[0].Verdict, second.Providers[0].Verdict); diff != "" {
		t.Errorf("cached verdict differs:\n%s", diff)
	}
	// A caller changing its copy does not change the cache.
	second.Providers[0].Verdict.Details["as_owner"] = "changed"
	// The domain kind has its own key.
	if _, err := c.CheckDomain(t.Context(), "github.com"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	third, _ := c.CheckIP(t.Context(), "8.8.8.8")
	if !third.Providers[0].Cached || third.Providers[0].Verdict.Details["as_owner"] == "changed" {
		t.Errorf("within TTL: %+v", third.Providers[0])
	}
	now = now.Add(2 * time.Minute)
	if _, err := c.CheckIP(t.Context(), "8.8.8.8"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"8.8.8.8", "github.com", "8.8.8.8"}, vt.Hits()); diff != "" {
		t.Errorf("after the TTL (-want +got):\n%s", diff)
	}
}

func TestCacheBounded(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(time.Hour, 3, func() time.Time { return now })
	for i := range 5 {
		now = now.Add(time.Second)
		c.put(fmt.Sprint(i), &Verdict{Score: i})
	}
	if len(c.m) != 3 {
		t.Fatalf("cache holds %d, want 3", len(c.m))
	}
	var keys []string
	for k := range c.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"2", "3", "4"}, keys); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

func TestConcurrentIdenticalLookupsShareOneRequest(t *testing.T) {
	vt := newFakeVirusTotal(t, map[string]vtObject{"91.92.109.43": {"last_analysis_stats": vtStats(50, 9, 0, 30)}})
	vt.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		time.Sleep(200 * time.Millisecond)
		return false
	}
	cfg := testConfig("http://127.0.0.1:1", vt.srv.URL)
	cfg.AbuseIPDB.Disabled = true
	cfg.CacheTTL = -1 // only the sharing can save requests
	c := mustNew(t, cfg)
	var wg sync.WaitGroup
	results := make([]*Result, 10)
	for i := range results {
		wg.Go(func() {
			res, err := c.CheckIP(t.Context(), "91.92.109.43")
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	if n := len(vt.Hits()); n != 1 {
		t.Errorf("server saw %d requests for 10 identical concurrent lookups, want 1", n)
	}
	for i, res := range results {
		if res == nil || res.Verdict != LevelMalicious {
			t.Errorf("lookup %d: %+v", i, res)
		}
	}
}

func TestSharedLookupSurvivesFirstCallerLeaving(t *testing.T) {
	vt := newFakeVirusTotal(t, map[string]vtObject{"91.92.109.43": {"last_analysis_stats": vtStats(50, 9, 0, 30)}})
	vt.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		select {
		case <-time.After(150 * time.Millisecond):
		case <-r.Context().Done():
		}
		return false
	}
	cfg := testConfig("http://127.0.0.1:1", vt.srv.URL)
	cfg.AbuseIPDB.Disabled = true
	c := mustNew(t, cfg)
	leaderCtx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var leader, follower *Result
	var leaderErr error
	wg.Go(func() { leader, leaderErr = c.CheckIP(leaderCtx, "91.92.109.43") })
	time.Sleep(10 * time.Millisecond)
	wg.Go(func() {
		var err error
		follower, err = c.CheckIP(t.Context(), "91.92.109.43")
		if err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if !errors.Is(leaderErr, context.DeadlineExceeded) || leader == nil || leader.Providers[0].ErrorCode != "timeout" {
		t.Errorf("first caller: %v, %+v", leaderErr, leader)
	}
	if follower == nil || follower.Verdict != LevelMalicious {
		t.Errorf("second caller inherited the first one's deadline: %+v", follower)
	}
}

func TestRateLimiterHoldsUnderConcurrency(t *testing.T) {
	vt := newFakeVirusTotal(t, nil)
	cfg := testConfig("http://127.0.0.1:1", vt.srv.URL)
	cfg.AbuseIPDB.Disabled = true
	cfg.VirusTotal.Rate = Rate{Requests: 5, Per: 200 * time.Millisecond} // one every 40ms
	c := mustNew(t, cfg)
	const n = 12
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := c.CheckIP(t.Context(), fmt.Sprintf("93.184.216.%d", i+1))
			if err != nil || res.Providers[0].Status != StatusOK {
				t.Errorf("lookup %d: %v %+v", i, err, res)
			}
		})
	}
	wg.Wait()
	times := vt.Times()
	if len(times) != n {
		t.Fatalf("server saw %d requests, want %d", len(times), n)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	// With a limit of 5 per 200ms, any six requests span at least 200ms
	// (less scheduling slack).
	for i := 0; i+5 < len(times); i++ {
		if span := times[i+5].Sub(times[i]); span < 160*time.Millisecond {
			t.Errorf("requests %d-%d within %s: limiter let more than 5 per 200ms through", i, i+5, span)
		}
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("%d requests at 5 per 200ms took %s, want >= 440ms", n, el)
	}
}

func TestInputValidation(t *testing.T) {
	c := mustNew(t, Config{Offline: true})
	tests := []struct {
		name  string
		check func() (*Result, error)
		kind  Kind
	}{
		{"bad ip", func() (*Result, error) { return c.CheckIP(t.Context(), "300.1.1.1") }, KindIP},
		{"empty ip", func() (*Result, error) { return c.CheckIP(t.Context(), " ") }, KindIP},
		{"ip with port", func() (*Result, error) { return c.CheckIP(t.Context(), "1.2.3.4:80") }, KindIP},
		{"domain with bang", func() (*Result, error) { return c.CheckDomain(t.Context(), "evil!.com") }, KindDomain},
		{"domain with space", func() (*Result, error) { return c.CheckDomain(t.Context(), "evil .com") }, KindDomain},
		{"domain is ip", func() (*Result, error) { return c.CheckDomain(t.Context(), "1.2.3.4") }, KindDomain},
		{"empty label", func() (*Result, error) { return c.CheckDomain(t.Context(), "a..com") }, KindDomain},
		{"hyphen", func() (*Result, error) { return c.CheckDomain(t.Context(), "-a.com") }, KindDomain},
		{"long label", func() (*Result, error) { return c.CheckDomain(t.Context(), strings.Repeat("a", 64)+".com") }, KindDomain},
		{"non-ascii", func() (*Result, error) { return c.CheckDomain(t.Context(), "bücher.de") }, KindDomain},
		{"url", func() (*Result, error) { return c.Check(t.Context(), "http://evil.com/x") }, ""},
		{"dotted junk", func() (*Result, error) { return c.Check(t.Context(), "1.2.3") }, KindIP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.check()
			var ie *InputError
			if !errors.As(err, &ie) || res != nil {
				t.Fatalf("got %+v, %v; want an *InputError", res, err)
			}
			if ie.Kind != tt.kind || ie.Reason == "" {
				t.Errorf("InputError %+v, want kind %s", ie, tt.kind)
			}
		})
	}
	long := strings.Repeat("x", 5000)
	_, err := c.CheckIP(t.Context(), long)
	if len(err.Error()) > 300 {
		t.Errorf("error echoes %d bytes of input", len(err.Error()))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	l := NewList("dup")
	if _, err := New(Config{Offline: true, Providers: []Provider{l, NewList("dup")}}); err == nil {
		t.Error("duplicate provider names accepted")
	}
	if _, err := New(Config{Offline: true, Providers: []Provider{nil}}); err == nil {
		t.Error("nil provider accepted")
	}
	if _, err := New(Config{Offline: true, IndicatorFiles: []string{filepath.Join(t.TempDir(), "missing.txt")}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing indicator file: %v", err)
	}
}

// TestSources: Sources says, without looking anything up, which providers
// answer and why the others do not, in Result order.
func TestSources(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		name string
		cfg  Config
		want []Source
	}{
		{"no keys", Config{Getenv: noEnv}, []Source{
			{Provider: "abuseipdb", Skipped: "no API key: set ABUSEIPDB_API_KEY or Config.AbuseIPDB.APIKey"},
			{Provider: "virustotal", Skipped: "no API key: set VIRUSTOTAL_API_KEY or Config.VirusTotal.APIKey"},
		}},
		{"one key from the environment", Config{Getenv: func(k string) string {
			if k == "VIRUSTOTAL_API_KEY" {
				return "vt-key"
			}
			return ""
		}}, []Source{
			{Provider: "abuseipdb", Skipped: "no API key: set ABUSEIPDB_API_KEY or Config.AbuseIPDB.APIKey"},
			{Provider: "virustotal"},
		}},
		{"offline with a list", Config{Offline: true, IndicatorFiles: []string{"testdata/blocklist.txt"}, Getenv: noEnv}, []Source{
			{Provider: "local"},
			{Provider: "abuseipdb", Skipped: "offline: online providers not consulted"},
			{Provider: "virustotal", Skipped: "offline: online providers not consulted"},
		}},
		{"disabled and custom", Config{
			AbuseIPDB:  AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: "k"}},
			VirusTotal: VirusTotalConfig{ProviderConfig: ProviderConfig{Disabled: true}},
			Providers:  []Provider{NewList("extra")},
			Getenv:     noEnv,
		}, []Source{{Provider: "abuseipdb"}, {Provider: "extra"}}},
	}
	for _, tt := range tests {
		c, err := New(tt.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, c.Sources()); diff != "" {
			t.Errorf("%s: Sources (-want +got):\n%s", tt.name, diff)
		}
	}
}
