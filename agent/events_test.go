package agent

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
	"github.com/google/go-cmp/cmp"
)

// eventRecorder collects events and fails the test if the callback is
// ever entered while another call is still running.
type eventRecorder struct {
	t      testing.TB
	inside atomic.Int32
	events []Event
}

func (r *eventRecorder) record(ev Event) {
	if r.inside.Add(1) != 1 {
		r.t.Error("OnEvent called concurrently")
	}
	r.events = append(r.events, ev)
	r.inside.Add(-1)
}

// eventLine is an event reduced to what a test can predict.
func eventLine(ev Event) string {
	switch e := ev.(type) {
	case EventStarted:
		return "started " + string(e.Analyst)
	case EventToolCalled:
		s := "tool " + e.Name
		if e.Err != nil {
			s += " error"
		}
		return s
	case EventModelTurn:
		return fmt.Sprintf("turn %d %s tools=%d tokens=%d/%d", e.Turn, e.Model, e.ToolCalls, e.PromptTokens, e.CompletionTokens)
	case EventRetry:
		return fmt.Sprintf("retry %d status=%d", e.Attempt, e.Status)
	case EventFallback:
		return "fallback"
	case EventDisagreement:
		return "disagreement " + string(e.Finding.Type)
	case EventFinished:
		if e.Err != nil {
			return "finished error"
		}
		return "finished " + string(e.Verdict.AttackType) + " " + string(e.Verdict.Severity)
	}
	return fmt.Sprintf("unknown %T", ev)
}

const buryingAnswer = `{"attack_assessment": {"attack_type": "unknown", "target": "unknown", "severity": "low", "confidence": "low"},
 "evidence": ["The RST answers look like a misconfigured health check."], "recommendations": []}`

func TestEventsInOrder(t *testing.T) {
	t.Parallel()
	facts := []string{"tool read_pcap_summary", "tool list_findings"}
	for _, tc := range []struct {
		name    string
		capture bool
		steps   []fakeStep
		want    []string
		model   string // the model the report must name
	}{
		{
			name:    "tool call, retry, disagreement",
			capture: true,
			steps: []fakeStep{
				replyTools(toolCall("c1", "detect_port_scanning", `{}`)),
				replyError(http.StatusServiceUnavailable, "overloaded", "server_error", ""),
				{content: buryingAnswer, model: "test-model-2026-01-01"},
				replyContent(buryingAnswer),
			},
			want: append(append([]string{"started llm"}, facts...),
				"turn 1 test-model tools=1 tokens=100/10",
				"tool detect_port_scanning",
				"retry 1 status=503",
				"turn 2 test-model-2026-01-01 tools=0 tokens=200/20",
				"turn 3 test-model tools=0 tokens=300/30",
				"disagreement port_scan",
				"finished port_scan high"),
			model: testModel, // the last answer named the model asked for
		},
		{
			name:    "invalid answer twice falls back",
			capture: true,
			steps:   []fakeStep{replyContent("no JSON here"), {content: "still none", model: "other-model"}},
			want: append(append([]string{"started llm"}, facts...),
				"turn 1 test-model tools=0 tokens=100/10",
				"turn 2 other-model tools=0 tokens=200/20",
				"fallback",
				"finished port_scan high"),
			model: "other-model",
		},
		{
			name: "no capture",
			want: []string{"started llm", "finished error"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.capture {
				dir = copyTestCapture(t, "scan_syn.pcap")
			}
			f := newFakeOpenAI(t, tc.steps...)
			rec := &eventRecorder{t: t}
			cfg := llmConfig(dir, f, AnalystAuto)
			cfg.OnEvent = rec.record
			a := newLLMAgent(t, cfg)
			rep, err := a.Investigate(t.Context(), Trigger{Name: "ids-alert"})
			if tc.capture != (err == nil) {
				t.Fatalf("Investigate: %v", err)
			}
			var got []string
			for _, ev := range rec.events {
				got = append(got, eventLine(ev))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			id := rec.events[0].InvestigationID()
			for _, ev := range rec.events {
				if ev.InvestigationID() != id || len(id) != 16 {
					t.Errorf("%T has investigation ID %q, want %q (16 hex digits) on every event", ev, ev.InvestigationID(), id)
				}
			}
			if err != nil {
				if !errors.Is(err, ErrCaptureNotFound) || !errors.Is(rec.events[1].(EventFinished).Err, ErrCaptureNotFound) {
					t.Errorf("err = %v, finished with %v; want ErrCaptureNotFound in both", err, rec.events[1].(EventFinished).Err)
				}
				return
			}
			// The events agree with the report.
			if rep.Analyst.Model != tc.model {
				t.Errorf("analyst.model = %q, want %q, the model that answered last", rep.Analyst.Model, tc.model)
			}
			for _, ev := range rec.events {
				switch e := ev.(type) {
				case EventToolCalled:
					if e.Err == nil && e.ResultBytes == 0 || e.Duration <= 0 || !strings.HasPrefix(e.Arguments, "{") {
						t.Errorf("tool event %+v: want a result size, a duration and JSON arguments", e)
					}
				case EventDisagreement:
					if e.View != rep.Analyst.Disagreement {
						t.Errorf("disagreement event %q, report %q", e.View, rep.Analyst.Disagreement)
					}
				case EventRetry:
					if e.Wait <= 0 || !errors.Is(e.Err, ErrModel) {
						t.Errorf("retry event %+v: want a wait and an ErrModel", e)
					}
					if rep.Analyst.Retries != 1 {
						t.Errorf("analyst.retries = %d, want 1", rep.Analyst.Retries)
					}
				case EventFallback:
					if !errors.Is(e.Reason, errFallback) || !strings.Contains(rep.Analyst.Note, "could not be used") {
						t.Errorf("fallback event %v, note %q", e.Reason, rep.Analyst.Note)
					}
				case EventFinished:
					if e.Verdict != rep.AttackAssessment || e.Duration <= 0 {
						t.Errorf("finished %+v, report verdict %+v", e, rep.AttackAssessment)
					}
				}
			}
			if rep.Analyst.Mode == report.ModeLLM && rep.Analyst.Turns != 3 {
				t.Errorf("analyst.turns = %d, want 3", rep.Analyst.Turns)
			}
		})
	}
}

// TestEventsAsync checks that InvestigateAsync callers get the same events,
// the last one before the result arrives.
func TestEventsAsync(t *testing.T) {
	t.Parallel()
	dir := copyTestCapture(t, "scan_syn.pcap")
	rec := &eventRecorder{t: t}
	a, err := New(Config{WorkingDir: dir, Analyst: AnalystRules, OnEvent: rec.record})
	if err != nil {
		t.Fatal(err)
	}
	res := <-a.InvestigateAsync(t.Context(), Trigger{})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var got []string
	for _, ev := range rec.events {
		got = append(got, eventLine(ev))
	}
	want := []string{"started rules", "tool read_pcap_summary", "tool list_findings"}
	if len(got) < len(want)+1 || !cmp.Equal(got[:len(want)], want) || got[len(got)-1] != "finished port_scan high" {
		t.Errorf("events = %q, want %q, the rules analyst's calls, then finished port_scan high", got, want)
	}
	var calls []string
	for _, ev := range rec.events {
		if e, ok := ev.(EventToolCalled); ok {
			calls = append(calls, e.Name)
		}
	}
	if diff := cmp.Diff(res.Report.Analyst.ToolCalls, calls); diff != "" {
		t.Errorf("tool events differ from analyst.tool_calls (-report +events):\n%s", diff)
	}
}
