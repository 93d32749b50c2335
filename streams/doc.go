// Package streams follows one TCP connection of a capture in both
// directions, as Wireshark's "Follow TCP Stream" does, in a pass of its own
// over the file that looks only at that connection.
//
// Extract takes a Query (the two addresses, a port, which of several
// matching connections) and returns a Result: each direction's bytes in
// order, retransmissions kept once, out-of-order segments put in place, and
// every gap marked with its size and why (lost, or cut by the snap length).
// Connections are numbered as tshark numbers tcp.stream, so an analyst can
// check one against the other. Memory is bounded by Query.MaxBytes and
// Query.MaxBufferedPages.
//
//	res, err := streams.Extract(ctx, "traffic.pcap", streams.Query{
//		Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("10.0.0.9"), Port: 80,
//	})
package streams
