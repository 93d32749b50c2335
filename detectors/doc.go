// Package detectors judges packet captures: it runs every analysis over
// the packets of one pass: the summary and timeline of a capture, and the
// detectors of port scans, HTTP enumeration, data exfiltration and DNS
// tunnels.
//
// The packets come from package capture, which reads and decodes each one
// once; every analysis here is a capture.Analyzer fed by that one pass.
// Following one TCP connection is package streams' job.
//
// # Analysing
//
// Analyze runs the summary, the timeline and every detector, and returns an
// Analysis. Its thresholds are in Config, whose zero value holds the
// documented defaults. The Analysis keeps the state behind its findings and
// its one-second timeline buckets, so Evaluate judges again with other
// thresholds and TimelineAt cuts another interval without reading the file
// again. Findings are report.Finding values.
//
// Memory grows with hosts, flows and names, never with packets, and every
// per-key list is bounded.
//
//	a, err := detectors.Analyze(ctx, "traffic.pcap", detectors.Config{})
//	if err != nil && a == nil {
//		return err // nothing could be read
//	}
//	for _, f := range a.Findings {
//		fmt.Println(f.Severity, f.Type, f.Source, "->", f.Target)
//	}
package detectors
