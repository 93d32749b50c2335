package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	dir := t.TempDir()
	for _, name := range []string{"scan_syn.pcap", "scan_udp.pcap", "scan_fin.pcap"} {
		b, err := os.ReadFile(filepath.Join("../../testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Not a capture by name: skipped when the directory is expanded.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-timeout", "60s", dir}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	want := []string{
		filepath.Join(dir, "scan_fin.pcap") + ": port_scan target=10.66.0.20 severity=high confidence=high threats=1 packets=202 analyst=rules",
		filepath.Join(dir, "scan_syn.pcap") + ": port_scan target=10.66.0.20 severity=high confidence=high threats=1 packets=2005 analyst=rules",
		filepath.Join(dir, "scan_udp.pcap") + ": port_scan target=10.66.0.20 severity=high confidence=high threats=1 packets=163 analyst=rules",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(errOut.String(), "3 captures in ") || !strings.Contains(errOut.String(), ", 0 failed") {
		t.Errorf("stderr: %q", errOut.String())
	}
}

// TestRunFailures: a capture that fails gets its own error line; the others
// are still reported, and run says how many failed.
func TestRunFailures(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pcap")
	if err := os.WriteFile(bad, []byte("GET / HTTP/1.1\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcapng")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-rules", "../../testdata/scan_xmas.pcap", bad, missing}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 investigations failed") {
		t.Errorf("err = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	for i, want := range []string{
		"../../testdata/scan_xmas.pcap: port_scan target=10.66.0.20 severity=high",
		bad + ": error: ",
		missing + ": error: open " + missing + ": capture not found",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), nil, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "usage: async") {
		t.Errorf("no arguments: err %v, stderr %q", err, errOut.String())
	}
	if err := run(context.Background(), []string{t.TempDir()}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no *.pcap") {
		t.Errorf("empty directory: err %v", err)
	}
}
