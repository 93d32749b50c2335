package agent

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the agent's spans.
const tracerName = "github.com/agents-of-shield/reconpcap/agent"

// The attribute keys of OpenTelemetry's GenAI semantic conventions that
// the model and tool spans carry. They are spelled out, not taken from a
// semconv package, because the GenAI conventions are still in development
// and move between semconv releases.
const (
	attrOperation    = "gen_ai.operation.name"
	attrProvider     = "gen_ai.provider.name"
	attrSystem       = "gen_ai.system" // the older name of gen_ai.provider.name, still read by many backends
	attrRequestModel = "gen_ai.request.model"
	attrRespModel    = "gen_ai.response.model"
	attrInputTokens  = "gen_ai.usage.input_tokens"
	attrOutputTokens = "gen_ai.usage.output_tokens"
	attrTemperature  = "gen_ai.request.temperature"
	attrSeed         = "gen_ai.request.seed"
	attrToolName     = "gen_ai.tool.name"
	attrToolCallArgs = "gen_ai.tool.call.arguments"
	attrAgentName    = "gen_ai.agent.name"
	attrInvestID     = "reconpcap.investigation.id"
	attrPcapFile     = "reconpcap.pcap_file"
	attrTrigger      = "reconpcap.trigger"
	attrResultBytes  = "reconpcap.tool.result_bytes"
)

// tracer returns the configured provider's tracer, or the global one,
// which is a no-op until the program installs a provider.
func tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(tracerName)
}

// startSpan starts a span on t, or returns ctx and a no-op span when t is
// nil (a session made outside an investigation).
func startSpan(ctx context.Context, t trace.Tracer, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return t.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// endSpan records err, if any, and ends the span.
func endSpan(sp trace.Span, err error) {
	if err != nil {
		sp.RecordError(err)
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}
