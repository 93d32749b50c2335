package htmlreport_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/agent"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/htmlreport"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
	"github.com/agents-of-shield/reconpcap/report"
)

// chromium returns the headless browser, skipping when none is installed
// (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium: the HTML report is checked in a real browser (apt-get install chromium)")
	return ""
}

// render loads page in headless Chromium and returns the DOM after its
// scripts ran and what the browser logged from the page's console.
func render(t *testing.T, page string) (dom, console string) {
	t.Helper()
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
		"--user-data-dir="+profile, "--enable-logging=stderr", "--log-level=0",
		"--virtual-time-budget=5000", "--dump-dom", "file://"+page)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	var lines []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, "CONSOLE") || strings.Contains(l, "Uncaught") {
			lines = append(lines, l)
		}
	}
	return out.String(), strings.Join(lines, "\n")
}

func writePage(t *testing.T, in htmlreport.Input) string {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Write(&buf, in); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("http://")) || bytes.Contains(buf.Bytes(), []byte("https://")) {
		// The only URL allowed is the SVG namespace, which is a name, not a fetch.
		rest := strings.ReplaceAll(buf.String(), `"http://www.w3.org/2000/svg"`, "")
		if m := regexp.MustCompile(`https?://[^"'\s<]+`).FindString(rest); m != "" {
			t.Errorf("the page names %s: it must fetch nothing", m)
		}
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// domText escapes text as a browser serialises a text node.
var domText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;")

func count(dom, pattern string) int {
	return len(regexp.MustCompile(pattern).FindAllStringIndex(dom, -1))
}

// TestReportInBrowser renders the analysis of real recordings and checks
// the DOM Chromium built: the verdict, one row per finding, one bar per
// timeline interval and one band per timed finding, drawn by the page's
// own script, and no console error.
func TestReportInBrowser(t *testing.T) {
	// The recordings' attacks, as testdata/README.md describes them.
	for name, attack := range map[string]string{
		"http_gobuster.pcap": "http_enumeration", "scan_syn.pcap": "port_scan", "dns_tunnel.pcap": "dns_tunneling",
		"benign_browse.pcap": "unknown", "exfil_high.pcap": "data_exfiltration", "tls_handshakes.pcap": "unknown",
	} {
		t.Run(name, func(t *testing.T) {
			a, err := detectors.Analyze(t.Context(), testfiles.Testdata(t, name), detectors.Config{TimelineInterval: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ans := agent.RulesAnswer(a)
			rep := &report.Report{AttackAssessment: ans.AttackAssessment, Evidence: ans.Evidence, Recommendations: ans.Recommendations, Findings: a.Findings, Analyst: report.Analyst{Mode: report.ModeRules}}
			dom, console := render(t, writePage(t, htmlreport.Input{Analysis: a, Report: rep}))
			if want := `data-field="attack_type">` + attack + "<"; !strings.Contains(dom, want) {
				t.Errorf("DOM lacks %s", want)
			}
			if console != "" {
				t.Errorf("console output:\n%s", console)
			}
			if got := count(dom, `<tr class="finding"`); got != len(a.Findings) {
				t.Errorf("%d finding rows, want %d", got, len(a.Findings))
			}
			// The TLS highlights hold every server name the hellos asked
			// for (tshark: tls.handshake.extensions_server_name).
			hs, _ := a.TLSHandshakes()
			for _, h := range hs {
				if h.SNI != "" && !strings.Contains(dom, ">"+domText.Replace(h.SNI)+"<") {
					t.Errorf("the TLS table lacks %q", h.SNI)
				}
			}
			for _, f := range a.Findings {
				if f.DisplayFilter != "" && !strings.Contains(dom, domText.Replace(f.DisplayFilter)) {
					t.Errorf("the page lacks finding %s's display filter %q", f.Technique, f.DisplayFilter)
				}
			}
			m := regexp.MustCompile(`id="chart" data-drawn="(\d+)"`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatal("the chart script did not run")
			}
			if n, _ := strconv.Atoi(m[1]); n != len(a.Timeline.Intervals) {
				t.Errorf("chart drew %d intervals, want %d", n, len(a.Timeline.Intervals))
			}
			if got := count(dom, `<rect class="bar`); got != len(a.Timeline.Intervals) {
				t.Errorf("%d bars, want %d", got, len(a.Timeline.Intervals))
			}
			timed := 0
			for _, f := range a.Findings {
				if !f.FirstSeen.IsZero() {
					timed++
				}
			}
			if got := count(dom, `class="finding-span"`); got != timed {
				t.Errorf("%d finding bands, want %d", got, timed)
			}
		})
	}
}

// TestReportVerdictAndHostileStrings renders an investigation's report
// whose strings carry markup and script, as a capture's can, and checks
// the browser shows them as text: no element, no script run.
func TestReportVerdictAndHostileStrings(t *testing.T) {
	a, err := detectors.Analyze(t.Context(), testfiles.Testdata(t, "http_gobuster.pcap"), detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	evil := `<img src=x onerror="document.title='pwned'"></script><script>document.title='pwned'</script>`
	findings := append([]report.Finding{}, a.Findings...)
	findings = append(findings, report.Finding{
		Type: report.AttackDNSTunneling, Technique: evil, Source: "10.0.0.5", Target: "198.51.100.7",
		Severity: report.SeverityHigh, Confidence: report.ConfidenceHigh, Summary: evil,
		FirstSeen: a.Findings[0].FirstSeen, LastSeen: a.Findings[0].LastSeen,
	})
	rep := &report.Report{
		Timestamp: time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC),
		AttackAssessment: report.Assessment{
			AttackType: report.AttackMultiple, Target: "10.66.0.20", Severity: report.SeverityCritical, Confidence: report.ConfidenceHigh,
		},
		Evidence:        []string{"evidence " + evil},
		Recommendations: []string{"block 10.66.0.10"},
		Findings:        findings,
		Analyst:         report.Analyst{Mode: "rules"},
	}
	dom, console := render(t, writePage(t, htmlreport.Input{Analysis: a, Report: rep}))
	if console != "" {
		t.Errorf("console output:\n%s", console)
	}
	if strings.Contains(dom, "<title>pwned") || strings.Contains(dom, "<img src=\"x\"") {
		t.Error("markup from a finding became an element or ran")
	}
	if !strings.Contains(dom, "&lt;img src=x") {
		t.Error("the hostile summary is not shown as text")
	}
	for _, want := range []string{`data-field="attack_type">multiple<`, `data-field="target">10.66.0.20<`, `data-field="severity">critical<`, "block 10.66.0.10"} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
	if got := count(dom, `<tr class="finding"`); got != len(findings) {
		t.Errorf("%d finding rows, want %d", got, len(findings))
	}
}
