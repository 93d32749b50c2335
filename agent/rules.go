package agent

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// facts is what an analyst learned from the tools: the capture's numbers
// and every finding of every detector.
type facts struct {
	TotalPackets int64
	TotalBytes   int64
	UniqueIPs    int
	Duration     float64
	Findings     []report.Finding
	Warnings     []string
}

// threatCount is the number of findings that decide the verdict: the
// report's threat_count, so that it agrees with the verdict (a capture of
// notes only counts no threat).
func threatCount(fs []report.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Decides() {
			n++
		}
	}
	return n
}

// rulesAnswer is the built-in rules analyst's verdict on the facts: the
// findings that decide (see decides) give the type, target, severity and
// confidence; criticalReason may raise the severity to critical.
func rulesAnswer(fx facts) *report.Answer {
	if len(fx.Findings) == 0 {
		ev := []string{fmt.Sprintf("No detector fired on %d packets (%d unique IP addresses): no port scan, HTTP enumeration, data exfiltration or DNS tunnel.", fx.TotalPackets, fx.UniqueIPs)}
		for _, w := range fx.Warnings {
			ev = append(ev, "Capture warning: "+w)
		}
		return &report.Answer{
			AttackAssessment: report.Assessment{AttackType: report.AttackUnknown, Target: report.TargetUnknown, Severity: report.SeverityLow, Confidence: confidenceForQuiet(fx)},
			Evidence:         ev,
			Recommendations:  []string{"No action needed for this capture; keep capturing and re-run the investigation if new alerts arrive."},
		}
	}
	// Deciding findings first, each group worst first: the evidence lists
	// them in this order and the first one sets the verdict.
	fs := slices.Clone(fx.Findings)
	slices.SortStableFunc(fs, func(x, y report.Finding) int {
		return cmp.Or(cmp.Compare(boolRank(y.Decides()), boolRank(x.Decides())), cmp.Compare(y.Severity.Rank(), x.Severity.Rank()), cmp.Compare(y.Confidence.Rank(), x.Confidence.Rank()))
	})
	deciding := fs[:threatCount(fs)]
	if len(deciding) == 0 {
		// Something was seen but nothing that marks it hostile: no
		// attack, and not sure of that either.
		return &report.Answer{
			AttackAssessment: report.Assessment{AttackType: report.AttackUnknown, Target: report.TargetUnknown, Severity: report.SeverityLow, Confidence: report.ConfidenceLow},
			Evidence:         evidence(fx, fs, 0),
			Recommendations: []string{
				fmt.Sprintf("No attack established: %s of low confidence or low severity, listed as notes; review them only if other alerts name the same hosts.", plural(len(fs), "finding")),
				"Keep this capture as evidence and correlate with endpoint and firewall logs for the same addresses and times.",
			},
		}
	}
	types := map[report.AttackType]bool{}
	targets := map[string]bool{}
	for _, f := range deciding {
		types[f.Type] = true
		targets[f.Victim()] = true
	}
	a := report.Assessment{Severity: deciding[0].Severity, Confidence: deciding[0].Confidence}
	if len(types) == 1 {
		a.AttackType = deciding[0].Type
	} else {
		a.AttackType = report.AttackMultiple
	}
	switch {
	case len(targets) == 1 && deciding[0].Victim() != report.TargetMultiple:
		a.Target = deciding[0].Victim()
	default:
		a.Target = report.TargetMultiple
	}
	if criticalReason(deciding) != "" {
		a.Severity = report.SeverityCritical
	}
	// Several high findings that agree make the verdict surer.
	highs := 0
	for _, f := range deciding {
		if f.Severity.Rank() >= report.SeverityHigh.Rank() {
			highs++
		}
	}
	if highs >= 2 {
		a.Confidence = report.ConfidenceHigh
	}
	return &report.Answer{AttackAssessment: a, Evidence: evidence(fx, fs, len(deciding)), Recommendations: recommendations(deciding, len(fs)-len(deciding))}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func confidenceForQuiet(fx facts) report.Confidence {
	if fx.TotalPackets == 0 || len(fx.Warnings) > 0 {
		return report.ConfidenceLow
	}
	return report.ConfidenceMedium
}

// criticalReason says why deciding findings add up to a critical verdict:
// one source running two or more kinds of attack (a scan, then enumeration,
// then exfiltration), or an exfiltration of high severity at high
// confidence. It returns "" when they do not. Callers pass only findings
// that decide, so every stage is at medium confidence or more.
func criticalReason(fs []report.Finding) string {
	stages := map[string]map[report.AttackType]bool{}
	for _, f := range fs {
		if stages[f.Source] == nil {
			stages[f.Source] = map[report.AttackType]bool{}
		}
		stages[f.Source][f.Type] = true
		if f.Type == report.AttackDataExfiltration && f.Severity.Rank() >= report.SeverityHigh.Rank() && f.Confidence == report.ConfidenceHigh {
			return fmt.Sprintf("%s sent a high volume of data to %s, exfiltration at high confidence", f.Source, f.Target)
		}
	}
	// Sources in order, so the line names the same one every run.
	for _, src := range slices.Sorted(maps.Keys(stages)) {
		if t := stages[src]; len(t) >= 2 {
			names := make([]string, 0, len(t))
			for k := range t {
				names = append(names, string(k))
			}
			slices.Sort(names)
			return fmt.Sprintf("%s ran several stages of an attack (%s)", src, strings.Join(names, ", "))
		}
	}
	return ""
}

// maxEvidence bounds the evidence lines (report.MaxListItems allows more).
const maxEvidence = 25

// evidence lists the findings, the first nDeciding of fs (those that
// decide) plainly and the rest as "note: " lines, then the capture's
// numbers and warnings.
func evidence(fx facts, fs []report.Finding, nDeciding int) []string {
	var ev []string
	if why := criticalReason(fs[:nDeciding]); why != "" {
		ev = append(ev, "Critical: "+why+".")
	}
	if nDeciding == 0 {
		ev = append(ev, "No finding decides the verdict: each is of low confidence or low severity (the notes below).")
	}
	for i, f := range fs {
		if len(ev) >= maxEvidence-1 {
			// i findings are listed; the critical line, if any, is not one.
			ev = append(ev, fmt.Sprintf("... and %d more findings (call list_findings for all).", len(fs)-i))
			break
		}
		line := fmt.Sprintf("[%s/%s confidence] %s %s from %s to %s: %s", f.Severity, f.Confidence, f.Type, f.Technique, f.Source, f.Target, f.Summary)
		if i >= nDeciding {
			line = "note: " + line
		}
		if !f.FirstSeen.IsZero() {
			line += fmt.Sprintf(" (%s to %s)", f.FirstSeen.UTC().Format("2006-01-02 15:04:05"), f.LastSeen.UTC().Format("15:04:05"))
		}
		ev = append(ev, clip(line, report.MaxLineLength))
	}
	counted := plural(len(fs), "finding")
	if notes := len(fs) - nDeciding; notes > 0 {
		counted += fmt.Sprintf(" (%d %s the verdict, %s of low confidence or low severity)", nDeciding, decideVerb(nDeciding), plural(notes, "note"))
	}
	ev = append(ev, fmt.Sprintf("Capture: %d packets, %d unique IP addresses, %.1f s, %s.", fx.TotalPackets, fx.UniqueIPs, fx.Duration, counted))
	for _, w := range fx.Warnings {
		if len(ev) < report.MaxListItems {
			ev = append(ev, clip("Capture warning: "+w, report.MaxLineLength))
		}
	}
	return ev
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func decideVerb(n int) string {
	if n == 1 {
		return "decides"
	}
	return "decide"
}

// recommendations are the actions the deciding findings call for, one line
// on the notes when there are any, and the closing keep-evidence line.
// Notes ask for no action of their own: isolating a host on a weak signal
// costs more than it saves.
func recommendations(fs []report.Finding, notes int) []string {
	var recs []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			recs = append(recs, clip(s, report.MaxLineLength))
		}
	}
	for _, f := range fs {
		switch f.Type {
		case report.AttackPortScan:
			if f.Target == report.TargetMultiple {
				add(fmt.Sprintf("Block or rate-limit %s at the perimeter: it swept many hosts (%s).", f.Source, f.Technique))
			} else {
				add(fmt.Sprintf("Block %s at the firewall and review what %s exposes: it probed %d ports.", f.Source, f.Target, f.Counts[report.CountDistinctPorts]))
			}
			if f.Counts[report.CountOpenPorts] > 0 {
				add(fmt.Sprintf("Close or firewall the %d ports %s answered on that do not need to be reachable (%s).", f.Counts[report.CountOpenPorts], f.Target, strings.Join(head(f.Samples[report.SampleOpenPorts], 10), ", ")))
			}
		case report.AttackHTTPEnumeration:
			add(fmt.Sprintf("Block %s and rate-limit HTTP requests to %s (a WAF rule for scanner user agents and 404 floods).", f.Source, f.Target))
			if exposed := f.Samples[report.SampleExposedPaths]; len(exposed) > 0 {
				add(fmt.Sprintf("Check whether %s served %s to %s; if so remove them from the web root and rotate every secret in them.", f.Target, strings.Join(head(exposed, 5), ", "), f.Source))
			}
			if strings.Contains(f.Technique, "injection") || strings.Contains(f.Technique, "traversal") || strings.Contains(f.Technique, "xss") {
				add(fmt.Sprintf("Review the web application on %s for the injection attempts (%s) and its logs for successful ones.", f.Target, f.Technique))
			}
		case report.AttackDataExfiltration:
			add(fmt.Sprintf("Isolate %s and find the process that sent %s to %s; preserve the host for forensics.", f.Source, humanize.Bytes(f.Counts[report.CountUploadBytes]), f.Target))
			add(fmt.Sprintf("Block %s at the egress firewall and review which data left.", f.Target))
		case report.AttackDNSTunneling:
			add(fmt.Sprintf("Isolate %s and investigate the process making the encoded DNS queries.", f.Source))
			add("Review DNS egress: force clients through the internal resolvers and block or sinkhole the tunnel's domain (" + strings.Join(head(f.Samples[report.SampleDomain], 1), "") + ").")
		}
	}
	if notes > 0 {
		add(fmt.Sprintf("The %s of low confidence or low severity decided nothing; review them only if other alerts name the same hosts.", plural(notes, "note")))
	}
	// Keep every line the report has room for; past that, say how many
	// were left out rather than drop them silently, and keep the last
	// line, which applies to every capture.
	if keep := report.MaxListItems - 2; len(recs) > keep+1 {
		left := len(recs) - keep
		recs = append(recs[:keep], fmt.Sprintf("%d more recommendations of the same kinds are left out for room; every finding they concern is listed in findings.", left))
	}
	return append(recs, "Keep this capture as evidence and correlate with endpoint and firewall logs for the same addresses and times.")
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}

// RulesAnswer is the answer the built-in rules analyst gives on an
// analysis, without a server or a session: what `investigate --offline`
// answers for the same capture. Views of an analysis alone (the HTML page
// of `analyze`) state it, so no second way of judging findings exists.
func RulesAnswer(a *detectors.Analysis) *report.Answer {
	return rulesAnswer(facts{
		TotalPackets: int64(a.Summary.TotalPackets), TotalBytes: a.Summary.TotalBytes, UniqueIPs: a.Summary.UniqueIPs,
		Duration: a.Summary.DurationSeconds, Findings: a.Findings, Warnings: a.Warnings,
	})
}
