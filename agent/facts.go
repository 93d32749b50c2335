package agent

import (
	"context"
	"fmt"

	"github.com/agents-of-shield/reconpcap/mcpserver"
	"github.com/agents-of-shield/reconpcap/report"
)

// maxFindingPages bounds how many list_findings pages the agent reads.
const maxFindingPages = 50

// gatherFacts asks the tools for the capture's numbers and every finding.
// These are the facts both analysts work from, and the ground truth a
// model's answer is checked against.
func gatherFacts(ctx context.Context, s *session) (facts, error) {
	// The results are decoded into the server's own types, so a field the
	// agent reads cannot drift from what the tool writes.
	var sum mcpserver.SummaryResult
	if err := s.callInto(ctx, "read_pcap_summary", nil, &sum); err != nil {
		return facts{}, err
	}
	fx := facts{TotalPackets: int64(sum.TotalPackets), TotalBytes: sum.TotalBytes, UniqueIPs: sum.UniqueIPs, Duration: sum.DurationSeconds, Warnings: sum.Warnings}
	offset := 0
	for page := 0; page < maxFindingPages; page++ {
		var fp mcpserver.ListFindingsResult
		if err := s.callInto(ctx, "list_findings", map[string]any{"offset": offset, "limit": 50}, &fp); err != nil {
			return facts{}, err
		}
		for _, f := range fp.Findings {
			fx.Findings = append(fx.Findings, f.Finding)
		}
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
