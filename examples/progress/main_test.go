package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/agent"
)

func TestRun(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("../../testdata", "scan_syn.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "scan_syn.pcap")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr error
		want    []*regexp.Regexp // one per line, in order
	}{
		{
			name: "a scan",
			args: []string{"-rules", file},
			want: []*regexp.Regexp{
				regexp.MustCompile(`^\[[0-9a-f]{16}\] started: .*scan_syn\.pcap \(trigger progress-example, rules analyst\)$`),
				regexp.MustCompile(`^\[[0-9a-f]{16}\] tool read_pcap_summary \{\}: [1-9][0-9]* bytes in `),
				regexp.MustCompile(`^\[[0-9a-f]{16}\] tool list_findings \{"limit":50,"offset":0\}: [1-9][0-9]* bytes in `),
				regexp.MustCompile(`^\[[0-9a-f]{16}\] finished in .*: port_scan$`),
				// scan_syn.pcap: 10.66.0.10 SYN-scans 1000 ports of 10.66.0.20.
				regexp.MustCompile(`^verdict: port_scan target=10\.66\.0\.20 severity=high confidence=high$`),
			},
		},
		{
			name:    "no capture",
			args:    []string{"-rules", filepath.Join(dir, "missing.pcap")},
			wantErr: agent.ErrCaptureNotFound,
			want: []*regexp.Regexp{
				regexp.MustCompile(`^\[[0-9a-f]{16}\] started: `),
				regexp.MustCompile(`^\[[0-9a-f]{16}\] failed after .*missing\.pcap`),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tc.args, &out, &errOut)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("run: %v, want %v; stderr %s", err, tc.wantErr, errOut.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), out.String())
			}
			for i, re := range tc.want {
				if !re.MatchString(lines[i]) {
					t.Errorf("line %d = %q, want it to match %s", i+1, lines[i], re)
				}
			}
			if id := lines[0][1:17]; strings.Count(out.String(), "["+id+"]") != len(lines)-btoi(tc.wantErr == nil) {
				t.Errorf("not every progress line names investigation %s:\n%s", id, out.String())
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
