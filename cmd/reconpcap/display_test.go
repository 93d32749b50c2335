package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
)

// TestTerminalOutputEscaped: text a capture (or a model) chose reaches the
// terminal with no control, escape or bidirectional-override character
// left in it, whichever writer prints it.
func TestTerminalOutputEscaped(t *testing.T) {
	hostile := "GET /\x1b[2J\x1b]0;owned\x07 evil\u202Etxt.exe \u2066x\u2069 \u200bz \xff"
	var findings, rep bytes.Buffer
	writeFindings(&findings, []report.Finding{{
		Type: report.AttackHTTPEnumeration, Technique: "web_attack", Source: "10.0.0.1", Target: "10.0.0.2",
		Severity: report.SeverityHigh, Confidence: report.ConfidenceHigh, Summary: hostile,
	}}, palette{})
	writeReport(&rep, &report.Report{
		Evidence:        []string{hostile},
		Recommendations: []string{hostile},
		Analyst:         report.Analyst{Mode: report.ModeRules, Note: hostile},
	}, palette{})
	tests := []struct {
		name, out string
		copies    int
	}{
		{"writeFindings", findings.String(), 1},
		{"writeReport", rep.String(), 3},
	}
	for _, tt := range tests {
		for _, bad := range []string{"\x1b", "\x07", "\u202E", "\u2066", "\u2069", "\u200b", "\xff"} {
			if strings.Contains(tt.out, bad) {
				t.Errorf("%s: output holds %q:\n%q", tt.name, bad, tt.out)
			}
		}
		for _, want := range []string{`\x1b[2J`, `evil\xe2\x80\xaetxt.exe`, `\xe2\x81\xa6x\xe2\x81\xa9`, `\xff`} {
			if n := strings.Count(tt.out, want); n != tt.copies {
				t.Errorf("%s: %q appears %d times, want %d:\n%s", tt.name, want, n, tt.copies, tt.out)
			}
		}
	}
}

// TestColor: --color always colours the severities (and nothing else
// writes an escape character), never and auto to a non-terminal do not.
func TestColor(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want bool
	}{{"always", true}, {"never", false}, {"auto", false}} {
		var out, errb bytes.Buffer
		if err := run(t.Context(), []string{"analyze", "--color", tt.mode, "../../testdata/scan_syn.pcap"}, nil, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out.String(), "\x1b[31m[HIGH/high]\x1b[0m"); got != tt.want {
			t.Errorf("--color %s: coloured severity %v, want %v", tt.mode, got, tt.want)
		}
		if n := strings.Count(out.String(), "\x1b["); tt.want && n != 2*strings.Count(out.String(), "[HIGH/") {
			t.Errorf("--color %s: %d escape sequences for %d severities", tt.mode, n, strings.Count(out.String(), "[HIGH/"))
		}
	}
	var errb bytes.Buffer
	if err := run(t.Context(), []string{"analyze", "--color", "sometimes", "../../testdata/scan_syn.pcap"}, nil, &errb, &errb); err == nil {
		t.Error("--color sometimes accepted")
	}
}
