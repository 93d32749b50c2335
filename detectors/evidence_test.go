package detectors_test

import (
	"context"
	"os"
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
