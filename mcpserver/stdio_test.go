package mcpserver

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestServeStdio runs the server over a pair of pipes, as `reconpcap mcp`
// does over its stdin and stdout, and talks to it with mcp-go's stdio
// client transport.
func TestServeStdio(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	s, err := New(Config{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	clientToServer, serverIn := io.Pipe()
	serverOut, serverToClient := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- s.ServeStdio(ctx, clientToServer, serverToClient)
		serverToClient.Close()
	}()

	c := client.NewClient(transport.NewIO(serverOut, serverIn, io.NopCloser(&emptyReader{})))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "stdio-test", Version: "1"}
	info, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if info.ServerInfo.Name != DefaultName || info.Instructions == "" {
		t.Errorf("server info %+v, instructions %q", info.ServerInfo, info.Instructions)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil || len(tools.Tools) != len(ToolNames) {
		t.Fatalf("tools/list: %d tools, %v", len(tools.Tools), err)
	}
	got := decode[PortScanResult](t, c, "detect_port_scanning", nil)
	if !got.PortScanDetected || got.SuspiciousActivity[0].PortsScanned != 12 {
		t.Errorf("detect_port_scanning over stdio: %+v", got.SuspiciousActivity)
	}
	msg := toolErrorText(t, c, "read_pcap_summary", map[string]any{"pcap_file": "../../etc/passwd"})
	if msg == "" {
		t.Error("empty tool error")
	}

	cancel()
	serverIn.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeStdio: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeStdio did not return after its input closed")
	}
	c.Close()
}

// emptyReader is a stderr that never has anything: the in-process server
// logs to its Logger, never to a stream of the transport.
type emptyReader struct{}

func (*emptyReader) Read([]byte) (int, error) { return 0, io.EOF }
