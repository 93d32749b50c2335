package mcpserver

import (
	"context"

	"github.com/agents-of-shield/reconpcap/report"
)

// Port scan argument bounds.
const (
	DefaultPortScanThreshold = 10
	MaxPortScanThreshold     = 65536
)

// PortScanArgs are detect_port_scanning's arguments.
type PortScanArgs struct {
	Target
	Threshold int `json:"threshold,omitempty" jsonschema:"How many distinct destination ports one source must probe on one target to count as a vertical port scan, 2 to 65536. Default 10."`
	PageArgs
}

// ScanActivity is one scan in the shape the Python ReconAgentPcap returned.
type ScanActivity struct {
	SourceIP string `json:"source_ip"`
	// TargetIP is the scanned address, or multiple_targets for a sweep.
	TargetIP string `json:"target_ip"`
	// PortsScanned is how many distinct ports were probed (on one target,
	// or swept across many); 0 for host sweeps (ICMP, ARP).
	PortsScanned int64 `json:"ports_scanned"`
	// PacketCount is how many probe packets were sent.
	PacketCount int64 `json:"packet_count"`
	// HostsScanned is how many hosts a sweep probed (0 for one target).
	HostsScanned int64  `json:"hosts_scanned"`
	OpenPorts    int64  `json:"open_ports"`
	Severity     string `json:"severity"`
	Confidence   string `json:"confidence"`
	// Technique is syn, connect, fin, xmas, null, udp, crafted_flags,
	// os_fingerprint, horizontal_syn, icmp_sweep, arp_sweep, ...
	Technique string `json:"technique"`
}

// PortScanResult is detect_port_scanning's answer.
type PortScanResult struct {
	CaptureInfo
	Threshold        int  `json:"threshold"`
	PortScanDetected bool `json:"port_scan_detected"`
	// SuspiciousActivity and Findings describe the same scans (one entry
	// each, same order, same page): the first in the original shape, the
	// second with summaries, times and samples.
	SuspiciousActivity []ScanActivity `json:"suspicious_activity"`
	Findings           []Finding      `json:"findings"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *PortScanResult) shrink(keep float64) bool {
	if !cut(&r.Findings, keep) {
		return false
	}
	r.SuspiciousActivity = r.SuspiciousActivity[:len(r.Findings)]
	r.Page = pageOf(r.Total, r.Offset, len(r.Findings))
	r.Truncated = true
	return true
}

func (s *Server) portScanTool() toolSpec[PortScanArgs, PortScanResult] {
	return toolSpec[PortScanArgs, PortScanResult]{
		name:  "detect_port_scanning",
		title: "Detect port scans",
		desc: "Port scans and sweeps: one source probing at least threshold ports of one target (SYN, connect, FIN, Xmas, NULL, UDP), OS fingerprinting probes, one port swept across many hosts, ICMP/ARP host sweeps. " +
			"Call it when the summary shows many ports, SYNs or unanswered connections. A new threshold re-judges without reading the capture again. Paged." + untrusted,
		extra: merge(targetExtra, pageExtra, schemaExtra{
			"threshold": {"default": DefaultPortScanThreshold, "minimum": 2, "maximum": MaxPortScanThreshold},
		}),
		args: func() PortScanArgs { return PortScanArgs{Threshold: DefaultPortScanThreshold} },
		run:  s.portScan,
	}
}

func (s *Server) portScan(ctx context.Context, args PortScanArgs) (*PortScanResult, error) {
	if args.Threshold < 2 || args.Threshold > MaxPortScanThreshold {
		return nil, badArg("threshold %d, want 2 to %d ports", args.Threshold, MaxPortScanThreshold)
	}
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	findings := l.a.Findings
	if args.Threshold != l.a.Config.PortScan.Threshold {
		cfg := l.a.Config
		cfg.PortScan.Threshold = args.Threshold
		cfg.PortScan.HighThreshold = max(cfg.PortScan.HighThreshold, args.Threshold)
		if findings, err = l.a.Evaluate(cfg); err != nil {
			return nil, err
		}
	}
	scans := ofType(findings, report.AttackPortScan)
	res := &PortScanResult{
		CaptureInfo:      l.info,
		Threshold:        args.Threshold,
		PortScanDetected: len(scans) > 0,
	}
	var pg []report.Finding
	pg, res.Page = page(scans, offset, limit)
	res.Findings = safeFindings(pg)
	res.SuspiciousActivity = make([]ScanActivity, len(pg))
	for i, f := range res.Findings {
		res.SuspiciousActivity[i] = scanActivity(f)
	}
	return res, nil
}

// scanActivity reads the counts each kind of port_scan finding carries.
func scanActivity(f Finding) ScanActivity {
	c := f.Counts
	act := ScanActivity{
		SourceIP:     f.Source,
		TargetIP:     f.Target,
		PortsScanned: firstCount(c, report.CountDistinctPorts, report.CountSweptPorts),
		PacketCount:  firstCount(c, report.CountProbes, report.CountCraftedPackets, report.CountHostsProbed),
		OpenPorts:    firstCount(c, report.CountOpenPorts),
		Severity:     string(f.Severity),
		Confidence:   string(f.Confidence),
		Technique:    f.Technique,
	}
	if f.Target == report.TargetMultiple {
		act.HostsScanned = firstCount(c, report.CountHostsProbed, report.CountHosts)
	}
	return act
}

func firstCount(c map[string]int64, keys ...string) int64 {
	for _, k := range keys {
		if v, ok := c[k]; ok {
			return v
		}
	}
	return 0
}
