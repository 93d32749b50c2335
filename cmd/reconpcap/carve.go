package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

const carveUsage = `usage: reconpcap carve (--finding N | --filter EXPR) [--out FILE] CAPTURE

Writes packets of CAPTURE to a new capture file that Wireshark opens: a
pcap from a pcap, a pcapng (one interface per link type) from a pcapng,
every packet byte for byte with its timestamps.

  --finding N   the evidence packets of finding N, counted from 1 in the
                order 'reconpcap analyze' lists them (its display filter)
  --filter EXPR the packets of key=value words, all of which must hold:
                host=, src=, dst= an address or a network (10.0.0.0/8)
                port=, sport=, dport= a TCP or UDP port
                proto= tcp, udp, icmp, icmpv6, dns or arp
                flags= TCP flags set, ! for clear: syn,!ack
                payload=yes  TCP segments with data
                since=, until= RFC 3339 or Unix seconds (until excluded)
                frames= N, N-M, N- or -M
                domain= DNS messages asking for a name under it
  --out FILE    where to write; it must not exist. Default: CAPTURE's name
                with -finding-N or -carved, in the current directory.

It prints the Wireshark display filter that selects the same packets.
`

// runCarve is the carve command.
func runCarve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("carve", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, carveUsage) }
	finding := fs.Int("finding", 0, "carve the evidence of this finding (1 is the first)")
	expr := fs.String("filter", "", "carve the packets of these key=value words")
	out := fs.String("out", "", "the file to write (must not exist)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, carveUsage)
		return usagef("carve takes one capture file, got %d arguments", len(pos))
	}
	path := pos[0]
	if (*finding != 0) == (*expr != "") {
		return usagef("carve needs one of --finding N or --filter EXPR")
	}
	var f filter.Expr
	var what string
	if *finding != 0 {
		if *finding < 0 {
			return usagef("--finding %d: findings are counted from 1", *finding)
		}
		fd, err := findingOf(ctx, path, *finding)
		if err != nil {
			return err
		}
		e, ok := detectors.EvidenceFilter(fd)
		if !ok {
			return fmt.Errorf("finding %d (%s %s) names no address to select packets by", *finding, fd.Type, fd.Technique)
		}
		f, what = e, fmt.Sprintf("finding-%d", *finding)
	} else {
		o, err := filter.ParseOptions(*expr)
		if err != nil {
			return usagef("--filter: %v", err)
		}
		if f, err = filter.FromOptions(o); err != nil {
			return usagef("--filter: %v", err)
		}
		what = "carved"
	}
	return carveTo(ctx, path, f, what, *out, stdout)
}

// findingOf runs every detector with the default thresholds, as analyze
// does, and returns finding n (from 1).
func findingOf(ctx context.Context, path string, n int) (report.Finding, error) {
	a, err := detectors.Analyze(ctx, path, detectors.Config{})
	if a == nil {
		return report.Finding{}, err
	}
	if n > len(a.Findings) {
		return report.Finding{}, usagef("--finding %d: %s has %s", n, path, humanize.Count(len(a.Findings), "finding"))
	}
	return a.Findings[n-1], nil
}

// carveTo writes the packets f selects to out, which must not exist; a
// failed carve (a capture damaged part-way included) leaves no file
// behind.
func carveTo(ctx context.Context, path string, f filter.Expr, what, out string, stdout io.Writer) error {
	format, err := capture.CheckCapture(path)
	if err != nil {
		return err
	}
	if out == "" {
		base := filepath.Base(path)
		for _, ext := range []string{".gz", ".pcapng", ".pcap", ".cap"} {
			base = strings.TrimSuffix(base, ext)
		}
		out = base + "-" + what + "." + format
	}
	file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: carve never overwrites; choose another --out", out)
		}
		return err
	}
	res, err := detectors.Carve(ctx, path, f, file)
	if cerr := file.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return err
	}
	frames := ""
	if res.Packets > 0 {
		frames = fmt.Sprintf(" (frames %d to %d)", res.First, res.Last)
	}
	fmt.Fprintf(stdout, "wrote %s%s, %s, to %s (%s)\n", humanize.Count(res.Packets, "packet"), frames, humanize.Bytes(res.Bytes), out, res.Format)
	if s := f.String(); s != "" {
		fmt.Fprintf(stdout, "display filter: %s\n", s)
	}
	return nil
}
