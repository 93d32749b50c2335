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
// The same pass reads the TLS handshake of every TCP connection
// (TLSHandshakes): the ClientHello, reassembled across segments, with its
// JA3 and JA4 fingerprints, and the server's ServerHello and, before TLS
// 1.3, its leaf certificate.
//
// Memory grows with hosts, flows and names, never with packets, and every
// table is bounded (Config.Limits; the defaults keep any capture under
// 1 GiB). Past a bound the state is aggregated, not lost: flows the flow
// table evicts are counted by the summary (packets, bytes, protocols and
// ports stay exact), the port scan and the exfiltration detectors; the
// smallest address pairs are folded into per-address and per-target
// totals, so a flood's target stays on top of the talkers and ports while
// millions of spoofed sources fall out; unique addresses become an
// estimate. The Analysis's Warnings say what was capped and how much.
//
//	a, err := detectors.Analyze(ctx, "traffic.pcap", detectors.Config{})
//	if err != nil && a == nil {
//		return err // nothing could be read
//	}
//	for _, f := range a.Findings {
//		fmt.Println(f.Severity, f.Type, f.Source, "->", f.Target)
//	}
//
// # Severity and confidence
//
// Every finding carries two ratings. Severity says how bad it is if it is
// true; confidence says how sure the evidence makes the detector that it
// is true. A finding that rests on volume alone (many requests, a large
// upload, many names) with nothing that marks it hostile is low at most.
//
// The ratings decide what the analyst does with a finding:
//
//   - medium severity or more and medium confidence or more: the finding
//     decides the verdict (type, target, severity, confidence) and counts
//     in the report's threat_count;
//   - low confidence, or low severity: the finding is a note, listed in
//     the evidence but deciding nothing; a capture whose findings are all
//     notes is unknown, severity low, confidence low;
//   - the verdict is critical only when one source runs two or more kinds
//     of attack, each a deciding finding, or when an exfiltration is of
//     high severity at high confidence. A note never raises it.
//
// So a detector must rate what it is sure of: a weak signal at low
// confidence costs nothing, the same signal at medium pages someone. What
// each detector rates (the README's table "What each detector rates" has
// the numbers):
//
//   - port scans: by the ports of one target a source probed (10 medium,
//     50 high), whatever the probe's flags, fragments or source port;
//     decoys are named inside the real scanner's finding; version scans
//     and ACK scans that nothing answers are medium at most.
//   - HTTP: by what marks a request hostile, from exact counters: misses
//     over many paths, wordlist paths, injection payloads (10 are high
//     whatever the user agent), changing credentials that fail, many Host
//     values, attack tools' user agents. Repetition, polling and crawls
//     answered 2xx/3xx are nothing; volume alone is a low note.
//   - exfiltration: every transfer above the threshold is listed, rated by
//     its signals (one-way, split over many connections, unusual port,
//     rare destination, far above the other hosts of the capture); none is
//     low, copies to file and backup services are low unless another
//     signal joins; ICMP echo payloads and slow drips have their own rules.
//   - DNS: data in the names (encoded, long labels) under one registered
//     domain, plus a channel (data records, NXDOMAIN, odd answers) or, in
//     plain A queries, names filled with data; random-looking names with
//     ordinary answers (CDNs) are a low note.
package detectors
