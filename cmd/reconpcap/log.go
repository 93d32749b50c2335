package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/logs"
)

const logUsage = `usage: reconpcap log conn|dns|http|tls [--format ndjson|csv|tsv|zeek] [-o FILE] CAPTURE

Writes one record per connection (conn), DNS query (dns), HTTP request
(http) or TLS handshake (tls), with Zeek's field names and meanings, like
Zeek's conn.log, dns.log, http.log and ssl.log. The uid field names the
connection in every log, so the logs join on it.

  --format ndjson  one JSON object per line, Zeek's dotted keys (default)
           csv     a header row, then one row per record
           tsv     the same, tab-separated
           zeek    Zeek's TSV with its #fields and #types header: zeek-cut
                   and other Zeek tools read it
  -o FILE          write to FILE instead of standard output
`

// runLog is the log command: a capture's per-record log.
func runLog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("log", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, logUsage) }
	format := fs.String("format", string(logs.FormatNDJSON), "output format: ndjson, csv, tsv or zeek")
	outPath := fs.String("o", "", "write the log to this file instead of standard output")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("log takes a log name (%s) and one capture file, got %d argument(s)", strings.Join(logs.Names, ", "), len(pos))
	}
	kind, err := logs.Lookup(pos[0])
	if err != nil {
		return usagef("log %q: want one of %s", textsafe.Escape(pos[0], 64), strings.Join(logs.Names, ", "))
	}
	f, err := logs.ParseFormat(*format)
	if err != nil {
		return usagef("--format %q: want ndjson, csv, tsv or zeek", textsafe.Escape(*format, 64))
	}
	// A file that is no capture is said before -o is touched.
	if _, err := capture.CheckCapture(pos[1]); err != nil {
		return err
	}
	// -o is opened before the pass, so a path that cannot be written is
	// said at once, not after reading the whole capture.
	var out *outFile
	if *outPath != "" {
		if out, err = openOut(*outPath); err != nil {
			return err
		}
		defer out.abandon()
	}
	w := stdout
	if out != nil {
		out.written = true
		if err := out.f.Truncate(0); err != nil {
			out.f.Close()
			return fmt.Errorf("-o: %w", err)
		}
		w = out.f
	}
	bw := bufio.NewWriter(w)
	lw, err := logs.NewWriter(bw, f, kind.Schema)
	if err != nil {
		return err
	}
	warnings, err := kind.Write(ctx, pos[1], lw)
	// A capture damaged part-way still has the records before the
	// damage: the log is closed whole, then the error reported.
	werr := lw.Close()
	if werr == nil {
		werr = bw.Flush()
	}
	if out != nil {
		if cerr := out.f.Close(); werr == nil && cerr != nil {
			werr = cerr
		}
	}
	if werr != nil {
		return fmt.Errorf("writing the %s log: %w", kind.Name, werr)
	}
	for _, wn := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", textsafe.Escape(wn, 1024))
	}
	return err
}
