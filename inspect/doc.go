// Package inspect gives packet-level views of a capture, the ones an analyst
// opens Wireshark for: the packet list with tshark's default columns
// (Find), one frame decoded layer by layer with a hex dump (Frame), every
// DNS query with its answers (DNSQueries) and the protocol hierarchy
// (Hierarchy).
//
// Each view reads the capture again with capture.Scan, so it needs nothing
// kept from an analysis, and keeps only the page it was asked for: memory
// grows with the page (and, for the packet list, with the number of
// connections, for relative sequence numbers), never with the capture.
//
// The columns number, time (relative to the first packet), source,
// destination and length are tshark's; the protocol column agrees with
// tshark for TCP, UDP, ICMP, DNS and ARP; the info column is a best effort
// in tshark's style for TCP, UDP, DNS, ICMP and ARP and brief for the rest.
// Every string taken from a packet (DNS names) is escaped with textsafe.
package inspect
