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
// expected verdicts (type, technique, source, target, severity, and the
// confidence where the truth gives one): every expected finding appears, none other does, and
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
			Type       report.AttackType `json:"type"`
			Technique  string            `json:"technique"`
			Source     string            `json:"source"`
			Target     string            `json:"target"`
			Severity   report.Severity   `json:"severity"`
			Confidence report.Confidence `json:"confidence"`
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
		Technique      string
		Source, Target string
		Severity       report.Severity
		Confidence     report.Confidence
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
				want = append(want, verdict{e.Type, e.Technique, e.Source, e.Target, e.Severity, e.Confidence})
			}
			for _, f := range a.Findings {
				got = append(got, verdict{f.Type, f.Technique, f.Source, f.Target, f.Severity, f.Confidence})
			}
			less := func(x, y verdict) int {
				if x.Type != y.Type {
					return strings.Compare(string(x.Type), string(y.Type))
				}
				return strings.Compare(x.Source+" "+x.Target+" "+x.Technique, y.Source+" "+y.Target+" "+y.Technique)
			}
			slices.SortFunc(want, less)
			slices.SortFunc(got, less)
			// Every entry names its technique; a confidence is compared
			// where the truth gives one.
			if len(want) == len(got) {
				for i := range want {
					if want[i].Confidence == "" {
						got[i].Confidence = ""
					}
				}
			}
			if !slices.Equal(want, got) {
				t.Errorf("findings %+v, ground truth %+v", got, want)
			}
		})
	}
}
