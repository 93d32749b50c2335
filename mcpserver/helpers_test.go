package mcpserver

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusDir is the public capture corpus beside the repository, or "".
func corpusDir() string {
	for _, d := range []string{"../../shared/corpus", "../shared/corpus"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return ""
}

// corpusRoot returns the corpus directory, skipping the test (saying why)
// when it is absent.
func corpusRoot(t testing.TB) string {
	t.Helper()
	d := corpusDir()
	if d == "" {
		t.Skip("../shared/corpus is absent: the public capture corpus is not beside this checkout")
	}
	return d
}

// testClient is an in-process MCP client connected to s.
func testClient(t testing.TB, s *Server) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClient(s.MCP())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "mcpserver-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newTestServer builds a server over roots and a client connected to it.
//
// Tests list output schemas and validate every result against them: a
// result that drifts from its declared schema fails here even though
// the default server does not list them.
func newTestServer(t testing.TB, cfg Config) (*Server, *client.Client) {
	t.Helper()
	cfg.OutputSchemas = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, testClient(t, s)
}

// call calls a tool and fails the test on a protocol error.
func call(t testing.TB, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := callErr(context.Background(), c, name, args)
	if err != nil {
		t.Fatalf("%s(%v): protocol error: %v", name, args, err)
	}
	return res
}

func callErr(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

// text returns the text content of a result.
func text(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// decode calls a tool that must succeed and decodes its structured result,
// checking that the text copy holds the same JSON.
func decode[R any](t testing.TB, c *client.Client, name string, args map[string]any) *R {
	t.Helper()
	res := call(t, c, name, args)
	if res.IsError {
		t.Fatalf("%s(%v): tool error: %s", name, args, text(t, res))
	}
	structured, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var fromStruct, fromText R
	if err := json.Unmarshal(structured, &fromStruct); err != nil {
		t.Fatalf("%s: structured content: %v", name, err)
	}
	if err := json.Unmarshal([]byte(text(t, res)), &fromText); err != nil {
		t.Fatalf("%s: text content is not the JSON result: %v", name, err)
	}
	a, _ := json.Marshal(fromStruct)
	b, _ := json.Marshal(fromText)
	if string(a) != string(b) {
		t.Fatalf("%s: text copy differs from structured content", name)
	}
	return &fromStruct
}

// toolError calls a tool that must fail with a tool error result and
// returns its message.
func toolErrorText(t testing.TB, c *client.Client, name string, args map[string]any) string {
	t.Helper()
	res := call(t, c, name, args)
	if !res.IsError {
		t.Fatalf("%s(%v): want a tool error, got %s", name, args, text(t, res))
	}
	return text(t, res)
}

// ---- generated captures ----

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// pcapWriter writes an Ethernet pcap for tests.
type pcapWriter struct {
	t  testing.TB
	f  *os.File
	w  *pcapgo.Writer
	ts time.Time
}

func newPcap(t testing.TB, path string) *pcapWriter {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return &pcapWriter{t: t, f: f, w: w, ts: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// tcp writes one IPv4 TCP packet and advances the clock by step.
func (p *pcapWriter) tcp(src, dst string, sport, dport uint16, flags string, seq uint32, payload []byte, step time.Duration) {
	p.t.Helper()
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Window: 64240}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	if tcp.ACK {
		tcp.Ack = 1
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		p.t.Fatal(err)
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(data), Length: len(data)}
	if err := p.w.WritePacket(ci, data); err != nil {
		p.t.Fatal(err)
	}
	p.ts = p.ts.Add(step)
}

func (p *pcapWriter) close() {
	p.t.Helper()
	if err := p.f.Close(); err != nil {
		p.t.Fatal(err)
	}
}

// writeScanCapture writes a capture where each of sources addresses
// SYN-scans ports distinct ports of one target, every probe refused.
func writeScanCapture(t testing.TB, path string, sources, ports int) {
	t.Helper()
	p := newPcap(t, path)
	for i := range sources {
		src := net.IPv4(10, byte(1+i/65536), byte(i/256), byte(i%256)).String()
		for port := range ports {
			sport := uint16(40000 + port)
			dport := uint16(1 + port)
			p.tcp(src, "192.0.2.10", sport, dport, "S", 1000, nil, time.Millisecond)
			p.tcp("192.0.2.10", src, dport, sport, "RA", 0, nil, time.Millisecond)
		}
	}
	p.close()
}

// writeHTTPCapture writes one TCP connection carrying the given HTTP
// requests from client to server port 80, each answered by a 404.
func writeHTTPCapture(t testing.TB, path, client, server string, requests []string) {
	t.Helper()
	p := newPcap(t, path)
	const sport = 51000
	p.tcp(client, server, sport, 80, "S", 100, nil, time.Millisecond)
	p.tcp(server, client, 80, sport, "SA", 500, nil, time.Millisecond)
	seq, sseq := uint32(101), uint32(501)
	p.tcp(client, server, sport, 80, "A", seq, nil, time.Millisecond)
	for _, r := range requests {
		p.tcp(client, server, sport, 80, "PA", seq, []byte(r), time.Millisecond)
		seq += uint32(len(r))
		resp := "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		p.tcp(server, client, 80, sport, "PA", sseq, []byte(resp), time.Millisecond)
		sseq += uint32(len(resp))
	}
	p.tcp(client, server, sport, 80, "FA", seq, nil, time.Millisecond)
	p.tcp(server, client, 80, sport, "FA", sseq, nil, time.Millisecond)
	p.close()
}
