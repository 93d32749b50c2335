package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func validAnswer() Answer {
	return Answer{
		AttackAssessment: Assessment{AttackType: AttackPortScan, Target: "10.0.0.9", Severity: SeverityHigh, Confidence: ConfidenceHigh},
		Evidence:         []string{"SYN to 1000 ports"},
		Recommendations:  []string{"Block 10.0.0.5"},
	}
}

func TestAnswerValidate(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Answer)
		problems []FieldError // nil: valid
	}{
		{"valid threat", func(*Answer) {}, nil},
		{"valid no threat with empty lists", func(a *Answer) {
			a.AttackAssessment = Assessment{AttackType: AttackUnknown, Target: TargetUnknown, Severity: SeverityLow, Confidence: ConfidenceHigh}
			a.Evidence, a.Recommendations = nil, nil
		}, nil},
		{"valid IPv6 and multiple targets", func(a *Answer) { a.AttackAssessment.Target = "2001:db8::9" }, nil},
		{"valid multiple_targets", func(a *Answer) { a.AttackAssessment.Target = TargetMultiple }, nil},
		{"all missing", func(a *Answer) { *a = Answer{} }, []FieldError{
			{"attack_assessment.attack_type", "missing; want one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown"},
			{"attack_assessment.target", `missing; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`},
			{"attack_assessment.severity", "missing; want one of low, medium, high, critical"},
			{"attack_assessment.confidence", "missing; want one of low, medium, high"},
		}},
		{"enums are strict", func(a *Answer) {
			a.AttackAssessment.AttackType, a.AttackAssessment.Severity, a.AttackAssessment.Confidence = "Port Scan", "crit", "High"
		}, []FieldError{
			{"attack_assessment.attack_type", `"Port Scan" is not one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown`},
			{"attack_assessment.severity", `"crit" is not one of low, medium, high, critical`},
			{"attack_assessment.confidence", `"High" is not one of low, medium, high`},
		}},
		{"invalid attack type still needs evidence", func(a *Answer) {
			a.AttackAssessment.AttackType = "ddos"
			a.Evidence, a.Recommendations = nil, nil
		}, []FieldError{
			{"attack_assessment.attack_type", `"ddos" is not one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown`},
			{"evidence", `is empty; list at least one observation from the tool results that supports attack_type "ddos"`},
			{"recommendations", `is empty; list at least one action a defender should take against attack_type "ddos"`},
		}},
		{"target with a zone", func(a *Answer) { a.AttackAssessment.Target = "fe80::1%eth0" }, []FieldError{
			{"attack_assessment.target", `"fe80::1%eth0" has an IPv6 zone; give the address without %eth0`},
		}},
		{"target a network", func(a *Answer) { a.AttackAssessment.Target = "10.0.0.0/24" }, []FieldError{
			{"attack_assessment.target", `"10.0.0.0/24" is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`},
		}},
		{"absurd target is truncated in the message", func(a *Answer) { a.AttackAssessment.Target = strings.Repeat("x", 500) }, []FieldError{
			{"attack_assessment.target", `"` + strings.Repeat("x", 80) + `..." is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`},
		}},
		{"blank and long lines", func(a *Answer) {
			a.Evidence = []string{"ok", "  ", strings.Repeat("é", MaxLineLength+1)}
			a.Recommendations = []string{strings.Repeat("é", MaxLineLength)} // exactly at the bound: fine
		}, []FieldError{
			{"evidence[1]", "is blank"},
			{"evidence[2]", "is 1001 characters long; at most 1000"},
		}},
		{"too many lines", func(a *Answer) {
			a.Recommendations = slices.Repeat([]string{"r"}, MaxListItems+1)
		}, []FieldError{
			{"recommendations", "has 51 items; at most 50"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAnswer()
			tt.edit(&a)
			err := a.Validate()
			if tt.problems == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v (%T), want a *ValidationError", err, err)
			}
			if diff := cmp.Diff(tt.problems, ve.Problems); diff != "" {
				t.Errorf("Validate() problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	one := &ValidationError{Problems: []FieldError{{"attack_assessment.severity", `"catastrophic" is not one of low, medium, high, critical`}}}
	if got, want := one.Error(), `report: 1 problem: attack_assessment.severity: "catastrophic" is not one of low, medium, high, critical`; got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
	a := validAnswer()
	a.AttackAssessment.Severity = "catastrophic"
	a.AttackAssessment.Target = "the web server"
	a.Evidence = nil
	want := `report: 3 problems: ` +
		`attack_assessment.target: "the web server" is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"; ` +
		`attack_assessment.severity: "catastrophic" is not one of low, medium, high, critical; ` +
		`evidence: is empty; list at least one observation from the tool results that supports attack_type "port_scan"`
	if err := a.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate().Error() = %v\nwant                  %s", err, want)
	}
}

func validReport() Report {
	a := validAnswer()
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	return *a.Report(Report{
		Timestamp:            time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		InvestigationTrigger: "manual",
		PcapFile:             "/data/traffic.pcap",
		Intelligence:         Intelligence{TotalPackets: 1234, UniqueIPs: 10, ThreatCount: 1, Start: t0, End: t0.Add(time.Minute)},
		Findings: []Finding{{
			Type: AttackPortScan, Technique: "syn", Source: "10.0.0.5", Target: "10.0.0.9",
			Severity: SeverityHigh, Confidence: ConfidenceHigh, Summary: "SYN scan of 1000 ports",
			FirstSeen: t0, LastSeen: t0.Add(4 * time.Second),
		}},
		Analyst: Analyst{Mode: ModeRules, ToolCalls: []string{"read_pcap_summary"}},
	})
}

func TestReportValidate(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Report)
		problems []FieldError
	}{
		{"valid", func(*Report) {}, nil},
		{"zero report", func(r *Report) { *r = Report{} }, []FieldError{
			{"timestamp", "missing"},
			{"investigation_trigger", "missing"},
			{"pcap_file", "missing"},
			{"attack_assessment.attack_type", "missing; want one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown"},
			{"attack_assessment.target", `missing; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`},
			{"attack_assessment.severity", "missing; want one of low, medium, high, critical"},
			{"attack_assessment.confidence", "missing; want one of low, medium, high"},
			{"analyst.mode", "missing; want llm or rules"},
		}},
		{"agent-side problems", func(r *Report) {
			r.Intelligence.TotalPackets = -1
			r.Intelligence.ThreatCount = -2
			r.Intelligence.End = r.Intelligence.Start.Add(-time.Second)
			r.Analyst.Mode = "gpt"
			r.Findings = append(r.Findings, Finding{Type: AttackMultiple, Severity: "severe", Confidence: ConfidenceLow,
				Source: "10.0.0.5", FirstSeen: r.Timestamp, LastSeen: r.Timestamp.Add(-time.Hour)})
		}, []FieldError{
			{"intelligence.total_packets", "is -1; must not be negative"},
			{"intelligence.threat_count", "is -2; must not be negative"},
			{"intelligence.end", "is before intelligence.start"},
			{"findings[1].type", `"multiple" is a verdict, not a finding type`},
			{"findings[1].severity", `"severe" is not one of low, medium, high, critical`},
			{"findings[1].target", "missing"},
			{"findings[1].summary", "missing"},
			{"findings[1].last_seen", "is before first_seen"},
			{"analyst.mode", `"gpt" is not one of llm, rules`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validReport()
			tt.edit(&r)
			err := r.Validate()
			if tt.problems == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v (%T), want a *ValidationError", err, err)
			}
			if diff := cmp.Diff(tt.problems, ve.Problems); diff != "" {
				t.Errorf("Validate() problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindingValidate(t *testing.T) {
	f := validReport().Findings[0]
	if err := f.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	f.Type = "sql_injection"
	f.Confidence = ""
	want := `report: 2 problems: type: "sql_injection" is not one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown; confidence: missing; want one of low, medium, high`
	if err := f.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v\nwant         %s", err, want)
	}
}

// Answer.Report copies the verdict into the base and nothing else; the
// lists do not alias the answer's.
func TestAnswerReport(t *testing.T) {
	a := validAnswer()
	base := Report{PcapFile: "/x.pcap", Evidence: []string{"stale"}, Intelligence: Intelligence{TotalPackets: 7}}
	r := a.Report(base)
	if r.PcapFile != "/x.pcap" || r.Intelligence.TotalPackets != 7 {
		t.Errorf("Report() lost base fields: %+v", r)
	}
	if diff := cmp.Diff(&a, r.Answer()); diff != "" {
		t.Errorf("Report().Answer() mismatch (-want +got):\n%s", diff)
	}
	a.Evidence[0] = "changed"
	if r.Evidence[0] != "SYN to 1000 ports" {
		t.Errorf("Report() evidence aliases the answer's: %q", r.Evidence[0])
	}
	if base.Evidence[0] != "stale" {
		t.Errorf("Report() changed the base's evidence: %q", base.Evidence[0])
	}
}
