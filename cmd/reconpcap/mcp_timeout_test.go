package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMCPCallTimeoutFlag serves a 100 GB capture (a sparse file with a
// valid pcap header) over stdio with --call-timeout 500ms: the summary
// comes back in time, partial, with a warning about the deadline.
func TestMCPCallTimeoutFlag(t *testing.T) {
	dir := t.TempDir()
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	huge := filepath.Join(dir, "huge.pcap")
	if err := os.WriteFile(huge, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 100<<30); err != nil {
		t.Skipf("cannot make a 100 GB sparse file here: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runMCP(ctx, []string{"--root", dir, "--call-timeout", "500ms"}, inR, outW, io.Discard)
		outW.Close()
	}()
	lines := make(chan []byte)
	go func() {
		// Read until the server is done, so it never blocks writing.
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(lines)
	}()
	start := time.Now()
	for _, msg := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_pcap_summary","arguments":{"pcap_file":"huge.pcap"}}}`,
	} {
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	var resp struct {
		ID     int `json:"id"`
		Result struct {
			IsError    bool `json:"isError"`
			Structured struct {
				Partial      bool     `json:"partial"`
				Warnings     []string `json:"warnings"`
				TotalPackets int      `json:"total_packets"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	for line := range lines {
		if err := json.Unmarshal(line, &resp); err != nil {
			t.Fatalf("stdout line is not JSON-RPC: %q", line)
		}
		if resp.ID == 2 {
			break
		}
	}
	took := time.Since(start)
	inW.Close()
	go func() {
		for range lines {
		}
	}()
	if err := <-done; err != nil {
		t.Fatalf("runMCP: %v", err)
	}
	got := resp.Result.Structured
	if resp.ID != 2 || resp.Result.IsError || !got.Partial || got.TotalPackets == 0 || !strings.Contains(strings.Join(got.Warnings, " "), "deadline") {
		t.Fatalf("read_pcap_summary of 100 GB: %+v; want a partial summary with a deadline warning", resp)
	}
	if took > 10*time.Second {
		t.Errorf("answered in %v with --call-timeout 500ms", took)
	}
}

func TestMCPCallTimeoutMustBePositive(t *testing.T) {
	for _, v := range []string{"0", "-1s"} {
		err := runMCP(t.Context(), []string{"--root", t.TempDir(), "--call-timeout", v}, strings.NewReader(""), io.Discard, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--call-timeout") {
			t.Errorf("--call-timeout %s: %v, want a usage error naming the flag", v, err)
		}
	}
}
