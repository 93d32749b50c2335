package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/agent"
	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

const synCapture = "../../testdata/scan_syn.pcap"

func noModel(t *testing.T) {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
}

func TestInvestigateJSON(t *testing.T) {
	noModel(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"investigate", "--format", "json", "--trigger", "ci", synCapture}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, errOut.String())
	}
	var rep report.Report
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decoding the report: %v", err)
	}
	if dec.More() {
		t.Error("more than one JSON value on stdout")
	}
	if err := rep.Validate(); err != nil {
		t.Errorf("the report does not validate: %v", err)
	}
	want := report.Assessment{AttackType: report.AttackPortScan, Target: "10.66.0.20", Severity: report.SeverityHigh, Confidence: report.ConfidenceHigh}
	if rep.AttackAssessment != want {
		t.Errorf("assessment = %+v, want %+v", rep.AttackAssessment, want)
	}
	abs, _ := filepath.Abs(synCapture)
	if rep.PcapFile != abs || rep.InvestigationTrigger != "ci" || rep.Analyst.Mode != report.ModeRules {
		t.Errorf("pcap_file %q (want %q), trigger %q, analyst %q", rep.PcapFile, abs, rep.InvestigationTrigger, rep.Analyst.Mode)
	}
	if rep.Intelligence.TotalPackets != 2005 || rep.Intelligence.UniqueIPs != 2 || rep.Intelligence.ThreatCount != 1 || len(rep.Findings) != 1 {
		t.Errorf("intelligence %+v, %d findings", rep.Intelligence, len(rep.Findings))
	}
	// stdout holds only the report; the note about the analyst goes to stderr.
	if !strings.Contains(errOut.String(), "the built-in rules analyst answers (no OPENAI_API_KEY or OPENAI_BASE_URL is set)") {
		t.Errorf("stderr: %q", errOut.String())
	}
}

func TestInvestigateText(t *testing.T) {
	noModel(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"investigate", "--offline", synCapture}, nil, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, errOut.String())
	}
	for _, want := range []string{
		"Verdict   PORT_SCAN\n",
		"Target    10.66.0.20\n",
		"Severity  high (confidence high)\n",
		"Traffic   2005 packets, 2 unique IPs, 1 threat\n",
		"Analyst   rules, 2 tool calls\n",
		"\nEvidence:\n  - [high/high confidence] port_scan syn from 10.66.0.10 to 10.66.0.20",
		"\nRecommendations:\n  - Block 10.66.0.10 at the firewall",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "(--offline)") {
		t.Errorf("stderr: %q", errOut.String())
	}
}

// TestInvestigateDefaultFile: without FILE, ./traffic.pcap.
func TestInvestigateDefaultFile(t *testing.T) {
	noModel(t)
	b, err := os.ReadFile(synCapture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "traffic.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"investigate", "--format", "json"}, nil, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, errOut.String())
	}
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(rep.PcapFile) != "traffic.pcap" || rep.AttackAssessment.AttackType != report.AttackPortScan {
		t.Errorf("pcap_file %q, attack %s", rep.PcapFile, rep.AttackAssessment.AttackType)
	}
}

func TestInvestigateErrors(t *testing.T) {
	noModel(t)
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "traffic.pcap")
	if err := os.WriteFile(notCapture, []byte("hello, not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcap")
	tests := []struct {
		name   string
		args   []string
		is     error
		msg    string
		status int
	}{
		{"missing file", []string{"investigate", missing}, agent.ErrCaptureNotFound, "reconpcap: open " + missing + ": capture not found\n", 1},
		{"missing directory", []string{"investigate", filepath.Join(dir, "gone", "x.pcap")}, agent.ErrCaptureNotFound, "does not exist\n", 1},
		{"not a capture", []string{"investigate", notCapture}, agent.ErrNotCapture, notCapture, 1},
		{"bad format", []string{"investigate", "--format", "xml", missing}, nil, "xml", 2},
		// Several inputs are one capture now; each must exist.
		{"two files, one missing", []string{"investigate", missing, notCapture}, capture.ErrNotFound, "capture not found", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errOut)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", out.String())
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want one wrapping %v", err, tt.is)
			}
			var status bytes.Buffer
			if got := exitCode(err, &status); got != tt.status {
				t.Errorf("exit status %d, want %d", got, tt.status)
			}
			if !strings.Contains(status.String(), tt.msg) {
				t.Errorf("printed %q, want it to contain %q", status.String(), tt.msg)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty on error: %q", out.String())
			}
		})
	}
}
