package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReportGolden(t *testing.T) {
	golden(t, "report.golden.json", indent(t, validReport()))
}

// The golden file reads back into the same report: the JSON names and the
// lenient enum decoding agree with the marshalling.
func TestReportRoundTrip(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "report.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(validReport(), got); diff != "" {
		t.Errorf("Unmarshal(golden) mismatch (-want +got):\n%s", diff)
	}
}

// The contract's field names, spelled out rather than only in a golden file,
// and empty lists as [] (never null) in a zero report.
func TestReportContractNames(t *testing.T) {
	b, err := json.Marshal(Report{})
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	want := []string{"analyst", "attack_assessment", "evidence", "findings", "intelligence", "investigation_trigger", "pcap_file", "recommendations", "timestamp"}
	if diff := cmp.Diff(want, keys(top)); diff != "" {
		t.Errorf("top-level keys mismatch (-want +got):\n%s", diff)
	}
	for _, k := range []string{"evidence", "recommendations", "findings"} {
		if string(top[k]) != "[]" {
			t.Errorf("%s = %s, want []", k, top[k])
		}
	}
	sub := func(k string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(top[k], &m); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return m
	}
	if diff := cmp.Diff([]string{"attack_type", "confidence", "severity", "target"}, keys(sub("attack_assessment"))); diff != "" {
		t.Errorf("attack_assessment keys mismatch (-want +got):\n%s", diff)
	}
	// Zero additions are left out; the contract's three numbers stay.
	if diff := cmp.Diff([]string{"threat_count", "total_packets", "unique_ips"}, keys(sub("intelligence"))); diff != "" {
		t.Errorf("intelligence keys mismatch (-want +got):\n%s", diff)
	}
	analyst := sub("analyst")
	if diff := cmp.Diff([]string{"mode", "tool_calls"}, keys(analyst)); diff != "" {
		t.Errorf("analyst keys mismatch (-want +got):\n%s", diff)
	}
	if string(analyst["tool_calls"]) != "[]" {
		t.Errorf("tool_calls = %s, want []", analyst["tool_calls"])
	}

	// A pointer marshals the same way as a value.
	pb, err := json.Marshal(&Report{})
	if err != nil {
		t.Fatal(err)
	}
	if string(pb) != string(b) {
		t.Errorf("Marshal(&r) = %s\nMarshal(r)  = %s", pb, b)
	}
}

func TestAnswerMarshal(t *testing.T) {
	b, err := json.Marshal(Answer{AttackAssessment: Assessment{AttackType: AttackUnknown, Target: TargetUnknown, Severity: SeverityLow, Confidence: ConfidenceHigh}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"attack_assessment":{"attack_type":"unknown","target":"unknown","severity":"low","confidence":"high"},"evidence":[],"recommendations":[]}`
	if string(b) != want {
		t.Errorf("Marshal = %s\nwant      %s", b, want)
	}
}

func TestFindingJSON(t *testing.T) {
	f := Finding{Type: AttackDNSTunneling, Source: "10.0.0.5", Target: "10.0.0.53", Severity: SeverityMedium, Confidence: ConfidenceLow, Summary: "s"}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	// Zero times, counts and samples are left out.
	want := `{"type":"dns_tunneling","technique":"","source":"10.0.0.5","target":"10.0.0.53","severity":"medium","confidence":"low","summary":"s"}`
	if string(b) != want {
		t.Errorf("Marshal = %s\nwant      %s", b, want)
	}
}
