package agent

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func spanAttrs(s tracetest.SpanStub) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// TestSpans checks the spans an in-memory exporter receives: one
// investigation span, under it one per tool call and one per model
// request, the model spans with the GenAI conventions' attributes.
func TestSpans(t *testing.T) {
	t.Parallel()
	dir := copyTestCapture(t, "scan_syn.pcap")
	f := newFakeOpenAI(t,
		replyTools(toolCall("c1", "detect_port_scanning", `{"offset": 0}`)),
		fakeStep{content: goodSynAnswer, model: "test-model-2026"})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	cfg := llmConfig(dir, f, AnalystLLM)
	cfg.TracerProvider = tp
	investigateOK(t, newLLMAgent(t, cfg))

	spans := exp.GetSpans()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	// Spans are exported as they end: children before their parent.
	want := []string{"execute_tool read_pcap_summary", "execute_tool list_findings", "chat " + testModel,
		"execute_tool detect_port_scanning", "chat " + testModel, "invoke_agent reconpcap"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("spans (-want +got):\n%s", diff)
	}
	root := spans[len(spans)-1]
	if root.Parent.IsValid() || len(spanAttrs(root)[attrInvestID].AsString()) != 16 {
		t.Errorf("the investigation span: parent %v, attributes %v", root.Parent, root.Attributes)
	}
	for i, s := range spans[:len(spans)-1] {
		if s.Parent.SpanID() != root.SpanContext.SpanID() || s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("span %s is not a child of the investigation span", s.Name)
		}
		a := spanAttrs(s)
		if !strings.HasPrefix(s.Name, "chat ") {
			if a[attrOperation].AsString() != "execute_tool" || a[attrToolName].AsString() != strings.TrimPrefix(s.Name, "execute_tool ") || a[attrResultBytes].AsInt64() <= 0 {
				t.Errorf("tool span %s attributes %v", s.Name, s.Attributes)
			}
			continue
		}
		k := map[int]int64{2: 1, 4: 2}[i] // the fake's kth answer reports 100k/10k tokens
		wantModel := map[int]string{2: testModel, 4: "test-model-2026"}[i]
		if a[attrOperation].AsString() != "chat" || a[attrRequestModel].AsString() != testModel || a[attrRespModel].AsString() != wantModel ||
			a[attrInputTokens].AsInt64() != 100*k || a[attrOutputTokens].AsInt64() != 10*k || a[attrProvider].AsString() != "openai" || s.Status.Code == codes.Error {
			t.Errorf("model span %d attributes %v, status %v", i, s.Attributes, s.Status)
		}
	}
}

// TestLogsNameTheInvestigation checks the Info records at the start and
// the end, and the investigation attribute on every record.
func TestLogsNameTheInvestigation(t *testing.T) {
	t.Parallel()
	dir := copyTestCapture(t, "scan_syn.pcap")
	f := newFakeOpenAI(t,
		replyError(503, "overloaded", "server_error", ""),
		replyContent(goodSynAnswer))
	var buf bytes.Buffer
	cfg := llmConfig(dir, f, AnalystLLM)
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var id string
	cfg.OnEvent = func(ev Event) { id = ev.InvestigationID() }
	investigateOK(t, newLLMAgent(t, cfg))
	var msgs []string
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msg, _ := rec["msg"].(string)
		if !strings.Contains(msg, "investigation") && !strings.Contains(msg, "retrying") {
			continue // the shared MCP server's records name no investigation
		}
		msgs = append(msgs, msg)
		if rec["investigation"] != id {
			t.Errorf("record %q has investigation %v, want %q", msg, rec["investigation"], id)
		}
	}
	want := []string{"investigation started", "retrying the model request", "investigation finished"}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}
