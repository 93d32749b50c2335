package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsAreDispatched checks the completion list against run: every
// listed command is one run knows, and the usage names it.
func TestCommandsAreDispatched(t *testing.T) {
	for _, c := range commands {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{c, "-h"}, strings.NewReader(""), &out, &errb)
		if err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%s is listed for completion but run does not know it", c)
		}
		if !strings.Contains(usageText, "reconpcap "+c) && !strings.Contains(usageText, c+"|") && !strings.Contains(usageText, "|"+c) {
			t.Errorf("the usage does not name %s", c)
		}
	}
}

// TestBashCompletion sources the bash script and completes as bash would:
// a command name, then a flag of that command read from the binary.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "reconpcap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var script bytes.Buffer
	if err := runCompletion([]string{"bash"}, &script); err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(dir, "reconpcap.bash")
	if err := os.WriteFile(scriptPath, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = "'" + w + "'"
		}
		prog := "source " + scriptPath + "; COMP_WORDS=(" + strings.Join(q, " ") + "); COMP_CWORD=" +
			string(rune('0'+len(words)-1)) + "; _reconpcap; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	if got := complete(bin, "inv"); len(got) != 1 || got[0] != "investigate" {
		t.Errorf("completing inv: %v, want investigate", got)
	}
	if got := complete(bin, "analyze", "--port-scan-t"); len(got) != 1 || got[0] != "--port-scan-threshold" {
		t.Errorf("completing analyze --port-scan-t: %v, want --port-scan-threshold", got)
	}
	if got := complete(bin, "mcp", "--ro"); len(got) != 1 || got[0] != "--root" {
		t.Errorf("completing mcp --ro: %v, want --root", got)
	}
	for _, shell := range []string{"zsh", "fish"} {
		sh, err := exec.LookPath(shell)
		if err != nil {
			continue
		}
		var s bytes.Buffer
		runCompletion([]string{shell}, &s)
		p := filepath.Join(dir, "completion."+shell)
		os.WriteFile(p, s.Bytes(), 0o644)
		if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "reconpcap ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("--version: %q", out.String())
	}
}
