package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1GB", 1_000_000_000, false},
		{"100MB", 100_000_000, false},
		{"512MiB", 512 << 20, false},
		{"1.5gb", 1_500_000_000, false},
		{"4096", 4096, false},
		{"0MB", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestRunWritesCaptureAndTruth(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.pcapng")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-o", out, "-size", "200KB", "-format", "pcapng", "-link", "sll2", "-scan-ports", "30"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var st struct {
		Packets   int   `json:"packets"`
		FileBytes int64 `json:"file_bytes"`
		PortScan  struct {
			Ports int `json:"ports"`
		} `json:"port_scan"`
		LinkType string `json:"link_type"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("ground truth is not JSON: %v\n%s", err, stdout.String())
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != st.FileBytes || st.Packets == 0 || st.PortScan.Ports != 30 || st.LinkType != "Linux SLL2" {
		t.Errorf("file %d bytes, truth %+v", fi.Size(), st)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-size", "1MB"}, // no -o
		{"-o", filepath.Join(dir, "a"), "-link", "token-ring"},
		{"-o", filepath.Join(dir, "b"), "-edge", "gen_nothing.pcap"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}
