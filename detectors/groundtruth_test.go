package detectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
)

// TestTestdataGroundTruth analyses every real-tool capture that
// testdata/ground_truth.json describes and compares the findings with its
// expected verdicts (type, source, target, severity; techniques are named
// by the detectors): every expected finding appears, none other does, and
// the benign captures give none. Packet and address counts are tshark's.
func TestTestdataGroundTruth(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct {
		TotalPackets int `json:"total_packets"`
		UniqueIPs    int `json:"unique_ips"`
		Expected     []struct {
			Type     report.AttackType `json:"type"`
			Source   string            `json:"source"`
			Target   string            `json:"target"`
			Severity report.Severity   `json:"severity"`
		} `json:"expected"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(truth))
	for n := range truth {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 19 {
		t.Fatalf("ground_truth.json describes %d captures, want the 19 recordings", len(names))
	}
	type verdict struct {
		Type           report.AttackType
		Source, Target string
		Severity       report.Severity
	}
	for _, name := range names {
		gt := truth[name]
		t.Run(name, func(t *testing.T) {
			a := analyzeFile(t, testdataFile(t, name), Config{})
			if a.Summary.TotalPackets != gt.TotalPackets || a.Summary.UniqueIPs != gt.UniqueIPs {
				t.Errorf("packets %d, unique IPs %d; tshark %d, %d", a.Summary.TotalPackets, a.Summary.UniqueIPs, gt.TotalPackets, gt.UniqueIPs)
			}
			var want, got []verdict
			for _, e := range gt.Expected {
				want = append(want, verdict{e.Type, e.Source, e.Target, e.Severity})
			}
			for _, f := range a.Findings {
				got = append(got, verdict{f.Type, f.Source, f.Target, f.Severity})
			}
			less := func(x, y verdict) int {
				if x.Type != y.Type {
					return strings.Compare(string(x.Type), string(y.Type))
				}
				return strings.Compare(x.Source+" "+x.Target, y.Source+" "+y.Target)
			}
			slices.SortFunc(want, less)
			slices.SortFunc(got, less)
			if !slices.Equal(want, got) {
				t.Errorf("findings %+v, ground truth %+v", got, want)
			}
		})
	}
}
