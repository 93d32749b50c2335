package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCancelStopsServerSubprocess: cancelling an Investigate that runs its
// MCP server as a subprocess kills the server at once and returns at once.
// Before, the child lived on until the session's Close, which gives a
// server two seconds to exit after its stdin closes.
func TestCancelStopsServerSubprocess(t *testing.T) {
	// A "server" that never answers initialize; exec keeps the pid the
	// script wrote.
	tmp := t.TempDir()
	hangSh, pidFile := filepath.Join(tmp, "hang.sh"), filepath.Join(tmp, "pid")
	if err := os.WriteFile(hangSh, []byte("#!/bin/sh\necho $$ >"+pidFile+".tmp\nmv "+pidFile+".tmp "+pidFile+"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := rulesAgent(t, expectation{File: "scan_syn.pcap", Dir: testdataDir}, func(c *Config) {
		c.ServerCommand = hangSh
		c.ClientSessionTimeout = time.Minute
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	results := a.InvestigateAsync(ctx, Trigger{})

	pid := waitFor(t, 10*time.Second, "the server to start", func() (string, bool) {
		b, err := os.ReadFile(pidFile)
		return string(bytes.TrimSpace(b)), err == nil && len(bytes.TrimSpace(b)) > 0
	})
	if !alive(pid) {
		t.Fatalf("server pid %s not running before the cancel", pid)
	}

	cancel()
	cancelled := time.Now()
	const bound = time.Second // well under the two-second grace of Close
	select {
	case r := <-results:
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", r.Err)
		}
		if d := time.Since(cancelled); d > bound {
			t.Errorf("Investigate returned %v after the cancel, want under %v", d, bound)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Investigate did not return within 10 s of the cancel")
	}
	waitFor(t, bound-time.Since(cancelled), "the server to be gone", func() (string, bool) { return "", !alive(pid) })
}

// alive reports whether pid is a process that has not exited: present in
// /proc and not a zombie (state Z: dead, not yet reaped).
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && !strings.HasPrefix(rest, "Z")
}

// waitFor polls cond every 5 ms until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(max(d, 0))
	for {
		if v, ok := cond(); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
