package mcpserver

import (
	"context"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// SummaryArgs are read_pcap_summary's arguments.
type SummaryArgs struct {
	Target
	MaxPackets int `json:"max_packets,omitempty" jsonschema:"Accepted for compatibility and ignored: the whole capture is always read."`
}

// SummaryResult is read_pcap_summary's answer: the capture's summary
// (total_packets, unique_ips, protocols, top_talkers, top_ports, ...) with
// the number of findings by type.
type SummaryResult struct {
	CaptureInfo
	Format     string `json:"format"`
	Compressed bool   `json:"compressed"`
	// CaptureTruncated is true when the file ends in the middle of a packet.
	CaptureTruncated bool `json:"capture_truncated"`
	detectors.Summary
	// FindingsTotal and FindingsByType count what the detectors found; call
	// list_findings to see them.
	FindingsTotal  int            `json:"findings_total"`
	FindingsByType map[string]int `json:"findings_by_type"`
	// Truncated is true when lists were shortened to fit the size bound.
	Truncated bool `json:"truncated"`
}

func (r *SummaryResult) shrink(keep float64) bool {
	for _, try := range []func() bool{
		func() bool { return cut(&r.DNSNames, keep) },
		func() bool { return cut(&r.TopConversations, keep) },
		func() bool { return cut(&r.TopTalkers, keep) },
		func() bool { return cut(&r.TopPorts, keep) },
		func() bool { return cut(&r.LinkTypes, keep) },
	} {
		if try() {
			r.Truncated = true
			return true
		}
	}
	return false
}

func (s *Server) summaryTool() toolSpec[SummaryArgs, SummaryResult] {
	return toolSpec[SummaryArgs, SummaryResult]{
		name:  "read_pcap_summary",
		title: "Summarise a capture",
		desc: "Triage view of a capture: packets, bytes, addresses, duration, protocols, top talkers, ports and conversations, most queried DNS names, and findings per detector. " +
			"Call it first, to decide what to look at next. max_packets is ignored: the whole capture is read." + untrusted,
		extra: merge(targetExtra, schemaExtra{"max_packets": {"minimum": 0}}),
		args:  func() SummaryArgs { return SummaryArgs{} },
		run:   s.summary,
	}
}

func (s *Server) summary(ctx context.Context, args SummaryArgs) (*SummaryResult, error) {
	if args.MaxPackets < 0 {
		return nil, badArg("max_packets %d is negative", args.MaxPackets)
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	a := l.a
	res := &SummaryResult{
		CaptureInfo:      l.info,
		Format:           a.Format,
		Compressed:       a.Compressed,
		CaptureTruncated: a.Truncated,
		Summary:          a.Summary,
		FindingsTotal:    len(a.Findings),
		FindingsByType:   findingsCount(a.Findings),
	}
	// Copy every list the result may trim or rewrite: the analysis is
	// shared by every call.
	sum := &res.Summary
	sum.LinkTypes = append([]string{}, a.Summary.LinkTypes...)
	sum.TopTalkers = append([]detectors.Talker{}, a.Summary.TopTalkers...)
	sum.TopPorts = append([]detectors.PortCount{}, a.Summary.TopPorts...)
	sum.TopConversations = append([]detectors.Conversation{}, a.Summary.TopConversations...)
	sum.DNSNames = make([]detectors.NameCount, len(a.Summary.DNSNames))
	for i, n := range a.Summary.DNSNames {
		sum.DNSNames[i] = detectors.NameCount{Name: textsafe.Escape(n.Name, DefaultStringMax), Count: n.Count}
	}
	if sum.Protocols == nil {
		sum.Protocols = map[string]int64{}
	}
	return res, nil
}
