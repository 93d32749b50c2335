package agent

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

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

// victim is the address an attack is against, for the assessment's target:
// the probed host for scans and enumeration, and the host whose data
// leaves for exfiltration and DNS tunnels (the one to isolate).
func victim(f report.Finding) string {
	switch f.Type {
	case report.AttackDataExfiltration, report.AttackDNSTunneling:
		return f.Source
	}
	return f.Target
}

// rulesAnswer is the built-in rules analyst's verdict on the facts.
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
	fs := slices.Clone(fx.Findings)
	slices.SortStableFunc(fs, func(x, y report.Finding) int {
		return cmp.Or(cmp.Compare(boolRank(solid(y)), boolRank(solid(x))), cmp.Compare(y.Severity.Rank(), x.Severity.Rank()), cmp.Compare(y.Confidence.Rank(), x.Confidence.Rank()))
	})
	// The verdict rests on the findings the detectors are at least fairly
	// sure of; low-confidence ones (polling that trips the volume rule,
	// internal copies) stay in the evidence and the count but decide
	// nothing while surer findings stand.
	primary := fs
	if n := slices.IndexFunc(fs, func(f report.Finding) bool { return !solid(f) }); n > 0 {
		primary = fs[:n]
	}
	types := map[report.AttackType]bool{}
	targets := map[string]bool{}
	for _, f := range primary {
		types[f.Type] = true
		targets[victim(f)] = true
	}
	a := report.Assessment{Severity: primary[0].Severity, Confidence: primary[0].Confidence}
	if len(types) == 1 {
		a.AttackType = primary[0].Type
	} else {
		a.AttackType = report.AttackMultiple
	}
	switch {
	case len(targets) == 1 && victim(primary[0]) != report.TargetMultiple:
		a.Target = victim(primary[0])
	default:
		a.Target = report.TargetMultiple
	}
	if why := criticalReason(primary); why != "" {
		a.Severity = report.SeverityCritical
	}
	// Several high findings that agree make the verdict surer.
	highs := 0
	for _, f := range primary {
		if f.Severity.Rank() >= report.SeverityHigh.Rank() && f.Confidence.Rank() >= report.ConfidenceMedium.Rank() {
			highs++
		}
	}
	if highs >= 2 {
		a.Confidence = report.ConfidenceHigh
	}
	return &report.Answer{AttackAssessment: a, Evidence: evidence(fx, fs), Recommendations: recommendations(fs)}
}

// solid reports whether a finding is sure enough to decide the verdict:
// at least medium confidence, or high severity whatever the confidence.
func solid(f report.Finding) bool {
	return f.Confidence.Rank() >= report.ConfidenceMedium.Rank() || f.Severity.Rank() >= report.SeverityHigh.Rank()
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

// criticalReason says why findings add up to a critical verdict: one
// source running several stages of an attack, or a high exfiltration out
// of the network. It returns "" when they do not.
func criticalReason(fs []report.Finding) string {
	stages := map[string]map[report.AttackType]bool{}
	for _, f := range fs {
		if stages[f.Source] == nil {
			stages[f.Source] = map[report.AttackType]bool{}
		}
		stages[f.Source][f.Type] = true
		if f.Type == report.AttackDataExfiltration && f.Severity.Rank() >= report.SeverityHigh.Rank() && f.Confidence == report.ConfidenceHigh {
			return fmt.Sprintf("%s sent a high volume of data out of the network", f.Source)
		}
	}
	for src, t := range stages {
		if len(t) >= 2 {
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

// solidOnly keeps the findings sure enough to decide the verdict, or all
// of them when none is.
func solidOnly(fs []report.Finding) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if solid(f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return fs
	}
	return out
}

// maxEvidence bounds the evidence lines (report.MaxListItems allows more).
const maxEvidence = 25

func evidence(fx facts, fs []report.Finding) []string {
	var ev []string
	if why := criticalReason(solidOnly(fs)); why != "" {
		ev = append(ev, "Critical: "+why+".")
	}
	for i, f := range fs {
		if len(ev) >= maxEvidence-1 {
			// i findings are listed; the critical line, if any, is not one.
			ev = append(ev, fmt.Sprintf("... and %d more findings (call list_findings for all).", len(fs)-i))
			break
		}
		line := fmt.Sprintf("[%s/%s confidence] %s %s from %s to %s: %s", f.Severity, f.Confidence, f.Type, f.Technique, f.Source, f.Target, f.Summary)
		if !f.FirstSeen.IsZero() {
			line += fmt.Sprintf(" (%s to %s)", f.FirstSeen.UTC().Format("2006-01-02 15:04:05"), f.LastSeen.UTC().Format("15:04:05"))
		}
		ev = append(ev, clip(line, report.MaxLineLength))
	}
	noun := "findings"
	if len(fs) == 1 {
		noun = "finding"
	}
	ev = append(ev, fmt.Sprintf("Capture: %d packets, %d unique IP addresses, %.1f s, %d %s.", fx.TotalPackets, fx.UniqueIPs, fx.Duration, len(fs), noun))
	for _, w := range fx.Warnings {
		if len(ev) < report.MaxListItems {
			ev = append(ev, clip("Capture warning: "+w, report.MaxLineLength))
		}
	}
	return ev
}

func recommendations(fs []report.Finding) []string {
	var recs []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] && len(recs) < 20 {
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
				add(fmt.Sprintf("Block %s at the firewall and review what %s exposes: it probed %d ports.", f.Source, f.Target, f.Counts["distinct_ports"]))
			}
			if f.Counts["open_ports"] > 0 {
				add(fmt.Sprintf("Close or firewall the %d ports %s answered on that do not need to be reachable (%s).", f.Counts["open_ports"], f.Target, strings.Join(head(f.Samples["open_ports"], 10), ", ")))
			}
		case report.AttackHTTPEnumeration:
			add(fmt.Sprintf("Block %s and rate-limit HTTP requests to %s (a WAF rule for scanner user agents and 404 floods).", f.Source, f.Target))
			if exposed := f.Samples["exposed_paths"]; len(exposed) > 0 {
				add(fmt.Sprintf("Check whether %s served %s to %s; if so remove them from the web root and rotate every secret in them.", f.Target, strings.Join(head(exposed, 5), ", "), f.Source))
			}
			if strings.Contains(f.Technique, "injection") || strings.Contains(f.Technique, "traversal") || strings.Contains(f.Technique, "xss") {
				add(fmt.Sprintf("Review the web application on %s for the injection attempts (%s) and its logs for successful ones.", f.Target, f.Technique))
			}
		case report.AttackDataExfiltration:
			add(fmt.Sprintf("Isolate %s and find the process that sent %s to %s; preserve the host for forensics.", f.Source, humanBytes(f.Counts["upload_bytes"]), f.Target))
			add(fmt.Sprintf("Block %s at the egress firewall and review which data left.", f.Target))
		case report.AttackDNSTunneling:
			add(fmt.Sprintf("Isolate %s and investigate the process making the encoded DNS queries.", f.Source))
			add("Review DNS egress: force clients through the internal resolvers and block or sinkhole the tunnel's domain (" + strings.Join(head(f.Samples["domain"], 1), "") + ").")
		}
	}
	add("Keep this capture as evidence and correlate with endpoint and firewall logs for the same addresses and times.")
	return recs
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

func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}
