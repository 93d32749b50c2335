package mcpserver

import (
	"context"
	"net/netip"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/report"
)

// Exfiltration argument bounds.
const (
	DefaultExfilThresholdBytes = 1_000_000
	MaxExfilThresholdBytes     = 1 << 50
	// largeTransfersShown is how many of the largest transfers the result
	// lists as context.
	largeTransfersShown = 10
)

// ExfilArgs are detect_data_exfiltration's arguments.
type ExfilArgs struct {
	Target
	ThresholdBytes int64 `json:"threshold_bytes,omitempty" jsonschema:"TCP payload in bytes one source must upload to one destination to be reported, 1 to 2^50. Default 1000000."`
	PageArgs
}

// SuspiciousTransfer is one upload in the shape the Python ReconAgentPcap
// returned, with our additions.
type SuspiciousTransfer struct {
	SourceIP      string `json:"source_ip"`
	DestinationIP string `json:"destination_ip"`
	// Bytes is the TCP payload the source uploaded.
	Bytes         int64  `json:"bytes"`
	DownloadBytes int64  `json:"download_bytes"`
	Connections   int64  `json:"connections"`
	Packets       int64  `json:"packets"`
	Severity      string `json:"severity"`
	Confidence    string `json:"confidence"`
	Technique     string `json:"technique"`
	// Direction is outbound (internal to external), inbound, internal or
	// external.
	Direction string `json:"direction"`
	// Signals are what marks the transfer as more than volume (one_way,
	// split_connections, unusual_port, rare_destination, far_above_peers,
	// source_sent_out, new_file_server); none means volume alone, which is
	// low.
	Signals []string `json:"signals"`
}

// Transfer is one (client, server) pair's TCP payload, for context.
type Transfer struct {
	Source        string    `json:"source"`
	Destination   string    `json:"destination"`
	UploadBytes   int64     `json:"upload_bytes"`
	DownloadBytes int64     `json:"download_bytes"`
	Connections   int64     `json:"connections"`
	Ports         []uint16  `json:"ports"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	Direction     string    `json:"direction"`
}

// ExfilResult is detect_data_exfiltration's answer.
type ExfilResult struct {
	CaptureInfo
	ThresholdBytes       int64 `json:"threshold_bytes"`
	ExfiltrationDetected bool  `json:"exfiltration_detected"`
	// SuspiciousTransfers and Findings describe the same uploads (same
	// order, same page).
	SuspiciousTransfers []SuspiciousTransfer `json:"suspicious_transfers"`
	Findings            []Finding            `json:"findings"`
	// LargeTransfers are the largest pairs whose traffic both ways reaches
	// threshold_bytes, whatever their direction; LargeTransfersTotal
	// counts them all.
	LargeTransfers      []Transfer `json:"large_transfers"`
	LargeTransfersTotal int        `json:"large_transfers_total"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *ExfilResult) shrink(keep float64) bool {
	switch {
	case cut(&r.LargeTransfers, keep):
	case cut(&r.Findings, keep):
		r.SuspiciousTransfers = r.SuspiciousTransfers[:len(r.Findings)]
		r.Page = pageOf(r.Total, r.Offset, len(r.Findings))
	default:
		return false
	}
	r.Truncated = true
	return true
}

func (s *Server) exfilTool() toolSpec[ExfilArgs, ExfilResult] {
	return toolSpec[ExfilArgs, ExfilResult]{
		name:  "detect_data_exfiltration",
		title: "Detect data exfiltration",
		desc: "Large uploads: every source that sent at least threshold_bytes of TCP payload to one destination, judged by its signals (one-way, split over connections, unusual port, a destination no other host uses); uploads to shared or internal backup services rank low. Also ICMP payload exfiltration and slow drips. " +
			"Call it when one host sends far more than it receives. A new threshold_bytes re-judges without reading the capture again. Paged." + untrusted,
		extra: merge(targetExtra, pageExtra, schemaExtra{
			"threshold_bytes": {"default": DefaultExfilThresholdBytes, "minimum": 1, "maximum": int64(MaxExfilThresholdBytes)},
		}),
		args: func() ExfilArgs { return ExfilArgs{ThresholdBytes: DefaultExfilThresholdBytes} },
		run:  s.exfil,
	}
}

func (s *Server) exfil(ctx context.Context, args ExfilArgs) (*ExfilResult, error) {
	if args.ThresholdBytes < 1 || args.ThresholdBytes > MaxExfilThresholdBytes {
		return nil, badArg("threshold_bytes %d, want 1 to %d", args.ThresholdBytes, int64(MaxExfilThresholdBytes))
	}
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	a := l.a
	findings := a.Findings
	if args.ThresholdBytes != a.Config.Exfil.ThresholdBytes {
		cfg := a.Config
		cfg.Exfil.ThresholdBytes = args.ThresholdBytes
		cfg.Exfil.HighBytes = max(cfg.Exfil.HighBytes, args.ThresholdBytes)
		if findings, err = a.Evaluate(cfg); err != nil {
			return nil, err
		}
	}
	ups := ofType(findings, report.AttackDataExfiltration)
	res := &ExfilResult{CaptureInfo: l.info, ThresholdBytes: args.ThresholdBytes, ExfiltrationDetected: len(ups) > 0}
	var pg []report.Finding
	pg, res.Page = page(ups, offset, limit)
	res.Findings = safeFindings(pg)
	res.SuspiciousTransfers = make([]SuspiciousTransfer, len(pg))
	extra := a.Config.Exfil.InternalNetworks
	for i, f := range res.Findings {
		c := f.Counts
		res.SuspiciousTransfers[i] = SuspiciousTransfer{
			SourceIP: f.Source, DestinationIP: f.Target,
			Bytes: c[report.CountUploadBytes], DownloadBytes: c[report.CountDownloadBytes], Connections: c[report.CountConnections], Packets: c[report.CountPackets],
			Severity: string(f.Severity), Confidence: string(f.Confidence), Technique: f.Technique,
			Direction: direction(f.Source, f.Target, extra),
			Signals:   append([]string{}, f.Samples[report.SampleSignals]...),
		}
	}
	all := a.Transfers(args.ThresholdBytes)
	res.LargeTransfersTotal = len(all)
	res.LargeTransfers = make([]Transfer, 0, min(len(all), largeTransfersShown))
	for _, t := range all[:min(len(all), largeTransfersShown)] {
		ports := t.Ports
		if ports == nil {
			ports = []uint16{}
		}
		res.LargeTransfers = append(res.LargeTransfers, Transfer{
			Source: t.Source, Destination: t.Destination, UploadBytes: t.UploadBytes, DownloadBytes: t.DownloadBytes,
			Connections: t.Connections, Ports: ports, FirstSeen: t.First, LastSeen: t.Last, Direction: t.Direction,
		})
	}
	return res, nil
}

// direction names where traffic from src to dst goes, as the detectors
// judge addresses.
func direction(src, dst string, extra []netip.Prefix) string {
	s, errS := netip.ParseAddr(src)
	d, errD := netip.ParseAddr(dst)
	if errS != nil || errD != nil {
		return "unknown"
	}
	si, di := detectors.IsInternal(s, extra), detectors.IsInternal(d, extra)
	switch {
	case si && !di:
		return "outbound"
	case !si && di:
		return "inbound"
	case si:
		return "internal"
	}
	return "external"
}
