package mcpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestArgumentStringsAreBounded checks a string argument longer than
// MaxArgBytes is a tool error naming it, for every tool, before any work:
// nothing is parsed. One of exactly MaxArgBytes is an ordinary argument.
func TestArgumentStringsAreBounded(t *testing.T) {
	root, _ := pathFixture(t)
	s, c := newTestServer(t, Config{Roots: []string{root}})
	long := strings.Repeat("a", MaxArgBytes+1)
	for _, tool := range ToolNames {
		if tool != "list_captures" { // it takes no pcap_file
			msg := toolErrorText(t, c, tool, map[string]any{"pcap_file": long})
			if want := fmt.Sprintf("pcap_file is a string of %d bytes, longer than the %d allowed", MaxArgBytes+1, MaxArgBytes); !strings.Contains(msg, want) {
				t.Errorf("%s: %q, want it to say %q", tool, msg, want)
			}
		}
		msg := toolErrorText(t, c, tool, map[string]any{"working_dir": long})
		if !strings.Contains(msg, "working_dir is a string of") {
			t.Errorf("%s with a long working_dir: %q", tool, msg)
		}
	}
	msg := toolErrorText(t, c, "lookup_threat_intel", map[string]any{"indicators": []any{"192.0.2.1", long}})
	if !strings.Contains(msg, "indicators[1] is a string of") {
		t.Errorf("lookup_threat_intel with a long indicator: %q", msg)
	}
	// At the bound, the argument is read as usual: here a name too long
	// for the file system, refused by the path policy.
	msg = toolErrorText(t, c, "read_pcap_summary", map[string]any{"pcap_file": long[:MaxArgBytes]})
	if strings.Contains(msg, "longer than the") || !strings.Contains(msg, "pcap_file") {
		t.Errorf("pcap_file of %d bytes: %q, want the path policy's answer", MaxArgBytes, msg)
	}
	if st := s.Stats(); st.Parses != 0 {
		t.Errorf("%d parses after refused arguments, want 0", st.Parses)
	}
}

// TestHugeRequestRefusedEarly sends a tools/call of 100 MiB (a pcap_file
// that long; 8 MiB under the race detector, which makes decoding crawl)
// straight to the server: it is refused as an invalid request quickly and
// without decoding the argument (before the bound, the same call took
// 17 s here and 21.8 s and 1.45 GB in the issue).
func TestHugeRequestRefusedEarly(t *testing.T) {
	root, _ := pathFixture(t)
	s, _ := newTestServer(t, Config{Roots: []string{root}})
	size := 100 << 20
	if raceDetector {
		size = 8 << 20
	}
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_pcap_summary","arguments":{"pcap_file":"`)
	b.Write(bytes.Repeat([]byte("a"), size))
	b.WriteString(`"}}}`)
	msg := json.RawMessage(b.Bytes())

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	reply := s.MCP().HandleMessage(t.Context(), msg)
	took := time.Since(start)
	runtime.ReadMemStats(&after)

	rpcErr, ok := reply.(mcp.JSONRPCError)
	if !ok {
		t.Fatalf("reply %T, want a JSON-RPC error", reply)
	}
	if rpcErr.Error.Code != mcp.INVALID_REQUEST || !strings.Contains(rpcErr.Error.Message, "at most 1048576") {
		t.Errorf("error %d %q, want invalid request naming the bound", rpcErr.Error.Code, rpcErr.Error.Message)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("refused in %v, %d bytes allocated", took, allocated)
	if allocated > 16<<20 {
		t.Errorf("%d bytes allocated to refuse the request, want the 100 MiB argument never copied", allocated)
	}
	// Only mcp-go's first scan of the message is left: 2 s for 100 MiB
	// here, on two cores under a load of 16.
	if took > 20*time.Second && !raceDetector {
		t.Errorf("refusing took %v", took)
	}
}
