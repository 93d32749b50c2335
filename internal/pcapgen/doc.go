// Package pcapgen writes synthetic but realistic packet captures for tests
// and benchmarks: a seeded, deterministic mix of traffic between a bounded
// set of internal 10.x hosts, internal servers and public servers, with
// TCP handshakes and teardowns, some IPv6 and some VLAN-tagged frames.
//
// The default mix is an office network of a few hundred hosts on an
// ordinary day, including what looks suspicious to a naive rule and is
// not: TLS browsing with real ClientHello and ServerHello records carrying
// SNI; browsers resolving thousands of long random-looking CDN names over
// hundreds of registered domains; uploads and downloads of 1 to 4 MB to a
// few SaaS services used by many hosts; software updates of 5 to 40 MB;
// nightly backups of 10 to 40 MB from several hosts to one internal server
// over SSH, rsync and SMB; a monitor polling a few health paths on 24
// servers every 15 s; a crawler walking thousands of existing wiki pages
// every 2 s; NTP to three servers; mDNS and LLMNR multicast; plain DNS,
// HTTP, ICMP and ARP. Config.Basic writes the older plain mix instead (the
// edge cases in testdata/ use it).
//
// Hosts and 5-tuples come from fixed pools whose size the Config sets, so a
// capture of any size holds the same hosts, flows and DNS names: an
// analyser's memory must stay flat as the file grows.
//
// Attacks with exact ground truth can be injected: a vertical SYN scan, an
// upload to an external host, a DNS tunnel, HTTP enumeration, and the
// evasive forms that change one habit each: a SYN scan in IP fragments,
// a decoy scan, an ACK scan, a slow scan, login brute force, SQL injection
// with a browser user agent, exfiltration over TLS, split over many
// connections, in ICMP echo payloads and in DNS A queries. Stats reports
// what was written; Stats.Attacks gives each attack's real source, target
// and the attack type a reader should report.
//
//	stats, err := pcapgen.WriteFile(ctx, "big.pcap", pcapgen.Config{Seed: 1, TargetSize: 1 << 30})
//
// The same Config always produces the same bytes. EdgeCases lists the small
// damaged and unusual captures kept in testdata/, each reproducible with
// WriteEdgeCase (the cmd/pcapgen -edge flag).
package pcapgen
