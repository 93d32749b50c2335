package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/agents-of-shield/reconpcap/report"
	"github.com/mark3labs/mcp-go/mcp"
	openai "github.com/sashabaranov/go-openai"
)

// ChatClient is the one call the model analyst needs from an
// OpenAI-compatible client.
type ChatClient interface {
	CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
}

var _ ChatClient = (*openai.Client)(nil)

// errFallback marks a model failure after which the rules analyst answers.
var errFallback = errors.New("falling back to the rules analyst")

// maxToolResultBytes bounds one tool result sent to the model, on top of
// the MCP server's own bound, so a huge capture cannot blow the context.
const maxToolResultBytes = 24 << 10

// llmAnalyst lets a model investigate through the MCP tools.
type llmAnalyst struct {
	client         ChatClient
	model          string
	maxTurns       int
	requestTimeout time.Duration
	maxRetries     int
	log            *slog.Logger
	retryAfter     *retryAfterTransport

	mu               sync.Mutex
	noResponseFormat bool // the endpoint refused response_format once
}

// newLLMAnalyst builds the model analyst from cfg and the environment. It
// fails with ErrConfig when no API key and no base URL are set.
func newLLMAnalyst(cfg Config) (*llmAnalyst, error) {
	key := cfg.APIKey
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	base := cfg.BaseURL
	if base == "" {
		base = os.Getenv("OPENAI_BASE_URL")
	}
	if key == "" && base == "" {
		return nil, fmt.Errorf("%w: the model analyst needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local endpoint)", ErrConfig)
	}
	model := cfg.Model
	if model == "" {
		model = os.Getenv("OPENAI_MODEL")
	}
	if model == "" {
		model = DefaultModel
	}
	oc := openai.DefaultConfig(key)
	if base != "" {
		oc.BaseURL = strings.TrimRight(base, "/")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	rt := &retryAfterTransport{next: hc.Transport}
	if rt.next == nil {
		rt.next = http.DefaultTransport
	}
	wrapped := *hc
	wrapped.Transport = rt
	oc.HTTPClient = &wrapped
	l := &llmAnalyst{
		client:         openai.NewClientWithConfig(oc),
		model:          model,
		maxTurns:       cfg.MaxTurns,
		requestTimeout: cfg.RequestTimeout,
		maxRetries:     cfg.MaxRetries,
		log:            cfg.Logger,
		retryAfter:     rt,
	}
	if l.maxTurns <= 0 {
		l.maxTurns = 12
	}
	if l.requestTimeout <= 0 {
		l.requestTimeout = 120 * time.Second
	}
	switch {
	case l.maxRetries == 0:
		l.maxRetries = 4
	case l.maxRetries < 0:
		l.maxRetries = 0
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// investigate runs the tool-calling conversation and returns the model's
// validated, grounded answer.
func (l *llmAnalyst) investigate(ctx context.Context, s *session, fx facts, trig Trigger) (*report.Answer, report.Analyst, error) {
	an := report.Analyst{Mode: report.ModeLLM, Model: l.model, ToolCalls: []string{}}
	mcpTools, err := s.listTools(ctx)
	if err != nil {
		return nil, an, fmt.Errorf("%w: listing the MCP tools: %v", errFallback, err)
	}
	tools, known := openAITools(mcpTools)
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: systemPrompt},
		{Role: openai.ChatMessageRoleUser, Content: userPrompt(s.pcapFile, trig)},
	}
	ground := newGrounder(ctx, s, fx)
	corrected := false
	for turn := 1; ; turn++ {
		if turn > l.maxTurns {
			return nil, an, fmt.Errorf("%w: the model used all %d turns without a final answer", errFallback, l.maxTurns)
		}
		an.Turns = turn
		resp, err := l.complete(ctx, openai.ChatCompletionRequest{Model: l.model, Messages: msgs, Tools: tools})
		if err != nil {
			return nil, an, err
		}
		an.PromptTokens += resp.Usage.PromptTokens
		an.CompletionTokens += resp.Usage.CompletionTokens
		if len(resp.Choices) == 0 {
			return nil, an, fmt.Errorf("%w: the model returned no choices", errFallback)
		}
		msg := resp.Choices[0].Message
		if len(msg.ToolCalls) > 0 {
			msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: msg.Content, ToolCalls: msg.ToolCalls})
			for _, tc := range msg.ToolCalls {
				an.ToolCalls = append(an.ToolCalls, tc.Function.Name)
				msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: tc.ID, Name: tc.Function.Name, Content: l.runTool(ctx, s, known, tc)})
			}
			continue
		}
		ans, verr := report.Parse(msg.Content)
		if verr == nil {
			verr = ans.Validate()
		}
		if verr == nil {
			verr = ground.check(ctx, ans)
		}
		if verr == nil {
			if note := disagreement(ans, fx); note != "" {
				an.Note = note
			}
			return ans, an, nil
		}
		if corrected {
			return nil, an, fmt.Errorf("%w: the model's answer was invalid twice: %v", errFallback, verr)
		}
		corrected = true
		msgs = append(msgs,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: clip(msg.Content, 8000)},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: "Your answer cannot be accepted: " + verr.Error() + "\nAnswer again with the corrected JSON object only, following the schema."})
	}
}

// runTool runs one tool call for the model and returns the text of the
// tool message: the result, or an error the model can act on.
func (l *llmAnalyst) runTool(ctx context.Context, s *session, known map[string]bool, tc openai.ToolCall) string {
	name := tc.Function.Name
	if !known[name] {
		return fmt.Sprintf("error: there is no tool named %q; the tools are the ones listed in this conversation", clip(name, 100))
	}
	args := map[string]any{}
	if raw := strings.TrimSpace(tc.Function.Arguments); raw != "" {
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			return "error: the arguments are not a JSON object: " + err.Error()
		}
	}
	res, err := s.call(ctx, name, args)
	if err != nil {
		var te *ToolError
		if errors.As(err, &te) {
			return "error: " + te.Message
		}
		return "error: the tool failed: " + err.Error()
	}
	out := string(res)
	if len(out) > maxToolResultBytes {
		cut := maxToolResultBytes
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut-- // never split a character
		}
		out = out[:cut] + "\n[result cut at 24 KiB; call the tool again with offset/limit to page]"
	}
	return out
}

// complete sends one request with the response format, retrying without it
// when the endpoint refuses it, and retrying 429, 5xx and network errors.
func (l *llmAnalyst) complete(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	l.mu.Lock()
	useFormat := !l.noResponseFormat
	l.mu.Unlock()
	if useFormat {
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: report.AnswerSchemaName, Schema: rawSchema(report.AnswerSchema()), Strict: true},
		}
	}
	resp, err := l.withRetries(ctx, req)
	if err != nil && useFormat && refusesResponseFormat(err) {
		l.log.Info("the endpoint refused response_format; asking without it")
		l.mu.Lock()
		l.noResponseFormat = true
		l.mu.Unlock()
		req.ResponseFormat = nil
		resp, err = l.withRetries(ctx, req)
	}
	return resp, err
}

func (l *llmAnalyst) withRetries(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	for attempt := 0; ; attempt++ {
		var after time.Duration
		actx, cancel := context.WithTimeout(withRetryAfterSlot(ctx, &after), l.requestTimeout)
		resp, err := l.client.CreateChatCompletion(actx, req)
		cancel()
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, ctx.Err()
		}
		retry, typed := classify(err)
		if !retry || attempt >= l.maxRetries {
			return resp, typed
		}
		wait := backoff(attempt)
		if after > 0 {
			wait = min(after, 2*time.Minute)
		}
		l.log.Info("retrying the model request", "attempt", attempt+1, "wait", wait, "err", typed)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is exponential with full jitter: up to 0.5 s, 1 s, 2 s, ... 30 s.
func backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<attempt, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// modelError is a typed model error: its text (msg, wrapping ErrModel) is
// safe to show, and it keeps the client's error for errors.As (the status,
// the param of an *openai.APIError) without printing it, as that text can
// quote the API key.
type modelError struct {
	msg   error
	cause error
}

func (e *modelError) Error() string   { return e.msg.Error() }
func (e *modelError) Unwrap() []error { return []error{e.msg, e.cause} }

// classify says whether a model error is worth retrying and wraps it in a
// clear typed error that never contains the API key.
func classify(err error) (bool, error) {
	retry, msg := classifyText(err)
	return retry, &modelError{msg: msg, cause: err}
}

func classifyText(err error) (bool, error) {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	status := 0
	msg := err.Error()
	switch {
	case errors.As(err, &apiErr):
		status, msg = apiErr.HTTPStatusCode, apiErr.Message
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
		msg = fmt.Sprintf("HTTP %d: %s", reqErr.HTTPStatusCode, clip(string(reqErr.Body), 300))
	}
	switch {
	case status == 401 || status == 403:
		return false, fmt.Errorf("%w: the endpoint refused the API key (HTTP %d)", ErrModel, status)
	case status == 404:
		return false, fmt.Errorf("%w: the endpoint or model was not found (HTTP 404): %s", ErrModel, clip(msg, 300))
	case status == 400 || status == 422:
		return false, fmt.Errorf("%w: the endpoint rejected the request (HTTP %d): %s", ErrModel, status, clip(msg, 300))
	case status == 429 || status >= 500:
		return true, fmt.Errorf("%w: HTTP %d: %s", ErrModel, status, clip(msg, 300))
	case status == 0:
		if errors.Is(err, context.DeadlineExceeded) {
			return true, fmt.Errorf("%w: the request timed out", ErrModel)
		}
		return true, fmt.Errorf("%w: %s", ErrModel, clip(redact(err.Error()), 300))
	}
	return false, fmt.Errorf("%w: HTTP %d: %s", ErrModel, status, clip(msg, 300))
}

// redact drops anything that looks like a bearer token from an error text.
func redact(s string) string {
	return regexp.MustCompile(`(?i)(bearer\s+|sk-)[A-Za-z0-9_\-]{4,}`).ReplaceAllString(s, "[redacted]")
}

func refusesResponseFormat(err error) bool {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	text := strings.ToLower(err.Error())
	if errors.As(err, &apiErr) {
		if apiErr.HTTPStatusCode != 400 && apiErr.HTTPStatusCode != 422 {
			return false
		}
		text = strings.ToLower(apiErr.Message)
		if apiErr.Param != nil {
			text += " " + strings.ToLower(*apiErr.Param)
		}
	} else if errors.As(err, &reqErr) {
		if reqErr.HTTPStatusCode != 400 && reqErr.HTTPStatusCode != 422 {
			return false
		}
		text = strings.ToLower(string(reqErr.Body))
	}
	return strings.Contains(text, "response_format") || strings.Contains(text, "json_schema") || strings.Contains(text, "structured output")
}

type rawSchema json.RawMessage

func (r rawSchema) MarshalJSON() ([]byte, error) { return r, nil }

// openAITools turns the MCP tool list into OpenAI function tools. The
// capture arguments are left out: the session supplies them.
func openAITools(ts []mcp.Tool) ([]openai.Tool, map[string]bool) {
	out := make([]openai.Tool, 0, len(ts))
	known := map[string]bool{}
	for _, t := range ts {
		schema := map[string]any{}
		if b, err := json.Marshal(t.InputSchema); err == nil {
			json.Unmarshal(b, &schema)
		}
		if props, ok := schema["properties"].(map[string]any); ok {
			delete(props, "pcap_file")
			delete(props, "working_dir")
		}
		if req, ok := schema["required"].([]any); ok {
			kept := []any{}
			for _, r := range req {
				if r != "pcap_file" && r != "working_dir" {
					kept = append(kept, r)
				}
			}
			schema["required"] = kept
		}
		if schema["type"] == nil {
			schema["type"] = "object"
		}
		raw, _ := json.Marshal(schema)
		out = append(out, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: json.RawMessage(raw)}})
		known[t.Name] = true
	}
	return out, known
}

// disagreement notes where the model's verdict contradicts the detectors.
func disagreement(ans *report.Answer, fx facts) string {
	worst := report.Severity("")
	for _, f := range fx.Findings {
		if f.Severity.Rank() > worst.Rank() {
			worst = f.Severity
		}
	}
	a := ans.AttackAssessment
	switch {
	case a.AttackType == report.AttackUnknown && worst.Rank() >= report.SeverityHigh.Rank():
		return fmt.Sprintf("The model found no attack, but the detectors report %d findings, the worst %s; the findings are kept in this report.", len(fx.Findings), worst)
	case a.AttackType != report.AttackUnknown && len(fx.Findings) == 0:
		return "The model reports an attack that no detector found; weigh its evidence accordingly."
	case worst.Rank()-a.Severity.Rank() >= 2:
		return fmt.Sprintf("The model rates the severity %s, well below the detectors' worst finding (%s).", a.Severity, worst)
	}
	return ""
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
			*slot = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// grounder checks that the addresses a model names occur in the capture.
type grounder struct {
	s     *session
	known map[netip.Addr]bool
}

func newGrounder(ctx context.Context, s *session, fx facts) *grounder {
	g := &grounder{s: s, known: map[netip.Addr]bool{}}
	for _, f := range fx.Findings {
		for _, v := range []string{f.Source, f.Target} {
			if a, err := netip.ParseAddr(v); err == nil {
				g.known[a.Unmap()] = true
			}
		}
	}
	return g
}

var addrToken = regexp.MustCompile(`[0-9A-Fa-f:.]{2,}[0-9A-Fa-f]`)

// check fails when the target, or an address in the evidence, does not
// occur in the capture.
func (g *grounder) check(ctx context.Context, ans *report.Answer) error {
	var problems []report.FieldError
	if a, err := netip.ParseAddr(ans.AttackAssessment.Target); err == nil && !g.present(ctx, a.Unmap()) {
		problems = append(problems, report.FieldError{Field: "attack_assessment.target", Reason: fmt.Sprintf("%s does not occur in this capture; name an address the tools reported, or multiple_targets/unknown", a)})
	}
	for i, line := range ans.Evidence {
		for _, tok := range addrToken.FindAllString(line, 20) {
			a, err := netip.ParseAddr(strings.Trim(tok, ".:"))
			if err != nil || (!a.Is4() && strings.Count(tok, ":") < 2) {
				continue
			}
			if !g.present(ctx, a.Unmap()) {
				problems = append(problems, report.FieldError{Field: fmt.Sprintf("evidence[%d]", i), Reason: fmt.Sprintf("%s does not occur in this capture", a)})
			}
		}
	}
	if len(problems) > 0 {
		return &report.ValidationError{Problems: problems}
	}
	return nil
}

// present asks the server (once per address) whether a occurs in the capture.
func (g *grounder) present(ctx context.Context, a netip.Addr) bool {
	if v, ok := g.known[a]; ok {
		return v
	}
	var res struct {
		Present map[string]bool `json:"present"`
	}
	ok := false
	if err := g.s.callInto(ctx, "check_addresses", map[string]any{"addresses": []string{a.String()}}, &res); err == nil {
		ok = res.Present[a.String()]
	}
	g.known[a] = ok
	return ok
}
