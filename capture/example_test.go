package capture_test

import (
	"context"
	"fmt"

	"github.com/agents-of-shield/reconpcap/capture"
)

// An Analyzer sees every packet of one pass; here it counts connection
// attempts (SYN without ACK) in nmap's SYN scan of 1,000 ports.
func ExampleScan() {
	var n counter
	c, err := capture.Scan(context.Background(), "../testdata/scan_syn.pcap", &n)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Format, c.Packets, "packets,", n.syns, "SYNs,", len(c.Flows()), "TCP connections")
	// Output: pcap 2005 packets, 1000 SYNs, 1000 TCP connections
}
