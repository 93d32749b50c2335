package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/inspect"
)

// defaultPacketLimit is how many packets `reconpcap packets` prints unless
// --limit says otherwise: a capture may hold millions.
const defaultPacketLimit = 1000

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runPackets prints the packets a filter selects, as tshark does.
func runPackets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("packets", stderr)
	var o filter.Options
	var port, sport, dport int
	var since, until string
	fs.StringVar(&o.Host, "host", "", "address or network on either side")
	fs.StringVar(&o.Src, "src", "", "source address or network")
	fs.StringVar(&o.Dst, "dst", "", "destination address or network")
	fs.IntVar(&port, "port", 0, "TCP or UDP port on either side")
	fs.IntVar(&sport, "src-port", 0, "source port")
	fs.IntVar(&dport, "dst-port", 0, "destination port")
	fs.StringVar(&o.Proto, "proto", "", "tcp, udp, icmp, icmpv6, dns or arp")
	fs.StringVar(&o.Flags, "flags", "", "TCP flags set, or clear with !: syn,!ack")
	fs.StringVar(&since, "since", "", "packets at or after this time (RFC 3339)")
	fs.StringVar(&until, "until", "", "packets before this time (RFC 3339)")
	fs.IntVar(&o.FirstFrame, "first", 0, "first frame number")
	fs.IntVar(&o.LastFrame, "last", 0, "last frame number")
	offset := fs.Int("offset", 0, "matching packets to skip")
	limit := fs.Int("limit", defaultPacketLimit, "matching packets to print at most")
	format := fs.String("format", "text", "output format: json or text")
	file, err := oneCapture(fs, args, format)
	if err != nil {
		return err
	}
	if *offset < 0 || *limit < 0 {
		return usagef("--offset and --limit must not be negative")
	}
	for _, p := range []struct {
		name string
		v    int
		dst  *uint16
	}{{"port", port, &o.Port}, {"src-port", sport, &o.SrcPort}, {"dst-port", dport, &o.DstPort}} {
		if p.v < 0 || p.v > 65535 {
			return usagef("--%s %d: want 1 to 65535", p.name, p.v)
		}
		*p.dst = uint16(p.v)
	}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", since, &o.Since}, {"until", until, &o.Until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return usagef("--%s %q: want an RFC 3339 time (2024-05-01T10:00:00Z)", t.name, t.v)
		}
		*t.dst = v
	}
	e, err := filter.FromOptions(o)
	if err != nil {
		return usagef("%v", err)
	}
	list, err := inspect.Find(ctx, inspect.Source{Path: file}, e, *offset, *limit)
	if list == nil {
		return err
	}
	if *format == "json" {
		if werr := writeJSON(stdout, struct {
			DisplayFilter string         `json:"display_filter"`
			Matched       int            `json:"matched"`
			Packets       []inspect.Line `json:"packets"`
		}{e.String(), list.Matched, nonNil(list.Lines)}); werr != nil {
			return werr
		}
		return err
	}
	for _, l := range list.Lines {
		fmt.Fprintln(stdout, l.String())
	}
	if shown := len(list.Lines); shown < list.Matched-*offset {
		fmt.Fprintf(stderr, "reconpcap: %d of %d matching packets shown (--offset, --limit)\n", shown, list.Matched)
	}
	if f := e.String(); f != "" {
		fmt.Fprintf(stderr, "wireshark display filter: %s\n", f)
	}
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// runPacket prints one frame layer by layer.
func runPacket(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("packet", stderr)
	format := fs.String("format", "text", "output format: json or text")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("packet takes a frame number and a capture file: packet N FILE")
	}
	n, err := strconv.Atoi(pos[0])
	if err != nil || n < 1 {
		return usagef("packet %q: frames are numbered from 1", pos[0])
	}
	d, err := inspect.Frame(ctx, inspect.Source{Path: pos[1]}, n)
	if errors.Is(err, inspect.ErrNoFrame) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if *format == "json" {
		return writeJSON(stdout, d)
	}
	fmt.Fprintf(stdout, "Frame %d: %d bytes on wire, %d captured, %s, time %s\n", d.Number, d.Length, d.Captured, d.LinkType, d.Time)
	fmt.Fprintf(stdout, "  %s → %s %s %s\n", d.Source, d.Destination, d.Protocol, d.Info)
	for _, l := range d.Layers {
		fmt.Fprintf(stdout, "%s\n", l.Name)
		for _, f := range l.Fields {
			fmt.Fprintf(stdout, "    %s: %s\n", f.Name, f.Value)
		}
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, strings.Join(d.Hex, "\n"))
	if d.HexTruncated {
		fmt.Fprintf(stdout, "... (first %d of %d bytes)\n", inspect.MaxDumpBytes, d.Captured)
	}
	return nil
}

// runDNSQueries prints every DNS query with its answer.
func runDNSQueries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dns --queries", stderr)
	fs.Bool("queries", true, "list every query with its answer")
	offset := fs.Int("offset", 0, "queries to skip")
	limit := fs.Int("limit", defaultPacketLimit, "queries to print at most")
	format := fs.String("format", "text", "output format: json or text")
	file, err := oneCapture(fs, args, format)
	if err != nil {
		return err
	}
	if *offset < 0 || *limit < 0 {
		return usagef("--offset and --limit must not be negative")
	}
	list, err := inspect.DNSQueries(ctx, inspect.Source{Path: file}, *offset, *limit)
	if list == nil {
		return err
	}
	if *format == "json" {
		if werr := writeJSON(stdout, struct {
			Total   int                `json:"total"`
			Queries []inspect.DNSQuery `json:"queries"`
		}{list.Total, nonNil(list.Queries)}); werr != nil {
			return werr
		}
		return err
	}
	for _, q := range list.Queries {
		answer := "(no response)"
		if q.Answered {
			answer = fmt.Sprintf("%s in %d: %s", q.RCode, q.ResponseFrame, strings.Join(q.Answers, ", "))
		}
		fmt.Fprintf(stdout, "%7d %12s %s → %s %s %s %s %s\n", q.Frame, q.Time, q.Client, q.Server, q.ID, q.Type, q.Name, answer)
	}
	if shown := len(list.Queries); shown < list.Total-*offset {
		fmt.Fprintf(stderr, "reconpcap: %d of %d queries shown (--offset, --limit)\n", shown, list.Total)
	}
	return err
}

// runPHS prints the protocol hierarchy as tshark -qz io,phs does.
func runPHS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("phs", stderr)
	format := fs.String("format", "text", "output format: json or text")
	file, err := oneCapture(fs, args, format)
	if err != nil {
		return err
	}
	h, err := inspect.ProtocolHierarchy(ctx, inspect.Source{Path: file})
	if h == nil {
		return err
	}
	if *format == "json" {
		if werr := writeJSON(stdout, struct {
			Packets   int             `json:"packets"`
			Protocols []*inspect.Node `json:"protocols"`
		}{h.Capture.Packets, nonNil(h.Roots)}); werr != nil {
			return werr
		}
		return err
	}
	for _, l := range h.Lines() {
		fmt.Fprintln(stdout, l)
	}
	return err
}

// hasFlag reports whether args hold --name or -name.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name || a == "-"+name || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}
