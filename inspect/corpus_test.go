package inspect

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// corpusFields are the columns TestFindOnCorpus compares.
var corpusFields = []string{"frame.number", "frame.time_relative", "frame.len", "_ws.col.Protocol"}

// TestFindOnCorpus checks the columns tshark and Find must share on the
// public corpus: captures from other tools and networks than ours.
func TestFindOnCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the corpus with tshark")
	}
	dir := testfiles.CorpusDir()
	if dir == "" {
		t.Skip("../shared/corpus is absent")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		ext := filepath.Ext(p)
		if info, err := d.Info(); err == nil && info.Size() < 1<<20 && (ext == ".pcap" || ext == ".pcapng" || ext == ".cap") {
			files = append(files, p)
		}
		return nil
	})
	// tshark takes a second to start, and its starts do not overlap: keep
	// twenty captures spread over the corpus's sources.
	if step := len(files) / 20; step > 1 {
		var some []string
		for i := 0; i < len(files); i += step {
			some = append(some, files[i])
		}
		files = some
	}
	// Run several at once all the same, then compare.
	type answer struct {
		rows [][]string
		err  error
	}
	answers := make([]answer, len(files))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, file := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=\t"}
			for _, f := range corpusFields {
				args = append(args, "-e", f)
			}
			out, err := exec.Command("tshark", args...).Output()
			for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				if l != "" {
					answers[i].rows = append(answers[i].rows, strings.Split(l, "\t"))
				}
			}
			answers[i].err = err
		}()
	}
	wg.Wait()
	for i, file := range files {
		t.Run(strings.TrimPrefix(file, dir+"/"), func(t *testing.T) {
			got, err := Find(context.Background(), Source{Path: file}, nil, 0, 1<<30)
			if err != nil || got == nil || got.Capture.Truncated {
				t.Skipf("not read whole (tshark then fails too): %v", err)
			}
			want := answers[i].rows
			if answers[i].err != nil {
				t.Fatalf("tshark: %v, though the capture reads whole", answers[i].err)
			}
			for _, w := range want {
				if w[3] == "PCAPNG" {
					// tshark numbers pcapng custom blocks as frames;
					// capinfos and every reader we use count packets.
					t.Skipf("tshark counts a pcapng custom block as frame %s", w[0])
				}
			}
			if len(want) != len(got.Lines) {
				t.Fatalf("%d lines, tshark %d", len(got.Lines), len(want))
			}
			bad := 0
			for i, w := range want {
				g := got.Lines[i]
				if strconv.Itoa(g.Number) != w[0] || g.rel != seconds(t, w[1]) || strconv.Itoa(g.Length) != w[2] {
					if bad++; bad <= 3 {
						t.Errorf("frame %s: %d %v %d, tshark %v", w[0], g.Number, g.rel, g.Length, w[:3])
					}
				}
				if comparedProtocols[w[3]] && g.Protocol != w[3] && !(g.Protocol != "TCP" && w[3] == "TCP") {
					if bad++; bad <= 3 {
						t.Errorf("frame %s: protocol %s, tshark %s (%s)", w[0], g.Protocol, w[3], g.Info)
					}
				}
			}
		})
	}
}
