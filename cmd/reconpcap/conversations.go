package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/inspect"
)

// levelProto maps --level to the IP protocol listed, 0 for ip.
func levelProto(level string) (uint8, error) {
	switch level {
	case "ip":
		return 0, nil
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	}
	return 0, usagef("--level %q: want ip, tcp or udp", level)
}

// runTraffic prints conversations or endpoints (cmd) at one level.
func runTraffic(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(cmd, stderr)
	level := fs.String("level", "ip", "ip, tcp or udp")
	limit := fs.Int("limit", defaultPacketLimit, "rows to print at most")
	format := fs.String("format", "text", "output format: json or text")
	file, err := oneCapture(fs, args, format)
	if err != nil {
		return err
	}
	proto, err := levelProto(*level)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit must not be negative")
	}
	// The view shows no finding: no second pass for their frames.
	a, err := detectors.Analyze(ctx, file, detectors.Config{NoFrames: true})
	if a == nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	var rows any
	switch {
	case cmd == "endpoints":
		var eps []inspect.Endpoint
		if proto == 0 {
			eps = inspect.IPEndpoints(a.Talkers())
		} else {
			eps = inspect.TransportEndpoints(a.Capture().Flows(), proto)
		}
		eps = eps[:min(len(eps), *limit)]
		rows = nonNil(eps)
		fmt.Fprintln(tw, "address\tport\tpackets\tbytes\ttx packets\ttx bytes\trx packets\trx bytes\t")
		for _, e := range eps {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", e.Address, e.Port, e.Packets, e.Bytes, e.TxPackets, e.TxBytes, e.RxPackets, e.RxBytes)
		}
	case proto == 0:
		convs := a.Conversations()
		convs = convs[:min(len(convs), *limit)]
		rows = nonNil(convs)
		fmt.Fprintln(tw, "a\tb\tpackets a→b\tbytes a→b\tpackets b→a\tbytes b→a\tpackets\tbytes\t")
		for _, c := range convs {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.A, c.B, c.PacketsAToB, c.BytesAToB, c.PacketsBToA, c.BytesBToA, c.Packets, c.Bytes)
		}
	default:
		conns := inspect.Connections(a.Capture().Flows(), proto)
		conns = conns[:min(len(conns), *limit)]
		rows = nonNil(conns)
		fmt.Fprintln(tw, "a\tb\tpackets a→b\tbytes a→b\tpackets b→a\tbytes b→a\tpackets\tbytes\t")
		for _, c := range conns {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", c.A, c.B, c.PacketsAToB, c.BytesAToB, c.PacketsBToA, c.BytesBToA, c.Packets, c.Bytes)
		}
	}
	if *format == "json" {
		if werr := writeJSON(stdout, rows); werr != nil {
			return werr
		}
		return err
	}
	if werr := tw.Flush(); werr != nil {
		return werr
	}
	return err
}
