package agent

import (
	"context"
	"net/http"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/retry"
	"github.com/agents-of-shield/reconpcap/report"
	openai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// complete sends one request with the response format, retrying without it
// when the endpoint refuses it, and retrying 429, 5xx and network errors.
// It returns the retries it made.
func (l *llmAnalyst) complete(ctx context.Context, s *session, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, int, error) {
	l.mu.Lock()
	useFormat := !l.noResponseFormat
	l.mu.Unlock()
	if useFormat {
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: report.AnswerSchemaName, Schema: rawSchema(report.AnswerSchema()), Strict: true},
		}
	}
	resp, retries, err := l.withRetries(ctx, s, req)
	if err != nil && useFormat && refusesResponseFormat(err) {
		s.logger(l.log).Info("the endpoint refused response_format; asking without it")
		l.mu.Lock()
		l.noResponseFormat = true
		l.mu.Unlock()
		req.ResponseFormat = nil
		var more int
		resp, more, err = l.withRetries(ctx, s, req)
		retries += more
	}
	return resp, retries, err
}

func (l *llmAnalyst) withRetries(ctx context.Context, s *session, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, int, error) {
	for attempt := 0; ; attempt++ {
		var after time.Duration
		actx, cancel := context.WithTimeout(withRetryAfterSlot(ctx, &after), l.requestTimeout)
		resp, err := l.client.CreateChatCompletion(actx, req)
		cancel()
		if err == nil {
			return resp, attempt, nil
		}
		if ctx.Err() != nil {
			return resp, attempt, ctx.Err()
		}
		retryable, typed := classify(err)
		if !retryable || attempt >= l.maxRetries {
			return resp, attempt, typed
		}
		wait := l.backoff.Wait(attempt, after)
		s.logger(l.log).Info("retrying the model request", "attempt", attempt+1, "wait", wait, "err", typed)
		s.emit.emit(EventRetry{EventBase: s.emit.base(), Attempt: attempt + 1, Status: httpStatus(err), Wait: wait, Err: typed})
		if err := retry.Sleep(ctx, wait); err != nil {
			return resp, attempt + 1, ctx.Err()
		}
	}
}

// retryAfterTransport records a response's Retry-After header into the
// slot its request's context carries, since go-openai's errors drop headers.
type retryAfterTransport struct{ next http.RoundTripper }

type retryAfterKey struct{}

func withRetryAfterSlot(ctx context.Context, slot *time.Duration) context.Context {
	return context.WithValue(ctx, retryAfterKey{}, slot)
}

func (t *retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp != nil {
		if slot, ok := req.Context().Value(retryAfterKey{}).(*time.Duration); ok {
			*slot = retry.ParseAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// request sends one model request (with its retries) inside a span that
// carries the GenAI semantic conventions' attributes.
func (l *llmAnalyst) request(ctx context.Context, s *session, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, int, error) {
	attrs := []attribute.KeyValue{
		attribute.String(attrOperation, "chat"), attribute.String(attrProvider, "openai"), attribute.String(attrSystem, "openai"),
		attribute.String(attrRequestModel, req.Model),
	}
	if req.Temperature != 0 {
		attrs = append(attrs, attribute.Float64(attrTemperature, float64(req.Temperature)))
	}
	if req.Seed != nil {
		attrs = append(attrs, attribute.Int(attrSeed, *req.Seed))
	}
	ctx, sp := startSpan(ctx, s.tracer, "chat "+req.Model, trace.SpanKindClient, attrs...)
	resp, retries, err := l.complete(ctx, s, req)
	if err == nil {
		sp.SetAttributes(attribute.String(attrRespModel, resp.Model),
			attribute.Int(attrInputTokens, resp.Usage.PromptTokens), attribute.Int(attrOutputTokens, resp.Usage.CompletionTokens))
	}
	endSpan(sp, err)
	return resp, retries, err
}
