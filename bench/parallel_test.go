package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// The goals of issue 15, each against the single-goroutine path
// (--workers 1) in the same run, on this machine's cores: a directory of
// 8 rotated files at least 1.7 times faster, one 1 GB file at least 1.5
// times faster, and memory still flat from 100 MB to 1 GB.
const (
	goalDirSpeedup  = 1.7
	goalFileSpeedup = 1.5
)

// TestParallel measures analyze with one worker per core against
// --workers 1 on the generated captures, whole and cut into 8 files
// (editcap -c), and checks that both give the same findings.
func TestParallel(t *testing.T) {
	if os.Getenv("RECONPCAP_BENCH") != "1" {
		t.Skip("set RECONPCAP_BENCH=1 to compare analyze's parallel path with one goroutine on generated 100 MB and 1 GB captures")
	}
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Fatal("editcap is not installed: the directory case needs it (apt-get install wireshark-common)")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "reconpcap")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/reconpcap").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cores := runtime.NumCPU()
	var firstRSS, lastRSS int64
	for i, size := range sizes(t) {
		path, st := capture(t, size)
		// Cut as tcpdump -C rotates: pcap files.
		dir := filepath.Join(tmp, "rotated-"+sizeName(size))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		per := (st.Packets + 7) / 8
		if out, err := exec.Command("editcap", "-F", "pcap", "-c", strconv.Itoa(per), path, filepath.Join(dir, "part.pcap")).CombinedOutput(); err != nil {
			t.Fatalf("editcap: %v\n%s", err, out)
		}
		for _, in := range []struct{ name, arg string }{{"one file", path}, {"8 files", dir}} {
			var one, par []time.Duration
			var parRSS int64
			var findings [2]string
			for range runs(t) {
				w, _, out := measure(t, filepath.Join(tmp, "one.json"), bin, "analyze", "--workers", "1", "--format", "json", in.arg)
				one = append(one, w)
				findings[0] = findingsOf(t, out)
				w, rss, out := measure(t, filepath.Join(tmp, "par.json"), bin, "analyze", "--format", "json", in.arg)
				par = append(par, w)
				parRSS = max(parRSS, rss)
				findings[1] = findingsOf(t, out)
			}
			if findings[0] != findings[1] {
				t.Errorf("%s, %s: the parallel path found otherwise than one goroutine", sizeName(size), in.name)
			}
			speedup := median(one).Seconds() / median(par).Seconds()
			t.Logf("%s, %s: --workers 1 %v, --workers %d %v: %.2fx, peak RSS %d MiB", sizeName(size), in.name, median(one).Round(time.Millisecond), cores, median(par).Round(time.Millisecond), speedup, parRSS/1024)
			goal := goalFileSpeedup
			if in.name == "8 files" {
				goal = goalDirSpeedup
			}
			if size >= goalSpeedupSize && speedup < goal {
				t.Errorf("%s, %s: %.2fx faster than one goroutine, goal %.1fx", sizeName(size), in.name, speedup, goal)
			}
			if in.name == "one file" {
				if i == 0 {
					firstRSS = parRSS
				}
				lastRSS = parRSS
			}
		}
	}
	if grow := float64(lastRSS-firstRSS) / 1024; grow > goalFlatMiB {
		t.Errorf("parallel peak RSS grew %.0f MiB from the smallest capture to the largest, goal under %.0f MiB", grow, goalFlatMiB)
	}
}

// findingsOf returns the findings of analyze's JSON, rendered for
// comparison.
func findingsOf(t *testing.T, out []byte) string {
	t.Helper()
	var a struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("analyze's JSON: %v", err)
	}
	return fmt.Sprint(a.Findings)
}
