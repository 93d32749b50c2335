// Package detectors reads packet captures and runs every analysis over
// them in one pass: the summary and timeline of a capture, and the
// detectors of port scans, HTTP enumeration, data exfiltration and DNS
// tunnels.
//
// # Reading
//
// A capture is recognised by its magic number, never its name: pcap
// (microsecond or nanosecond, either byte order) or pcapng (several
// sections, interfaces with different link types), either one
// gzip-compressed. Scan reads it with gopacket's pcapgo readers and
// decodes each packet once, with DecodingLayerParser and reused layers,
// into a Packet: the view every Analyzer receives. The engine also keeps
// one table of TCP and UDP connections (Flow), with the side that opened
// each and the bytes each side sent, which the analyses share.
//
// Problems with a file are a *CaptureError wrapping one of ErrNotFound,
// ErrNotRegular, ErrPermission, ErrEmpty, ErrNotCapture,
// ErrUnsupportedVersion or ErrCorrupt. A file cut short in the middle of a
// record is not an error: the results cover every packet before the cut
// and say Truncated. A file damaged part-way gives the results before the
// damage together with the error.
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
//
// ExtractStream reassembles one TCP connection in both directions, in one
// pass that looks only at that connection.
package detectors
