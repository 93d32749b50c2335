package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnswerSchemaGolden(t *testing.T) {
	golden(t, "answer_schema.golden.json", append(AnswerSchema(), '\n'))
}

// schemaNode is the subset of JSON Schema that AnswerSchema uses.
type schemaNode struct {
	Type                 string                `json:"type"`
	Description          string                `json:"description"`
	Enum                 []string              `json:"enum"`
	Properties           map[string]schemaNode `json:"properties"`
	Required             []string              `json:"required"`
	Items                *schemaNode           `json:"items"`
	AdditionalProperties *bool                 `json:"additionalProperties"`
}

func answerSchema(t *testing.T) schemaNode {
	t.Helper()
	var s schemaNode
	dec := json.NewDecoder(strings.NewReader(string(AnswerSchema())))
	dec.DisallowUnknownFields() // a keyword this test does not know may not be strict-mode safe
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("AnswerSchema() does not decode: %v", err)
	}
	return s
}

// OpenAI's strict mode wants every object closed and every property
// required; the enums must be the vocabulary's.
func TestAnswerSchemaStrict(t *testing.T) {
	s := answerSchema(t)
	var walk func(path string, n schemaNode)
	walk = func(path string, n schemaNode) {
		switch n.Type {
		case "object":
			if n.AdditionalProperties == nil || *n.AdditionalProperties {
				t.Errorf("%s: additionalProperties is not false", path)
			}
			keys := make([]string, 0, len(n.Properties))
			for k, p := range n.Properties {
				keys = append(keys, k)
				walk(path+"."+k, p)
			}
			slices.Sort(keys)
			req := slices.Sorted(slices.Values(n.Required))
			if !slices.Equal(keys, req) {
				t.Errorf("%s: required %v, want every property %v", path, req, keys)
			}
		case "array":
			if n.Items == nil {
				t.Errorf("%s: array without items", path)
			} else {
				walk(path+"[]", *n.Items)
			}
		case "string":
		default:
			t.Errorf("%s: unexpected type %q", path, n.Type)
		}
	}
	walk("$", s)

	as := s.Properties["attack_assessment"].Properties
	for field, want := range map[string][]string{
		"attack_type": strs(AttackTypes),
		"severity":    strs(Severities),
		"confidence":  strs(Confidences),
	} {
		if diff := cmp.Diff(want, as[field].Enum); diff != "" {
			t.Errorf("%s enum mismatch (-want +got):\n%s", field, diff)
		}
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range s.Properties {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, []string{"attack_assessment", "evidence", "recommendations"}) {
		t.Errorf("top-level properties = %v", got)
	}
}

// An Answer that passes Validate marshals to JSON the schema accepts, and
// the schema refuses what Validate refuses for its structure.
func TestAnswerSchemaMatchesAnswer(t *testing.T) {
	s := answerSchema(t)
	noThreat := Answer{AttackAssessment: Assessment{AttackType: AttackUnknown, Target: TargetUnknown, Severity: SeverityLow, Confidence: ConfidenceLow}}
	for _, a := range []Answer{validAnswer(), noThreat} {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := conforms(s, b); err != nil {
			t.Errorf("schema refuses valid answer %s: %v", b, err)
		}
	}
	for _, bad := range []string{
		`{"attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "catastrophic", "confidence": "high"}, "evidence": [], "recommendations": []}`,
		`{"attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "high"}, "evidence": [], "recommendations": []}`,
		`{"attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "high", "confidence": "high"}, "evidence": null, "recommendations": []}`,
		`{"attack_assessment": {"attack_type": "port_scan", "target": "10.0.0.9", "severity": "high", "confidence": "high"}, "evidence": [], "recommendations": [], "intelligence": {}}`,
	} {
		if err := conforms(s, []byte(bad)); err == nil {
			t.Errorf("schema accepts %s", bad)
		}
	}
}

// conforms checks data against the schema subset AnswerSchema uses.
func conforms(s schemaNode, data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	var check func(path string, n schemaNode, v any) error
	check = func(path string, n schemaNode, v any) error {
		switch n.Type {
		case "object":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: not an object", path)
			}
			for _, r := range n.Required {
				if _, ok := m[r]; !ok {
					return fmt.Errorf("%s: %s missing", path, r)
				}
			}
			for k, val := range m {
				p, ok := n.Properties[k]
				if !ok {
					return fmt.Errorf("%s: unexpected property %s", path, k)
				}
				if err := check(path+"."+k, p, val); err != nil {
					return err
				}
			}
		case "array":
			items, ok := v.([]any)
			if !ok {
				return fmt.Errorf("%s: not an array", path)
			}
			for i, it := range items {
				if err := check(fmt.Sprintf("%s[%d]", path, i), *n.Items, it); err != nil {
					return err
				}
			}
		case "string":
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("%s: not a string", path)
			}
			if len(n.Enum) > 0 && !slices.Contains(n.Enum, str) {
				return fmt.Errorf("%s: %q not in enum", path, str)
			}
		}
		return nil
	}
	return check("$", s, v)
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
