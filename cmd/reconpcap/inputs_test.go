package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// needTools skips a test when the Wireshark or tcpdump tools that give
// its independent truth are not installed.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
}

// splitCapture splits src with editcap -c into parts files in a new
// directory, named so that their names sort in the reverse of their time
// order; with mixed set, the second file is rewritten as pcapng and the
// third is gzip-compressed.
func splitCapture(t *testing.T, src string, parts int, mixed bool) string {
	t.Helper()
	out, err := exec.Command("capinfos", "-c", "-M", "-T", "-r", src).Output()
	if err != nil {
		t.Fatalf("capinfos %s: %v", src, err)
	}
	fields := strings.Fields(string(out))
	n, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil {
		t.Fatalf("capinfos %s: %q", src, out)
	}
	work, dir := t.TempDir(), t.TempDir()
	if out, err := exec.Command("editcap", "-F", "pcap", "-c", strconv.Itoa((n+parts-1)/parts), src, filepath.Join(work, "part.pcap")).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(work, "part_*"))
	slices.Sort(names) // editcap numbers them in time order
	if len(names) != parts {
		t.Fatalf("editcap made %d files, want %d", len(names), parts)
	}
	for i, name := range names {
		dst := filepath.Join(dir, fmt.Sprintf("rotated%d.pcap", len(names)-i))
		switch {
		case mixed && i == 1:
			if out, err := exec.Command("editcap", "-F", "pcapng", name, dst).CombinedOutput(); err != nil {
				t.Fatalf("editcap -F pcapng: %v\n%s", err, out)
			}
		case mixed && i == 2:
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			if err := os.WriteFile(dst+".gz", b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.Rename(name, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// analyzeJSON runs analyze --format json and returns the document with
// the keys that name the input (file, files, format, compressed) removed.
func analyzeJSON(t *testing.T, stdin []byte, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"analyze", "--format", "json"}, args...), bytes.NewReader(stdin), &out, &errb); err != nil {
		t.Fatalf("analyze %v: %v\n%s", args, err, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "files", "format", "compressed"} {
		delete(m, k)
	}
	return m
}

// TestManyInputsAreOneCapture: a capture split by editcap -c into
// rotated files, in a directory or named one by one, and the same
// capture on standard input, give the very findings (frames included),
// summary and timeline of the whole file.
func TestManyInputsAreOneCapture(t *testing.T) {
	needTools(t, "editcap", "capinfos")
	tests := []struct {
		capture string
		parts   int
		mixed   bool
	}{
		{"scan_syn.pcap", 2, false},
		{"scan_syn.pcap", 5, true},
		{"http_gobuster.pcap", 5, true},
		{"dns_tunnel.pcap", 2, true},
		{"exfil_split.pcap", 5, false},
		{"scan_slow.pcap", 5, true},
		{"benign_browse.pcap", 2, true},
		// One packet a file: more files than a scan should hold open.
		{"scan_syn.pcap", 2005, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.capture, tt.parts), func(t *testing.T) {
			src := filepath.Join("../../testdata", tt.capture)
			whole := analyzeJSON(t, nil, src)
			if len(whole["findings"].([]any)) == 0 && !strings.HasPrefix(tt.capture, "benign") {
				t.Fatalf("%s has no finding to compare", tt.capture)
			}
			dir := splitCapture(t, src, tt.parts, tt.mixed)
			if got := analyzeJSON(t, nil, dir); !reflect.DeepEqual(got, whole) {
				t.Errorf("directory of %d files differs from the whole file:\n got %v\nwant %v", tt.parts, brief(got), brief(whole))
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if got := analyzeJSON(t, nil, files...); !reflect.DeepEqual(got, whole) {
				t.Errorf("files named one by one differ from the whole file:\n got %v\nwant %v", brief(got), brief(whole))
			}
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if got := analyzeJSON(t, data, "-"); !reflect.DeepEqual(got, whole) {
				t.Errorf("standard input differs from the file:\n got %v\nwant %v", brief(got), brief(whole))
			}
		})
	}
}

// brief shows what differs most often: the counts and the findings.
func brief(m map[string]any) string {
	b, _ := json.Marshal(map[string]any{"summary": m["summary"], "findings": m["findings"], "warnings": m["warnings"]})
	return string(b)
}

// TestStdinTerminalRefused: - with a terminal on standard input is a
// usage error at once, not a wait for a capture typed at the keyboard.
func TestStdinTerminalRefused(t *testing.T) {
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"analyze", "-"}, tty, &out, &errb)
	var u *usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "terminal") {
		t.Errorf("err = %v, want a usage error about the terminal", err)
	}
}
