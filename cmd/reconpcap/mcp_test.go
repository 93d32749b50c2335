package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMCPIndicatorFlags serves one stdio session with --indicators and
// --intel-offline and asks lookup_threat_intel about a listed address.
func TestMCPIndicatorFlags(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "block.txt")
	if err := os.WriteFile(list, []byte("185.220.101.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runMCP(ctx, []string{"--root", dir, "--indicators", list, "--intel-offline"}, inR, outW, io.Discard)
		outW.Close()
	}()
	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"lookup_threat_intel","arguments":{"indicators":["185.220.101.4"]}}}`)
	// Closing stdin right after the call: the server answers it, then
	// returns. Read every line until it does, so it never blocks writing.
	inW.Close()

	type response struct {
		ID     int `json:"id"`
		Result struct {
			IsError    bool `json:"isError"`
			Structured struct {
				Sources []struct {
					Provider string `json:"provider"`
				} `json:"sources"`
				Unconfigured []struct {
					Reason string `json:"reason"`
				} `json:"unconfigured"`
				Results []struct {
					Indicator string `json:"indicator"`
					Verdict   string `json:"verdict"`
				} `json:"results"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	var resp response
	lines := 0
	sc := bufio.NewScanner(outR)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
		var r response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		if r.ID == 2 {
			resp = r
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("runMCP: %v", err)
	}
	if lines != 2 {
		t.Errorf("%d lines on stdout, want the two replies", lines)
	}
	got := resp.Result.Structured
	if resp.ID != 2 || resp.Result.IsError || len(got.Results) != 1 || got.Results[0].Verdict != "malicious" {
		t.Fatalf("lookup_threat_intel: %+v", resp)
	}
	if len(got.Sources) != 1 || got.Sources[0].Provider != "local" || len(got.Unconfigured) != 2 || !strings.HasPrefix(got.Unconfigured[0].Reason, "offline") {
		t.Errorf("sources %+v, unconfigured %+v: want the local list, both online providers offline", got.Sources, got.Unconfigured)
	}
}

func TestMCPIndicatorFileMissing(t *testing.T) {
	err := runMCP(t.Context(), []string{"--root", t.TempDir(), "--indicators", filepath.Join(t.TempDir(), "missing.txt")}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing indicator file: %v", err)
	}
}
