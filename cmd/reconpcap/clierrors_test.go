package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsFirst: a mistake is told in one line (and the hint where to
// read more) before anything else is printed or any capture is read.
func TestErrorsFirst(t *testing.T) {
	noModel(t)
	dir := t.TempDir()
	path := twoConnections(t)
	missing := filepath.Join(dir, "missing.pcap")
	tests := []struct {
		name     string
		args     []string
		status   int
		contains string
	}{
		{"no arguments", nil, 2, "no command given"},
		{"interval 0", []string{"timeline", "--interval", "0", path}, 2, "want at least 1ms"},
		{"interval 0s", []string{"analyze", "--interval", "0s", path}, 2, "want at least 1ms"},
		{"interval negative", []string{"timeline", "--interval", "-5", path}, 2, "want at least 1ms"},
		{"investigate a missing file", []string{"investigate", missing}, 1, "capture not found"},
		{"investigate offline, not a capture", []string{"investigate", "--offline", "clierrors_test.go"}, 1, "not a packet capture"},
		{"stream index past the matches", []string{"stream", path, "10.0.0.1", "10.0.0.2", "80", "--index", "999999"}, 1, "index 999999 asked for, 2 connections match"},
		{"stream -o in a missing directory", []string{"stream", path, "10.0.0.1", "10.0.0.2", "80", "-o", filepath.Join(dir, "no", "out.txt")}, 1, "-o: open " + filepath.Join(dir, "no", "out.txt")},
		{"stream -o a directory", []string{"stream", path, "10.0.0.1", "10.0.0.2", "80", "-o", dir}, 1, "-o: open " + dir + ": is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errOut)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", out.String())
			}
			code := exitCode(err, &errOut)
			if code != tt.status {
				t.Errorf("exit status %d, want %d", code, tt.status)
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %q", out.String())
			}
			// The error is the first line; at most the hint follows.
			lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if !strings.HasPrefix(lines[0], "reconpcap: ") || !strings.Contains(lines[0], tt.contains) {
				t.Errorf("first line %q, want the error saying %q", lines[0], tt.contains)
			}
			if len(lines) > 2 || (len(lines) == 2 && lines[1] != "run 'reconpcap help' for usage") {
				t.Errorf("stderr has more than the error and the hint:\n%s", errOut.String())
			}
		})
	}
}

// TestOutFileLeftAlone: -o is opened before the pass; a pass that fails
// leaves no new file behind, and an existing file as it was.
func TestOutFileLeftAlone(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent.pcap")
	fresh := filepath.Join(dir, "fresh.txt")
	if _, _, code := runStreamCmd(t, missing, "10.0.0.1", "10.0.0.2", "80", "-o", fresh); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if _, err := os.Lstat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-o file left behind after a failed pass: %v", err)
	}
	old := filepath.Join(dir, "old.txt")
	if err := os.WriteFile(old, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	runStreamCmd(t, missing, "10.0.0.1", "10.0.0.2", "80", "-o", old)
	if b, _ := os.ReadFile(old); string(b) != "keep me" {
		t.Errorf("existing -o file changed to %q by a failed pass", b)
	}
	// A shorter stream written over a longer file leaves none of the old bytes.
	if err := os.WriteFile(old, bytes.Repeat([]byte("x"), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runStreamCmd(t, twoConnections(t), "10.0.0.1", "10.0.0.2", "80", "--format", "raw", "--direction", "server", "--index", "1", "-o", old); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(old); string(b) != "second answer\n" {
		t.Errorf("-o file holds %q, want the stream alone", b)
	}
}

// TestRawRefusesATerminal: --format raw does not write a connection's
// bytes (escapes and all) to a terminal, but does to the null device, a
// file, or a terminal with --force.
func TestRawRefusesATerminal(t *testing.T) {
	path := twoConnections(t)
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to write to: %v", err)
	}
	defer tty.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	args := []string{"stream", path, "10.0.0.1", "10.0.0.2", "80", "--format", "raw", "--direction", "server", "--index", "1"}
	tests := []struct {
		name    string
		stdout  *os.File
		extra   []string
		refused bool
	}{
		{"terminal", tty, nil, true},
		{"terminal with --force", tty, []string{"--force"}, false},
		{"null device", null, nil, false},
		{"file", file, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), append(args, tt.extra...), nil, tt.stdout, &errOut)
			var u *usageError
			if refused := errors.As(err, &u) && strings.Contains(err.Error(), "not to a terminal"); refused != tt.refused {
				t.Errorf("err = %v, want refused %v", err, tt.refused)
			}
			if !tt.refused && err != nil {
				t.Errorf("err = %v", err)
			}
		})
	}
	if b, _ := os.ReadFile(file.Name()); string(b) != "second answer\n" {
		t.Errorf("the file got %q", b)
	}
	// ascii and hex show bytes as text: a terminal is fine.
	if err := run(context.Background(), args[:5], nil, tty, &bytes.Buffer{}); err != nil {
		t.Errorf("ascii to a terminal: %v", err)
	}
}

// TestFileNamesEscaped: a capture whose name holds terminal escapes is
// named escaped in the analyze header, investigate's Capture line and the
// error messages.
func TestFileNamesEscaped(t *testing.T) {
	noModel(t)
	b, err := os.ReadFile(synCapture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := filepath.Join(dir, "x\x1b]0;owned\x07\x1b[2J.pcap")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	notCapture := filepath.Join(dir, "y\x1b[31m.pcap")
	if err := os.WriteFile(notCapture, []byte("hello, not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"analyze", []string{"analyze", name}},
		{"investigate", []string{"investigate", "--offline", name}},
		{"analyze error", []string{"analyze", notCapture}},
		{"investigate error", []string{"investigate", "--offline", notCapture}},
		{"stream error", []string{"stream", notCapture, "10.0.0.1", "10.0.0.2", "80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errOut)
			exitCode(err, &errOut)
			all := out.String() + errOut.String()
			if strings.ContainsAny(all, "\x1b\x07") {
				t.Errorf("output holds a raw escape:\n%q", all)
			}
			if !strings.Contains(all, `\x1b`) {
				t.Errorf("output does not name the file escaped:\n%q", all)
			}
		})
	}
}
