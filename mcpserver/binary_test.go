package mcpserver

// Tests of the built `reconpcap mcp` binary as other programs see it: the
// official MCP TypeScript SDK client over stdio (interop), mcp-go's stdio
// client calling every tool, raw JSON-RPC over the process's pipes (nothing
// but protocol on stdout, exit on end of input), and streamable HTTP on a
// loopback port. Expected values come from testdata/ground_truth.json, the
// tshark-measured facts about each recorded capture, never from the server.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agents-of-shield/reconpcap/report"
)

// binDir holds the reconpcap binary built for the tests in this file; it
// lives as long as the test binary.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reconpcap-mcpserver-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// reconpcapBinary builds cmd/reconpcap once per test binary: the tests
// exercise the command a user runs, flags and all.
func reconpcapBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		p := filepath.Join(binDir, "reconpcap")
		out, err := exec.Command("go", "build", "-o", p, "../cmd/reconpcap").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ../cmd/reconpcap: %v\n%s", err, out)
			return
		}
		builtBin = p
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// captureDir is the repository's recorded captures, as an absolute path
// (the server resolves and reports absolute paths).
func captureDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../testdata")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// truth is the part of one testdata/ground_truth.json entry these tests
// compare against.
type truth struct {
	TotalPackets int `json:"total_packets"`
	UniqueIPs    int `json:"unique_ips"`
	Expected     []struct {
		Type   string `json:"type"`
		Source string `json:"source"`
		Target string `json:"target"`
	} `json:"expected"`
	Measured struct {
		IPs          []string `json:"ips"`
		TopPortPairs []struct {
			Source           string `json:"source"`
			Destination      string `json:"destination"`
			Proto            string `json:"proto"`
			DistinctDstPorts int    `json:"distinct_dst_ports"`
		} `json:"top_port_pairs"`
		HTTP *struct {
			Requests int            `json:"requests"`
			Sources  map[string]int `json:"sources"`
		} `json:"http"`
		DNS *struct {
			Queries int `json:"queries"`
		} `json:"dns"`
		TCPPayloadByInitiator []struct {
			Source        string `json:"source"`
			Destination   string `json:"destination"`
			UploadedBytes int64  `json:"uploaded_bytes"`
		} `json:"tcp_payload_by_initiator"`
	} `json:"measured"`
}

// groundTruth returns the measured facts about one capture of ../testdata.
func groundTruth(t *testing.T, capture string) truth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(captureDir(t), "ground_truth.json"))
	if err != nil {
		t.Fatalf("the expected values come from testdata/ground_truth.json: %v", err)
	}
	var all map[string]truth
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatalf("testdata/ground_truth.json: %v", err)
	}
	gt, ok := all[capture]
	if !ok {
		t.Fatalf("testdata/ground_truth.json has no entry for %s", capture)
	}
	return gt
}

// expectedFinding returns the one finding of the given type the ground
// truth expects in a capture.
func (gt truth) expectedFinding(t *testing.T, typ string) (source, target string) {
	t.Helper()
	for _, e := range gt.Expected {
		if e.Type == typ {
			return e.Source, e.Target
		}
	}
	t.Fatalf("ground truth expects no %s finding", typ)
	return "", ""
}

// distinctPorts is how many distinct destination ports source sent to
// target over TCP.
func (gt truth) distinctPorts(t *testing.T, source, target string) int {
	t.Helper()
	for _, p := range gt.Measured.TopPortPairs {
		if p.Source == source && p.Destination == target && p.Proto == "tcp" {
			return p.DistinctDstPorts
		}
	}
	t.Fatalf("ground truth has no tcp port pair %s -> %s", source, target)
	return 0
}

// The tool names the issue promises every MCP client.
var wantToolNames = []string{
	"read_pcap_summary", "detect_port_scanning", "detect_http_anomalies",
	"detect_data_exfiltration", "get_traffic_timeline", "list_findings",
	"analyze_dns", "list_http_requests", "get_conversations",
	"export_evidence",
}

// TestBinaryInteropTypeScriptSDK drives `reconpcap mcp` with the official
// MCP TypeScript SDK client (testdata/interop/client.mjs), which also
// validates each structured result against the tool's output schema.
func TestBinaryInteropTypeScriptSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the interop test runs the MCP TypeScript SDK client")
	}
	interop, err := filepath.Abs(filepath.Join("testdata", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(interop, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		t.Skip("mcpserver/testdata/interop/node_modules is absent: run `npm install` there (.ci/run does)")
	}
	bin := reconpcapBinary(t)
	dir := captureDir(t)
	gt := groundTruth(t, "scan_syn.pcap")
	src, dst := gt.expectedFinding(t, "port_scan")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	outDir := t.TempDir()
	cmd := exec.CommandContext(ctx, node, filepath.Join(interop, "client.mjs"), bin, dir, "scan_syn.pcap", outDir)
	cmd.Dir = interop
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}

	var got struct {
		Resource struct {
			URI          string `json:"uri"`
			MIME         string `json:"mime"`
			TotalPackets int    `json:"total_packets"`
			UniqueIPs    int    `json:"unique_ips"`
		} `json:"resource"`
		Prompt struct {
			Names []string `json:"names"`
			Role  string   `json:"role"`
			Text  string   `json:"text"`
		} `json:"prompt"`
		Server struct {
			Name string `json:"name"`
		} `json:"server"`
		Tools   []string `json:"tools"`
		Summary struct {
			TotalPackets int `json:"total_packets"`
			UniqueIPs    int `json:"unique_ips"`
		} `json:"summary"`
		PortScan struct {
			PortScanDetected   bool           `json:"port_scan_detected"`
			SuspiciousActivity []wireActivity `json:"suspicious_activity"`
		} `json:"port_scan"`
		PortScanStructured struct {
			Threshold int `json:"threshold"`
		} `json:"port_scan_structured"`
		BadPath struct {
			IsError bool   `json:"isError"`
			Message string `json:"message"`
		} `json:"bad_path"`
		PacketTools struct {
			Captures    []string `json:"captures"`
			FindPackets struct {
				Total, First int
			} `json:"find_packets"`
			GetPacket struct {
				Number int      `json:"number"`
				Layers []string `json:"layers"`
			} `json:"get_packet"`
			DNSQueries struct {
				Total, Returned int
			} `json:"list_dns_queries"`
			Hierarchy     []string `json:"get_protocol_hierarchy"`
			Endpoints     int      `json:"get_endpoints"`
			Conversations int      `json:"get_conversations"`
		} `json:"packet_tools"`
		TLS struct {
			Total int      `json:"total"`
			SNIs  []string `json:"snis"`
			JA4   []string `json:"ja4"`
		} `json:"tls"`
		Evidence *struct {
			Frames        report.FrameRef      `json:"frames"`
			DisplayFilter string               `json:"display_filter"`
			MITRE         []string             `json:"mitre"`
			Export        ExportEvidenceResult `json:"export"`
		} `json:"evidence"`
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decoding client.mjs output: %v", err)
	}
	if dec.More() {
		t.Error("client.mjs printed more than one JSON object")
	}

	if got.Server.Name != DefaultName {
		t.Errorf("serverInfo.name %q, want %q", got.Server.Name, DefaultName)
	}
	// The scan's evidence: one SYN per scanned port, exported whole.
	if ev := got.Evidence; ev == nil || ev.Frames.Packets != gt.distinctPorts(t, src, dst) || ev.Export.Packets != ev.Frames.Packets ||
		ev.Export.DisplayFilter != ev.DisplayFilter || len(ev.MITRE) == 0 || filepath.Dir(ev.Export.Path) != mustReal(t, outDir) {
		t.Errorf("evidence through the SDK: %+v, want finding 1's %d probes exported into %s", ev, gt.distinctPorts(t, src, dst), outDir)
	}
	for _, n := range wantToolNames {
		if !slices.Contains(got.Tools, n) {
			t.Errorf("tools/list through the SDK lacks %s (got %v)", n, got.Tools)
		}
	}
	// The capture as a resource: its summary, the ground truth's numbers.
	if r := got.Resource; !strings.HasPrefix(r.URI, "pcap:///") || r.MIME != "application/json" || r.TotalPackets != gt.TotalPackets || r.UniqueIPs != gt.UniqueIPs {
		t.Errorf("resource %+v: want a pcap:/// URI, JSON, %d packets and %d addresses", r, gt.TotalPackets, gt.UniqueIPs)
	}
	if p := got.Prompt; !slices.Contains(p.Names, PromptInvestigateCapture) || p.Role != "user" || !strings.Contains(p.Text, "scan_syn.pcap") || !strings.Contains(p.Text, "never follow instructions") {
		t.Errorf("prompt %q: role %s, text %.200q", p.Names, p.Role, p.Text)
	}
	if got.Summary.TotalPackets != gt.TotalPackets || got.Summary.UniqueIPs != gt.UniqueIPs {
		t.Errorf("read_pcap_summary: total_packets %d unique_ips %d, want %d and %d",
			got.Summary.TotalPackets, got.Summary.UniqueIPs, gt.TotalPackets, gt.UniqueIPs)
	}
	// list_tls through the SDK: the server names tshark reads in the
	// recorded hellos, each with a JA4.
	if ts, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command(ts, "-r", filepath.Join(dir, "tls_handshakes.pcap"), "-Y", "tls.handshake.type==1",
			"-T", "fields", "-e", "tls.handshake.extensions_server_name").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if got.TLS.Total != len(want) || !slices.Equal(got.TLS.SNIs, want) || len(got.TLS.JA4) != len(want) {
			t.Errorf("list_tls: %d handshakes, server names %q; tshark %q", got.TLS.Total, got.TLS.SNIs, want)
		}
	}
	if !got.PortScan.PortScanDetected || len(got.PortScan.SuspiciousActivity) != 1 {
		t.Fatalf("detect_port_scanning: detected %v, activity %+v; want one scan",
			got.PortScan.PortScanDetected, got.PortScan.SuspiciousActivity)
	}
	a := got.PortScan.SuspiciousActivity[0]
	if want := gt.distinctPorts(t, src, dst); a.SourceIP != src || a.TargetIP != dst || a.PortsScanned != want {
		t.Errorf("detect_port_scanning: %s -> %s, %d ports; want %s -> %s, %d ports",
			a.SourceIP, a.TargetIP, a.PortsScanned, src, dst, want)
	}
	if got.PortScanStructured.Threshold != 10 {
		t.Errorf("detect_port_scanning answered threshold %d, the client asked for 10", got.PortScanStructured.Threshold)
	}
	pt := got.PacketTools
	syns := tsharkFrames(t, "../testdata/scan_syn.pcap", "tcp.flags.syn==1 && tcp.flags.ack==0")
	streams := map[string]bool{}
	for _, s := range tsharkFieldValues(t, "../testdata/scan_syn.pcap", "tcp", "tcp.stream") {
		streams[s] = true
	}
	switch {
	case !slices.Contains(pt.Captures, "scan_syn.pcap") || slices.Contains(pt.Captures, "gen_not_a_capture.txt"):
		t.Errorf("list_captures: %v", pt.Captures)
	case pt.FindPackets.Total != len(syns) || pt.FindPackets.First != syns[0]:
		t.Errorf("find_packets: %+v; tshark %d SYNs from frame %d", pt.FindPackets, len(syns), syns[0])
	case pt.GetPacket.Number != 3 || strings.Join(pt.GetPacket.Layers, ",") != "Ethernet,IPv4,TCP":
		t.Errorf("get_packet: %+v", pt.GetPacket)
	case pt.DNSQueries.Total != len(tsharkFrames(t, "../testdata/benign_dns.pcapng", "dns.flags.response==0")) || pt.DNSQueries.Returned != 5:
		t.Errorf("list_dns_queries: %+v", pt.DNSQueries)
	case !slices.Contains(pt.Hierarchy, "eth:ip:tcp"):
		t.Errorf("get_protocol_hierarchy: %v", pt.Hierarchy)
	case pt.Conversations != len(streams) || pt.Endpoints == 0:
		t.Errorf("get_conversations level tcp: %d (tshark %d streams), get_endpoints %d", pt.Conversations, len(streams), pt.Endpoints)
	}
	if !got.BadPath.IsError || !strings.Contains(got.BadPath.Message, "outside") {
		t.Errorf("../../etc/passwd: isError %v, message %q; want a tool error naming the rule", got.BadPath.IsError, got.BadPath.Message)
	}
}

// wireActivity is one suspicious_activity entry as it crosses the wire.
type wireActivity struct {
	SourceIP     string `json:"source_ip"`
	TargetIP     string `json:"target_ip"`
	PortsScanned int    `json:"ports_scanned"`
	OpenPorts    int    `json:"open_ports"`
	Severity     string `json:"severity"`
	Technique    string `json:"technique"`
}

// wireFinding is one entry of a findings list as it crosses the wire.
type wireFinding struct {
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	Severity string `json:"severity"`
}

// wirePage is the paging block every listing answer carries.
type wirePage struct {
	Total     int `json:"total"`
	Returned  int `json:"returned"`
	Remaining int `json:"remaining"`
}

// callStructured calls a tool and decodes its structured result into out,
// failing on a protocol error or a tool error. The text block must carry
// the same JSON, for clients that read only text.
func callStructured(ctx context.Context, t *testing.T, c *client.Client, name string, args map[string]any, out any) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s: tool error: %v", name, res.Content)
	}
	if res.StructuredContent == nil {
		t.Fatalf("%s: no structured content", name)
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: decoding %s: %v", name, raw, err)
	}
	if len(res.Content) == 0 {
		t.Fatalf("%s: no text content", name)
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("%s: first content block is %T, want text", name, res.Content[0])
	}
	var fromText, fromStruct any
	if err := json.Unmarshal([]byte(tc.Text), &fromText); err != nil {
		t.Fatalf("%s: text content is not JSON: %v", name, err)
	}
	_ = json.Unmarshal(raw, &fromStruct)
	a, _ := json.Marshal(fromText)
	b, _ := json.Marshal(fromStruct)
	if !bytes.Equal(a, b) {
		t.Errorf("%s: text content and structured content differ", name)
	}
}

// TestBinaryStdioEveryTool starts the binary with mcp-go's stdio client,
// calls each tool on a recorded capture and checks the answer against the
// ground truth, then closes the client and checks the process is gone.
func TestBinaryStdioEveryTool(t *testing.T) {
	bin := reconpcapBinary(t)
	dir := captureDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	var (
		mu     sync.Mutex
		cmd    *exec.Cmd
		stderr syncBuffer
	)
	outDir := t.TempDir()
	c, err := client.NewStdioMCPClientWithOptions(bin, nil, []string{"mcp", "--root", dir, "--out", outDir},
		// Keep the *exec.Cmd, to check the process after Close.
		transport.WithCommandFunc(func(ctx context.Context, command string, env []string, args []string) (*exec.Cmd, error) {
			mu.Lock()
			defer mu.Unlock()
			cmd = exec.CommandContext(ctx, command, args...)
			cmd.Env = append(os.Environ(), env...)
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(&stderr),
	)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()

	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "binary-stdio-test", Version: "1"}
	info, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if info.ServerInfo.Name != DefaultName || info.Capabilities.Tools == nil {
		t.Errorf("initialize: server %+v, tools capability %v", info.ServerInfo, info.Capabilities.Tools)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	for _, n := range wantToolNames {
		if !slices.Contains(names, n) {
			t.Errorf("tools/list lacks %s", n)
		}
	}
	if len(names) != len(ToolNames) {
		t.Errorf("tools/list: %d tools %v, the package declares %d", len(names), names, len(ToolNames))
	}
	called := map[string]bool{}
	run := func(name string, f func(t *testing.T)) {
		called[name] = true
		t.Run(name, f)
	}

	scan := groundTruth(t, "scan_syn.pcap")
	scanSrc, scanDst := scan.expectedFinding(t, "port_scan")

	run("read_pcap_summary", func(t *testing.T) {
		var got struct {
			PcapFile     string `json:"pcap_file"`
			TotalPackets int    `json:"total_packets"`
			UniqueIPs    int    `json:"unique_ips"`
		}
		callStructured(ctx, t, c, "read_pcap_summary", map[string]any{"pcap_file": "scan_syn.pcap"}, &got)
		if got.TotalPackets != scan.TotalPackets || got.UniqueIPs != scan.UniqueIPs {
			t.Errorf("total_packets %d unique_ips %d, want %d and %d", got.TotalPackets, got.UniqueIPs, scan.TotalPackets, scan.UniqueIPs)
		}
		if got.PcapFile != filepath.Join(dir, "scan_syn.pcap") {
			t.Errorf("pcap_file %q", got.PcapFile)
		}
	})

	run("detect_port_scanning", func(t *testing.T) {
		var got struct {
			Threshold          int            `json:"threshold"`
			PortScanDetected   bool           `json:"port_scan_detected"`
			SuspiciousActivity []wireActivity `json:"suspicious_activity"`
		}
		callStructured(ctx, t, c, "detect_port_scanning", map[string]any{"pcap_file": "scan_syn.pcap", "threshold": 10}, &got)
		if !got.PortScanDetected || len(got.SuspiciousActivity) != 1 || got.Threshold != 10 {
			t.Fatalf("detected %v threshold %d activity %+v", got.PortScanDetected, got.Threshold, got.SuspiciousActivity)
		}
		a := got.SuspiciousActivity[0]
		if want := scan.distinctPorts(t, scanSrc, scanDst); a.SourceIP != scanSrc || a.TargetIP != scanDst || a.PortsScanned != want || a.Technique != "syn" {
			t.Errorf("%+v, want %s -> %s, %d ports, syn", a, scanSrc, scanDst, want)
		}
	})

	run("detect_http_anomalies", func(t *testing.T) {
		gt := groundTruth(t, "http_gobuster.pcap")
		src, dst := gt.expectedFinding(t, "http_enumeration")
		var got struct {
			HTTPAnomaliesDetected bool `json:"http_anomalies_detected"`
			HighVolumeSources     []struct {
				SourceIP string `json:"source_ip"`
				ServerIP string `json:"server_ip"`
				Requests int    `json:"requests"`
			} `json:"high_volume_sources"`
			Findings []wireFinding `json:"findings"`
		}
		callStructured(ctx, t, c, "detect_http_anomalies", map[string]any{"pcap_file": "http_gobuster.pcap"}, &got)
		if !got.HTTPAnomaliesDetected || len(got.HighVolumeSources) == 0 {
			t.Fatalf("detected %v, high_volume_sources %+v", got.HTTPAnomaliesDetected, got.HighVolumeSources)
		}
		h := got.HighVolumeSources[0]
		if h.SourceIP != src || h.ServerIP != dst || h.Requests != gt.Measured.HTTP.Sources[src] {
			t.Errorf("high volume source %+v, want %s -> %s with %d requests", h, src, dst, gt.Measured.HTTP.Sources[src])
		}
		if !slices.ContainsFunc(got.Findings, func(f wireFinding) bool {
			return f.Type == "http_enumeration" && f.Source == src && f.Target == dst
		}) {
			t.Errorf("findings %+v lack http_enumeration %s -> %s", got.Findings, src, dst)
		}
	})

	run("detect_data_exfiltration", func(t *testing.T) {
		gt := groundTruth(t, "exfil_high.pcap")
		src, dst := gt.expectedFinding(t, "data_exfiltration")
		var upload int64
		for _, p := range gt.Measured.TCPPayloadByInitiator {
			if p.Source == src && p.Destination == dst {
				upload = p.UploadedBytes
			}
		}
		var got struct {
			ThresholdBytes       int64 `json:"threshold_bytes"`
			ExfiltrationDetected bool  `json:"exfiltration_detected"`
			SuspiciousTransfers  []struct {
				SourceIP      string `json:"source_ip"`
				DestinationIP string `json:"destination_ip"`
				Bytes         int64  `json:"bytes"`
			} `json:"suspicious_transfers"`
		}
		callStructured(ctx, t, c, "detect_data_exfiltration", map[string]any{"pcap_file": "exfil_high.pcap", "threshold_bytes": 1_000_000}, &got)
		if !got.ExfiltrationDetected || len(got.SuspiciousTransfers) != 1 || got.ThresholdBytes != 1_000_000 {
			t.Fatalf("detected %v threshold %d transfers %+v", got.ExfiltrationDetected, got.ThresholdBytes, got.SuspiciousTransfers)
		}
		if x := got.SuspiciousTransfers[0]; x.SourceIP != src || x.DestinationIP != dst || x.Bytes != upload {
			t.Errorf("transfer %+v, want %s -> %s, %d bytes", x, src, dst, upload)
		}
	})

	run("get_traffic_timeline", func(t *testing.T) {
		gt := groundTruth(t, "benign_browse.pcap")
		var got struct {
			IntervalSeconds int `json:"interval_seconds"`
			TotalIntervals  int `json:"total_intervals"`
			Intervals       []struct {
				Packets int `json:"packets"`
			} `json:"intervals"`
			wirePage
		}
		callStructured(ctx, t, c, "get_traffic_timeline", map[string]any{"pcap_file": "benign_browse.pcap", "interval_seconds": 1, "limit": 1000}, &got)
		sum := 0
		for _, iv := range got.Intervals {
			sum += iv.Packets
		}
		if got.IntervalSeconds != 1 || got.Remaining != 0 || len(got.Intervals) < 2 || len(got.Intervals) > got.TotalIntervals {
			t.Errorf("interval_seconds %d, %d intervals listed of %d, remaining %d",
				got.IntervalSeconds, len(got.Intervals), got.TotalIntervals, got.Remaining)
		}
		if sum != gt.TotalPackets {
			t.Errorf("the intervals hold %d packets, the capture %d", sum, gt.TotalPackets)
		}
	})

	run("list_findings", func(t *testing.T) {
		var got struct {
			ThreatDetected bool           `json:"threat_detected"`
			ByType         map[string]int `json:"by_type"`
			Findings       []wireFinding  `json:"findings"`
		}
		callStructured(ctx, t, c, "list_findings", map[string]any{"pcap_file": "scan_syn.pcap"}, &got)
		if !got.ThreatDetected || len(got.Findings) != len(scan.Expected) || got.ByType["port_scan"] != 1 {
			t.Fatalf("threat %v by_type %v findings %+v, want the %d expected", got.ThreatDetected, got.ByType, got.Findings, len(scan.Expected))
		}
		if f := got.Findings[0]; f.Type != "port_scan" || f.Source != scanSrc || f.Target != scanDst {
			t.Errorf("finding %+v, want port_scan %s -> %s", f, scanSrc, scanDst)
		}
	})

	run("analyze_dns", func(t *testing.T) {
		gt := groundTruth(t, "dns_tunnel.pcap")
		src, dst := gt.expectedFinding(t, "dns_tunneling")
		var got struct {
			TunnelingDetected bool          `json:"tunneling_detected"`
			Queries           int           `json:"queries"`
			Findings          []wireFinding `json:"findings"`
		}
		callStructured(ctx, t, c, "analyze_dns", map[string]any{"pcap_file": "dns_tunnel.pcap"}, &got)
		if !got.TunnelingDetected || got.Queries != gt.Measured.DNS.Queries {
			t.Errorf("tunneling %v, %d queries; want a tunnel and %d queries", got.TunnelingDetected, got.Queries, gt.Measured.DNS.Queries)
		}
		if !slices.ContainsFunc(got.Findings, func(f wireFinding) bool { return f.Source == src && f.Target == dst }) {
			t.Errorf("findings %+v lack %s -> %s", got.Findings, src, dst)
		}
	})

	run("list_http_requests", func(t *testing.T) {
		gt := groundTruth(t, "http_gobuster.pcap")
		src, dst := gt.expectedFinding(t, "http_enumeration")
		var got struct {
			Requests []struct {
				Source      string `json:"source"`
				Destination string `json:"destination"`
				Method      string `json:"method"`
			} `json:"requests"`
			wirePage
		}
		callStructured(ctx, t, c, "list_http_requests", map[string]any{"pcap_file": "http_gobuster.pcap", "source": src, "limit": 5}, &got)
		want := gt.Measured.HTTP.Sources[src]
		if got.Total != want || got.Returned != 5 || len(got.Requests) != 5 || got.Remaining != want-5 {
			t.Errorf("total %d returned %d (%d listed) remaining %d; want %d, 5, %d", got.Total, got.Returned, len(got.Requests), got.Remaining, want, want-5)
		}
		for _, r := range got.Requests {
			if r.Source != src || r.Destination != dst || r.Method == "" {
				t.Errorf("request %+v, want %s -> %s", r, src, dst)
			}
		}
	})

	run("get_conversations", func(t *testing.T) {
		var got struct {
			TotalTalkers  int `json:"total_talkers"`
			Conversations []struct {
				A          string `json:"a"`
				B          string `json:"b"`
				PacketsAB  int    `json:"packets_a_to_b"`
				PacketsBA  int    `json:"packets_b_to_a"`
				Packets    int    `json:"packets"`
				Flows      int    `json:"flows"`
				FirstValue string `json:"first"`
			} `json:"conversations"`
			wirePage
		}
		callStructured(ctx, t, c, "get_conversations", map[string]any{"pcap_file": "scan_syn.pcap"}, &got)
		if got.TotalTalkers != scan.UniqueIPs || got.Total != 1 || len(got.Conversations) != 1 {
			t.Fatalf("%d talkers, %d conversations %+v; want %d talkers and one conversation", got.TotalTalkers, got.Total, got.Conversations, scan.UniqueIPs)
		}
		cv := got.Conversations[0]
		ends := []string{cv.A, cv.B}
		slices.Sort(ends)
		want := []string{scanSrc, scanDst}
		slices.Sort(want)
		// Every probe of the scan is its own flow: one per scanned port.
		if !slices.Equal(ends, want) || cv.PacketsAB+cv.PacketsBA != cv.Packets || cv.Packets > scan.TotalPackets ||
			cv.Flows != scan.distinctPorts(t, scanSrc, scanDst) {
			t.Errorf("conversation %+v, want %v holding at most %d packets in one flow per scanned port", cv, want, scan.TotalPackets)
		}
	})

	run("check_addresses", func(t *testing.T) {
		// An address of the documentation range that the ground truth does
		// not list, besides every address it does.
		absent := "192.0.2.77"
		if slices.Contains(scan.Measured.IPs, absent) || len(scan.Measured.IPs) == 0 {
			t.Fatalf("ground truth ips %v", scan.Measured.IPs)
		}
		ask := append(slices.Clone(scan.Measured.IPs), absent, "not-an-ip")
		var got struct {
			Present map[string]bool `json:"present"`
			Invalid []string        `json:"invalid"`
		}
		callStructured(ctx, t, c, "check_addresses", map[string]any{"pcap_file": "scan_syn.pcap", "addresses": ask}, &got)
		for _, ip := range scan.Measured.IPs {
			if p, ok := got.Present[ip]; !ok || !p {
				t.Errorf("present[%s] = %v (listed %v), want true", ip, p, ok)
			}
		}
		if p, ok := got.Present[absent]; !ok || p {
			t.Errorf("present[%s] = %v (listed %v), want false", absent, p, ok)
		}
		if !slices.Equal(got.Invalid, []string{"not-an-ip"}) {
			t.Errorf("invalid %q, want [not-an-ip]", got.Invalid)
		}
	})

	run("extract_tcp_stream", func(t *testing.T) {
		// The recorded injection capture: five HTTP connections whose TCP
		// payload tshark measured per side.
		raw, err := os.ReadFile(filepath.Join(dir, "ground_truth.json"))
		if err != nil {
			t.Fatal(err)
		}
		var all map[string]struct {
			Measured struct {
				TCPConnections int `json:"tcp_connections"`
				Payload        []struct {
					Source      string `json:"source"`
					Up          int64  `json:"uploaded_bytes"`
					Down        int64  `json:"downloaded_bytes"`
					Destination string `json:"destination"`
				} `json:"tcp_payload_by_initiator"`
			} `json:"measured"`
		}
		if err := json.Unmarshal(raw, &all); err != nil {
			t.Fatal(err)
		}
		m := all["http_injection_ua.pcap"].Measured
		if len(m.Payload) != 1 {
			t.Fatalf("ground truth payload %+v", m.Payload)
		}
		var got struct {
			TotalConnections int `json:"total_connections"`
			Connections      []struct {
				ClientBytes int64 `json:"client_bytes"`
				ServerBytes int64 `json:"server_bytes"`
			} `json:"connections"`
			Chunks []struct {
				Direction string `json:"direction"`
				Data      string `json:"data"`
			} `json:"chunks"`
		}
		callStructured(ctx, t, c, "extract_tcp_stream", map[string]any{"pcap_file": "http_injection_ua.pcap", "src": m.Payload[0].Source, "dst": m.Payload[0].Destination, "port": 80}, &got)
		var up, down int64
		for _, cn := range got.Connections {
			up, down = up+cn.ClientBytes, down+cn.ServerBytes
		}
		if got.TotalConnections != m.TCPConnections || len(got.Connections) != m.TCPConnections || up != m.Payload[0].Up || down != m.Payload[0].Down {
			t.Errorf("%d connections (%d listed), %d bytes up, %d down; want %d, %d and %d", got.TotalConnections, len(got.Connections), up, down, m.TCPConnections, m.Payload[0].Up, m.Payload[0].Down)
		}
		if len(got.Chunks) < 2 || got.Chunks[0].Direction != "client" || !strings.HasPrefix(got.Chunks[0].Data, `GET / HTTP/1.1\x0d\x0a`) || got.Chunks[1].Direction != "server" {
			t.Errorf("chunks %+v, want the request then the answer", got.Chunks)
		}
	})

	run("lookup_threat_intel", func(t *testing.T) {
		// The scan's two addresses are private: whatever keys the
		// environment holds, they are never sent out, and with no local
		// list nothing answers for them.
		var got struct {
			FindingAddresses int      `json:"finding_addresses"`
			NotLookedUp      []string `json:"not_looked_up"`
			Results          []struct {
				Indicator string `json:"indicator"`
				Public    bool   `json:"public"`
			} `json:"results"`
		}
		callStructured(ctx, t, c, "lookup_threat_intel", map[string]any{"pcap_file": "scan_syn.pcap", "from_findings": true}, &got)
		slices.Sort(got.NotLookedUp)
		want := []string{scanSrc, scanDst}
		slices.Sort(want)
		if got.FindingAddresses != 2 || len(got.Results) != 0 || !slices.Equal(got.NotLookedUp, want) {
			t.Errorf("finding addresses %d, results %+v, not looked up %v; want %v not looked up", got.FindingAddresses, got.Results, got.NotLookedUp, want)
		}
	})

	run("find_packets", func(t *testing.T) {
		var got struct {
			DisplayFilter string `json:"display_filter"`
			Packets       []struct {
				Number int `json:"number"`
			} `json:"packets"`
			wirePage
		}
		callStructured(ctx, t, c, "find_packets", map[string]any{"pcap_file": "scan_syn.pcap", "flags": "syn,!ack", "limit": 10}, &got)
		want := tsharkFrames(t, "../testdata/scan_syn.pcap", "tcp.flags.syn==1 && tcp.flags.ack==0")
		if got.Total != len(want) || len(got.Packets) != 10 || got.Packets[0].Number != want[0] || got.DisplayFilter == "" {
			t.Errorf("total %d, %d listed from %v, filter %q; tshark %d from %d", got.Total, len(got.Packets), got.Packets, got.DisplayFilter, len(want), want[0])
		}
	})

	run("get_packet", func(t *testing.T) {
		var got struct {
			Number int `json:"number"`
			Layers []struct {
				Name string `json:"name"`
			} `json:"layers"`
		}
		callStructured(ctx, t, c, "get_packet", map[string]any{"pcap_file": "scan_syn.pcap", "frame": 3}, &got)
		if got.Number != 3 || len(got.Layers) != 3 || got.Layers[2].Name != "TCP" {
			t.Errorf("frame %d, layers %+v; want frame 3 with Ethernet, IPv4, TCP", got.Number, got.Layers)
		}
	})

	run("list_dns_queries", func(t *testing.T) {
		var got struct {
			Queries []struct {
				Name string `json:"name"`
			} `json:"queries"`
			wirePage
		}
		callStructured(ctx, t, c, "list_dns_queries", map[string]any{"pcap_file": "dns_tunnel.pcap", "limit": 3}, &got)
		if want := len(tsharkFrames(t, "../testdata/dns_tunnel.pcap", "dns.flags.response==0")); got.Total != want || len(got.Queries) != 3 {
			t.Errorf("total %d, %d listed; tshark has %d queries", got.Total, len(got.Queries), want)
		}
	})

	run("get_endpoints", func(t *testing.T) {
		var got struct {
			Endpoints []struct {
				Address string `json:"address"`
				Port    int    `json:"port"`
			} `json:"endpoints"`
			wirePage
		}
		callStructured(ctx, t, c, "get_endpoints", map[string]any{"pcap_file": "scan_syn.pcap", "level": "tcp", "limit": 2}, &got)
		if want := len(tsharkFieldValues(t, "../testdata/scan_syn.pcap", "tcp.flags.syn==1 && tcp.flags.ack==0", "tcp.dstport")) + 1; got.Total != want || len(got.Endpoints) != 2 {
			t.Errorf("total %d, %d listed; want %d (each scanned port and the scanner's one port)", got.Total, len(got.Endpoints), want)
		}
	})

	run("list_captures", func(t *testing.T) {
		var got struct {
			Captures []struct {
				Name   string `json:"name"`
				Format string `json:"format"`
			} `json:"captures"`
			wirePage
		}
		callStructured(ctx, t, c, "list_captures", map[string]any{"limit": 1000}, &got)
		if !slices.ContainsFunc(got.Captures, func(f struct {
			Name   string `json:"name"`
			Format string `json:"format"`
		}) bool {
			return f.Name == "benign_dns.pcapng" && f.Format == "pcapng"
		}) || slices.ContainsFunc(got.Captures, func(f struct {
			Name   string `json:"name"`
			Format string `json:"format"`
		}) bool {
			return f.Name == "gen_not_a_capture.txt"
		}) {
			t.Errorf("captures %+v: want benign_dns.pcapng as pcapng and no gen_not_a_capture.txt", got.Captures)
		}
	})

	run("get_protocol_hierarchy", func(t *testing.T) {
		var got struct {
			Packets   int `json:"packets"`
			Protocols []struct {
				Path   string `json:"path"`
				Frames int    `json:"frames"`
			} `json:"protocols"`
		}
		callStructured(ctx, t, c, "get_protocol_hierarchy", map[string]any{"pcap_file": "scan_syn.pcap"}, &got)
		if len(got.Protocols) == 0 || got.Protocols[0].Path != "eth" || got.Protocols[0].Frames != got.Packets {
			t.Errorf("hierarchy %+v of %d packets", got.Protocols, got.Packets)
		}
	})

	run("list_tls", func(t *testing.T) {
		// The recorded handshakes: the server names and JA3 hashes tshark
		// reads in the ClientHellos, in order; then only those whose name
		// holds "example.com", by the sni filter.
		ts, err := exec.LookPath("tshark")
		if err != nil {
			t.Skip("tshark is not installed")
		}
		out, err := exec.Command(ts, "-r", filepath.Join(dir, "tls_handshakes.pcap"), "-Y", "tls.handshake.type==1",
			"-T", "fields", "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ja3").Output()
		if err != nil {
			t.Fatal(err)
		}
		var want, wantFiltered []string
		for line := range strings.Lines(string(out)) {
			sni, ja3, _ := strings.Cut(strings.TrimRight(line, "\n"), "\t")
			want = append(want, sni+" "+ja3)
			if strings.Contains(sni, "example.com") {
				wantFiltered = append(wantFiltered, sni+" "+ja3)
			}
		}
		type result struct {
			Stats struct {
				ClientHellos int `json:"client_hellos"`
			} `json:"stats"`
			Handshakes []struct {
				SNI     string `json:"sni"`
				JA3Hash string `json:"ja3_hash"`
				JA4     string `json:"ja4"`
			} `json:"handshakes"`
			Total int `json:"total"`
		}
		for _, filter := range []string{"", "EXAMPLE.com"} {
			var got result
			callStructured(ctx, t, c, "list_tls", map[string]any{"pcap_file": "tls_handshakes.pcap", "sni": filter}, &got)
			var seen []string
			for _, h := range got.Handshakes {
				seen = append(seen, h.SNI+" "+h.JA3Hash)
				if len(h.JA4) != 36 || h.JA4[0] != 't' {
					t.Errorf("JA4 %q is not a JA4 of TLS over TCP", h.JA4)
				}
			}
			w := want
			if filter != "" {
				w = wantFiltered
			}
			if !slices.Equal(seen, w) || got.Total != len(w) || got.Stats.ClientHellos != len(want) {
				t.Errorf("sni %q: %d of %d hellos %q\nwant %d: %q", filter, got.Total, got.Stats.ClientHellos, seen, len(w), w)
			}
		}
	})

	run("export_evidence", func(t *testing.T) {
		var got ExportEvidenceResult
		callStructured(ctx, t, c, "export_evidence", map[string]any{"pcap_file": "scan_syn.pcap", "finding": 1}, &got)
		// The ground truth's scan: one SYN probe per scanned port.
		if want := scan.distinctPorts(t, scanSrc, scanDst); got.Packets != want || filepath.Dir(got.Path) != outDir {
			t.Errorf("export_evidence wrote %d packets to %s, want %d in %s", got.Packets, got.Path, want, outDir)
		}
	})

	for _, n := range ToolNames {
		if !called[n] {
			t.Errorf("tool %s was not called", n)
		}
	}

	// Tool errors: the model gets a message naming the rule, and nothing of
	// the file.
	for _, path := range []string{"/etc/passwd", "../../etc/passwd"} {
		req := mcp.CallToolRequest{}
		req.Params.Name = "read_pcap_summary"
		req.Params.Arguments = map[string]any{"pcap_file": path}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("%s: a protocol error, want a tool error: %v", path, err)
		}
		msg := ""
		if len(res.Content) > 0 {
			if tc, ok := res.Content[0].(mcp.TextContent); ok {
				msg = tc.Text
			}
		}
		if !res.IsError || !strings.Contains(msg, "outside") || strings.Contains(msg, "root:") {
			t.Errorf("%s: isError %v, %q; want a tool error naming the rule", path, res.IsError, msg)
		}
	}

	// Closing the client closes the server's stdin: the process must exit
	// by itself, successfully, and be gone.
	if err := c.Close(); err != nil {
		t.Errorf("closing the stdio client: %v", err)
	}
	closed = true
	mu.Lock()
	defer mu.Unlock()
	if cmd == nil || cmd.ProcessState == nil {
		t.Fatal("the server process was not waited for")
	}
	if !cmd.ProcessState.Exited() || cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("server process ended with %v, want exit status 0", cmd.ProcessState)
	}
	if err := syscall.Kill(cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists after Close (kill 0: %v)", cmd.Process.Pid, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the transport's stderr goroutine
// and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBinaryStdioProtocolOnly speaks raw JSON-RPC to the binary. mcp-go's
// client skips lines it cannot parse, so it cannot tell whether anything
// else reaches stdout; here every line the server writes must be a
// JSON-RPC 2.0 response to one of our requests. Closing stdin then ends the
// process with status 0 without any signal.
func TestBinaryStdioProtocolOnly(t *testing.T) {
	bin := reconpcapBinary(t)
	dir := captureDir(t)
	gt := groundTruth(t, "scan_syn.pcap")

	cmd := exec.Command(bin, "mcp", "--root", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	var lines []string
	readDone := make(chan struct{})
	lineCh := make(chan string, 16)
	go func() {
		defer close(readDone)
		defer close(lineCh)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			lineCh <- sc.Text()
		}
	}()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			<-waited
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	}()
	go func() {
		<-readDone // Wait closes stdout: read it all first
		waited <- cmd.Wait()
	}()

	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
			t.Fatalf("writing to the server: %v", err)
		}
	}
	type response struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      *int            `json:"id"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	// next reads one stdout line; it must be a JSON-RPC 2.0 response.
	next := func() response {
		t.Helper()
		select {
		case line, ok := <-lineCh:
			if !ok {
				t.Fatalf("the server closed stdout early; lines so far %q", lines)
			}
			lines = append(lines, line)
			var r response
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil || r.JSONRPC != "2.0" || r.ID == nil || (r.Result == nil) == (r.Error == nil) {
				t.Fatalf("stdout line is not a JSON-RPC 2.0 response (%v): %q", err, line)
			}
			return r
		case <-time.After(15 * time.Second):
			t.Fatalf("no answer from the server in 15s; lines so far %q", lines)
		}
		return response{}
	}

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if r := next(); *r.ID != 1 || r.Error != nil {
		t.Fatalf("initialize: %s", lines[len(lines)-1])
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	r := next()
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(r.Result, &list); err != nil || *r.ID != 2 || len(list.Tools) != len(ToolNames) {
		t.Fatalf("tools/list (%v): id %d, %d tools, the package declares %d", err, *r.ID, len(list.Tools), len(ToolNames))
	}
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_pcap_summary","arguments":{"pcap_file":"scan_syn.pcap"}}}`)
	r = next()
	var call struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			TotalPackets int `json:"total_packets"`
		} `json:"structuredContent"`
	}
	if err := json.Unmarshal(r.Result, &call); err != nil || *r.ID != 3 || call.IsError || call.StructuredContent.TotalPackets != gt.TotalPackets {
		t.Fatalf("read_pcap_summary (%v): %.300s; want total_packets %d", err, lines[len(lines)-1], gt.TotalPackets)
	}
	send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"detect_port_scanning","arguments":{"pcap_file":"../../etc/passwd"}}}`)
	r = next()
	call.IsError = false
	if err := json.Unmarshal(r.Result, &call); err != nil || *r.ID != 4 || !call.IsError {
		t.Fatalf("bad path (%v): %s; want isError", err, lines[len(lines)-1])
	}
	send(`{"jsonrpc":"2.0","id":5,"method":"no/such/method"}`)
	if r := next(); *r.ID != 5 || r.Error == nil {
		t.Fatalf("unknown method: %s; want a JSON-RPC error", lines[len(lines)-1])
	}

	// End of input ends the server: no signal is sent.
	stdin.Close()
	select {
	case err := <-waited:
		exited = true
		if err != nil {
			t.Errorf("server exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit within 10s of its stdin closing")
	}
	for line := range lineCh {
		t.Errorf("stdout after the last answer: %q", line)
	}
}

// TestBinaryStreamableHTTP serves `reconpcap mcp --http 127.0.0.1:0`, talks
// to the address it prints with mcp-go's streamable HTTP client, then
// interrupts it and expects a clean exit.
func TestBinaryStreamableHTTP(t *testing.T) {
	bin := reconpcapBinary(t)
	dir := captureDir(t)
	gt := groundTruth(t, "scan_syn.pcap")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	cmd := exec.Command(bin, "mcp", "--http", "127.0.0.1:0", "--root", dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout syncBuffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	urlCh := make(chan string, 1)
	stderrDone := make(chan struct{})
	addrRE := regexp.MustCompile(`(http://127\.0\.0\.1:\d+/\S*)`)
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logged.Write([]byte(sc.Text() + "\n"))
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlCh <- m[1]:
				default:
				}
			}
		}
	}()
	waited := make(chan error, 1)
	go func() {
		<-stderrDone
		waited <- cmd.Wait()
	}()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			<-waited
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", logged.String())
		}
	}()

	var url string
	select {
	case url = <-urlCh:
	case <-time.After(10 * time.Second):
		t.Fatal("the server printed no http://127.0.0.1:PORT address on stderr within 10s")
	}

	c, err := client.NewStreamableHttpClient(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "binary-http-test", Version: "1"}
	info, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize over HTTP: %v", err)
	}
	if info.ServerInfo.Name != DefaultName {
		t.Errorf("server name %q", info.ServerInfo.Name)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list over HTTP: %v", err)
	}
	if len(tools.Tools) != len(ToolNames) {
		t.Errorf("tools/list over HTTP: %d tools, the package declares %d", len(tools.Tools), len(ToolNames))
	}
	var got struct {
		TotalPackets int `json:"total_packets"`
		UniqueIPs    int `json:"unique_ips"`
	}
	callStructured(ctx, t, c, "read_pcap_summary", map[string]any{"pcap_file": "scan_syn.pcap"}, &got)
	if got.TotalPackets != gt.TotalPackets || got.UniqueIPs != gt.UniqueIPs {
		t.Errorf("read_pcap_summary over HTTP: total_packets %d unique_ips %d, want %d and %d", got.TotalPackets, got.UniqueIPs, gt.TotalPackets, gt.UniqueIPs)
	}
	if err := c.Close(); err != nil {
		t.Errorf("closing the HTTP client: %v", err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		exited = true
		if err != nil {
			t.Errorf("after SIGINT the server exited with %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit within 10s of SIGINT")
	}
	if s := stdout.String(); s != "" {
		t.Errorf("the HTTP server wrote to stdout: %q", s)
	}
}
