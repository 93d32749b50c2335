package mcpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agents-of-shield/reconpcap/intel"
)

// noEnv keeps the tests from reading API keys from the environment.
func noEnv(string) string { return "" }

// resultFor finds the result for one indicator.
func resultFor(t testing.TB, r *ThreatIntelResult, indicator string) intel.Result {
	t.Helper()
	for _, res := range r.Results {
		if res.Indicator == indicator {
			return res
		}
	}
	t.Fatalf("no result for %s in %+v", indicator, r.Results)
	return intel.Result{}
}

// providerResult finds one provider's part of a result.
func providerResult(t testing.TB, r intel.Result, name string) intel.ProviderResult {
	t.Helper()
	for _, p := range r.Providers {
		if p.Provider == name {
			return p
		}
	}
	t.Fatalf("%s: no provider %s in %+v", r.Indicator, name, r.Providers)
	return intel.ProviderResult{}
}

func TestLookupThreatIntelLocalList(t *testing.T) {
	list := filepath.Join(t.TempDir(), "blocklist.csv")
	if err := os.WriteFile(list, []byte("# exported blocklist\nindicator,category\n203.0.113.0/24,exfil-drop\nbad-domain.com,phishing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, c := newTestServer(t, Config{Roots: []string{testdataDir(t)}, Intel: intel.Config{IndicatorFiles: []string{list}, Offline: true}})

	// from_findings: exfil_high.pcap's one finding is 10.66.0.10 uploading
	// to 203.0.113.50, which the list blocks.
	got := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"pcap_file": "exfil_high.pcap", "from_findings": true})
	if got.PcapFile != filepath.Join(testdataDir(t), "exfil_high.pcap") || got.FindingAddresses != 2 || len(got.Results) != 2 || got.Flagged != 1 {
		t.Fatalf("from_findings: pcap_file %q, %d finding addresses, %d results, %d flagged: %+v", got.PcapFile, got.FindingAddresses, len(got.Results), got.Flagged, got.Results)
	}
	if len(got.Sources) != 1 || got.Sources[0].Provider != "local" || got.Note != "" {
		t.Errorf("sources %+v, note %q: want the local list", got.Sources, got.Note)
	}
	if len(got.Unconfigured) != 2 || !strings.Contains(got.Unconfigured[0].Reason, "offline") {
		t.Errorf("unconfigured %+v, want both online providers, offline", got.Unconfigured)
	}
	drop := resultFor(t, got, "203.0.113.50")
	if drop.Verdict != intel.LevelMalicious || drop.Public {
		t.Errorf("203.0.113.50: verdict %s public %v, want malicious from the local list (a documentation address, never public)", drop.Verdict, drop.Public)
	}
	if v := providerResult(t, drop, "local").Verdict; v == nil || !v.Found || !slices.Contains(v.Categories, "exfil-drop") {
		t.Errorf("203.0.113.50: local verdict %+v, want the list entry's category", v)
	}
	if ab := providerResult(t, drop, "abuseipdb"); ab.Status != intel.StatusSkipped {
		t.Errorf("203.0.113.50: abuseipdb %+v, want skipped", ab)
	}
	if r := resultFor(t, got, "10.66.0.10"); r.Verdict != intel.LevelUnknown {
		t.Errorf("10.66.0.10: %s, want unknown (not on the list)", r.Verdict)
	}
	// With no indicators, from_findings is implied.
	implied := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"pcap_file": "exfil_high.pcap"})
	if len(implied.Results) != 2 || implied.Flagged != 1 {
		t.Errorf("implied from_findings: %+v", implied.Results)
	}

	// Explicit indicators, no capture read.
	exp := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{
		"indicators": []string{"203.0.113.50", "Bad-Domain.com.", "198.51.100.7", "203.0.113.50", "not a domain!", "http://x.example/"},
	})
	if exp.PcapFile != "" || exp.FindingAddresses != 0 {
		t.Errorf("explicit indicators read a capture: %q", exp.PcapFile)
	}
	if len(exp.Results) != 3 || exp.Flagged != 2 {
		t.Fatalf("explicit: %d results, %d flagged: %+v", len(exp.Results), exp.Flagged, exp.Results)
	}
	if d := resultFor(t, exp, "bad-domain.com"); d.Kind != intel.KindDomain || d.Verdict != intel.LevelMalicious {
		t.Errorf("bad-domain.com: %+v", d)
	}
	if r := resultFor(t, exp, "198.51.100.7"); r.Verdict != intel.LevelUnknown {
		t.Errorf("198.51.100.7: %s, want unknown", r.Verdict)
	}
	if len(exp.Invalid) != 2 || exp.Invalid[0].Indicator != "not a domain!" || exp.Invalid[1].Indicator != "http://x.example/" {
		t.Errorf("invalid %+v", exp.Invalid)
	}

	// Both: the explicit ones first, the findings' addresses deduplicated.
	both := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"pcap_file": "exfil_high.pcap", "from_findings": true, "indicators": []string{"203.0.113.50"}})
	if len(both.Results) != 2 || both.Results[0].Indicator != "203.0.113.50" || both.Results[1].Indicator != "10.66.0.10" {
		t.Errorf("indicators with from_findings: %+v", both.Results)
	}

	if msg := toolErrorText(t, c, "lookup_threat_intel", map[string]any{"indicators": make([]string, 21)}); !strings.Contains(msg, "21 indicators: at most 20") {
		t.Errorf("21 indicators: %q", msg)
	}
	if msg := toolErrorText(t, c, "lookup_threat_intel", map[string]any{"pcap_file": "../go.mod"}); !strings.Contains(msg, "resolves outside the allowed roots") {
		t.Errorf("path escape: %q", msg)
	}
}

// TestLookupThreatIntelNothingConfigured: no list, no key: a normal
// result that says so, not an error.
func TestLookupThreatIntelNothingConfigured(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{testdataDir(t)}, Intel: intel.Config{Getenv: noEnv}})
	got := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"indicators": []string{"8.8.8.8"}})
	if !strings.HasPrefix(got.Note, "no intelligence source is configured: ") || !strings.Contains(got.Note, "abuseipdb, virustotal") {
		t.Errorf("note %q", got.Note)
	}
	if len(got.Sources) != 0 || len(got.Unconfigured) != 2 || !strings.Contains(got.Unconfigured[0].Reason, "ABUSEIPDB_API_KEY") || !strings.Contains(got.Unconfigured[1].Reason, "VIRUSTOTAL_API_KEY") {
		t.Errorf("sources %+v, unconfigured %+v", got.Sources, got.Unconfigured)
	}
	r := resultFor(t, got, "8.8.8.8")
	if r.Verdict != intel.LevelUnknown || len(r.Providers) != 2 || r.Providers[0].Status != intel.StatusSkipped {
		t.Errorf("8.8.8.8: %+v", r)
	}
	// Private finding addresses are not looked up when nothing could
	// answer for them.
	f := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"pcap_file": "scan_syn.pcap"})
	if len(f.Results) != 0 || !slices.Equal(f.NotLookedUp, []string{"10.66.0.10", "10.66.0.20"}) || f.FindingAddresses != 2 {
		t.Errorf("scan_syn.pcap: results %+v, not looked up %v", f.Results, f.NotLookedUp)
	}
}

// TestLookupThreatIntelNeverSendsPrivate stands an httptest server in for
// AbuseIPDB: it fails the test on any address that is not public, and the
// one public address of the capture's findings and of the indicators
// reaches it.
func TestLookupThreatIntelNeverSendsPrivate(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := r.URL.Query().Get("ipAddress")
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.IsGlobalUnicast() || a.IsPrivate() || netip.MustParsePrefix("203.0.113.0/24").Contains(a) {
			t.Errorf("the fake AbuseIPDB was sent %q", ip)
		}
		if r.URL.Path != "/api/v2/check" || r.Header.Get("Key") != "k" {
			t.Errorf("request %s with key %q", r.URL.Path, r.Header.Get("Key"))
		}
		mu.Lock()
		seen = append(seen, ip)
		mu.Unlock()
		score := 0
		if ip == "185.220.101.4" {
			score = 100
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
			"ipAddress": ip, "isPublic": true, "ipVersion": 4, "abuseConfidenceScore": score, "totalReports": score / 10,
			"countryCode": "DE", "usageType": "Data Center\x1b[31m", "isp": "Example\x07 ISP", "hostnames": []string{},
		}})
	}))
	t.Cleanup(fake.Close)

	dir := t.TempDir()
	p := newPcap(t, filepath.Join(dir, "traffic.pcap"))
	for _, src := range []string{"185.220.101.4", "192.168.7.7"} {
		for port := range uint16(20) {
			p.tcp(src, "10.0.0.5", 40000+port, 1+port, "S", 1000, nil, time.Millisecond)
			p.tcp("10.0.0.5", src, 1+port, 40000+port, "RA", 0, nil, time.Millisecond)
		}
	}
	p.close()

	s, c := newTestServer(t, Config{Roots: []string{dir}, Intel: intel.Config{
		AbuseIPDB: intel.AbuseIPDBConfig{ProviderConfig: intel.ProviderConfig{APIKey: "k", BaseURL: fake.URL + "/api/v2"}},
		Getenv:    noEnv,
	}})
	private := []string{"10.1.2.3", "::ffff:192.168.0.1", "127.0.0.1", "169.254.1.1", "100.64.0.1", "fd00::1", "198.51.100.9", "internal-host", "printer.local"}
	got := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"indicators": append([]string{"8.8.8.8"}, private...), "from_findings": true})

	mu.Lock()
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"185.220.101.4", "8.8.8.8"}) {
		t.Errorf("the fake saw %v, want only the two public addresses", seen)
	}
	mu.Unlock()
	if len(got.Results) != 1+len(private)+1 || got.FindingAddresses != 3 {
		t.Fatalf("%d results, %d finding addresses: %+v", len(got.Results), got.FindingAddresses, got.Results)
	}
	// Control bytes in the service's answer are gone (intel drops them)
	// before the result reaches the model.
	raw, _ := json.Marshal(got)
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	walkStrings(v, func(s string) {
		if !clean(s) {
			t.Errorf("control bytes from the service reached the result: %q", s)
		}
	})
	// The findings' private addresses: nothing could answer, so they are
	// listed, not looked up.
	slices.Sort(got.NotLookedUp)
	if !slices.Equal(got.NotLookedUp, []string{"10.0.0.5", "192.168.7.7"}) {
		t.Errorf("not_looked_up %v", got.NotLookedUp)
	}
	bad := resultFor(t, got, "185.220.101.4")
	ab := providerResult(t, bad, "abuseipdb")
	if bad.Verdict != intel.LevelMalicious || bad.Score != 100 || ab.Verdict == nil || ab.Verdict.Details["isp"] != "Example ISP" || !slices.Contains(ab.Verdict.Categories, "Data Center[31m") {
		t.Errorf("185.220.101.4: %+v, abuseipdb %+v", bad, ab.Verdict)
	}
	if got.Flagged != 1 {
		t.Errorf("flagged %d, want 1", got.Flagged)
	}
	for _, ind := range []string{"10.1.2.3", "192.168.0.1", "127.0.0.1", "169.254.1.1", "100.64.0.1", "fd00::1", "198.51.100.9"} {
		r := resultFor(t, got, ind)
		if p := providerResult(t, r, "abuseipdb"); r.Public || p.Status != intel.StatusSkipped || !strings.Contains(p.Skipped, "never sent") {
			t.Errorf("%s: public %v, abuseipdb %+v", ind, r.Public, p)
		}
	}
	if len(s.intelSources) != 1 || s.intelSources[0].Provider != "abuseipdb" {
		t.Errorf("sources %+v, want abuseipdb", s.intelSources)
	}
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		if open := tool.Annotations.OpenWorldHint; (tool.Name == "lookup_threat_intel") != (open != nil && *open) {
			t.Errorf("%s: openWorldHint %v", tool.Name, *open)
		}
	}
}

// TestLookupThreatIntelTimeout: a provider slower than the call's bound
// gives a result that says so, not a hung call.
func TestLookupThreatIntelTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	_, c := newTestServer(t, Config{Roots: []string{t.TempDir()}, IntelTimeout: 200 * time.Millisecond, Intel: intel.Config{
		AbuseIPDB: intel.AbuseIPDBConfig{ProviderConfig: intel.ProviderConfig{APIKey: "k", BaseURL: slow.URL, MaxRetries: -1}},
		Getenv:    noEnv,
	}})
	start := time.Now()
	got := decode[ThreatIntelResult](t, c, "lookup_threat_intel", map[string]any{"indicators": []string{"8.8.8.8"}})
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v with a 200ms bound", time.Since(start))
	}
	if !strings.Contains(got.Note, "took longer than 200ms") {
		t.Errorf("note %q", got.Note)
	}
	if len(got.Results) == 1 {
		if p := providerResult(t, got.Results[0], "abuseipdb"); p.Status != intel.StatusError || p.ErrorCode != "timeout" {
			t.Errorf("abuseipdb %+v, want a timeout error", p)
		}
	} else if !slices.Equal(got.NotLookedUp, []string{"8.8.8.8"}) {
		t.Errorf("results %+v, not looked up %v", got.Results, got.NotLookedUp)
	}
}
