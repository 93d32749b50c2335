package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/mcpserver"
)

// TestInvestigateOutsideTheRoot checks the in-process server's path
// policy decides before anything is read: a capture reached through a
// link out of the working directory is ErrOutsideRoot, alike whether the
// file outside is a capture, is not one, or does not exist (the header
// check used to tell them apart).
func TestInvestigateOutsideTheRoot(t *testing.T) {
	base := t.TempDir()
	wd, outside := filepath.Join(base, "wd"), filepath.Join(base, "outside")
	for _, d := range []string{wd, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile(filepath.Join(testdataDir, "scan_syn.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "capture.pcap"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "notes.txt"), []byte("root:x:0:0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wd, "inside.pcap"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(wd, "out")); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"out/capture.pcap", "out/notes.txt", "out/missing.pcap", filepath.Join(outside, "capture.pcap")} {
		t.Run(file, func(t *testing.T) {
			a, err := New(Config{WorkingDir: wd, PcapFile: file, Analyst: AnalystRules, ClientSessionTimeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Investigate(context.Background(), Trigger{})
			if !errors.Is(err, ErrOutsideRoot) || !errors.Is(err, mcpserver.ErrOutsideRoots) || errors.Is(err, ErrNotCapture) || errors.Is(err, ErrCaptureNotFound) {
				t.Errorf("Investigate(%s): %v; want ErrOutsideRoot only", file, err)
			}
		})
	}
	// The same capture inside the root is investigated.
	a, err := New(Config{WorkingDir: wd, PcapFile: "inside.pcap", Analyst: AnalystRules, ClientSessionTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Investigate(context.Background(), Trigger{}); err != nil {
		t.Errorf("Investigate(inside.pcap): %v", err)
	}
}
