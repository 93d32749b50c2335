// Package filter selects packets of a capture: one expression, two
// renderings. Match tests a decoded capture.Packet; String writes the same
// expression as a Wireshark display filter that selects the same frames in
// tshark or Wireshark, so a reference to evidence can be checked and
// opened by a person.
//
// An Expr is built from leaves (Host, Src, Dst, Port, SrcPort, DstPort,
// Proto, TCPFlags, TCPPayload, ICMPType, Frames, Between, DNSUnder) joined
// with And, Or and Not; FromOptions builds one from the simple options a
// command line or a tool offers. The zero Expr matches every packet and
// renders as "" (Wireshark's empty filter, which shows every frame).
//
// # Agreeing with Wireshark
//
// Match reads the packet's outermost IP header and its transport, as
// package capture decodes them. Wireshark also dissects the header an ICMP
// error quotes, so its ip.src, tcp.port or dns.qry.name can be true for
// an ICMP error about a packet rather than the packet itself. String
// therefore renders every test that a quoted header could satisfy so that
// it cannot: transport tests carry "!icmp && !icmpv6" (written once per
// conjunction), and address tests with no transport test beside them name
// the outermost layer (ip.src#1). Non-final IP fragments carry no
// transport in either (Wireshark shows the reassembled datagram in the
// last fragment's frame, as capture does). Times are compared as
// frame.time_epoch, which does not depend on the reader's time zone.
//
//	f := filter.And(filter.Src(a), filter.Dst(b), filter.TCPFlags(capture.FlagSYN, capture.FlagACK))
//	f.String() // ip.src==10.0.0.5 && ip.dst==10.0.0.9 && tcp.flags.syn==1 && tcp.flags.ack==0 && !icmp
//	if f.Match(p, p.Index) { ... }
package filter
