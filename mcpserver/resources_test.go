package mcpserver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestCapturesAsResources lists the captures under a root as resources
// and reads one: its summary, the same numbers read_pcap_summary gives
// (scan_syn.pcap: 2005 packets, 2 addresses, capinfos and tshark in
// testdata/ground_truth.json). A file that is not a capture is not
// listed; a URI outside the roots is refused.
func TestCapturesAsResources(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testdataDir(t), "scan_syn.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "day 1"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"day 1/scan syn.pcap": src, "notes.txt": []byte("not a capture")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, c := newTestServer(t, Config{Roots: []string{dir}})
	ctx := context.Background()
	list, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 {
		t.Fatalf("resources %+v, want the one capture", list.Resources)
	}
	r := list.Resources[0]
	real, _ := filepath.EvalSymlinks(filepath.Join(dir, "day 1", "scan syn.pcap"))
	if r.Name != filepath.Join("day 1", "scan syn.pcap") || r.MIMEType != "application/json" || !strings.HasPrefix(r.URI, "pcap:///") {
		t.Errorf("resource %+v", r)
	}
	if p, err := capturePath(r.URI); err != nil || p != real {
		t.Errorf("URI %s reads back as %q (%v), want %s", r.URI, p, err, real)
	}
	templates, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil || len(templates.ResourceTemplates) != 1 {
		t.Fatalf("templates %+v, %v", templates, err)
	}

	read := func(uri string) (*mcp.ReadResourceResult, error) {
		req := mcp.ReadResourceRequest{}
		req.Params.URI = uri
		return c.ReadResource(ctx, req)
	}
	res, err := read(r.URI)
	if err != nil {
		t.Fatal(err)
	}
	text, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok {
		t.Fatalf("contents %T", res.Contents[0])
	}
	var sum SummaryResult
	if err := json.Unmarshal([]byte(text.Text), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Summary.TotalPackets != 2005 || sum.Summary.UniqueIPs != 2 || sum.PcapFile != real {
		t.Errorf("summary: %d packets, %d addresses, file %s; want 2005, 2, %s", sum.Summary.TotalPackets, sum.Summary.UniqueIPs, sum.PcapFile, real)
	}
	for _, bad := range []string{"pcap:///etc/passwd", "pcap://host/x.pcap", "file:///etc/passwd", captureURI(filepath.Join(dir, "notes.txt"))} {
		if _, err := read(bad); err == nil {
			t.Errorf("reading %s: no error", bad)
		}
	}
}
