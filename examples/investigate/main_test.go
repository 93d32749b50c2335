package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWithoutKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	dir := t.TempDir()
	b, err := os.ReadFile("../../testdata/scan_syn.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "traffic.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, arg, file string
	}{
		{"a file", "../../testdata/scan_syn.pcap", "scan_syn.pcap"},
		{"a directory with traffic.pcap", dir, "traffic.pcap"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{tt.arg}, &out, &errOut); err != nil {
				t.Fatalf("run: %v\nstderr: %s", err, errOut.String())
			}
			if !strings.Contains(errOut.String(), "OPENAI_API_KEY is not set") {
				t.Errorf("stderr does not say the key is unset: %q", errOut.String())
			}
			for _, want := range []string{
				tt.file + "\n",
				"attack type: port_scan\n",
				"target:      10.66.0.20\n",
				"severity:    high\n",
				"confidence:  high\n",
				"Intelligence: 2005 packets, 2 unique IPs, 1 threats\n",
				"Analyst: rules, tools called: [read_pcap_summary list_findings",
				"\nEvidence\n  - [high/high confidence] port_scan syn from 10.66.0.10 to 10.66.0.20",
				"\nRecommendations\n  - Block 10.66.0.10 at the firewall",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"empty directory", []string{dir}, "traffic.pcap: capture not found"},
		{"missing file", []string{filepath.Join(dir, "x.pcap")}, "x.pcap: capture not found"},
		{"two arguments", []string{"a", "b"}, "at most one"},
		{"bad flag", []string{"-bogus"}, "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
