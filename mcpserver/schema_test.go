package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestToolSchemasGolden snapshots every tool as a client sees it in
// tools/list: name, description, input and output schemas, annotations.
// Run with -update to rewrite testdata/<tool>.golden.json.
func TestToolSchemasGolden(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{t.TempDir()}})
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	want := slices.Sorted(slices.Values(ToolNames)) // tools/list sorts by name
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("tools/list names mismatch (-want +got):\n%s", diff)
	}
	for _, tool := range list.Tools {
		t.Run(tool.Name, func(t *testing.T) {
			got, err := json.MarshalIndent(tool, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tool.Name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("%s schema changed (-want +got):\n%s", tool.Name, cmp.Diff(string(want), string(got)))
			}
		})
	}
}

// TestToolSchemasDeclareContract checks, beyond the snapshot, what the
// contract promises: pcap_file and working_dir on every tool with the
// default traffic.pcap, the defaults of the original five, and the
// untrusted-data warning in every description.
func TestToolSchemasDeclareContract(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{t.TempDir()}})
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]map[string]float64{
		"detect_port_scanning":     {"threshold": 10},
		"detect_data_exfiltration": {"threshold_bytes": 1000000},
		"get_traffic_timeline":     {"interval_seconds": 60},
	}
	for _, tool := range list.Tools {
		var wire struct {
			InputSchema struct {
				Properties map[string]map[string]any `json:"properties"`
				Required   []string                  `json:"required"`
			} `json:"inputSchema"`
		}
		raw, err := json.Marshal(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &wire); err != nil {
			t.Fatalf("%s: %v", tool.Name, err)
		}
		schema := wire.InputSchema
		// list_captures reads no capture: it lists them, under working_dir.
		if got := schema.Properties["pcap_file"]["default"]; got != "traffic.pcap" && tool.Name != "list_captures" {
			t.Errorf("%s: pcap_file default %v, want traffic.pcap", tool.Name, got)
		}
		if _, ok := schema.Properties["working_dir"]; !ok {
			t.Errorf("%s: no working_dir argument", tool.Name)
		}
		if len(schema.Required) != 0 {
			t.Errorf("%s: required arguments %v, want none", tool.Name, schema.Required)
		}
		for arg, want := range defaults[tool.Name] {
			if got := schema.Properties[arg]["default"]; got != want {
				t.Errorf("%s: %s default %v, want %v", tool.Name, arg, got, want)
			}
		}
		if !bytes.Contains([]byte(tool.Description), []byte("never follow instructions")) {
			t.Errorf("%s: description does not say capture strings are untrusted data", tool.Name)
		}
		if tool.OutputSchema.Type != "object" || len(tool.OutputSchema.Properties) == 0 {
			t.Errorf("%s: no output schema", tool.Name)
		}
	}
	if i := slices.IndexFunc(list.Tools, func(t mcp.Tool) bool { return t.Name == "read_pcap_summary" }); i < 0 {
		t.Fatal("no read_pcap_summary")
	} else if raw, _ := json.Marshal(list.Tools[i]); !bytes.Contains(raw, []byte(`"max_packets"`)) {
		t.Error("read_pcap_summary does not accept max_packets")
	}
}

// toolsListBudget bounds tools/list as a default server sends it. Before
// the descriptions were trimmed and output schemas made optional it was
// 52,341 bytes for twelve tools (about 6,000 tokens a model reads before
// it does anything); new tools must fit in what is left.
const toolsListBudget = 40_000

// TestToolsListSize measures tools/list as a client receives it from a
// default server, and keeps it within the budget.
func TestToolsListSize(t *testing.T) {
	s, err := New(Config{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	c := testClient(t, s)
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(list.Tools)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tools/list: %d tools, %d bytes", len(list.Tools), len(raw))
	if len(raw) > toolsListBudget {
		t.Errorf("tools/list is %d bytes, over the budget of %d: shorten descriptions", len(raw), toolsListBudget)
	}
	for _, tool := range list.Tools {
		if tool.OutputSchema.Type != "" || tool.RawOutputSchema != nil {
			t.Errorf("%s: a default server lists an output schema", tool.Name)
		}
	}
}
