package report

import (
	"encoding/json"
	"fmt"
	"strings"
)

// AttackType is the kind of attack an investigation concludes. Its text form
// is the contract's: port_scan, http_enumeration, data_exfiltration,
// dns_tunneling, multiple, unknown.
type AttackType string

// The attack types of the report contract.
const (
	AttackPortScan         AttackType = "port_scan"
	AttackHTTPEnumeration  AttackType = "http_enumeration"
	AttackDataExfiltration AttackType = "data_exfiltration"
	AttackDNSTunneling     AttackType = "dns_tunneling"
	AttackMultiple         AttackType = "multiple"
	AttackUnknown          AttackType = "unknown"
)

// FindingKind describes one type of finding. FindingKinds is the one
// registry of them: the tool schemas, filters and descriptions, the model's
// prompt and the analysts read the types from it, so a new type is one
// entry here.
type FindingKind struct {
	Type AttackType
	// Name is what a person calls it, in running text ("port scans").
	Name string
	// VictimIsSource says which side of a finding is the host at risk, the
	// one an assessment names as its target: the finding's source for
	// attacks that carry data out (the host to isolate), its target for
	// attacks against a host (the probed one).
	VictimIsSource bool
}

// FindingKinds lists every type a single finding can have, in contract
// order: every AttackType but multiple and unknown.
var FindingKinds = []FindingKind{
	{Type: AttackPortScan, Name: "port scans"},
	{Type: AttackHTTPEnumeration, Name: "HTTP enumeration"},
	{Type: AttackDataExfiltration, Name: "data exfiltration", VictimIsSource: true},
	{Type: AttackDNSTunneling, Name: "DNS tunnelling", VictimIsSource: true},
}

// FindingTypes returns the types of FindingKinds, in order.
func FindingTypes() []AttackType {
	out := make([]AttackType, len(FindingKinds))
	for i, k := range FindingKinds {
		out[i] = k.Type
	}
	return out
}

// Kind returns t's entry in FindingKinds, and false for a type no finding
// has (multiple, unknown, or not a type at all).
func (t AttackType) Kind() (FindingKind, bool) {
	for _, k := range FindingKinds {
		if k.Type == t {
			return k, true
		}
	}
	return FindingKind{}, false
}

// AttackTypes lists every valid AttackType in contract order: the finding
// types, then multiple and unknown.
var AttackTypes = append(FindingTypes(), AttackMultiple, AttackUnknown)

// KindNames names every finding type in running text: "port scans, HTTP
// enumeration, data exfiltration and DNS tunnelling".
func KindNames() string {
	names := make([]string, len(FindingKinds))
	for i, k := range FindingKinds {
		names[i] = k.Name
	}
	return ListText(names, "and")
}

// Victim returns the address a finding puts at risk, the one an assessment
// names as its target (see FindingKind.VictimIsSource).
func (f Finding) Victim() string {
	if k, _ := f.Type.Kind(); k.VictimIsSource {
		return f.Source
	}
	return f.Target
}

// ListText renders values as "a, b or c" (conj "or"), the form tool
// descriptions and error messages use.
func ListText[T ~string](all []T, conj string) string {
	switch len(all) {
	case 0:
		return ""
	case 1:
		return string(all[0])
	}
	return list(all[:len(all)-1]) + " " + conj + " " + string(all[len(all)-1])
}

// Severity orders how bad a finding or a verdict is.
type Severity string

// The severities of the report contract, lowest first.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists every valid Severity, lowest first.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Confidence says how sure a finding or a verdict is.
type Confidence string

// The confidences of the report contract, lowest first.
const (
	ConfidenceLow    Confidence = "low"
	ConfidenceMedium Confidence = "medium"
	ConfidenceHigh   Confidence = "high"
)

// Confidences lists every valid Confidence, lowest first.
var Confidences = []Confidence{ConfidenceLow, ConfidenceMedium, ConfidenceHigh}

// Rank orders severities: low 1, medium 2, high 3, critical 4, anything else 0.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if v == s {
			return i + 1
		}
	}
	return 0
}

// Rank orders confidences: low 1, medium 2, high 3, anything else 0.
func (c Confidence) Rank() int {
	for i, v := range Confidences {
		if v == c {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether t is one of AttackTypes.
func (t AttackType) Valid() bool { return oneOf(t, AttackTypes) }

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool { return oneOf(s, Severities) }

// Valid reports whether c is one of Confidences.
func (c Confidence) Valid() bool { return oneOf(c, Confidences) }

// IsThreat reports whether t claims an attack: valid and not unknown.
func (t AttackType) IsThreat() bool { return t.Valid() && t != AttackUnknown }

// list renders values as "a, b, c", the form error messages (which a model
// reads to correct its answer) use.
func list[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func oneOf[T comparable](v T, all []T) bool {
	for _, a := range all {
		if a == v {
			return true
		}
	}
	return false
}

// normalize folds case, trims, and turns spaces and hyphens into underscores.
func normalize(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(" ", "_", "-", "_").Replace(s)
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	return s
}

var attackAliases = map[string]AttackType{
	"portscan": AttackPortScan, "port_scanning": AttackPortScan, "scan": AttackPortScan, "port_sweep": AttackPortScan,
	"http_enum": AttackHTTPEnumeration, "web_enumeration": AttackHTTPEnumeration, "directory_bruteforce": AttackHTTPEnumeration,
	"exfiltration": AttackDataExfiltration, "data_exfil": AttackDataExfiltration, "exfil": AttackDataExfiltration,
	"dns_tunnel": AttackDNSTunneling, "dns_tunnelling": AttackDNSTunneling, "dns_exfiltration": AttackDNSTunneling,
	"multiple_attacks": AttackMultiple, "multi": AttackMultiple, "mixed": AttackMultiple,
	"none": AttackUnknown, "no_attack": AttackUnknown, "benign": AttackUnknown, "n/a": AttackUnknown,
}

var severityAliases = map[string]Severity{"crit": SeverityCritical, "med": SeverityMedium, "moderate": SeverityMedium, "info": SeverityLow, "informational": SeverityLow, "none": SeverityLow}

var confidenceAliases = map[string]Confidence{"med": ConfidenceMedium, "moderate": ConfidenceMedium}

// ParseAttackType reads an attack type leniently: case, spaces and common
// aliases ("portscan", "port scan", "DNS tunnelling") are accepted.
func ParseAttackType(s string) (AttackType, error) {
	n := normalize(s)
	if t := AttackType(n); t.Valid() {
		return t, nil
	}
	if t, ok := attackAliases[n]; ok {
		return t, nil
	}
	return "", fmt.Errorf("unknown attack type %q (want one of %s)", s, list(AttackTypes))
}

// ParseSeverity reads a severity leniently ("High", " crit ").
func ParseSeverity(s string) (Severity, error) {
	n := normalize(s)
	if v := Severity(n); v.Valid() {
		return v, nil
	}
	if v, ok := severityAliases[n]; ok {
		return v, nil
	}
	return "", fmt.Errorf("unknown severity %q (want one of %s)", s, list(Severities))
}

// ParseConfidence reads a confidence leniently ("HIGH", "med").
func ParseConfidence(s string) (Confidence, error) {
	n := normalize(s)
	if v := Confidence(n); v.Valid() {
		return v, nil
	}
	if v, ok := confidenceAliases[n]; ok {
		return v, nil
	}
	return "", fmt.Errorf("unknown confidence %q (want one of %s)", s, list(Confidences))
}

// UnmarshalJSON parses leniently and rejects what cannot be understood.
// JSON null leaves the value unchanged, as encoding/json does for strings.
func (t *AttackType) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseAttackType(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// UnmarshalJSON parses leniently and rejects what cannot be understood.
// JSON null leaves the value unchanged, as encoding/json does for strings.
func (s *Severity) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseSeverity(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalJSON parses leniently and rejects what cannot be understood.
// JSON null leaves the value unchanged, as encoding/json does for strings.
func (c *Confidence) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseConfidence(str)
	if err != nil {
		return err
	}
	*c = v
	return nil
}
