package detectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
)

// TestDNSRecordedTechniques reads every recording of
// testdata/ground_truth.json with DNS in it. Where a dns_tunneling finding
// is expected, the finding from that source to that target names the
// expected technique, registered domain and encoding; and the expected
// technique is the one tshark's query types give (the record type of
// more than half of the queries, a_query_exfil for A and AAAA,
// mixed_records when none has half). Where none is expected, no
// dns_tunneling finding is above low.
func TestDNSRecordedTechniques(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct {
		Expected []struct {
			Type      report.AttackType `json:"type"`
			Source    string            `json:"source"`
			Target    string            `json:"target"`
			Severity  report.Severity   `json:"severity"`
			Technique string            `json:"technique"`
			Domain    string            `json:"domain"`
			Encoding  string            `json:"encoding"`
		} `json:"expected"`
		Measured struct {
			DNS *struct {
				Queries int64            `json:"queries"`
				QTypes  map[string]int64 `json:"qtypes"`
			} `json:"dns"`
		} `json:"measured"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n, gt := range truth {
		if gt.Measured.DNS != nil && gt.Measured.DNS.Queries > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	tunnels := 0
	for _, name := range names {
		gt := truth[name]
		t.Run(name, func(t *testing.T) {
			a := analyzeFile(t, testdataFile(t, name), Config{})
			got := findingsOf(a.Findings, report.AttackDNSTunneling)
			expected := 0
			for _, e := range gt.Expected {
				if e.Type != report.AttackDNSTunneling {
					continue
				}
				expected++
				tunnels++
				if want := techniqueFromQTypes(gt.Measured.DNS.QTypes, gt.Measured.DNS.Queries); e.Technique != want {
					t.Errorf("ground truth technique %q, tshark's query types %v give %q", e.Technique, gt.Measured.DNS.QTypes, want)
				}
				i := slices.IndexFunc(got, func(f report.Finding) bool { return f.Source == e.Source && f.Target == e.Target })
				if i < 0 {
					t.Errorf("no dns_tunneling finding %s -> %s", e.Source, e.Target)
					continue
				}
				f := got[i]
				if f.Technique != e.Technique || f.Severity != e.Severity || !slices.Equal(f.Samples["domain"], []string{e.Domain}) {
					t.Errorf("%s -> %s: technique %q severity %s domain %q; ground truth %q %s %q", e.Source, e.Target,
						f.Technique, f.Severity, f.Samples["domain"], e.Technique, e.Severity, e.Domain)
				}
				if e.Encoding != "" && !slices.Equal(f.Samples["encoding"], []string{e.Encoding}) {
					t.Errorf("%s -> %s: encoding %q, ground truth %q", e.Source, e.Target, f.Samples["encoding"], e.Encoding)
				}
			}
			if expected == 0 {
				for _, f := range got {
					if f.Severity.Rank() > report.SeverityLow.Rank() || f.Confidence.Rank() > report.ConfidenceLow.Rank() {
						t.Errorf("no tunnel expected, got %s/%s: %s", f.Severity, f.Confidence, f.Summary)
					}
				}
			}
		})
	}
	if tunnels < 2 {
		t.Errorf("ground_truth.json expects %d DNS tunnels, want the recordings' (dns_tunnel, dns_tunnel_b32, ...)", tunnels)
	}
}

// techniqueFromQTypes names the technique tshark's query type counts
// (by name: "A", "NULL", ...) call for.
func techniqueFromQTypes(qt map[string]int64, queries int64) string {
	if 2*(qt["A"]+qt["AAAA"]) > queries {
		return "a_query_exfil"
	}
	for typ, n := range qt {
		if 2*n > queries {
			return map[string]string{"TXT": "txt_records", "NULL": "null_records", "CNAME": "cname_records", "MX": "mx_records"}[typ]
		}
	}
	return "mixed_records"
}
