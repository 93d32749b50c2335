// Package tsharktest asks tshark which frames of a capture a display
// filter selects, so tests can hold our packet selection against an
// independent dissector.
package tsharktest

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Path returns tshark's path, or skips the test when it is not installed.
func Path(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	return p
}

// Frames returns the frame numbers, in order, that display filter selects
// in the capture at path. A filter tshark rejects fails the test.
func Frames(t testing.TB, path, filter string) []int {
	t.Helper()
	cmd := exec.Command(Path(t), "-n", "-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s -Y %q: %v: %s", path, filter, err, stderr.String())
	}
	var frames []int
	for _, line := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("tshark -r %s -Y %q printed %q, not a frame number", path, filter, line)
		}
		frames = append(frames, n)
	}
	return frames
}

// Count returns how many packets the capture at path holds, by capinfos'
// count of tshark's reading (every frame, no filter).
func Count(t testing.TB, path string) int {
	t.Helper()
	return len(Frames(t, path, "frame"))
}
