package mcpserver

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestServeListener serves streamable HTTP on a loopback port and calls a
// tool through mcp-go's streamable HTTP client.
func TestServeListener(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	s, err := New(Config{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ctx, ln) }()

	c, err := client.NewStreamableHttpClient("http://" + ln.Addr().String() + HTTPPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "http-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	got := decode[SummaryResult](t, c, "read_pcap_summary", nil)
	if got.TotalPackets != 24 {
		t.Errorf("total_packets %d, want 24", got.TotalPackets)
	}
	c.Close()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not stop")
	}
}
