package mcpserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// pathFixture lays out a root with a capture, a subdirectory, a fifo and
// symbolic links in and out, and a secret file beside the root.
func pathFixture(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeScanCapture(t, filepath.Join(root, "traffic.pcap"), 1, 12)
	writeScanCapture(t, filepath.Join(outside, "secret.pcap"), 1, 12)
	mustSymlink(t, filepath.Join(outside, "secret.pcap"), filepath.Join(root, "link-out.pcap"))
	mustSymlink(t, outside, filepath.Join(root, "dir-out"))
	mustSymlink(t, filepath.Join(root, "traffic.pcap"), filepath.Join(root, "sub", "link-in.pcap"))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo.pcap"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	return root, outside
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestPathPolicyResolve(t *testing.T) {
	root, outside := pathFixture(t)
	p, err := NewPathPolicy(root)
	if err != nil {
		t.Fatal(err)
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	tests := []struct {
		name, wd, file string
		want           string // resolved path, relative to the root
		rule           error
	}{
		{"default file", "", "", "traffic.pcap", nil},
		{"relative", "", "traffic.pcap", "traffic.pcap", nil},
		{"working dir", "sub", "../traffic.pcap", "traffic.pcap", nil},
		{"symlink inside", "sub", "link-in.pcap", "traffic.pcap", nil},
		{"absolute inside", "", filepath.Join(root, "traffic.pcap"), "traffic.pcap", nil},
		{"dot-dot escape", "", "../../etc/passwd", "", ErrOutsideRoots},
		{"dot-dot to sibling", "", "../outside/secret.pcap", "", ErrOutsideRoots},
		{"absolute elsewhere", "", "/etc/passwd", "", ErrOutsideRoots},
		{"absolute missing elsewhere", "", "/nonexistent/x.pcap", "", ErrOutsideRoots},
		{"symlink out", "", "link-out.pcap", "", ErrOutsideRoots},
		{"through a symlinked dir", "", "dir-out/secret.pcap", "", ErrOutsideRoots},
		{"device", "", "/dev/null", "", ErrOutsideRoots},
		{"fifo", "", "fifo.pcap", "", ErrNotRegularFile},
		{"directory", "", "sub", "", ErrNotRegularFile},
		{"root itself", "", ".", "", ErrNotRegularFile},
		{"missing inside", "", "nope.pcap", "", ErrPathNotFound},
		{"working dir outside", outside, "secret.pcap", "", ErrOutsideRoots},
		{"working dir escape", "..", "outside/secret.pcap", "", ErrOutsideRoots},
		{"working dir symlink out", "dir-out", "secret.pcap", "", ErrOutsideRoots},
		{"working dir a file", "traffic.pcap", "x", "", ErrNotDirectory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Resolve(tt.wd, tt.file)
			if tt.rule == nil {
				if err != nil {
					t.Fatalf("Resolve(%q, %q): %v", tt.wd, tt.file, err)
				}
				if want := filepath.Join(realRoot, tt.want); got != want {
					t.Errorf("Resolve(%q, %q) = %q, want %q", tt.wd, tt.file, got, want)
				}
				return
			}
			var pe *PathError
			if !errors.As(err, &pe) || !errors.Is(err, tt.rule) {
				t.Fatalf("Resolve(%q, %q) = %q, %v; want a *PathError for %v", tt.wd, tt.file, got, err, tt.rule)
			}
		})
	}
}

func TestNewPathPolicyRejectsBadRoots(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, roots := range [][]string{{""}, {file}, {filepath.Join(dir, "missing")}} {
		if _, err := NewPathPolicy(roots...); err == nil {
			t.Errorf("NewPathPolicy(%q): no error", roots)
		}
	}
	if _, err := New(Config{Roots: []string{file}}); err == nil {
		t.Error("New with a file as root: no error")
	}
}

// TestPathEscapesThroughTools checks each escape is a tool error naming the
// rule, and that nothing was read.
func TestPathEscapesThroughTools(t *testing.T) {
	root, outside := pathFixture(t)
	s, c := newTestServer(t, Config{Roots: []string{root}})
	tests := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"pcap_file": "../../etc/passwd"}, "pcap_file \"../../etc/passwd\" resolves outside the allowed roots"},
		{map[string]any{"pcap_file": "/etc/passwd"}, "resolves outside the allowed roots"},
		{map[string]any{"pcap_file": filepath.Join(outside, "secret.pcap")}, "resolves outside the allowed roots"},
		{map[string]any{"pcap_file": "link-out.pcap"}, "resolves outside the allowed roots"},
		{map[string]any{"pcap_file": "/dev/null"}, "resolves outside the allowed roots"},
		{map[string]any{"pcap_file": "fifo.pcap"}, "is not a regular file (a FIFO)"},
		{map[string]any{"pcap_file": "sub"}, "is not a regular file (a directory)"},
		{map[string]any{"working_dir": outside, "pcap_file": "secret.pcap"}, "working_dir"},
	}
	for _, tt := range tests {
		for _, tool := range ToolNames {
			if tool == "list_captures" { // takes no pcap_file; its working_dir is checked in TestListCaptures
				continue
			}
			msg := toolErrorText(t, c, tool, tt.args)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("%s(%v): %q, want it to contain %q", tool, tt.args, msg, tt.want)
			}
		}
	}
	if st := s.Stats(); st.Parses != 0 {
		t.Errorf("%d parses after only refused paths, want 0", st.Parses)
	}
	// The one legitimate file still works.
	got := decode[SummaryResult](t, c, "read_pcap_summary", nil)
	if got.TotalPackets != 24 {
		t.Errorf("traffic.pcap: %d packets, want 24", got.TotalPackets)
	}
}

// TestPathPolicyLeavingARootIsOutside checks every path whose lookup
// leaves the roots gets the same answer, whether or not anything exists
// where it leads, and that links that come back into a root still work.
func TestPathPolicyLeavingARootIsOutside(t *testing.T) {
	root, outside := pathFixture(t)
	other := filepath.Join(filepath.Dir(root), "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScanCapture(t, filepath.Join(other, "b.pcap"), 1, 3)
	realRoot, _ := filepath.EvalSymlinks(root)
	realOther, _ := filepath.EvalSymlinks(other)
	mustSymlink(t, "../outside", filepath.Join(root, "rel-out"))
	mustSymlink(t, filepath.Join(outside, "missing.pcap"), filepath.Join(root, "dangling-out.pcap"))
	mustSymlink(t, "/proc/self/root/etc", filepath.Join(root, "magic"))
	mustSymlink(t, filepath.Join(realRoot, "traffic.pcap"), filepath.Join(root, "abs-in.pcap"))
	mustSymlink(t, filepath.Join(realRoot, "traffic.pcap"), filepath.Join(outside, "back-in.pcap"))
	mustSymlink(t, filepath.Join(other, "b.pcap"), filepath.Join(root, "to-other.pcap"))
	mustSymlink(t, "loop-b", filepath.Join(root, "loop-a"))
	mustSymlink(t, "loop-a", filepath.Join(root, "loop-b"))
	p, err := NewPathPolicy(root, other)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, wd, file string
		want           string // the real path allowed
		rule           error
	}{
		{"through a dir link, existing", "", "dir-out/secret.pcap", "", ErrOutsideRoots},
		{"through a dir link, missing", "", "dir-out/nonexistent", "", ErrOutsideRoots},
		{"through a dir link, missing dirs", "", "dir-out/a/b/c.pcap", "", ErrOutsideRoots},
		{"relative dir link, existing", "", "rel-out/secret.pcap", "", ErrOutsideRoots},
		{"relative dir link, missing", "", "rel-out/nonexistent", "", ErrOutsideRoots},
		{"dangling link out", "", "dangling-out.pcap", "", ErrOutsideRoots},
		{"magic link, existing", "", "magic/passwd", "", ErrOutsideRoots},
		{"magic link, missing", "", "magic/nonexistent", "", ErrOutsideRoots},
		{"working dir through a link, missing", "dir-out/nonexistent", "x.pcap", "", ErrOutsideRoots},
		{"working dir through a link, existing", "dir-out", "nonexistent", "", ErrOutsideRoots},
		{"missing inside", "", "sub/nonexistent.pcap", "", ErrPathNotFound},
		{"link loop inside", "", "loop-a", "", ErrPathNotFound},
		{"absolute link inside", "", "abs-in.pcap", filepath.Join(realRoot, "traffic.pcap"), nil},
		{"outside name, link back in", "", filepath.Join(outside, "back-in.pcap"), filepath.Join(realRoot, "traffic.pcap"), nil},
		{"link to another root", "", "to-other.pcap", filepath.Join(realOther, "b.pcap"), nil},
		{"other root directly", "", filepath.Join(other, "b.pcap"), filepath.Join(realOther, "b.pcap"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, got, err := p.Open(tt.wd, tt.file)
			if tt.rule == nil {
				if err != nil {
					t.Fatalf("Open(%q, %q): %v", tt.wd, tt.file, err)
				}
				defer f.Close()
				if got != tt.want {
					t.Errorf("Open(%q, %q) = %q, want %q", tt.wd, tt.file, got, tt.want)
				}
				// The descriptor is the file the name led to.
				want, err := os.Stat(tt.want)
				if err != nil {
					t.Fatal(err)
				}
				st, err := f.Stat()
				if err != nil || !os.SameFile(st, want) {
					t.Errorf("Open(%q, %q) opened another file than %s", tt.wd, tt.file, tt.want)
				}
				return
			}
			var pe *PathError
			if !errors.As(err, &pe) || !errors.Is(err, tt.rule) {
				t.Fatalf("Open(%q, %q) = %q, %v; want a *PathError for %v", tt.wd, tt.file, got, err, tt.rule)
			}
			if f != nil {
				t.Errorf("Open(%q, %q) returned a file with its error", tt.wd, tt.file)
			}
		})
	}
}

// TestPathEscapeMessagesAlike checks the tools answer alike for an
// existing and a missing file behind a link out of the root: the answer
// must not tell what exists outside.
func TestPathEscapeMessagesAlike(t *testing.T) {
	root, _ := pathFixture(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	for _, tool := range ToolNames {
		if tool == "list_captures" { // it takes no pcap_file; TestListCaptures checks its walk
			continue
		}
		existing := toolErrorText(t, c, tool, map[string]any{"pcap_file": "dir-out/secret.pcap"})
		missing := toolErrorText(t, c, tool, map[string]any{"pcap_file": "dir-out/nonexistent"})
		if want := strings.Replace(existing, "secret.pcap", "nonexistent", 1); missing != want {
			t.Errorf("%s: %q for an existing file, %q for a missing one; want the same answer", tool, existing, missing)
		}
		if !strings.Contains(missing, ErrOutsideRoots.Error()) {
			t.Errorf("%s: %q, want %q", tool, missing, ErrOutsideRoots)
		}
	}
}
