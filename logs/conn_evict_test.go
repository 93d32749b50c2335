package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// TestConnEvictedFlowsAreWritten: with a flow table of 64 for nmap's scan
// of 1000 ports, the connections the table evicts are written as they
// leave, so every one of the 1000 probed ports still has a record
// (testdata/README.md: 1000 distinct TCP destination ports).
func TestConnEvictedFlowsAreWritten(t *testing.T) {
	path := filepath.Join("..", "testdata", "scan_syn.pcap")
	var buf bytes.Buffer
	w, err := NewWriter(&buf, FormatNDJSON, ConnSchema)
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := writeConnConfig(context.Background(), path, capture.Config{MaxFlows: 64}, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ports := map[float64]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["id.orig_h"] == "10.66.0.10" && rec["id.resp_h"] == "10.66.0.20" {
			ports[rec["id.resp_p"].(float64)] = true
		}
	}
	if len(ports) != 1000 {
		t.Errorf("%d scanned ports have a conn record, want 1000", len(ports))
	}
	if !strings.Contains(strings.Join(warnings, " "), "flow") {
		t.Errorf("warnings %q do not say the flow table was full", warnings)
	}
}
