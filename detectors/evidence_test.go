package detectors_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
	"github.com/agents-of-shield/reconpcap/report"
)

// TestEvidenceAgreesWithTshark is issue 12's acceptance: on every capture
// of testdata, each finding's display filter selects in tshark exactly the
// packets its frames count, from its first frame to its last.
func TestEvidenceAgreesWithTshark(t *testing.T) {
	tsharktest.Path(t)
	if testing.Short() {
		t.Skip("reads every testdata capture with tshark")
	}
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range paths {
		name := filepath.Base(path)
		if strings.HasPrefix(name, "gen_") {
			continue // the format edge cases, which have no findings
		}
		t.Run(name, func(t *testing.T) {
			a, err := detectors.Analyze(context.Background(), path, detectors.Config{})
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			for i, f := range a.Findings {
				if f.DisplayFilter == "" || f.Frames == nil {
					t.Errorf("finding %d (%s %s): no evidence references: filter %q, frames %v", i, f.Type, f.Technique, f.DisplayFilter, f.Frames)
					continue
				}
				if f.Frames.Packets == 0 {
					t.Errorf("finding %d (%s %s %s->%s): filter %q selects no packet", i, f.Type, f.Technique, f.Source, f.Target, f.DisplayFilter)
					continue
				}
				if len(f.MITRE) == 0 && f.Technique != "fragment_overlap" {
					t.Errorf("finding %d (%s %s): no MITRE technique", i, f.Type, f.Technique)
				}
				want := tsharktest.Frames(t, path, f.DisplayFilter)
				got := *f.Frames
				if len(want) != got.Packets || want[0] != got.First || want[len(want)-1] != got.Last {
					first, last := 0, 0
					if len(want) > 0 {
						first, last = want[0], want[len(want)-1]
					}
					t.Errorf("finding %d (%s %s): frames %+v, tshark -Y %q selects %d packets, frames %d to %d",
						i, f.Type, f.Technique, got, f.DisplayFilter, len(want), first, last)
				}
				checked++
			}
		})
	}
	t.Logf("%d findings checked against tshark", checked)
	if checked < 20 {
		t.Errorf("only %d findings were checked; the testdata captures hold more", checked)
	}
}

// TestLocateEvidenceWithoutFindings does not open the file when there is
// nothing to locate.
func TestLocateEvidenceWithoutFindings(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.pcap")
	if err := detectors.LocateEvidence(context.Background(), missing, nil); err != nil {
		t.Errorf("LocateEvidence(no findings) = %v, want nil without reading", err)
	}
	fs := []report.Finding{{Type: report.AttackPortScan, Technique: "syn", Source: "10.0.0.1", Target: "10.0.0.2"}}
	if err := detectors.LocateEvidence(context.Background(), missing, fs); err == nil {
		t.Error("LocateEvidence(absent file) = nil, want an error")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the file was created: %v", err)
	}
}

// TestAnalysisLocateEvidence: judging again with the same thresholds takes
// the frames from the cache; an Analysis not made by Analyze (decoded from
// JSON, say) still describes findings, and LocateEvidence locates them.
func TestAnalysisLocateEvidence(t *testing.T) {
	path := filepath.Join("..", "testdata", "scan_syn.pcap")
	a, err := detectors.Analyze(context.Background(), path, detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := a.Evaluate(detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Frames == nil || *fs[0].Frames != *a.Findings[0].Frames {
		t.Fatalf("Evaluate with the same thresholds: %+v, want the located frames %+v from the cache", fs, a.Findings[0].Frames)
	}
	var bare detectors.Analysis
	found := []report.Finding{{Type: report.AttackPortScan, Technique: "syn", Source: "10.66.0.10", Target: "10.66.0.20"}}
	if err := bare.LocateEvidence(context.Background(), found); err != nil {
		t.Fatal(err)
	}
	if found[0].DisplayFilter != a.Findings[0].DisplayFilter || found[0].Frames != nil {
		t.Errorf("an Analysis without a capture: %+v, want the filter and no frames", found[0])
	}
	if err := detectors.LocateEvidence(context.Background(), path, found); err != nil {
		t.Fatal(err)
	}
	if found[0].Frames == nil || *found[0].Frames != *a.Findings[0].Frames {
		t.Errorf("LocateEvidence: %+v, want %+v", found[0].Frames, a.Findings[0].Frames)
	}
}

// TestLocateAfterEvaluate: a lower threshold gives findings the first pass
// did not locate; LocateEvidence finds their frames, as tshark does.
func TestLocateAfterEvaluate(t *testing.T) {
	path := filepath.Join("..", "testdata", "benign_browse.pcap")
	a, err := detectors.Analyze(context.Background(), path, detectors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := a.Evaluate(detectors.Config{Exfil: detectors.ExfilConfig{ThresholdBytes: 1000, HighBytes: 10_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, f := range fs {
		if f.Frames == nil {
			missing++
		}
	}
	if missing == 0 {
		t.Fatalf("a 1000-byte threshold made no new finding on %s (%d findings): the test proves nothing", path, len(fs))
	}
	if err := a.LocateEvidence(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Frames == nil || f.Frames.Packets == 0 {
			t.Fatalf("%s %s->%s: frames %v after LocateEvidence", f.Technique, f.Source, f.Target, f.Frames)
		}
	}
	if _, err := exec.LookPath("tshark"); err == nil {
		f := fs[len(fs)-1]
		if want := tsharktest.Frames(t, path, f.DisplayFilter); len(want) != f.Frames.Packets || want[0] != f.Frames.First {
			t.Errorf("%q: tshark selects %d packets from %v, frames %+v", f.DisplayFilter, len(want), want[:min(1, len(want))], f.Frames)
		}
	}
}
