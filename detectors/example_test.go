package detectors_test

import (
	"context"
	"fmt"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
)

// Analyze reads a capture once and reports what every detector found; the
// recorded nmap -sS scan of testdata/ gives one finding.
func ExampleAnalyze() {
	a, err := detectors.Analyze(context.Background(), "../testdata/scan_syn.pcap", detectors.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Summary.TotalPackets, "packets,", a.Summary.UniqueIPs, "addresses")
	for _, f := range a.Findings {
		fmt.Println(f.Severity, f.Type, f.Technique, f.Source, "->", f.Target, f.Counts["distinct_ports"], "ports")
	}
	// Other thresholds, without reading the file again.
	fs, _ := a.Evaluate(detectors.Config{PortScan: detectors.PortScanConfig{Threshold: 2000, HighThreshold: 2000}})
	fmt.Println(len(fs), "findings with a 2000-port threshold")
	tl, _ := a.TimelineAt(time.Second)
	fmt.Println(tl.TotalIntervals, "one-second interval")
	// Output:
	// 2005 packets, 2 addresses
	// high port_scan syn 10.66.0.10 -> 10.66.0.20 1000 ports
	// 0 findings with a 2000-port threshold
	// 1 one-second interval
}

// Two parts accumulated apart (two files, two processes, two machines:
// each Partial travels as bytes) merge, and are judged as one capture.
func ExampleMergePartials() {
	ctx := context.Background()
	cfg := detectors.Config{HashKey: "the secret every part of one capture shares", NoFrames: true}
	var parts []*detectors.Partial
	for _, path := range []string{"../testdata/scan_syn.pcap", "../testdata/dns_tunnel.pcap"} {
		p, err := detectors.Accumulate(ctx, detectors.Input{Sources: []capture.Source{{Name: path, Path: path}}}, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := p.MarshalBinary() // what a worker stores
		var q detectors.Partial
		if err := q.UnmarshalBinary(b); err != nil {
			fmt.Println(err)
			return
		}
		parts = append(parts, &q)
	}
	m, err := detectors.MergePartials(parts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := m.Judge(ctx, detectors.Input{Name: "two files"})
	fmt.Println(a.Summary.TotalPackets, "packets")
	for _, f := range a.Findings {
		fmt.Println(f.Type, f.Source, "->", f.Target)
	}
	// Output:
	// 2299 packets
	// dns_tunneling 10.66.0.10 -> 10.66.0.54
	// port_scan 10.66.0.10 -> 10.66.0.20
}
