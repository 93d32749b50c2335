//go:build integration

package agent

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/report"
)

// TestLiveInvestigation lets a real model investigate scan_syn.pcap:
//
//	OPENAI_API_KEY=... go test -tags integration -run TestLive -v ./agent
//
// OPENAI_MODEL and OPENAI_BASE_URL choose another model or endpoint. It
// skips without a key or base URL, and never runs without the tag.
func TestLiveInvestigation(t *testing.T) {
	if os.Getenv("OPENAI_API_KEY") == "" && os.Getenv("OPENAI_BASE_URL") == "" {
		t.Skip("OPENAI_API_KEY (or OPENAI_BASE_URL) is not set: no live model to test")
	}
	dir := copyTestCapture(t, "scan_syn.pcap")
	a, err := New(Config{WorkingDir: dir, Analyst: AnalystLLM, ClientSessionTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Investigate(t.Context(), Trigger{Name: "live-test"})
	if err != nil {
		t.Fatalf("Investigate: %v", err)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report:\n%s", b)
	if err := rep.Validate(); err != nil {
		t.Fatalf("the report is invalid: %v", err)
	}
	if rep.Analyst.Mode != report.ModeLLM {
		t.Fatalf("the rules analyst answered: %s", rep.Analyst.Note)
	}
	if rep.Analyst.Turns < 1 || rep.Analyst.PromptTokens == 0 {
		t.Errorf("analyst = %+v, want turns and tokens recorded", rep.Analyst)
	}
	as := rep.AttackAssessment
	if as.AttackType != report.AttackPortScan || as.Target != synVictim {
		t.Errorf("assessment = %+v, want a port scan of %s", as, synVictim)
	}
	if as.Severity.Rank() < report.SeverityMedium.Rank() {
		t.Errorf("severity %s for a 1000-port SYN scan", as.Severity)
	}
	if rep.Intelligence.TotalPackets != synPackets || len(rep.Findings) != 1 {
		t.Errorf("intelligence %+v, %d findings: want the analysis' numbers", rep.Intelligence, len(rep.Findings))
	}
}
