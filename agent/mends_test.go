package agent

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewMissingWorkingDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nonexistent")
	_, err := New(Config{WorkingDir: dir})
	if !errors.Is(err, ErrCaptureNotFound) || !strings.Contains(err.Error(), "the working directory "+dir+" does not exist") {
		t.Errorf("New with a missing WorkingDir: err = %v, want ErrCaptureNotFound saying the directory does not exist", err)
	}
}

// TestProseOnlyAnswerFallsBackOnce: a model that answers prose twice
// leaves one record: its own calls first, then the rules analyst's, and
// the reason said once.
func TestProseOnlyAnswerFallsBackOnce(t *testing.T) {
	t.Parallel()
	dir := copyTestCapture(t, "scan_syn.pcap")
	f := newFakeOpenAI(t,
		replyTools(toolCall("c1", "detect_port_scanning", `{}`)),
		replyContent("It looks like a port scan from 10.66.0.10."),
		replyContent("As I said, a port scan."))
	rep := investigateOK(t, newLLMAgent(t, llmConfig(dir, f, AnalystAuto)))
	checkRulesFallback(t, rep, "invalid twice")
	want := []string{"detect_port_scanning", "read_pcap_summary", "list_findings"}
	if diff := cmp.Diff(want, rep.Analyst.ToolCalls); diff != "" {
		t.Errorf("analyst.tool_calls (-want +got):\n%s", diff)
	}
	if n := strings.Count(rep.Analyst.Note, "rules analyst"); n != 1 {
		t.Errorf("analyst.note names the rules analyst %d times, want once: %q", n, rep.Analyst.Note)
	}
}
