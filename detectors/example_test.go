package detectors_test

import (
	"context"
	"fmt"
	"time"

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
