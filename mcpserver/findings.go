package mcpserver

import (
	"context"
	"maps"
	"slices"

	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/report"
)

// Bounds on a finding's samples in a result.
const (
	maxSamplesPerKind = 10
	maxSampleBytes    = 128
)

// Finding is a detector finding as the tools return it: every string
// escaped and truncated, at most ten samples of each kind.
type Finding struct {
	// Index numbers the finding among all of its capture's, from 1, as
	// export_evidence takes it; set by list_findings only.
	Index int `json:"index,omitempty"`
	report.Finding
	// SamplesTruncated is true when some samples were left out.
	SamplesTruncated bool `json:"samples_truncated,omitempty"`
}

// safeFinding escapes and bounds the strings of a finding. Source and
// target are addresses the decoder printed, but the summary and samples
// can quote the capture.
func safeFinding(f report.Finding) Finding {
	out := Finding{Finding: f}
	out.Technique = textsafe.Escape(f.Technique, 64)
	out.Source = textsafe.Escape(f.Source, 64)
	out.Target = textsafe.Escape(f.Target, 64)
	out.Summary = textsafe.Escape(f.Summary, 512)
	if f.Counts != nil {
		out.Counts = maps.Clone(f.Counts)
	}
	if f.Samples != nil {
		out.Samples = make(map[string][]string, len(f.Samples))
		for k, v := range f.Samples {
			if len(v) > maxSamplesPerKind {
				v = v[:maxSamplesPerKind]
				out.SamplesTruncated = true
			}
			out.Samples[textsafe.Escape(k, 64)] = textsafe.EscapeAll(v, maxSampleBytes)
		}
	}
	return out
}

func safeFindings(fs []report.Finding) []Finding {
	out := make([]Finding, len(fs))
	for i, f := range fs {
		out[i] = safeFinding(f)
	}
	return out
}

func ofType(fs []report.Finding, t report.AttackType) []report.Finding {
	out := []report.Finding{}
	for _, f := range fs {
		if f.Type == t {
			out = append(out, f)
		}
	}
	return out
}

// ListFindingsArgs are list_findings' arguments.
type ListFindingsArgs struct {
	Target
	Type        string `json:"type,omitempty"` // described from report.FindingKinds in the tool's schema
	MinSeverity string `json:"min_severity,omitempty" jsonschema:"Only findings at least this severe: low, medium, high or critical. Default low (all)."`
	Source      string `json:"source,omitempty" jsonschema:"Only findings whose source address is this IP. Default: every source."`
	PageArgs
}

// ListFindingsResult is list_findings' answer.
type ListFindingsResult struct {
	CaptureInfo
	// ThreatDetected is true when any detector found anything at all.
	ThreatDetected bool `json:"threat_detected"`
	// ByType and BySeverity count every finding of the capture, before the
	// filters.
	ByType     map[string]int `json:"by_type"`
	BySeverity map[string]int `json:"by_severity"`
	// Findings is this page of the filtered findings, most severe first.
	Findings []Finding `json:"findings"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *ListFindingsResult) shrink(keep float64) bool {
	return cutPage(&r.Findings, &r.Page, &r.Truncated, keep)
}

func (s *Server) listFindingsTool() toolSpec[ListFindingsArgs, ListFindingsResult] {
	return toolSpec[ListFindingsArgs, ListFindingsResult]{
		name:  "list_findings",
		title: "List every finding",
		desc: "Everything the detectors found in the capture in one call: " + report.KindNames() + ", most severe first, with source, target, severity, confidence, summary, times, counts, samples and evidence references (frames, a Wireshark display_filter, MITRE ATT&CK IDs). " +
			"Call it right after read_pcap_summary, then the detect_* tools for detail. Filter by type, min_severity or source. Paged." + untrusted,
		extra: merge(targetExtra, pageExtra, schemaExtra{
			"type":         {"enum": report.FindingTypes(), "description": "Only findings of this type: " + report.ListText(report.FindingTypes(), "or") + ". Default: every type."},
			"min_severity": {"enum": []string{"low", "medium", "high", "critical"}, "default": "low"},
		}),
		args: func() ListFindingsArgs { return ListFindingsArgs{} },
		run:  s.listFindings,
	}
}

func (s *Server) listFindings(ctx context.Context, args ListFindingsArgs) (*ListFindingsResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	var typ report.AttackType
	if args.Type != "" {
		typ = report.AttackType(args.Type)
		if _, ok := typ.Kind(); !ok {
			return nil, badArg("type %q, want %s", textsafe.Escape(args.Type, 64), report.ListText(report.FindingTypes(), "or"))
		}
	}
	minRank := 0
	if args.MinSeverity != "" {
		sev := report.Severity(args.MinSeverity)
		if !sev.Valid() {
			return nil, badArg("min_severity %q, want low, medium, high or critical", textsafe.Escape(args.MinSeverity, 64))
		}
		minRank = sev.Rank()
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	all := l.a.Findings
	res := &ListFindingsResult{CaptureInfo: l.info, ThreatDetected: len(all) > 0, ByType: map[string]int{}, BySeverity: map[string]int{}}
	var kept []int
	for i, f := range all {
		res.ByType[string(f.Type)]++
		res.BySeverity[string(f.Severity)]++
		if (typ == "" || f.Type == typ) && f.Severity.Rank() >= minRank && (args.Source == "" || f.Source == args.Source) {
			kept = append(kept, i)
		}
	}
	var pg []int
	pg, res.Page = page(kept, offset, limit)
	res.Findings = make([]Finding, len(pg))
	for j, i := range pg {
		res.Findings[j] = safeFinding(all[i])
		res.Findings[j].Index = i + 1
	}
	return res, nil
}

// findingsCount sums findings per type, with every type present.
func findingsCount(fs []report.Finding) map[string]int {
	m := map[string]int{}
	for _, k := range report.FindingKinds {
		m[string(k.Type)] = 0
	}
	for _, f := range fs {
		m[string(f.Type)]++
	}
	return m
}

// sortedKeys is for deterministic iteration in tests and results.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
