package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/agents-of-shield/reconpcap/internal/retry"
	"github.com/agents-of-shield/reconpcap/report"
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
	instructions   string  // Config.Instructions, trimmed
	temperature    float32 // 0: not sent
	seed           *int
	log            *slog.Logger
	// backoff waits up to 0.5 s, 1 s, 2 s, ... 30 s between attempts and
	// honours a Retry-After of up to two minutes: an endpoint that asks
	// for longer is overloaded past what an investigation should wait for.
	backoff retry.Backoff

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
	if key == "" && base == "" && cfg.ChatClient == nil {
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
	var cc ChatClient = openai.NewClientWithConfig(oc)
	if cfg.ChatClient != nil {
		cc = cfg.ChatClient
	}
	l := &llmAnalyst{
		client:         cc,
		instructions:   strings.TrimSpace(cfg.Instructions),
		seed:           cfg.Seed,
		model:          model,
		maxTurns:       cfg.MaxTurns,
		requestTimeout: cfg.RequestTimeout,
		maxRetries:     cfg.MaxRetries,
		log:            cfg.Logger,
		backoff:        retry.Backoff{Base: 500 * time.Millisecond, Max: 30 * time.Second, MaxAfter: 2 * time.Minute},
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
	if t := cfg.Temperature; t != nil {
		l.temperature = *t
		if l.temperature == 0 {
			l.temperature = math.SmallestNonzeroFloat32
		}
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
		{Role: openai.ChatMessageRoleSystem, Content: l.systemPrompt()},
		{Role: openai.ChatMessageRoleUser, Content: userPrompt(s.pcapFile, trig)},
	}
	ground := newGrounder(s, fx)
	corrected, reconsidered := false, false
	for turn := 1; ; turn++ {
		if turn > l.maxTurns {
			return nil, an, fmt.Errorf("%w: the model used all %d turns without a final answer", errFallback, l.maxTurns)
		}
		an.Turns = turn
		sent := time.Now()
		resp, retries, err := l.request(ctx, s, openai.ChatCompletionRequest{Model: l.model, Messages: msgs, Tools: tools, Temperature: l.temperature, Seed: l.seed})
		an.Retries += retries
		if err != nil {
			return nil, an, err
		}
		if resp.Model != "" {
			// The model that answered, which an alias or a gateway may
			// have chosen, not the one asked for.
			an.Model = resp.Model
		}
		an.PromptTokens += resp.Usage.PromptTokens
		an.CompletionTokens += resp.Usage.CompletionTokens
		if len(resp.Choices) == 0 {
			return nil, an, fmt.Errorf("%w: the model returned no choices", errFallback)
		}
		msg := resp.Choices[0].Message
		s.emit.emit(EventModelTurn{EventBase: s.emit.base(), Turn: turn, Model: cmp.Or(resp.Model, l.model), PromptTokens: resp.Usage.PromptTokens,
			CompletionTokens: resp.Usage.CompletionTokens, ToolCalls: len(msg.ToolCalls), Duration: time.Since(sent)})
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
			if f, ok := buried(ans, fx); ok {
				if !reconsidered {
					// One turn to look again, with the finding named.
					reconsidered = true
					msgs = append(msgs,
						openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: clip(msg.Content, 8000)},
						openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: reconsiderPrompt(f)})
					continue
				}
				ans, an.Disagreement = keepEvidence(ans, fx, f)
				s.emit.emit(EventDisagreement{EventBase: s.emit.base(), Finding: f, View: an.Disagreement})
				return ans, an, nil
			}
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
