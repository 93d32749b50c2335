package report

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what an answer may hold. A model that loops or pastes a tool
// result into its evidence would otherwise fill the report; these are far
// above what a useful answer needs.
const (
	// MaxListItems bounds evidence and recommendations, each.
	MaxListItems = 50
	// MaxLineLength bounds each evidence or recommendation line, in
	// characters (Unicode code points).
	MaxLineLength = 1000
)

// FieldError is one problem with one field. Field is the JSON path of the
// field ("attack_assessment.severity", "evidence[3]"); Reason says what is
// wrong and, where it helps, what would be right.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) String() string { return e.Field + ": " + e.Reason }

// ValidationError lists every problem found at once, so that a model asked
// to correct its answer can fix them all in one turn. Parse returns it for
// fields of the wrong JSON type; Validate for everything else.
type ValidationError struct {
	Problems []FieldError
}

// Error lists every problem, "field: reason", separated by "; ". The text is
// written to be sent back to a language model as is.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("report: ")
	if n := len(e.Problems); n == 1 {
		b.WriteString("1 problem: ")
	} else {
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" problems: ")
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects FieldErrors; its err is nil when there are none.
type problems []FieldError

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// Validate checks the answer strictly:
//
//   - attack_type, severity and confidence are values of the vocabulary;
//   - target is an IP address (without zone), TargetMultiple or TargetUnknown;
//   - evidence and recommendations are not empty when a threat is claimed
//     (attack_type other than unknown);
//   - each list holds at most MaxListItems lines, each line non-blank and at
//     most MaxLineLength characters.
//
// It returns a *ValidationError listing every problem, or nil.
func (a *Answer) Validate() error {
	var ps problems
	a.check(&ps)
	return ps.err()
}

func (a *Answer) check(ps *problems) {
	as := a.AttackAssessment
	checkEnum(ps, "attack_assessment.attack_type", as.AttackType, AttackTypes)
	checkTarget(ps, "attack_assessment.target", as.Target)
	checkEnum(ps, "attack_assessment.severity", as.Severity, Severities)
	checkEnum(ps, "attack_assessment.confidence", as.Confidence, Confidences)
	// An attack type that is missing claims nothing; one that is invalid
	// still claims a threat, so its evidence is asked for too.
	threat := as.AttackType != AttackUnknown && as.AttackType != ""
	checkLines(ps, "evidence", a.Evidence, threat, as.AttackType,
		"list at least one observation from the tool results that supports attack_type %q")
	checkLines(ps, "recommendations", a.Recommendations, threat, as.AttackType,
		"list at least one action a defender should take against attack_type %q")
}

// Validate checks everything Answer.Validate does, and the parts of the
// report that come from the agent: a timestamp, a trigger and a file are
// present, intelligence counts are not negative, the analyst mode is known,
// and each finding is valid (see Finding.Validate).
// It returns a *ValidationError listing every problem, or nil.
func (r *Report) Validate() error {
	var ps problems
	if r.Timestamp.IsZero() {
		ps.add("timestamp", "missing")
	}
	if strings.TrimSpace(r.InvestigationTrigger) == "" {
		ps.add("investigation_trigger", "missing")
	}
	if strings.TrimSpace(r.PcapFile) == "" {
		ps.add("pcap_file", "missing")
	}
	r.Answer().check(&ps)
	in := r.Intelligence
	for _, c := range []struct {
		field string
		n     int64
	}{
		{"intelligence.total_packets", in.TotalPackets},
		{"intelligence.unique_ips", int64(in.UniqueIPs)},
		{"intelligence.threat_count", int64(in.ThreatCount)},
		{"intelligence.total_bytes", in.TotalBytes},
	} {
		if c.n < 0 {
			ps.add(c.field, "is %d; must not be negative", c.n)
		}
	}
	if !in.Start.IsZero() && !in.End.IsZero() && in.End.Before(in.Start) {
		ps.add("intelligence.end", "is before intelligence.start")
	}
	for i, f := range r.Findings {
		f.check(&ps, "findings["+strconv.Itoa(i)+"].")
	}
	if r.Analyst.Mode != ModeLLM && r.Analyst.Mode != ModeRules {
		if r.Analyst.Mode == "" {
			ps.add("analyst.mode", "missing; want %s or %s", ModeLLM, ModeRules)
		} else {
			ps.add("analyst.mode", "%q is not one of %s, %s", r.Analyst.Mode, ModeLLM, ModeRules)
		}
	}
	return ps.err()
}

// Validate checks a finding: its type is an attack type other than multiple
// and unknown, its severity and confidence are valid, source, target and
// summary are present, and last_seen is not before first_seen.
// It returns a *ValidationError listing every problem, or nil.
func (f *Finding) Validate() error {
	var ps problems
	f.check(&ps, "")
	return ps.err()
}

func (f *Finding) check(ps *problems, prefix string) {
	switch f.Type {
	case AttackMultiple, AttackUnknown:
		ps.add(prefix+"type", "%q is a verdict, not a finding type", f.Type)
	default:
		checkEnum(ps, prefix+"type", f.Type, AttackTypes)
	}
	checkEnum(ps, prefix+"severity", f.Severity, Severities)
	checkEnum(ps, prefix+"confidence", f.Confidence, Confidences)
	for _, s := range []struct{ field, v string }{
		{"source", f.Source}, {"target", f.Target}, {"summary", f.Summary},
	} {
		if strings.TrimSpace(s.v) == "" {
			ps.add(prefix+s.field, "missing")
		}
	}
	if !f.FirstSeen.IsZero() && !f.LastSeen.IsZero() && f.LastSeen.Before(f.FirstSeen) {
		ps.add(prefix+"last_seen", "is before first_seen")
	}
}

func checkEnum[T ~string](ps *problems, field string, v T, all []T) {
	switch {
	case v == "":
		ps.add(field, "missing; want one of %s", list(all))
	case !oneOf(v, all):
		ps.add(field, "%q is not one of %s", truncate(string(v), 80), list(all))
	}
}

const targetWant = `want an IP address such as 192.0.2.10, "` + TargetMultiple + `" or "` + TargetUnknown + `"`

func checkTarget(ps *problems, field, t string) {
	if t == TargetMultiple || t == TargetUnknown {
		return
	}
	if t == "" {
		ps.add(field, "missing; %s", targetWant)
		return
	}
	addr, err := netip.ParseAddr(t)
	switch {
	case err != nil:
		ps.add(field, "%q is not an IP address; %s", truncate(t, 80), targetWant)
	case addr.Zone() != "":
		ps.add(field, "%q has an IPv6 zone; give the address without %%%s", t, addr.Zone())
	}
}

func checkLines(ps *problems, field string, lines []string, threat bool, t AttackType, emptyHint string) {
	if len(lines) == 0 {
		if threat {
			ps.add(field, "is empty; "+emptyHint, string(t))
		}
		return
	}
	if len(lines) > MaxListItems {
		ps.add(field, "has %d items; at most %d", len(lines), MaxListItems)
	}
	for i, l := range lines {
		f := field + "[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(l) == "" {
			ps.add(f, "is blank")
		} else if n := utf8.RuneCountInString(l); n > MaxLineLength {
			ps.add(f, "is %d characters long; at most %d", n, MaxLineLength)
		}
	}
}

// truncate keeps at most n characters of s, so that an absurd value does not
// swell the error message.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "..."
}
