package inspect

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

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
	for _, file := range files {
		t.Run(strings.TrimPrefix(file, dir+"/"), func(t *testing.T) {
			got, err := Find(context.Background(), file, nil, 0, 1<<30)
			if err != nil || got == nil || got.Capture.Truncated {
				t.Skipf("not read whole (tshark then fails too): %v", err)
			}
			if out, err := exec.Command("tshark", "-n", "-r", file, "-c", "1").CombinedOutput(); err != nil {
				t.Skipf("tshark cannot read it either: %v %s", err, out)
			}
			want := tsharkRows(t, file, "", "frame.number", "frame.time_relative", "frame.len", "_ws.col.Protocol", "ip.src", "ipv6.src")
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
