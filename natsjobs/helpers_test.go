package natsjobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// splitCapture splits a testdata capture with editcap -c into files of
// per packets each, and returns them in name order.
func splitCapture(t *testing.T, name string, per int) []string {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap not installed")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "part.pcap")
	if b, err := exec.Command("editcap", "-c", strconv.Itoa(per), filepath.Join("..", "testdata", name), out).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, b)
	}
	files, err := filepath.Glob(filepath.Join(dir, "part_*.pcap"))
	if err != nil || len(files) < 2 {
		t.Fatalf("editcap made %d files (%v)", len(files), err)
	}
	slices.Sort(files)
	return files
}

// truth is what a correct shard of each file says, found without this
// package or capture: the packet count from capinfos and the sha256 of
// the bytes from sha256sum.
func truth(t *testing.T, files []string) map[string]string {
	t.Helper()
	want := map[string]string{}
	for _, f := range files {
		out, err := exec.Command("capinfos", "-T", "-r", "-c", "-M", f).Output()
		if err != nil {
			t.Fatalf("capinfos %s: %v", f, err)
		}
		fields := strings.Fields(string(out))
		if len(fields) != 2 {
			t.Fatalf("capinfos %s: %q", f, out)
		}
		sum, err := exec.Command("sha256sum", f).Output()
		if err != nil {
			t.Fatalf("sha256sum %s: %v", f, err)
		}
		want[f] = strings.Fields(string(sum))[0] + " " + fields[1]
	}
	return want
}

// shardCounter is a ShardFunc that returns real content (the file's
// sha256 and its packet count as capture reads it), so that a partial
// lost or counted twice shows, and counts its calls per file.
type shardCounter struct {
	mu        sync.Mutex
	started   map[string]int
	completed map[string]int
	// block, when set, is called at the start of each call; it may wait.
	block func(ctx context.Context, path string) error
	// fail, when set, makes the calls for these paths fail.
	fail map[string]bool
}

func newShardCounter() *shardCounter {
	return &shardCounter{started: map[string]int{}, completed: map[string]int{}}
}

func (s *shardCounter) shard(ctx context.Context, _, path string) ([]byte, error) {
	s.mu.Lock()
	s.started[path]++
	block, fail := s.block, s.fail[path]
	s.mu.Unlock()
	if block != nil {
		if err := block(ctx, path); err != nil {
			return nil, err
		}
	}
	if fail {
		return nil, fmt.Errorf("test: %s does not shard", filepath.Base(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	c, err := capture.Scan(ctx, path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.completed[path]++
	s.mu.Unlock()
	return []byte(hex.EncodeToString(h.Sum(nil)) + " " + strconv.Itoa(c.Packets)), nil
}

func (s *shardCounter) counts() (started, completed map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.started), maps.Clone(s.completed)
}

// wantPartials is truth in the order Collect promises: by file ID.
func wantPartials(t *testing.T, files []File, want map[string]string) []string {
	t.Helper()
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.ID, b.ID) })
	var out []string
	for _, f := range sorted {
		out = append(out, want[f.Path])
	}
	return out
}

func asStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}
