// Package pcapgen writes synthetic but realistic packet captures for tests
// and benchmarks: a seeded, deterministic mix of TCP connections (HTTP,
// TLS-looking records, bulk transfers) with handshakes and teardowns, DNS
// over UDP, ICMP, ARP, some IPv6 and some VLAN-tagged frames, between a
// bounded set of internal 10.x hosts and a few public servers.
//
// Hosts and 5-tuples come from fixed pools whose size the Config sets, so a
// capture of any size holds the same hosts, flows and DNS names: an
// analyser's memory must stay flat as the file grows. Attacks with exact
// ground truth can be injected (a vertical SYN scan, an upload to an
// external host, a DNS tunnel, HTTP enumeration); Stats reports what was
// written.
//
//	stats, err := pcapgen.WriteFile("big.pcap", pcapgen.Config{Seed: 1, TargetSize: 1 << 30})
//
// The same Config always produces the same bytes. EdgeCases lists the small
// damaged and unusual captures kept in testdata/, each reproducible with
// WriteEdgeCase (the cmd/pcapgen -edge flag).
package pcapgen
