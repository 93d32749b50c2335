package agent

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	openai "github.com/sashabaranov/go-openai"
)

// fakeStep is one scripted answer of the fake OpenAI endpoint to one POST
// /v1/chat/completions. Exactly one kind applies: an HTTP error (status
// set), a hang (until the request's context ends), tool calls, or content.
type fakeStep struct {
	toolCalls []openai.ToolCall
	content   string
	model     string // the model the response names; empty: the one asked for

	status  int         // an HTTP error status
	header  http.Header // extra response headers (Retry-After, ...)
	errBody string      // the error response body (OpenAI's error JSON)

	hang bool // block until the client gives up
}

// fakeRequest is one request the fake received.
type fakeRequest struct {
	req  openai.ChatCompletionRequest
	raw  map[string]json.RawMessage // the body as sent, to see which keys are present
	auth string
	at   time.Time
}

// fakeOpenAI is a scripted OpenAI-compatible chat completions endpoint:
// each request pops the next step; every request is recorded.
type fakeOpenAI struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	steps   []fakeStep
	reqs    []fakeRequest
	replies int // the answers given so far (not errors or hangs)

	release chan struct{} // closed at cleanup: frees any hung handler
}

// newFakeOpenAI starts the endpoint with its script. A request past the
// end of the script fails the test and gets a 500.
func newFakeOpenAI(t testing.TB, steps ...fakeStep) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{t: t, steps: steps, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

// baseURL is what Config.BaseURL takes.
func (f *fakeOpenAI) baseURL() string { return f.srv.URL + "/v1" }

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("fake OpenAI: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake OpenAI: reading the request: %v", err)
		return
	}
	var s fakeRequest
	s.at, s.auth = time.Now(), r.Header.Get("Authorization")
	if err := json.Unmarshal(body, &s.req); err != nil {
		f.t.Errorf("fake OpenAI: the request is not a ChatCompletionRequest: %v\n%s", err, body)
	}
	if err := json.Unmarshal(body, &s.raw); err != nil {
		f.t.Errorf("fake OpenAI: the request is not a JSON object: %v", err)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, s)
	n := len(f.reqs)
	if ok := len(f.steps) > 0 && f.steps[0].status == 0 && !f.steps[0].hang; ok {
		f.replies++
	}
	k := f.replies
	var st fakeStep
	ok := len(f.steps) > 0
	if ok {
		st, f.steps = f.steps[0], f.steps[1:]
	}
	f.mu.Unlock()
	if !ok {
		last := ""
		if m := s.req.Messages; len(m) > 0 {
			last = m[len(m)-1].Role + ": " + m[len(m)-1].Content
		}
		f.t.Errorf("fake OpenAI: request %d is past the end of the script; its last message: %.600s", n, last)
		writeFakeAPIError(w, http.StatusBadRequest, nil, "the script has ended", "invalid_request_error", "")
		return
	}
	for k, vs := range st.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case st.hang:
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	case st.status != 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st.status)
		io.WriteString(w, st.errBody)
		return
	}
	msg := openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: st.content, ToolCalls: st.toolCalls}
	finish := openai.FinishReasonStop
	if len(st.toolCalls) > 0 {
		finish = openai.FinishReasonToolCalls
	}
	resp := openai.ChatCompletionResponse{
		ID: fmt.Sprintf("chatcmpl-%d", n), Object: "chat.completion", Created: time.Now().Unix(), Model: cmp.Or(st.model, s.req.Model),
		Choices: []openai.ChatCompletionChoice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:   openai.Usage{PromptTokens: 100 * k, CompletionTokens: 10 * k, TotalTokens: 110 * k},
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// requests returns the requests received so far.
func (f *fakeOpenAI) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest{}, f.reqs...)
}

// left returns how many steps were not used.
func (f *fakeOpenAI) left() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.steps)
}

// The fake's usage numbers: its nth answer (errors and hangs do not
// count) reports 100n prompt and 10n completion tokens, so a conversation
// of k answers totals these.
func fakePromptTokens(k int) int     { return 100 * k * (k + 1) / 2 }
func fakeCompletionTokens(k int) int { return 10 * k * (k + 1) / 2 }

func writeFakeAPIError(w http.ResponseWriter, status int, hdr http.Header, msg, typ, param string) {
	for k, vs := range hdr {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, fakeAPIErrorBody(msg, typ, param))
}

// fakeAPIErrorBody is OpenAI's error JSON.
func fakeAPIErrorBody(msg, typ, param string) string {
	e := map[string]any{"message": msg, "type": typ, "code": nil, "param": nil}
	if param != "" {
		e["param"] = param
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// Script steps.

func replyContent(content string) fakeStep { return fakeStep{content: content} }

func replyTools(tcs ...openai.ToolCall) fakeStep { return fakeStep{toolCalls: tcs} }

func toolCall(id, name, args string) openai.ToolCall {
	return openai.ToolCall{ID: id, Type: openai.ToolTypeFunction, Function: openai.FunctionCall{Name: name, Arguments: args}}
}

func replyError(status int, msg, typ, param string, hdr ...string) fakeStep {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return fakeStep{status: status, header: h, errBody: fakeAPIErrorBody(msg, typ, param)}
}

func replyHang() fakeStep { return fakeStep{hang: true} }

// fakeToolMessages returns the role "tool" messages of a request.
func fakeToolMessages(r fakeRequest) []openai.ChatCompletionMessage {
	var out []openai.ChatCompletionMessage
	for _, m := range r.req.Messages {
		if m.Role == openai.ChatMessageRoleTool {
			out = append(out, m)
		}
	}
	return out
}

// fakeLastMessage returns a request's last message.
func fakeLastMessage(t testing.TB, r fakeRequest) openai.ChatCompletionMessage {
	t.Helper()
	if len(r.req.Messages) == 0 {
		t.Fatal("a request without messages")
	}
	return r.req.Messages[len(r.req.Messages)-1]
}

// Captures.

// copyTestCapture copies ../testdata/name into a fresh directory as
// traffic.pcap and returns the directory; it skips when the shared
// capture is absent.
func copyTestCapture(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join("..", "testdata", name)
	b, err := os.ReadFile(src)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent: the shared test captures are not in this checkout", src)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "traffic.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeUACapture writes dir/traffic.pcap: one TCP connection from
// client to server port 80 carrying one GET of uri with the given
// User-Agent, and a 404 answer.
func writeUACapture(t testing.TB, dir string, client, server net.IP, uri, userAgent string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "traffic.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cmac := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	smac := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var cseq, sseq uint32 = 1000, 5000
	n := 0
	write := func(fromClient bool, flags string, payload []byte) {
		t.Helper()
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: server}
		tcp := &layers.TCP{SrcPort: 51000, DstPort: 80, Window: 65535, Seq: cseq, Ack: sseq}
		if !fromClient {
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = server, client
			tcp.SrcPort, tcp.DstPort, tcp.Seq, tcp.Ack = 80, 51000, sseq, cseq
		}
		tcp.SYN = strings.Contains(flags, "S")
		tcp.ACK = strings.Contains(flags, "A")
		tcp.PSH = strings.Contains(flags, "P")
		tcp.FIN = strings.Contains(flags, "F")
		if !tcp.ACK {
			tcp.Ack = 0
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: start.Add(time.Duration(n) * 10 * time.Millisecond), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		n++
		adv := uint32(len(payload))
		if tcp.SYN || tcp.FIN {
			adv++
		}
		if fromClient {
			cseq += adv
		} else {
			sseq += adv
		}
	}
	req := []byte("GET " + uri + " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: " + userAgent + "\r\nAccept: */*\r\n\r\n")
	resp := []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nContent-Type: text/plain\r\n\r\nnot found")
	write(true, "S", nil)
	write(false, "SA", nil)
	write(true, "A", nil)
	write(true, "PA", req)
	write(false, "PA", resp)
	write(true, "FA", nil)
	write(false, "FA", nil)
	write(true, "A", nil)
}

// llmSettleGoroutines waits for the goroutine count to come back to at most
// want, and returns the last count and, when it did not, a stack dump.
func llmSettleGoroutines(want int, within time.Duration) (int, string) {
	deadline := time.Now().Add(within)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return n, ""
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			return n, string(buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
