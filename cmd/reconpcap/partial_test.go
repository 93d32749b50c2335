package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verdictOf is the findings and summary of analyze's (or merge's) JSON.
func verdictOf(t *testing.T, out []byte) string {
	t.Helper()
	var a struct {
		Summary  json.RawMessage `json:"summary"`
		Findings json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return string(a.Summary) + "\n" + string(a.Findings)
}

// TestShardThenMerge: a recording cut by editcap into 3 files, each
// sharded by its own command into a partial, merged by a fourth, gives
// the findings (frames included: the files are here) and summary that
// analyze gives over the whole file; shard never overwrites, and parts of
// different hash keys refuse to merge, saying why.
func TestShardThenMerge(t *testing.T) {
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap is not installed")
	}
	ctx := context.Background()
	for _, name := range []string{"scan_decoy.pcap", "http_gobuster.pcap", "dns_tunnel.pcap", "exfil_drip.pcap"} {
		t.Run(name, func(t *testing.T) {
			whole := filepath.Join("..", "..", "testdata", name)
			var out, errb bytes.Buffer
			if err := run(ctx, []string{"analyze", "--format", "json", whole}, nil, &out, &errb); err != nil {
				t.Fatal(err, errb.String())
			}
			want := verdictOf(t, out.Bytes())
			dir := t.TempDir()
			if b, err := exec.Command("editcap", "-F", "pcap", "-c", "100", whole, filepath.Join(dir, "cut.pcap")).CombinedOutput(); err != nil {
				t.Fatalf("editcap: %v: %s", err, b)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "cut_*.pcap"))
			if len(files) < 2 {
				t.Fatalf("editcap made %d files", len(files))
			}
			var partials []string
			for i, f := range files {
				p := filepath.Join(dir, filepath.Base(f)+".partial")
				out.Reset()
				errb.Reset()
				if err := run(ctx, []string{"shard", "--hash-key", "one capture", "--workers", []string{"1", "2"}[i%2], "-o", p, f}, nil, &out, &errb); err != nil {
					t.Fatal(err, errb.String())
				}
				if !strings.HasPrefix(out.String(), "wrote ") {
					t.Errorf("shard said %q", out.String())
				}
				partials = append(partials, p)
			}
			out.Reset()
			errb.Reset()
			if err := run(ctx, append([]string{"merge", "--format", "json"}, partials...), nil, &out, &errb); err != nil {
				t.Fatal(err, errb.String())
			}
			if got := verdictOf(t, out.Bytes()); got != want {
				t.Errorf("merged partials:\n%.600s\nwant:\n%.600s", got, want)
			}
			// Never over an existing file.
			if err := run(ctx, []string{"shard", "-o", partials[0], files[0]}, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "never overwrites") {
				t.Errorf("shard over an existing partial: %v", err)
			}
			// Another key: refused, and the error says which setting.
			other := filepath.Join(dir, "other.partial")
			if err := run(ctx, []string{"shard", "--hash-key", "another", "-o", other, files[0]}, nil, &out, &errb); err != nil {
				t.Fatal(err)
			}
			err := run(ctx, []string{"merge", "--format", "json", partials[1], other}, nil, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "--hash-key") {
				t.Errorf("merging parts of two keys: %v", err)
			}
			// Not a partial: a typed error, not a panic.
			if err := run(ctx, []string{"merge", files[0]}, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "not a reconpcap partial") {
				t.Errorf("merging a capture as a partial: %v", err)
			}
		})
	}
}
