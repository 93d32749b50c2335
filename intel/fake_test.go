package intel

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/netscope"
)

// The fakes answer like the real services, in their documented formats, and
// fail the test if they are ever sent a non-public indicator.

const (
	testAbuseKey = "abuse-test-key-0123456789"
	testVTKey    = "vt-test-key-9876543210"
)

// fakeService records what it was asked and when.
type fakeService struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	hits   []string
	times  []time.Time
	before func(w http.ResponseWriter, r *http.Request, n int) bool // n: 1-based hit; true = answered
}

func (f *fakeService) record(ind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits = append(f.hits, ind)
	f.times = append(f.times, time.Now())
	return len(f.hits)
}

func (f *fakeService) Hits() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.hits...)
}

func (f *fakeService) Times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// abuseData is the "data" object of an AbuseIPDB check answer.
type abuseData map[string]any

// newFakeAbuseIPDB serves GET /api/v2/check for the addresses in data;
// others get a zero-score answer, as AbuseIPDB gives any public address.
func newFakeAbuseIPDB(t *testing.T, data map[string]abuseData) *fakeService {
	f := &fakeService{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := r.URL.Query().Get("ipAddress")
		n := f.record(ip)
		if a, err := netip.ParseAddr(ip); err != nil || netscope.Class(a) != "" {
			t.Errorf("abuseipdb fake: sent non-public or bad address %q", ip)
		}
		if f.before != nil && f.before(w, r, n) {
			return
		}
		if r.URL.Path != "/api/v2/check" || r.Method != http.MethodGet {
			writeJSON(w, http.StatusNotFound, map[string]any{"errors": []map[string]any{{"detail": "no route", "status": 404}}})
			return
		}
		if r.Header.Get("Key") != testAbuseKey {
			// The real service does not echo keys; this one does, to prove
			// we never pass an echo on.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]any{{
				"detail": "Authentication failed. Your API key " + r.Header.Get("Key") + " is either missing, incorrect, or revoked.",
				"status": 401,
			}}})
			return
		}
		if r.Header.Get("Accept") != "application/json" || r.URL.Query().Get("maxAgeInDays") != "90" {
			t.Errorf("abuseipdb fake: Accept %q, maxAgeInDays %q", r.Header.Get("Accept"), r.URL.Query().Get("maxAgeInDays"))
		}
		d, ok := data[ip]
		if !ok {
			d = abuseData{"abuseConfidenceScore": 0, "totalReports": 0, "lastReportedAt": nil}
		}
		out := abuseData{"ipAddress": ip, "isPublic": true, "ipVersion": 4, "isWhitelisted": false,
			"countryCode": "NL", "usageType": "Data Center/Web Hosting/Transit", "isp": "Example Hosting BV",
			"domain": "example-hosting.nl", "hostnames": []string{}, "numDistinctUsers": 0}
		for k, v := range d {
			out[k] = v
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": out})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// vtObject is the "attributes" of a VirusTotal object.
type vtObject map[string]any

// newFakeVirusTotal serves /api/v3/ip_addresses/{ip} and
// /api/v3/domains/{domain} for the objects given; others are NotFoundError.
func newFakeVirusTotal(t *testing.T, objects map[string]vtObject) *fakeService {
	f := &fakeService{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id, typ string
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v3/ip_addresses/"):
			id, typ = strings.TrimPrefix(r.URL.Path, "/api/v3/ip_addresses/"), "ip_address"
			if a, err := netip.ParseAddr(id); err != nil || netscope.Class(a) != "" {
				t.Errorf("virustotal fake: sent non-public or bad address %q", id)
			}
		case strings.HasPrefix(r.URL.Path, "/api/v3/domains/"):
			id, typ = strings.TrimPrefix(r.URL.Path, "/api/v3/domains/"), "domain"
			if n, err := normalizeDomain(id); err != nil || classifyDomain(n) != "" {
				t.Errorf("virustotal fake: sent non-public or bad name %q", id)
			}
		}
		n := f.record(id)
		if f.before != nil && f.before(w, r, n) {
			return
		}
		if typ == "" {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": "NotFoundError", "message": "no route"}})
			return
		}
		if r.Header.Get("x-apikey") != testVTKey {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": "WrongCredentialsError", "message": "Wrong API key"}})
			return
		}
		attrs, ok := objects[id]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": "NotFoundError", "message": typ + " \"" + id + "\" not found"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"id": id, "type": typ, "attributes": attrs,
			"links": map[string]any{"self": "https://www.virustotal.com/api/v3/x/" + id}}})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func vtStats(harmless, malicious, suspicious, undetected int) map[string]int {
	return map[string]int{"harmless": harmless, "malicious": malicious, "suspicious": suspicious, "undetected": undetected, "timeout": 0}
}

// noService fails the test on any request at all.
func noService(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("outside service contacted: %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// testConfig points both online providers at the fakes, with keys, and
// keeps the environment out.
func testConfig(abuse, vt string) Config {
	return Config{
		AbuseIPDB:  AbuseIPDBConfig{ProviderConfig: ProviderConfig{APIKey: testAbuseKey, BaseURL: abuse + "/api/v2", Rate: Rate{Requests: 1000, Per: time.Second, Burst: 100}}},
		VirusTotal: VirusTotalConfig{ProviderConfig: ProviderConfig{APIKey: testVTKey, BaseURL: vt + "/api/v3", Rate: Rate{Requests: 1000, Per: time.Second, Burst: 100}}},
		Getenv:     func(string) string { return "" },
	}
}

func mustNew(t *testing.T, cfg Config) *Checker {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func providerResult(t *testing.T, res *Result, name string) ProviderResult {
	t.Helper()
	for _, p := range res.Providers {
		if p.Provider == name {
			return p
		}
	}
	t.Fatalf("no result for provider %q in %+v", name, res.Providers)
	return ProviderResult{}
}
