package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const stdioInit = `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
`

func summaryCall(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"read_pcap_summary","arguments":{"pcap_file":"traffic.pcap"}}}`+"\n", id)
}

// reply is one JSON-RPC answer as the tests look at it.
type reply struct {
	ID     json.RawMessage `json:"id"`
	Result *struct {
		IsError    bool `json:"isError"`
		Structured struct {
			TotalPackets int `json:"total_packets"`
		} `json:"structuredContent"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readReplies reads out until it ends.
func readReplies(t *testing.T, out io.Reader) []reply {
	t.Helper()
	var got []reply
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Errorf("stdout line is not JSON-RPC: %q", sc.Text())
			continue
		}
		got = append(got, r)
	}
	return got
}

// TestStdioEOFFinishesCalls closes the input right after tools/call while
// the analysis is still held: every call must be answered with its
// result, not "context canceled", and only then ServeStdio returns.
func TestStdioEOFFinishesCalls(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	cs := newCountingServer(t, Config{Roots: []string{dir}}, true)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- cs.ServeStdio(t.Context(), inR, outW)
		outW.Close()
	}()
	replies := make(chan []reply, 1)
	go func() { replies <- readReplies(t, outR) }()

	const calls = 5
	msgs := stdioInit
	for i := 1; i <= calls; i++ {
		msgs += summaryCall(i)
	}
	if _, err := io.WriteString(inW, msgs); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	select {
	case <-cs.started: // the one parse the calls share is running
	case <-time.After(10 * time.Second):
		t.Fatal("no analysis started")
	}
	time.Sleep(200 * time.Millisecond) // the EOF is seen while it is held
	select {
	case err := <-served:
		t.Fatalf("ServeStdio returned (%v) with calls in flight", err)
	default:
	}
	close(cs.gate)
	var got []reply
	select {
	case got = <-replies:
	case <-time.After(20 * time.Second):
		t.Fatal("ServeStdio did not finish after its input ended")
	}
	if err := <-served; err != nil {
		t.Errorf("ServeStdio: %v", err)
	}
	answered := map[string]bool{}
	for _, r := range got {
		answered[string(r.ID)] = true
		if r.Error != nil || (string(r.ID) != `"init"` && (r.Result == nil || r.Result.IsError || r.Result.Structured.TotalPackets != 24)) {
			t.Errorf("reply %s: error %+v, result %+v; want total_packets 24", r.ID, r.Error, r.Result)
		}
	}
	if len(got) != calls+1 || !answered[`"init"`] {
		t.Errorf("%d replies (ids %v), want initialize and %d calls", len(got), answered, calls)
	}
	if got[0].ID == nil || string(got[0].ID) != `"init"` {
		t.Errorf("first reply is %s, want initialize's", got[0].ID)
	}
}

// TestStdioShutdownUnread cancels a server whose replies nobody reads, with
// its input still open or already closed: ServeStdio returns at once.
func TestStdioShutdownUnread(t *testing.T) {
	for _, closeInput := range []bool{false, true} {
		t.Run(fmt.Sprintf("input closed %v", closeInput), func(t *testing.T) {
			dir := t.TempDir()
			writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
			s, err := New(Config{Roots: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			inR, inW := io.Pipe()
			outR, outW := io.Pipe() // never read: every write blocks
			defer outR.Close()
			defer inR.Close() // ends the goroutine writing the input
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			served := make(chan error, 1)
			go func() { served <- s.ServeStdio(ctx, inR, outW) }()
			msgs := stdioInit
			for i := 1; i <= 40; i++ {
				msgs += summaryCall(i)
			}
			go func() {
				io.WriteString(inW, msgs)
				if closeInput {
					inW.Close()
				}
			}()
			time.Sleep(300 * time.Millisecond)
			select {
			case err := <-served:
				t.Fatalf("ServeStdio returned (%v) with replies unwritten", err)
			default:
			}
			start := time.Now()
			cancel()
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("ServeStdio: %v", err)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("ServeStdio took %v to return after cancel", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ServeStdio did not return within 5s of cancel with its output unread")
			}
		})
	}
}

// TestStdioLineLimit sends a line over MaxMessageBytes: it is answered
// with an error, and the next line is served.
func TestStdioLineLimit(t *testing.T) {
	s, err := New(Config{Roots: []string{t.TempDir()}, Transport: TransportConfig{MaxMessageBytes: 1 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"pad":"` + strings.Repeat("a", 100<<10) + `"}}` + "\n"
	in := strings.NewReader(stdioInit + big + `{"jsonrpc":"2.0","id":8,"method":"tools/list"}` + "\n")
	outR, outW := io.Pipe()
	go func() {
		if err := s.ServeStdio(t.Context(), in, outW); err != nil {
			t.Errorf("ServeStdio: %v", err)
		}
		outW.Close()
	}()
	got := readReplies(t, outR)
	if len(got) != 3 {
		t.Fatalf("%d replies, want 3: %+v", len(got), got)
	}
	if e := got[1].Error; e == nil || string(got[1].ID) != "null" || !strings.Contains(e.Message, "exceeds the limit of 1024 bytes") {
		t.Errorf("over-long line: id %s error %+v", got[1].ID, e)
	}
	if string(got[2].ID) != "8" || got[2].Result == nil {
		t.Errorf("the line after: %+v", got[2])
	}
}

// TestStdioTwoSessions serves two stdio clients from one server at once:
// each has its own session.
func TestStdioTwoSessions(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	s, err := New(Config{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []reply, 2)
	for range 2 {
		go func() {
			outR, outW := io.Pipe()
			go func() {
				if err := s.ServeStdio(t.Context(), strings.NewReader(stdioInit+summaryCall(1)), outW); err != nil {
					t.Errorf("ServeStdio: %v", err)
				}
				outW.Close()
			}()
			results <- readReplies(t, outR)
		}()
	}
	for range 2 {
		got := <-results
		if len(got) != 2 || got[1].Result == nil || got[1].Result.Structured.TotalPackets != 24 {
			t.Errorf("replies %+v", got)
		}
	}
}
