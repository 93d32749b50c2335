package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

func TestMCPFlagErrors(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spaced := filepath.Join(dir, "spaced")
	if err := os.WriteFile(spaced, []byte("two words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		usage bool   // a usage error (exit status 2)
		want  string // in the error
	}{
		{[]string{"--http", "0.0.0.0:0", "--allow-remote"}, true, "--allow-remote requires --token-file"},
		{[]string{"--http", "0.0.0.0:0"}, true, "not a loopback address"},
		{[]string{"--token-file", token}, true, "apply to --http only"},
		{[]string{"--allow-origin", "https://app.example"}, true, "apply to --http only"},
		{[]string{"--http", "127.0.0.1:0", "--token-file", empty}, false, "empty"},
		{[]string{"--http", "127.0.0.1:0", "--token-file", spaced}, false, "white space"},
		{[]string{"--http", "127.0.0.1:0", "--token-file", filepath.Join(dir, "missing")}, false, "missing"},
		{[]string{"--http", "127.0.0.1:0", "--allow-origin", "null"}, false, "AllowedOrigins"},
	} {
		err := runMCP(t.Context(), append([]string{"--root", dir}, tc.args...), strings.NewReader(""), io.Discard, io.Discard)
		var u *usageError
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &u) != tc.usage {
			t.Errorf("mcp %v: %v, want %q (usage error %v)", tc.args, err, tc.want, tc.usage)
		}
	}
}

// TestMCPTokenFile serves HTTP with --token-file: requests without the
// token get 401, with it 200.
func TestMCPTokenFile(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("  s3cret-Token_1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runMCP(ctx, []string{"--root", dir, "--http", "127.0.0.1:0", "--token-file", token}, strings.NewReader(""), io.Discard, errW)
		errW.Close()
	}()
	line, err := bufio.NewReader(errR).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v", err)
	}
	go io.Copy(io.Discard, errR)
	url := regexp.MustCompile(`http://\S+/mcp`).FindString(line)
	if url == "" {
		t.Fatalf("no address in %q", line)
	}
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer s3cret", http.StatusUnauthorized},
		{"Bearer s3cret-Token_1", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(initialize))
		req.Header.Set("Content-Type", "application/json")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runMCP: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runMCP did not return after cancel")
	}
}
