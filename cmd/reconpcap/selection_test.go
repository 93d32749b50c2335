package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
)

// investigateJSON runs investigate offline with args and decodes the report.
func investigateJSON(t *testing.T, stdin []byte, args ...string) (*report.Report, string) {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"investigate", "--offline", "--format", "json"}, args...)
	if err := run(t.Context(), full, bytes.NewReader(stdin), &out, &errb); err != nil {
		t.Fatalf("%v: %v\n%s", full, err, errb.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %v\n%s", full, err, out.String())
	}
	return &r, errb.String()
}

// TestInvestigateSelection investigates several inputs and a filter as
// one capture: nmap's scan split by editcap into five rotated files, and
// piped in on stdin, gives the verdict of the whole file (testdata
// README: 2005 packets, a SYN scan of 10.66.0.20, high); a filter that
// keeps one probed port (tcpdump counts its packets) leaves no scan.
func TestInvestigateSelection(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap is not installed")
	}
	whole := filepath.Join("..", "..", "testdata", "scan_syn.pcap")
	dir := t.TempDir()
	if out, err := exec.Command(editcap, "-c", "500", whole, filepath.Join(dir, "part.pcap")).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, r *report.Report) {
		t.Helper()
		a := r.AttackAssessment
		if a.AttackType != report.AttackPortScan || a.Target != "10.66.0.20" || a.Severity != report.SeverityHigh || r.Intelligence.TotalPackets != 2005 {
			t.Errorf("%s: %+v over %d packets, want a high port scan of 10.66.0.20 over 2005", name, a, r.Intelligence.TotalPackets)
		}
	}
	r, stderr := investigateJSON(t, nil, dir)
	check("directory of 5 files", r)
	if !strings.Contains(stderr, "2005 packets selected from 5 files") {
		t.Errorf("stderr %q does not say what was selected", stderr)
	}
	r, _ = investigateJSON(t, data, "-")
	check("stdin", r)

	keep := filepath.Join(t.TempDir(), "port22.pcapng")
	r, _ = investigateJSON(t, nil, "-f", "tcp port 22", "--selection", keep, whole)
	if r.AttackAssessment.AttackType != report.AttackUnknown {
		t.Errorf("one port's packets: %+v, want no attack", r.AttackAssessment)
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command(tcpdump, "-r", whole, "-nn", "tcp port 22").Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(strings.Count(string(out), "\n")); r.Intelligence.TotalPackets != want {
			t.Errorf("selection of tcp port 22: %d packets, tcpdump %d", r.Intelligence.TotalPackets, want)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("--selection file: %v", err)
	}
	var errb bytes.Buffer
	if err := run(t.Context(), []string{"investigate", "--offline", "--selection", keep, whole}, nil, &errb, &errb); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("an existing --selection file: %v", err)
	}
}
