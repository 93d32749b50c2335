// Package capture reads packet captures and decodes every packet once: the
// first step of reconpcap's data path (capture -> detectors -> mcpserver ->
// agent -> cmd). It judges nothing.
//
// # Reading
//
// A capture is recognised by its magic number, never its name: pcap
// (microsecond or nanosecond, either byte order) or pcapng (several
// sections, interfaces with different link types), either one
// gzip-compressed. Scan reads it with gopacket's pcapgo readers and decodes
// each packet once, with DecodingLayerParser and reused layers, into a
// Packet: the view every Analyzer receives, in file order. Scan also keeps
// one table of TCP and UDP connections (Flow), with the side that opened
// each and the bytes each side sent, which the analyses share.
//
// # Limits
//
// Every length a file declares is checked before anything is allocated
// for it (limits.go): a record of more than MaxRecordSize (262,144) bytes,
// a pcapng block over MaxBlockSize, an option that runs past its block, or
// a section of more than MaxInterfaces interfaces makes the capture
// corrupt at that point. Both formats are read through a framer that
// checks each record or block header before gopacket sees it; pcapng
// blocks that nothing here uses (name resolution, decryption secrets,
// statistics, custom and unknown blocks) are skipped unread.
//
// # Errors
//
// Problems with a file are a *CaptureError wrapping one of ErrNotFound,
// ErrNotRegular, ErrPermission, ErrEmpty, ErrNotCapture,
// ErrUnsupportedVersion or ErrCorrupt. A file cut short in the middle of a
// record is not an error: the Capture covers every packet before the cut
// and says Truncated. A file damaged part-way gives the Capture of the
// packets before the damage together with the error.
//
//	type counter struct{ syns int }
//
//	func (c *counter) Packet(p *capture.Packet) {
//		if p.Layers.Has(capture.LayerTCP) && p.TCPFlags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN {
//			c.syns++
//		}
//	}
//
//	var n counter
//	c, err := capture.Scan(ctx, "traffic.pcap", &n)
//
// Memory grows with the number of flows, never with the number of
// packets, up to Config.MaxFlows (DefaultMaxFlows): past it ScanConfig
// evicts the flows one side never answered first (a SYN flood from
// spoofed sources), then closed ones, then the least recently active, and
// hands each to the analyzers that implement FlowEvictor before
// forgetting it. Capture.FlowStats and a warning say how many.
package capture
