package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
)

// TestLogCommand writes each log in each format and counts the records
// against tshark: HTTP requests, DNS queries, ClientHellos, and TCP
// conversations.
func TestLogCommand(t *testing.T) {
	tsharktest.Path(t)
	tests := []struct {
		log, format, file, filter string
	}{
		{"http", "ndjson", "http_gobuster.pcap", "http.request"},
		{"dns", "csv", "benign_browse.pcap", "dns.flags.response==0"},
		{"tls", "tsv", "tls_handshakes.pcap", "tls.handshake.type==1"},
		{"conn", "zeek", "scan_syn.pcap", "tcp.flags==0x002 && !tcp.analysis.retransmission"}, // one SYN opens each probe's connection
	}
	for _, tt := range tests {
		t.Run(tt.log+"/"+tt.format, func(t *testing.T) {
			in := filepath.Join("..", "..", "testdata", tt.file)
			out := filepath.Join(t.TempDir(), "log")
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"log", tt.log, "--format", tt.format, "-o", out, in}, nil, &stdout, &stderr); err != nil {
				t.Fatalf("log: %v\n%s", err, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("-o given, yet stdout has %q", stdout.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want := len(tsharktest.Frames(t, in, tt.filter))
			if want == 0 {
				t.Fatalf("tshark selects nothing with %q", tt.filter)
			}
			if got := countRecords(t, tt.format, data); got != want {
				t.Errorf("%d records, tshark %d", got, want)
			}
		})
	}
}

// countRecords parses a log in its format and counts its records.
func countRecords(t *testing.T, format string, data []byte) int {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	switch format {
	case "ndjson":
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["uid"] == nil || m["id.orig_h"] == nil {
				t.Fatalf("line %q: %v (want an object with uid and id.orig_h)", l, err)
			}
		}
		return len(lines)
	case "csv":
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil || len(rows) == 0 || rows[0][1] != "uid" {
			t.Fatalf("csv: %v, header %v", err, rows[:min(1, len(rows))])
		}
		return len(rows) - 1
	case "tsv":
		if !strings.HasPrefix(lines[0], "ts\tuid\t") {
			t.Fatalf("tsv header %q", lines[0])
		}
		return len(lines) - 1
	}
	n := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "#") {
			n++
		}
	}
	if !strings.Contains(string(data), "#path\tconn\n") || !strings.HasPrefix(lines[len(lines)-1], "#close\t") {
		t.Fatalf("zeek log without its #path or #close:\n%.500s", data)
	}
	return n
}

// TestLogRefuses: bad usage is told in one line with status 2; a file
// that is no capture fails before anything is written.
func TestLogRefuses(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "benign_browse.pcap")
	for _, tt := range []struct {
		name  string
		args  []string
		usage bool
		says  string
	}{
		{"unknown log", []string{"log", "smtp", in}, true, `log "smtp"`},
		{"unknown format", []string{"log", "conn", "--format", "xml", in}, true, `--format "xml"`},
		{"no capture", []string{"log", "conn"}, true, "log takes"},
		{"not a capture", []string{"log", "conn", filepath.Join("..", "..", "testdata", "gen_not_a_capture.txt")}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, nil, &stdout, &stderr)
			if err == nil {
				t.Fatalf("no error; stdout %.200q", stdout.String())
			}
			var u *usageError
			if errors.As(err, &u) != tt.usage {
				t.Errorf("error %v: usage %v, want %v", err, !tt.usage, tt.usage)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}
