package detectors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// TestSplitCaptureGivesTheWholeVerdict is issue 15's acceptance on every
// testdata capture: cut with editcap -c into 2, 5 and 20 files (a rotated
// capture), the files give exactly the verdict of the whole file (summary,
// timeline, findings with their frames, warnings)
//
//   - read as one input by two workers sharing the packets by address
//     pair (reconpcap analyze DIR), and
//   - accumulated one file at a time into partials, encoded, decoded,
//     merged and judged (reconpcap shard, then merge).
//
// RECONPCAP_SPLIT_CAPTURE names another capture to check the same way
// (the generated 1 GB one).
func TestSplitCaptureGivesTheWholeVerdict(t *testing.T) {
	paths := testCaptures(t)
	if p := os.Getenv("RECONPCAP_SPLIT_CAPTURE"); p != "" {
		paths = []string{p}
	}
	ctx := context.Background()
	for _, path := range paths {
		whole, err := Analyze(ctx, path, Config{})
		if err != nil || whole.Capture().Read < 2 || whole.Truncated {
			continue // damaged, cut short or empty: editcap writes what it can read, whole
		}
		want := verdict(t, whole)
		for _, n := range []int{2, 5, 20} {
			if n > whole.Capture().Read {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(path), n), func(t *testing.T) {
				files := editcapSplit(t, path, whole.Capture().Read, n)
				var srcs []capture.Source
				for _, f := range files {
					srcs = append(srcs, capture.Source{Name: f, Path: f})
				}
				got, err := AnalyzeInput(ctx, Input{Sources: srcs, Workers: 2}, Config{})
				if err != nil {
					t.Fatal(err)
				}
				if g := verdict(t, got); g != want {
					t.Errorf("the files read by two workers:\n%s", firstDiff(want, g))
				}
				var parts []*Partial
				for _, f := range files {
					p, err := Accumulate(ctx, Input{Sources: []capture.Source{{Name: f, Path: f}}}, Config{HashKey: "one capture"})
					if err != nil {
						t.Fatal(err)
					}
					b, err := p.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					var q Partial
					if err := q.UnmarshalBinary(b); err != nil {
						t.Fatal(err)
					}
					parts = append(parts, &q)
				}
				// Merged in reverse: the order of the parts must not
				// matter.
				for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
					parts[i], parts[j] = parts[j], parts[i]
				}
				m, err := MergePartials(parts...)
				if err != nil {
					t.Fatal(err)
				}
				got, err = m.Judge(ctx, Input{Sources: srcs})
				if err != nil {
					t.Fatal(err)
				}
				if g := verdict(t, withoutJoinWarning(t, got)); g != want {
					t.Errorf("the files' partials merged:\n%s", firstDiff(want, g))
				}
			})
		}
	}
}

// withoutJoinWarning takes out of a's warnings the one that says some HTTP
// connections cut between files could not be joined exactly (answers
// pipelined or retransmitted across a cut, or a connection that began
// before the capture answered across one), logging it: the merge says so
// rather than guess, and the findings, summary and timeline must still be
// those of one pass.
func withoutJoinWarning(t *testing.T, a *Analysis) *Analysis {
	t.Helper()
	kept := a.Warnings[:0:0]
	for _, w := range a.Warnings {
		if strings.HasPrefix(w, "HTTP: ") && strings.Contains(w, "could not be joined exactly") {
			t.Logf("merged with a warning: %s", w)
			continue
		}
		kept = append(kept, w)
	}
	b := *a
	b.Warnings = kept
	return &b
}
