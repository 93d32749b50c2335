package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/mcpserver"
)

// goalMCPRatio is issue 4's goal: the five original tools called on one
// capture take at most 1.2 times one analysis of it, because the capture is
// read once and the other four answers come from the cached analysis.
const goalMCPRatio = 1.2

// TestMCPFiveCalls measures the five original tools, called one after the
// other through an in-process MCP client on a fresh server, against one
// detectors.Analyze of the same capture, in the same run.
func TestMCPFiveCalls(t *testing.T) {
	if os.Getenv("RECONPCAP_BENCH") != "1" {
		t.Skip("set RECONPCAP_BENCH=1 to time five MCP tool calls against one analysis on generated captures")
	}
	ctx := context.Background()
	for _, size := range sizes(t) {
		path, _ := capture(t, size)
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		// Warm the page cache so neither side pays for the disk.
		if _, err := detectors.Analyze(ctx, abs, detectors.Config{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := detectors.Analyze(ctx, abs, detectors.Config{}); err != nil {
			t.Fatal(err)
		}
		one := time.Since(start)

		srv, err := mcpserver.New(mcpserver.Config{Roots: []string{filepath.Dir(abs)}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.NewInProcessClient(srv.MCP())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{}
		init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
		init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
			t.Fatal(err)
		}
		calls := []struct {
			tool string
			args map[string]any
		}{
			{"read_pcap_summary", nil},
			{"detect_port_scanning", map[string]any{"threshold": 20}},
			{"detect_http_anomalies", nil},
			{"detect_data_exfiltration", map[string]any{"threshold_bytes": 2_000_000}},
			{"get_traffic_timeline", map[string]any{"interval_seconds": 10}},
		}
		start = time.Now()
		for _, call := range calls {
			req := mcp.CallToolRequest{}
			req.Params.Name = call.tool
			args := map[string]any{"pcap_file": abs}
			for k, v := range call.args {
				args[k] = v
			}
			req.Params.Arguments = args
			res, err := c.CallTool(ctx, req)
			if err != nil || res.IsError {
				t.Fatalf("%s: %v %+v", call.tool, err, res)
			}
		}
		five := time.Since(start)
		c.Close()
		st := srv.Stats()
		ratio := five.Seconds() / one.Seconds()
		t.Logf("%s: one Analyze %v; five tool calls %v (%d parse, %d cache hits): ratio %.2f (goal <= %.1f)",
			sizeName(size), one.Round(time.Millisecond), five.Round(time.Millisecond), st.Parses, st.Hits, ratio, goalMCPRatio)
		if st.Parses != 1 {
			t.Errorf("%s: %d parses for five calls, want 1", sizeName(size), st.Parses)
		}
		if ratio > goalMCPRatio {
			t.Errorf("%s: five tool calls take %.2f times one analysis, goal %.1f", sizeName(size), ratio, goalMCPRatio)
		}
	}
}
