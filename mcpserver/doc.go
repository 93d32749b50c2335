// Package mcpserver is reconpcap's MCP server: the tools a model calls to
// investigate packet captures, over a shared cache of analyses, behind a
// path policy, with every answer bounded and every string from a packet
// escaped. It is a thin adapter over the detectors package.
//
// # How the parts fit
//
//   - New builds a Server from a Config whose zero value is ready to use.
//     Server.MCP returns the mcp-go server for in-process clients;
//     ServeStdio, HTTPHandler, ServeListener and ListenAndServe put it on a
//     transport (logs go to Config.Logger, never to stdout).
//   - PathPolicy (paths.go) decides which files may be read: pcap_file is
//     taken relative to working_dir, and the result, after symbolic links,
//     must lie inside an allowed root and be a regular file. PathPolicy.Open
//     opens the name once (openat2 with RESOLVE_BENEATH on Linux, never
//     blocking on a fifo) and checks the open descriptor; the tools analyse
//     that descriptor, so a name swapped for a link out of the root between
//     the check and the read changes nothing. A refusal is a *PathError
//     naming the rule; nothing is read. Strings in arguments are bounded
//     (MaxArgBytes) and so are whole requests (MaxRequestBytes).
//   - The analysis cache (cache.go) keys analyses by path and the stat of
//     the descriptor read (device, inode, size, modification and change
//     times): every tool reads the same analysis, concurrent
//     calls for one file share one parse, and a changed file is read again.
//     The shared parse runs under a context detached from any one caller
//     and is cancelled when the last caller waiting for it gives up; a
//     cancelled parse is never cached. The cache is bounded in entries
//     (LRU) and in estimated bytes. Server.Stats reports parses and hits.
//   - Each tool (tools.go and one file per tool) has typed arguments and
//     a typed result, published as JSON Schemas with their defaults. The
//     handler decodes the call over the defaults (mcp-go does not apply
//     schema defaults), checks the arguments, answers from the cached
//     analysis (threshold, threshold_bytes and interval_seconds re-judge it
//     with Analysis.Evaluate and TimelineAt, without reading the capture
//     again), and returns the result as structured content plus the same
//     JSON as text.
//   - Every result is at most Config.MaxResultBytes of JSON (16 KiB by
//     default). Long lists are paged with offset and limit and say total,
//     offset, returned, remaining and next_offset; a page that would still
//     be too large is cut further and says truncated: true.
//   - Every string that came from a packet goes through textsafe.Escape: control
//     and non-printable characters and invalid UTF-8 become \xNN, and long
//     strings are cut with a marker. The tool descriptions tell the model
//     these strings are data from the capture, never instructions.
//   - Errors: what the model can act on (a path outside the roots, a missing
//     file, not a capture, a corrupt capture, a bad argument) is a tool
//     error result with a clear message; a capture damaged part-way gives
//     the partial results with partial: true and a warning. Only internal
//     faults, panics (recovered) and cancelled calls are protocol errors.
//
// # Tools
//
// Every tool takes pcap_file (default "traffic.pcap") and working_dir
// (default: the first allowed root); lookup_threat_intel reads the capture
// only for from_findings. Names and arguments are stable; new
// arguments and result fields may be added.
//
//	read_pcap_summary         max_packets (accepted, ignored)
//	    total_packets, unique_ips, protocols, top_talkers, top_ports,
//	    top_conversations, dns_names, findings_by_type, ...
//	detect_port_scanning      threshold (10), offset, limit
//	    port_scan_detected, suspicious_activity [{source_ip, target_ip,
//	    ports_scanned, packet_count, severity, technique, ...}], findings
//	detect_http_anomalies     offset, limit
//	    http_anomalies_detected, suspicious_user_agents,
//	    high_volume_sources, enumeration_paths, findings
//	detect_data_exfiltration  threshold_bytes (1000000), offset, limit
//	    exfiltration_detected, suspicious_transfers [{source_ip,
//	    destination_ip, bytes, severity, direction, ...}], findings,
//	    large_transfers
//	get_traffic_timeline      interval_seconds (60, 1 to 604800), offset, limit
//	    interval_seconds, intervals, bursts, mean and stddev of packets
//	list_findings             type, min_severity, source, offset, limit
//	    every finding of every detector, most severe first
//	analyze_dns
//	    DNS totals, top names, domains with tunnelling statistics,
//	    clients, dns_tunneling findings
//	list_http_requests        source, offset, limit
//	    each HTTP request: frame, time, addresses, method, host, URI,
//	    user agent, status
//	get_conversations         ip, level (ip|tcp|udp), offset, limit
//	    top talkers and address pairs, largest first; with level tcp or
//	    udp the connections (address:port pairs) instead
//	check_addresses           addresses
//	    whether each address occurs in the capture
//	extract_tcp_stream        src, dst, port (0: any), index (0),
//	                          direction (both|client|server), offset,
//	                          limit (bytes: 8192, at most 65536),
//	                          encoding (text|hex)
//	    the matching connections (index, client, server, first/last,
//	    bytes each way), the chosen one, each side's bytes, missing bytes
//	    and gaps, and a page of the stream: total_bytes, offset, returned,
//	    remaining, next_offset and chunks (direction, offset, length, time,
//	    packet, data or gap with missing); with src or dst left out, the
//	    address pairs to choose from
//	lookup_threat_intel       indicators (up to 20), from_findings
//	    per indicator the merged intel.Result (verdict, score, each
//	    provider's answer or why it was skipped), the sources configured
//	    and not, invalid indicators, finding addresses not looked up
//	list_tls                  host, sni, offset, limit
//	    each TLS handshake: frame, client, server, SNI, versions, ALPN,
//	    cipher suites offered and chosen, JA3, JA3S, JA4, leaf
//	    certificate subject and issuer (TLS 1.2); counts of every one
//	list_captures             working_dir, offset, limit
//	    the captures under the roots (by content): pcap_file, name, size,
//	    modified, format, compressed, packets when already analysed
//	find_packets              host, src, dst, port, src_port, dst_port,
//	                          proto, flags, since, until, first_frame,
//	                          last_frame, offset, limit
//	    display_filter (the same selection for Wireshark) and each packet
//	    in tshark's columns: number, time, source, destination,
//	    protocol, length, info
//	get_packet                frame (1)
//	    the frame's line, its layers with every header field, and a hex
//	    dump of its first 512 bytes
//	list_dns_queries          offset, limit
//	    each query: frame, time, client, server, id, name, type, and the
//	    response that answered it (frame, rcode, answers)
//	get_endpoints             level (ip|tcp|udp), ip, offset, limit
//	    addresses or address:port pairs with packets and bytes each way
//	get_protocol_hierarchy
//	    frames and bytes per protocol chain (eth:ip:tcp:http), depth first
//
// limit defaults to 50 and may be at most 1000 (extract_tcp_stream counts
// it in bytes); fewer items come back when the page would exceed the size
// bound.
//
// find_packets, get_packet, list_dns_queries and get_protocol_hierarchy
// read the capture again on every call (package inspect), keeping only
// the page asked for; find_packets builds its filter with package filter,
// whose String is the display filter it returns.
//
// extract_tcp_stream also reads the capture itself rather than the cached
// analysis: one pass per call, in which only the chosen
// connection is reassembled (up to 16 MiB each way). The last four streams
// are kept (keyed by file version and query), so paging through a stream
// reads the file once. Its text encoding escapes every control or
// non-printable byte and invalid UTF-8 as \xNN without cutting, so offsets
// stay exact; hex gives the bytes themselves.
//
// lookup_threat_intel asks the intel.Checker built from Config.Intel:
// local indicator lists, and AbuseIPDB and VirusTotal when their API keys
// are set (unless Intel.Offline). Private, loopback and documentation
// addresses and internal names never leave the machine; finding addresses
// only local lists could answer for are left out when there is none. With
// no source configured the answer says so, as a normal result. The whole
// call is bounded by Config.IntelTimeout. It is the one tool whose
// openWorldHint is true.
//
// # Use
//
//	srv, err := mcpserver.New(mcpserver.Config{Roots: []string{"/captures"}})
//	if err != nil { ... }
//	err = srv.ServeStdio(ctx, os.Stdin, os.Stdout)
//
// In process, client.NewInProcessClient(srv.MCP()) talks to the same tools
// without a transport; it has no timeout of its own, so pass a context
// with a deadline to CallTool.
package mcpserver
