package intel

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func loadList(t *testing.T, paths ...string) *List {
	t.Helper()
	l := NewList("")
	for _, p := range paths {
		if err := l.LoadFile(p); err != nil {
			t.Fatalf("LoadFile(%s): %v", p, err)
		}
	}
	return l
}

func TestListText(t *testing.T) {
	l := loadList(t, "testdata/blocklist.txt")
	// 6 addresses and prefixes, 3 names, the URL's host, 2 sinkholed names.
	if l.Len() != 12 {
		t.Errorf("Len = %d, want 12", l.Len())
	}
	// The range and "not a host!" hold no indicator.
	if l.Skipped() != 2 {
		t.Errorf("Skipped = %d, want 2", l.Skipped())
	}
	tests := []struct {
		indicator string
		matched   string // "" for no match
		source    string
	}{
		{"185.220.101.4", "185.220.101.4", "testdata/blocklist.txt:2"},
		{"185.220.101.5", "", ""},
		{"45.155.205.77", "45.155.205.0/24", "testdata/blocklist.txt:3"},
		{"45.155.206.1", "", ""},
		{"2a0e:fb07::1", "2a0e:fb00::/29", "testdata/blocklist.txt:4"},
		{"91.92.109.43", "91.92.109.43", "testdata/blocklist.txt:5"},
		{"::ffff:10.13.37.1", "10.13.37.1", "testdata/blocklist.txt:6"},
		{"2001:db8::dead", "2001:db8::dead", "testdata/blocklist.txt:7"},
		{"evil-updates.com", "evil-updates.com", "testdata/blocklist.txt:9"},
		{"a.b.evil-updates.com", "evil-updates.com", "testdata/blocklist.txt:9"},
		{"notevil-updates.com", "", ""},
		{"tracker.net", "tracker.net", "testdata/blocklist.txt:10"},
		{"x.ads.example.org", "ads.example.org", "testdata/blocklist.txt:11"},
		{"example.org", "", ""},
		{"phish.login-paypa1.com", "phish.login-paypa1.com", "testdata/blocklist.txt:12"},
		{"login-paypa1.com", "", ""},
		{"sink2.com", "sink2.com", "testdata/blocklist.txt:13"},
		{"localhost", "", ""},
		{"198.51.100.5", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.indicator, func(t *testing.T) {
			var v *Verdict
			var err error
			if addr, perr := parseIP(tt.indicator); perr == nil {
				v, err = l.LookupIP(t.Context(), addr)
			} else {
				v, err = l.LookupDomain(t.Context(), tt.indicator)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.matched == "" {
				if diff := cmp.Diff(&Verdict{}, v); diff != "" {
					t.Errorf("want no match (-want +got):\n%s", diff)
				}
				return
			}
			want := &Verdict{Found: true, Malicious: true, Score: 100, Reports: 1,
				Categories: []string{"blocklist"},
				Details:    map[string]string{"matched": tt.matched, "source": tt.source}}
			if diff := cmp.Diff(want, v); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListCSV(t *testing.T) {
	l := loadList(t, "testdata/feodo.csv")
	if l.Len() != 2 || l.Skipped() != 1 {
		t.Errorf("Len %d Skipped %d, want 2 and 1 (the bad-ip row)", l.Len(), l.Skipped())
	}
	v, err := l.LookupIP(t.Context(), mustAddr(t, "162.243.103.246"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Verdict{Found: true, Malicious: true, Score: 100, Reports: 1,
		Categories: []string{"feodo", "Emotet"},
		Details:    map[string]string{"matched": "162.243.103.246", "source": "testdata/feodo.csv:3"}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestListCSVVariants(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		hits    []string
		misses  []string
		skipped int
	}{
		{"no header, indicator first", "ips.csv", "1.2.3.4,scanner\n5.6.7.0/24,botnet\n",
			[]string{"1.2.3.4", "5.6.7.8"}, []string{"1.2.3.5"}, 0},
		{"no header, indicator after a date", "export.csv", "2024-04-01,9.9.9.9,x\n2024-04-02,evil.com,y\n",
			[]string{"9.9.9.9", "www.evil.com"}, []string{"2024-04-01"}, 0},
		{"commented header (abuse.ch)", "urlhaus.csv", "# id,dateadded,url\n\"1\",\"2024-01-01\",\"http://malware.host.ru/bin.sh\"\n",
			[]string{"malware.host.ru"}, []string{"host.ru"}, 0},
		{"unknown header tolerated", "list.csv", "when,what\n2024-01-01,4.4.4.4\n",
			[]string{"4.4.4.4"}, nil, 1},
		{"two indicator columns", "pairs.csv", "domain,ip\nc2.evil.net,7.7.7.7\n",
			[]string{"c2.evil.net", "7.7.7.7"}, []string{"evil.net"}, 0},
		{"sniffed without extension", "feed", "Indicator,Type\n\"8.8.4.4\",ip\n",
			[]string{"8.8.4.4"}, nil, 0},
		{"semicolon list stays text", "drop.txt", "; Spamhaus DROP\n1.10.16.0/20 ; SBL256894\n",
			[]string{"1.10.20.1"}, []string{"1.10.32.1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			l := loadList(t, path)
			if l.Skipped() != tt.skipped {
				t.Errorf("Skipped = %d, want %d", l.Skipped(), tt.skipped)
			}
			for _, ind := range tt.hits {
				if v := lookupAny(t, l, ind); !v.Found {
					t.Errorf("%s not matched", ind)
				}
			}
			for _, ind := range tt.misses {
				if v := lookupAny(t, l, ind); v.Found {
					t.Errorf("%s matched: %+v", ind, v)
				}
			}
		})
	}
}

func TestListMultipleMatches(t *testing.T) {
	l := NewList("mine")
	if err := l.Read("a.txt", strings.NewReader("evil.com\n10.0.0.0/8\n")); err != nil {
		t.Fatal(err)
	}
	if err := l.Read("b.csv", strings.NewReader("domain,category\nx.evil.com,phishing\n")); err != nil {
		t.Fatal(err)
	}
	if err := l.Add("10.1.0.0/16", "manual"); err != nil {
		t.Fatal(err)
	}
	v := lookupAny(t, l, "www.x.evil.com")
	want := &Verdict{Found: true, Malicious: true, Score: 100, Reports: 2,
		Categories: []string{"b", "phishing", "a"},
		Details: map[string]string{"matched": "x.evil.com", "source": "b.csv:2",
			"matches": "x.evil.com (b.csv:2), evil.com (a.txt:1)"}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if v := lookupAny(t, l, "10.1.2.3"); v.Reports != 2 || v.Details["matched"] != "10.1.0.0/16" {
		t.Errorf("most specific prefix first: %+v", v)
	}
}

func TestListErrors(t *testing.T) {
	l := NewList("x")
	if err := l.Read("junk.txt", strings.NewReader("hello world\nnot-a-thing!\n")); err == nil || !strings.Contains(err.Error(), "no indicators found") {
		t.Errorf("junk file: %v", err)
	}
	if err := l.Read("empty.txt", strings.NewReader("# only comments\n\n")); err != nil {
		t.Errorf("empty list is fine: %v", err)
	}
	if err := l.LoadFile(filepath.Join(t.TempDir(), "nope.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var ie *InputError
	if err := l.Add("not an indicator", "manual"); !errors.As(err, &ie) {
		t.Errorf("Add junk: %v", err)
	}
	if err := l.Read("long.txt", strings.NewReader(strings.Repeat("a", 2<<20))); err == nil {
		t.Error("a 2 MiB line was accepted")
	}
	if _, err := l.LookupDomain(t.Context(), "bad name"); err == nil {
		t.Error("LookupDomain accepted an invalid name")
	}
}

func TestCheckerWithIndicatorFiles(t *testing.T) {
	out := noService(t)
	cfg := testConfig(out.URL, out.URL)
	cfg.Offline = true
	cfg.IndicatorFiles = []string{"testdata/blocklist.txt", "testdata/feodo.csv"}
	c := mustNew(t, cfg)
	res, err := c.CheckIP(t.Context(), "50.16.16.211")
	if err != nil {
		t.Fatal(err)
	}
	local := providerResult(t, res, "local")
	if res.Verdict != LevelMalicious || local.Verdict == nil || local.Verdict.Details["source"] != "testdata/feodo.csv:4" {
		t.Errorf("result %+v, local %+v", res, local.Verdict)
	}
	res, err = c.CheckDomain(t.Context(), "github.com")
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != LevelUnknown || res.Score != 0 {
		t.Errorf("a blocklist miss is unknown, got %s %d", res.Verdict, res.Score)
	}
}

func lookupAny(t *testing.T, l *List, ind string) *Verdict {
	t.Helper()
	var v *Verdict
	var err error
	if addr, perr := parseIP(ind); perr == nil {
		v, err = l.LookupIP(t.Context(), addr)
	} else {
		v, err = l.LookupDomain(t.Context(), ind)
	}
	if err != nil {
		t.Fatalf("lookup %s: %v", ind, err)
	}
	return v
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := parseIP(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestListFormatByContent reads lists whose names do not say their format:
// a CSV feed saved as .txt is CSV, and a text list with a comma on its
// first line is still text.
func TestListFormatByContent(t *testing.T) {
	tests := []struct {
		name, source, data string
		match              string
	}{
		{"csv named txt", "feed.txt", "ip_address,threat\n203.0.113.9,c2\n", "203.0.113.9"},
		{"csv without header named list", "feed.list", "203.0.113.10,botnet,2026-01-01\n", "203.0.113.10"},
		{"text with a comma", "notes.txt", "198.51.100.7 scanner, seen twice\nevil.example\n", "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewList("test")
			if err := l.Read(tt.source, strings.NewReader(tt.data)); err != nil {
				t.Fatal(err)
			}
			v, err := l.LookupIP(t.Context(), netip.MustParseAddr(tt.match))
			if err != nil || !v.Found {
				t.Errorf("%s not in the list read from %s (%+v, %v)", tt.match, tt.source, v, err)
			}
		})
	}
}
