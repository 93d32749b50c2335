package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// ErrNoJSON means the text holds no JSON object at all. Parse wraps it.
var ErrNoJSON = errors.New("no JSON object found")

// MaxAnswerBytes bounds the text Parse reads: a model's answer is a few
// kilobytes, and the search for the JSON object is not linear in the worst
// case.
const MaxAnswerBytes = 1 << 20

// maxCandidates bounds how many places that look like the start of a JSON
// object Parse tries per region, for the same reason.
const maxCandidates = 100

// fence matches a Markdown code fence with an optional language tag.
var fence = regexp.MustCompile("(?s)```[A-Za-z0-9_+-]*[ \t]*\r?\n?(.*?)```")

// Parse reads a model's answer: plain JSON, JSON in a ``` fence (tagged json
// or not), or JSON with prose around it. It takes the first, outermost JSON
// object that holds an attack_assessment (searching nested objects too, for
// answers wrapped as {"report": {...}}); fenced blocks are tried before the
// whole text. Fields other than attack_assessment, evidence and
// recommendations are ignored: intelligence in particular comes from the
// analysis, never from the model.
//
// Parse is lenient about values: enums are read with ParseAttackType,
// ParseSeverity and ParseConfidence ("Port Scan", "crit"); a value none of
// them understands is kept as written, for Validate to report. Targets are
// trimmed, an address with a port loses its port, IPv4-mapped IPv6 addresses
// are unmapped, and "multiple" means TargetMultiple. Evidence and
// recommendation lines are trimmed and blank ones dropped.
//
// Parse does not validate: call Answer.Validate on its result.
//
// Errors: ErrNoJSON (wrapped) when the text holds no JSON object; a wrapped
// *json.SyntaxError or io.ErrUnexpectedEOF when the object does not parse or
// is cut short; a *ValidationError when the object has no attack_assessment
// or a field has the wrong JSON type, listing those problems together with
// every problem Validate finds in the rest, so a model can fix all at once.
func Parse(text string) (*Answer, error) {
	if len(text) > MaxAnswerBytes {
		return nil, fmt.Errorf("report: answer is %d bytes; at most %d", len(text), MaxAnswerBytes)
	}
	var regions []string
	for _, m := range fence.FindAllStringSubmatch(text, -1) {
		regions = append(regions, m[1])
	}
	regions = append(regions, text)

	var firstErr error
	sawObject := false
	for _, region := range regions {
		raw, saw, err := findObject(region)
		if raw != nil {
			return decodeAnswer(raw)
		}
		sawObject = sawObject || saw
		if firstErr == nil {
			firstErr = err
		}
	}
	switch {
	case firstErr != nil && errors.Is(firstErr, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("report: the answer's JSON is cut short before its end: %w", firstErr)
	case firstErr != nil:
		return nil, fmt.Errorf("report: the answer's JSON does not parse: %w", firstErr)
	case sawObject:
		return nil, &ValidationError{Problems: []FieldError{{
			Field:  "attack_assessment",
			Reason: "missing; answer with one JSON object holding attack_assessment, evidence and recommendations",
		}}}
	}
	return nil, fmt.Errorf("report: %w in the answer", ErrNoJSON)
}

// findObject returns the first outermost object in s that holds an
// attack_assessment. Otherwise it says whether it saw any JSON object, and
// returns the error of the first candidate that looked like JSON but did not
// decode.
func findObject(s string) (raw json.RawMessage, sawObject bool, firstErr error) {
	tried := 0
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			break
		}
		i += j
		if !looksLikeObject(s[i+1:]) {
			continue // prose such as "{x}" or a template placeholder
		}
		if tried++; tried > maxCandidates {
			break
		}
		dec := json.NewDecoder(strings.NewReader(s[i:]))
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue // an inner object may still decode
		}
		sawObject = true
		if found := withAssessment(m); found != nil {
			return found, true, nil
		}
		i += int(dec.InputOffset()) - 1 // skip the whole object: it was searched
	}
	return nil, sawObject, firstErr
}

// looksLikeObject reports whether the text after a '{' starts like the body
// of a JSON object.
func looksLikeObject(rest string) bool {
	rest = strings.TrimLeft(rest, " \t\r\n")
	return rest != "" && (rest[0] == '"' || rest[0] == '}')
}

// withAssessment returns the outermost object within v (v itself first,
// then breadth first) that has an attack_assessment key, or nil.
func withAssessment(v json.RawMessage) json.RawMessage {
	queue := []json.RawMessage{v}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		switch firstByte(cur) {
		case '{':
			var obj map[string]json.RawMessage
			if json.Unmarshal(cur, &obj) != nil {
				continue
			}
			keys := make([]string, 0, len(obj))
			for k := range obj {
				if strings.EqualFold(k, "attack_assessment") {
					return cur
				}
				keys = append(keys, k)
			}
			slices.Sort(keys) // map order is random; the search must not be
			for _, k := range keys {
				queue = append(queue, obj[k])
			}
		case '[':
			var arr []json.RawMessage
			if json.Unmarshal(cur, &arr) == nil {
				queue = append(queue, arr...)
			}
		}
	}
	return nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// kind names the JSON type of v for an error message.
func kind(v json.RawMessage) string {
	switch firstByte(v) {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n', 0:
		return "null"
	default:
		return "a number"
	}
}

func isNull(v json.RawMessage) bool { return kind(v) == "null" }

// decodeAnswer decodes an object known to have an attack_assessment,
// field by field, so that one field of the wrong type does not hide the
// problems of the others.
func decodeAnswer(raw json.RawMessage) (*Answer, error) {
	var top struct {
		AttackAssessment json.RawMessage `json:"attack_assessment"`
		Evidence         json.RawMessage `json:"evidence"`
		Recommendations  json.RawMessage `json:"recommendations"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("report: decoding the answer: %w", err) // unreachable for an object
	}
	var ps problems
	a := &Answer{}

	switch {
	case isNull(top.AttackAssessment):
		ps.add("attack_assessment", "missing; want an object with attack_type, target, severity and confidence")
	case firstByte(top.AttackAssessment) != '{':
		ps.add("attack_assessment", "want an object with attack_type, target, severity and confidence, got %s", kind(top.AttackAssessment))
	default:
		var as struct {
			AttackType json.RawMessage `json:"attack_type"`
			Target     json.RawMessage `json:"target"`
			Severity   json.RawMessage `json:"severity"`
			Confidence json.RawMessage `json:"confidence"`
		}
		if err := json.Unmarshal(top.AttackAssessment, &as); err != nil {
			return nil, fmt.Errorf("report: decoding attack_assessment: %w", err)
		}
		if s, ok := decodeString(&ps, "attack_assessment.attack_type", as.AttackType); ok {
			a.AttackAssessment.AttackType = lenient(s, ParseAttackType)
		}
		if s, ok := decodeString(&ps, "attack_assessment.target", as.Target); ok {
			a.AttackAssessment.Target = normalizeTarget(s)
		}
		if s, ok := decodeString(&ps, "attack_assessment.severity", as.Severity); ok {
			a.AttackAssessment.Severity = lenient(s, ParseSeverity)
		}
		if s, ok := decodeString(&ps, "attack_assessment.confidence", as.Confidence); ok {
			a.AttackAssessment.Confidence = lenient(s, ParseConfidence)
		}
	}
	a.Evidence = decodeLines(&ps, "evidence", top.Evidence)
	a.Recommendations = decodeLines(&ps, "recommendations", top.Recommendations)

	if len(ps) == 0 {
		return a, nil
	}
	// Add what Validate would say about the fields that did decode, so the
	// model hears of every problem in one turn.
	var more problems
	a.check(&more)
	for _, p := range more {
		if !reported(ps, p.Field) {
			ps = append(ps, p)
		}
	}
	return nil, ps.err()
}

// reported says whether field, or the object or list it belongs to, already
// has a problem.
func reported(ps problems, field string) bool {
	for _, p := range ps {
		if field == p.Field || strings.HasPrefix(field, p.Field+".") || strings.HasPrefix(field, p.Field+"[") ||
			strings.HasPrefix(p.Field, field+"[") {
			return true
		}
	}
	return false
}

// decodeString reads a string field; a missing or null one is "", left for
// Validate to report.
func decodeString(ps *problems, field string, v json.RawMessage) (string, bool) {
	if isNull(v) {
		return "", true
	}
	var s string
	if firstByte(v) != '"' || json.Unmarshal(v, &s) != nil {
		ps.add(field, "want a string, got %s", kind(v))
		return "", false
	}
	return strings.TrimSpace(s), true
}

// decodeLines reads a list of strings, trimming each and dropping blank ones.
func decodeLines(ps *problems, field string, v json.RawMessage) []string {
	if isNull(v) {
		return nil
	}
	var items []json.RawMessage
	if firstByte(v) != '[' || json.Unmarshal(v, &items) != nil {
		ps.add(field, "want an array of strings, got %s", kind(v))
		return nil
	}
	var lines []string
	for i, it := range items {
		var s string
		if firstByte(it) != '"' || json.Unmarshal(it, &s) != nil {
			ps.add(fmt.Sprintf("%s[%d]", field, i), "want a string, got %s", kind(it))
			continue
		}
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	return lines
}

// lenient returns the parsed value, or s as written when parse fails, so
// that Validate can name the value the model gave.
func lenient[T ~string](s string, parse func(string) (T, error)) T {
	if v, err := parse(s); err == nil {
		return v
	}
	return T(s)
}

// normalizeTarget reads the target leniently; what it cannot read is kept
// as written for Validate to report.
func normalizeTarget(s string) string {
	switch normalize(s) {
	case TargetMultiple, "multiple", "multiple_hosts", "various", "many":
		return TargetMultiple
	case TargetUnknown, "none", "n/a":
		return TargetUnknown
	}
	if addr, err := netip.ParseAddr(s); err == nil {
		return addr.Unmap().String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().String()
	}
	return s
}
