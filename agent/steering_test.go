package agent

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
	openai "github.com/sashabaranov/go-openai"
)

// fakeChat is a scripted ChatClient: no HTTP. Each call pops the next
// reply; every request is recorded.
type fakeChat struct {
	t       testing.TB
	mu      sync.Mutex
	replies []fakeChatReply
	reqs    []openai.ChatCompletionRequest
}

type fakeChatReply struct {
	model   string
	content string
	err     error
}

func (f *fakeChat) CreateChatCompletion(_ context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if len(f.replies) == 0 {
		f.t.Errorf("fakeChat: request %d is past the end of the script", len(f.reqs))
		return openai.ChatCompletionResponse{}, &openai.APIError{HTTPStatusCode: 400, Message: "the script has ended"}
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	if r.err != nil {
		return openai.ChatCompletionResponse{}, r.err
	}
	return openai.ChatCompletionResponse{
		Model:   r.model,
		Choices: []openai.ChatCompletionChoice{{Message: openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: r.content}}},
		Usage:   openai.Usage{PromptTokens: 1000, CompletionTokens: 50},
	}, nil
}

func chatConfig(dir string, fc *fakeChat) Config {
	return Config{WorkingDir: dir, ChatClient: fc, Model: testModel, MaxRetries: 2}
}

const raisedAnswer = `{"attack_assessment": {"attack_type": "port_scan", "target": "10.66.0.20", "severity": "critical", "confidence": "high"},
 "evidence": ["10.66.0.10 SYN-scanned 1000 ports of 10.66.0.20 and found SSH open."], "recommendations": ["Block 10.66.0.10."]}`

// TestChatClientVerdicts runs the model through Config.ChatClient, with no
// key, no base URL and no HTTP: AnalystAuto picks the model.
func TestChatClientVerdicts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		replies      []fakeChatReply
		want         llmVerdict
		disagreement bool
		retries      int
		model        string
	}{
		{
			name:    "a model may raise a verdict",
			replies: []fakeChatReply{{model: "test-model-0125", content: raisedAnswer}},
			want:    llmVerdict{report.AttackPortScan, synVictim, report.SeverityCritical, report.ConfidenceHigh},
			model:   "test-model-0125",
		},
		{
			name:         "a model may not bury the scan",
			replies:      []fakeChatReply{{content: buryingAnswer}, {model: "m2", content: buryingAnswer}},
			want:         synVerdict,
			disagreement: true,
			model:        "m2",
		},
		{
			name: "retried after a 429, answered by the model it names",
			replies: []fakeChatReply{
				{err: &openai.APIError{HTTPStatusCode: 429, Message: "slow down"}},
				{model: "test-model-0125", content: raisedAnswer},
			},
			want:    llmVerdict{report.AttackPortScan, synVictim, report.SeverityCritical, report.ConfidenceHigh},
			retries: 1,
			model:   "test-model-0125",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyTestCapture(t, "scan_syn.pcap")
			fc := &fakeChat{t: t, replies: tc.replies}
			a, err := New(chatConfig(dir, fc))
			if err != nil {
				t.Fatal(err)
			}
			if a.Mode() != AnalystLLM {
				t.Fatalf("mode = %s with a ChatClient, want llm", a.Mode())
			}
			rep := investigateOK(t, a)
			if got := llmVerdictOf(rep); got != tc.want {
				t.Errorf("verdict = %+v, want %+v", got, tc.want)
			}
			an := rep.Analyst
			turns := len(tc.replies) - tc.retries
			if an.Mode != report.ModeLLM || an.Model != tc.model || an.Turns != turns || an.Retries != tc.retries ||
				an.PromptTokens != 1000*turns || an.CompletionTokens != 50*turns {
				t.Errorf("analyst = %+v, want llm, model %s, %d turns, %d retries, %d/%d tokens", an, tc.model, turns, tc.retries, 1000*turns, 50*turns)
			}
			if (an.Disagreement != "") != tc.disagreement {
				t.Errorf("analyst.disagreement = %q, want one: %v", an.Disagreement, tc.disagreement)
			}
			checkSynFacts(t, rep, dir)
		})
	}
}

// TestSteeringReachesTheRequest checks Instructions, Temperature and Seed
// in the body the endpoint receives, and in what a ChatClient is given.
func TestSteeringReachesTheRequest(t *testing.T) {
	t.Parallel()
	const instr = "Write the evidence for a SOC ticket; name the VLAN when you know it."
	temp, zero, seed := float32(0.25), float32(0), 42
	for _, tc := range []struct {
		name     string
		instr    string
		temp     *float32
		seed     *int
		wantTemp float64 // 0: the key must be absent
	}{
		{name: "nothing set"},
		{name: "all set", instr: instr, temp: &temp, seed: &seed, wantTemp: 0.25},
		{name: "temperature zero", temp: &zero, wantTemp: math.SmallestNonzeroFloat32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyTestCapture(t, "scan_syn.pcap")
			f := newFakeOpenAI(t, replyContent(goodSynAnswer))
			cfg := llmConfig(dir, f, AnalystLLM)
			cfg.Instructions, cfg.Temperature, cfg.Seed = tc.instr, tc.temp, tc.seed
			investigateOK(t, newLLMAgent(t, cfg))
			r := f.requests()[0]
			sys := r.req.Messages[0]
			if sys.Role != openai.ChatMessageRoleSystem || !strings.HasPrefix(sys.Content, systemPrompt) {
				t.Fatalf("the first message is not our system prompt: %.200q", sys.Content)
			}
			if tc.instr == "" && sys.Content != systemPrompt {
				t.Errorf("no Instructions, yet the system prompt grew: %q", sys.Content[len(systemPrompt):])
			}
			if tc.instr != "" && !strings.HasSuffix(sys.Content, "\n"+tc.instr) {
				t.Errorf("the Instructions do not follow the system prompt: %q", sys.Content[len(systemPrompt):])
			}
			checkNumberKey(t, r.raw, "temperature", tc.wantTemp)
			wantSeed := 0.0
			if tc.seed != nil {
				wantSeed = float64(*tc.seed)
			}
			checkNumberKey(t, r.raw, "seed", wantSeed)

			// The same settings reach a ChatClient.
			fc := &fakeChat{t: t, replies: []fakeChatReply{{content: goodSynAnswer}}}
			ccfg := chatConfig(dir, fc)
			ccfg.Instructions, ccfg.Temperature, ccfg.Seed = tc.instr, tc.temp, tc.seed
			a, err := New(ccfg)
			if err != nil {
				t.Fatal(err)
			}
			investigateOK(t, a)
			got := fc.reqs[0]
			if got.Messages[0].Content != sys.Content || float64(got.Temperature) != tc.wantTemp || (got.Seed == nil) != (tc.seed == nil) {
				t.Errorf("the ChatClient got temperature %v, seed %v and a different system prompt: %v", got.Temperature, got.Seed, got.Messages[0].Content != sys.Content)
			}
		})
	}
}

// checkNumberKey checks that the body has key with value want, or lacks
// it when want is 0.
func checkNumberKey(t testing.TB, raw map[string]json.RawMessage, key string, want float64) {
	t.Helper()
	v, ok := raw[key]
	if want == 0 {
		if ok {
			t.Errorf("the body has %s = %s, want none", key, v)
		}
		return
	}
	var got float64
	if err := json.Unmarshal(v, &got); err != nil || float32(got) != float32(want) {
		t.Errorf("the body's %s = %s, want %v", key, v, want)
	}
}
