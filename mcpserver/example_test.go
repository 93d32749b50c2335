package mcpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agents-of-shield/reconpcap/mcpserver"
)

// Example starts the server over a directory of captures, connects an
// in-process MCP client and calls detect_port_scanning.
func Example() {
	// The repository's shared captures; an agent would pass its working
	// directory, and `reconpcap mcp` its --root directories.
	srv, err := mcpserver.New(mcpserver.Config{Roots: []string{"../testdata"}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.NewInProcessClient(srv.MCP())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "example", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		log.Fatal(err)
	}

	req := mcp.CallToolRequest{}
	req.Params.Name = "detect_port_scanning"
	req.Params.Arguments = map[string]any{"pcap_file": "scan_syn.pcap"} // nmap -sS of 1000 ports
	res, err := c.CallTool(ctx, req)
	if err != nil {
		log.Fatal(err) // a protocol error: the server itself failed
	}
	if res.IsError {
		fmt.Println("tool error:", res.Content) // a problem the model can act on
		return
	}
	var scans mcpserver.PortScanResult
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &scans); err != nil {
		log.Fatal(err)
	}
	fmt.Println("port_scan_detected:", scans.PortScanDetected)
	for _, a := range scans.SuspiciousActivity {
		fmt.Printf("%s -> %s: %d ports, %s\n", a.SourceIP, a.TargetIP, a.PortsScanned, a.Severity)
	}
	// Output:
	// port_scan_detected: true
	// 10.66.0.10 -> 10.66.0.20: 1000 ports, high
}
