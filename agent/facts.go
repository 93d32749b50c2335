package agent

import (
	"context"
	"fmt"

	"github.com/agents-of-shield/reconpcap/report"
)

// findingsPage is the part of list_findings' result the agent reads.
type findingsPage struct {
	Findings  []report.Finding `json:"findings"`
	Total     int              `json:"total"`
	Remaining int              `json:"remaining"`
}

// summaryResult is the part of read_pcap_summary's result the agent reads.
type summaryResult struct {
	TotalPackets    int64    `json:"total_packets"`
	TotalBytes      int64    `json:"total_bytes"`
	UniqueIPs       int      `json:"unique_ips"`
	DurationSeconds float64  `json:"duration_seconds"`
	Warnings        []string `json:"warnings"`
	Truncated       bool     `json:"truncated"`
}

// maxFindingPages bounds how many list_findings pages the agent reads.
const maxFindingPages = 50

// gatherFacts asks the tools for the capture's numbers and every finding.
// These are the facts both analysts work from, and the ground truth a
// model's answer is checked against.
func gatherFacts(ctx context.Context, s *session) (facts, error) {
	var sum summaryResult
	if err := s.callInto(ctx, "read_pcap_summary", nil, &sum); err != nil {
		return facts{}, err
	}
	fx := facts{TotalPackets: sum.TotalPackets, TotalBytes: sum.TotalBytes, UniqueIPs: sum.UniqueIPs, Duration: sum.DurationSeconds, Warnings: sum.Warnings}
	offset := 0
	for page := 0; page < maxFindingPages; page++ {
		var fp findingsPage
		if err := s.callInto(ctx, "list_findings", map[string]any{"offset": offset, "limit": 50}, &fp); err != nil {
			return facts{}, err
		}
		fx.Findings = append(fx.Findings, fp.Findings...)
		offset += len(fp.Findings)
		if fp.Remaining <= 0 || len(fp.Findings) == 0 {
			break
		}
	}
	if fx.Findings == nil {
		fx.Findings = []report.Finding{}
	}
	for i := range fx.Findings {
		if err := fx.Findings[i].Validate(); err != nil {
			return facts{}, fmt.Errorf("list_findings returned an invalid finding: %w", err)
		}
	}
	return fx, nil
}
