package report

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const goodJSON = `{
  "attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "high", "confidence": "high"},
  "evidence": ["10.0.0.5 sent SYN to 1000 ports of 10.0.0.9 in 4 s"],
  "recommendations": ["Block 10.0.0.5 at the perimeter"]
}`

var goodAnswer = &Answer{
	AttackAssessment: Assessment{AttackType: AttackPortScan, Target: "10.0.0.9", Severity: SeverityHigh, Confidence: ConfidenceHigh},
	Evidence:         []string{"10.0.0.5 sent SYN to 1000 ports of 10.0.0.9 in 4 s"},
	Recommendations:  []string{"Block 10.0.0.5 at the perimeter"},
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		text string
		want *Answer
	}{
		{"plain JSON", goodJSON, goodAnswer},
		{"json fence", "Here is my verdict:\n```json\n" + goodJSON + "\n```\nStay safe.", goodAnswer},
		{"bare fence", "```\n" + goodJSON + "```", goodAnswer},
		{"fence without newline", "```json" + goodJSON + "```", goodAnswer},
		{"prose around it", "After calling the tools I conclude: " + goodJSON + " That is all.", goodAnswer},
		{"trailing text with braces", goodJSON + "\nNote: {this} and {\"a\": 1} are not part of it }}}", goodAnswer},
		{"leading prose with braces", "Format {like this} as asked, with \"quotes\" and { stray:\n" + goodJSON, goodAnswer},
		{"leading unrelated object", `{"thinking": "first I read the summary"} then ` + goodJSON, goodAnswer},
		{"wrapped in another object", `{"report": ` + goodJSON + `}`, goodAnswer},
		{"fenced answer preferred over an earlier example", `Shape: {"attack_assessment": {"attack_type": "unknown", "target": "unknown", "severity": "low", "confidence": "low"}, "evidence": [], "recommendations": []}` + "\n```json\n" + goodJSON + "\n```", goodAnswer},
		{"braces inside strings", `{"attack_assessment": {"attack_type": "http_enumeration", "target": "192.0.2.7", "severity": "medium", "confidence": "medium"},
			"evidence": ["GET /{admin}/ and \"/}{\" probed 300 times"], "recommendations": ["Rate-limit 198.51.100.4 {now}"]}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: AttackHTTPEnumeration, Target: "192.0.2.7", Severity: SeverityMedium, Confidence: ConfidenceMedium},
				Evidence:         []string{`GET /{admin}/ and "/}{" probed 300 times`},
				Recommendations:  []string{"Rate-limit 198.51.100.4 {now}"},
			}},
		{"uppercase enums, aliases and extra fields", `{"attack_assessment": {"attack_type": "Port Scan", "target": " 10.0.0.9 ", "severity": "CRIT", "confidence": "Med", "notes": "x"},
			"evidence": ["  a  ", "", "b"], "recommendations": ["c"], "intelligence": {"total_packets": 99999}, "summary": "ignored"}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: AttackPortScan, Target: "10.0.0.9", Severity: SeverityCritical, Confidence: ConfidenceMedium},
				Evidence:         []string{"a", "b"},
				Recommendations:  []string{"c"},
			}},
		{"keys in other case", `{"Attack_Assessment": {"Attack_Type": "dns tunnelling", "TARGET": "2001:db8::1", "severity": "low", "confidence": "low"}, "Evidence": ["e"], "Recommendations": ["r"]}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: AttackDNSTunneling, Target: "2001:db8::1", Severity: SeverityLow, Confidence: ConfidenceLow},
				Evidence:         []string{"e"},
				Recommendations:  []string{"r"},
			}},
		{"target normalised", `{"attack_assessment": {"attack_type": "multiple", "target": "Multiple Targets", "severity": "medium", "confidence": "low"}, "evidence": ["e"], "recommendations": ["r"]}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: AttackMultiple, Target: TargetMultiple, Severity: SeverityMedium, Confidence: ConfidenceLow},
				Evidence:         []string{"e"},
				Recommendations:  []string{"r"},
			}},
		{"target with port and mapped address", `{"attack_assessment": {"attack_type": "data exfiltration", "target": "[::ffff:10.1.2.3]:443", "severity": "high", "confidence": "high"}, "evidence": ["e"], "recommendations": ["r"]}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: AttackDataExfiltration, Target: "10.1.2.3", Severity: SeverityHigh, Confidence: ConfidenceHigh},
				Evidence:         []string{"e"},
				Recommendations:  []string{"r"},
			}},
		{"no threat with null lists", `{"attack_assessment": {"attack_type": "none", "target": "N/A", "severity": "informational", "confidence": "high"}, "evidence": null, "recommendations": []}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: AttackUnknown, Target: TargetUnknown, Severity: SeverityLow, Confidence: ConfidenceHigh},
			}},
		// Unparseable enums and targets are kept as written: Validate names them.
		{"invalid values kept", `{"attack_assessment": {"attack_type": "ddos", "target": "the web server", "severity": "catastrophic", "confidence": "certain"}, "evidence": ["e"], "recommendations": ["r"]}`,
			&Answer{
				AttackAssessment: Assessment{AttackType: "ddos", Target: "the web server", Severity: "catastrophic", Confidence: "certain"},
				Evidence:         []string{"e"},
				Recommendations:  []string{"r"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		text string
		// Exactly one of the following says what the error must be.
		is       error        // errors.Is
		syntax   bool         // errors.As *json.SyntaxError
		problems []FieldError // errors.As *ValidationError, these problems
	}{
		{name: "empty", text: "", is: ErrNoJSON},
		{name: "prose only", text: "I could not find any attack in this capture.", is: ErrNoJSON},
		{name: "prose with non-JSON braces", text: "Use {attack_type} and {target} {", is: ErrNoJSON},
		{name: "a JSON array", text: `["port_scan"]`, is: ErrNoJSON},
		{name: "truncated", text: goodJSON[:120], is: io.ErrUnexpectedEOF},
		{name: "truncated in a fence", text: "```json\n" + goodJSON[:60], is: io.ErrUnexpectedEOF},
		{name: "bad syntax", text: `{"attack_assessment": {"attack_type": port_scan}}`, syntax: true},
		{name: "trailing comma", text: `{"attack_assessment": {"attack_type": "port_scan",}, "evidence": []}`, syntax: true},
		{name: "object without assessment", text: `{"verdict": "port scan", "evidence": ["x"]}`,
			problems: []FieldError{{"attack_assessment", "missing; answer with one JSON object holding attack_assessment, evidence and recommendations"}}},
		{name: "assessment not an object", text: `{"attack_assessment": "port scan", "evidence": ["x"], "recommendations": ["y"]}`,
			problems: []FieldError{{"attack_assessment", "want an object with attack_type, target, severity and confidence, got a string"}}},
		{name: "assessment null", text: `{"attack_assessment": null, "evidence": [], "recommendations": []}`,
			problems: []FieldError{{"attack_assessment", "missing; want an object with attack_type, target, severity and confidence"}}},
		{name: "wrong types, with the other problems at once",
			text: `{"attack_assessment": {"attack_type": "port_scan", "target": 167772169, "severity": 4, "confidence": "sure"},
				"evidence": "many SYNs", "recommendations": ["block it", {"action": "alert"}]}`,
			problems: []FieldError{
				{"attack_assessment.target", "want a string, got a number"},
				{"attack_assessment.severity", "want a string, got a number"},
				{"evidence", "want an array of strings, got a string"},
				{"recommendations[1]", "want a string, got an object"},
				{"attack_assessment.confidence", `"sure" is not one of low, medium, high`},
			}},
		{name: "list of non-strings only", text: `{"attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "high", "confidence": "high"}, "evidence": [42, true], "recommendations": ["r"]}`,
			problems: []FieldError{
				{"evidence[0]", "want a string, got a number"},
				{"evidence[1]", "want a string, got a boolean"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if err == nil {
				t.Fatalf("Parse() = %+v, want an error", got)
			}
			if got != nil {
				t.Errorf("Parse() answer = %+v with error, want nil", got)
			}
			switch {
			case tt.is != nil:
				if !errors.Is(err, tt.is) {
					t.Errorf("Parse() error = %v, want errors.Is %v", err, tt.is)
				}
			case tt.syntax:
				var se *json.SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("Parse() error = %v (%T), want a *json.SyntaxError", err, err)
				}
			default:
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Parse() error = %v (%T), want a *ValidationError", err, err)
				}
				if diff := cmp.Diff(tt.problems, ve.Problems); diff != "" {
					t.Errorf("Parse() problems mismatch (-want +got):\n%s", diff)
				}
			}
			if !strings.HasPrefix(err.Error(), "report: ") {
				t.Errorf("Parse() error %q does not start with the package name", err)
			}
		})
	}
}

// The broken answers of the brief that do parse: Validate must catch them.
func TestParseThenValidate(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		problems []FieldError
	}{
		{"threat without evidence or recommendations",
			`{"attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "high", "confidence": "high"}, "evidence": [], "recommendations": [" "]}`,
			[]FieldError{
				{"evidence", `is empty; list at least one observation from the tool results that supports attack_type "port_scan"`},
				{"recommendations", `is empty; list at least one action a defender should take against attack_type "port_scan"`},
			}},
		{"invalid enums",
			`{"attack_assessment": {"attack_type": "ddos", "target": "10.0.0.9", "severity": "catastrophic", "confidence": ""}, "evidence": ["e"], "recommendations": ["r"]}`,
			[]FieldError{
				{"attack_assessment.attack_type", `"ddos" is not one of port_scan, http_enumeration, data_exfiltration, dns_tunneling, multiple, unknown`},
				{"attack_assessment.severity", `"catastrophic" is not one of low, medium, high, critical`},
				{"attack_assessment.confidence", "missing; want one of low, medium, high"},
			}},
		{"target a description",
			`{"attack_assessment": {"attack_type": "port_scan", "target": "the web server", "severity": "high", "confidence": "high"}, "evidence": ["e"], "recommendations": ["r"]}`,
			[]FieldError{{"attack_assessment.target", `"the web server" is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`}}},
		{"target out of range",
			`{"attack_assessment": {"attack_type": "port_scan", "target": "999.1.1.1", "severity": "high", "confidence": "high"}, "evidence": ["e"], "recommendations": ["r"]}`,
			[]FieldError{{"attack_assessment.target", `"999.1.1.1" is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`}}},
		{"target a hostname",
			`{"attack_assessment": {"attack_type": "http_enumeration", "target": "www.example.com", "severity": "medium", "confidence": "medium"}, "evidence": ["e"], "recommendations": ["r"]}`,
			[]FieldError{{"attack_assessment.target", `"www.example.com" is not an IP address; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`}}},
		{"target missing",
			`{"attack_assessment": {"attack_type": "unknown", "severity": "low", "confidence": "low"}, "evidence": [], "recommendations": []}`,
			[]FieldError{{"attack_assessment.target", `missing; want an IP address such as 192.0.2.10, "multiple_targets" or "unknown"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			err = a.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() error = %v (%T), want a *ValidationError", err, err)
			}
			if diff := cmp.Diff(tt.problems, ve.Problems); diff != "" {
				t.Errorf("Validate() problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTooLong(t *testing.T) {
	text := goodJSON + strings.Repeat(" ", MaxAnswerBytes)
	if _, err := Parse(text); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Parse(%d bytes) error = %v, want a size error", len(text), err)
	}
}

// Many stray braces in a long answer must not make Parse slow: the search
// gives up after maxCandidates starts that look like JSON.
func TestParseManyBraces(t *testing.T) {
	text := strings.Repeat(`{"a": [`, 5000)
	_, err := Parse(text)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Parse() error = %v, want io.ErrUnexpectedEOF", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goodJSON)
	f.Add("```json\n" + goodJSON + "\n```")
	f.Add(`{"attack_assessment": {"attack_type": 1}, "evidence": "x"}`)
	f.Add(`{ {"attack_assessment": {}} }`)
	f.Fuzz(func(t *testing.T, text string) {
		a, err := Parse(text)
		if (a == nil) == (err == nil) {
			t.Fatalf("Parse() = %v, %v: want exactly one of answer and error", a, err)
		}
		if a == nil {
			return
		}
		// Whatever Parse accepts, Validate must judge without panicking,
		// and a valid answer must survive a round trip through JSON.
		if a.Validate() != nil {
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(string(b))
		if err != nil {
			t.Fatalf("Parse(Marshal(%+v)) error = %v", a, err)
		}
		if diff := cmp.Diff(a, again, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}
