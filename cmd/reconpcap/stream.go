package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agents-of-shield/reconpcap/streams"
)

const streamUsage = `usage: reconpcap stream FILE SRC DST PORT [--format ascii|hex|raw] [--index N] [--direction both|client|server] [-o FILE] [--force]

Reassembles the TCP connection between SRC and DST (either order) on PORT
(either side's port; 0 for any) and prints it:
  ascii  the conversation, each chunk under a marker saying who sent it,
         non-printable bytes shown as '.' (as tshark's follow ascii)
  hex    a hexdump of each chunk, offsets counted in its direction
  raw    the bytes themselves: with --direction both, every chunk in
         conversation order (the two sides interleaved, as delivered);
         with client or server, that side's stream alone. Lost segments
         leave no bytes: they are counted on stderr. Refused when
         standard output is a terminal (the bytes may hold terminal
         escapes) unless -o, a pipe, or --force.
When several connections match, they are listed on stderr and the first
is shown unless --index chooses another.
`

// runStream is the stream command: one TCP connection, reassembled.
func runStream(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("stream", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, streamUsage) }
	format := fs.String("format", "ascii", "output format: ascii, hex or raw")
	index := fs.Int("index", 0, "which matching connection to show, 0-based in order of first packet")
	dirFlag := fs.String("direction", "both", "what to show: both, client or server")
	outPath := fs.String("o", "", "write the stream to this file instead of standard output")
	force := fs.Bool("force", false, "with --format raw, write to standard output even when it is a terminal")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	q, err := streamQuery(pos)
	if err != nil {
		return err
	}
	switch *format {
	case "ascii", "hex", "raw":
	default:
		return usagef("--format %q: want ascii, hex or raw", *format)
	}
	dir := streams.Direction(*dirFlag)
	if dir != streams.Both && dir != streams.FromClient && dir != streams.FromServer {
		return usagef("--direction %q: want both, client or server", *dirFlag)
	}
	if *index < 0 {
		return usagef("--index %d: want 0 or more", *index)
	}
	q.Index = *index
	indexGiven := false
	fs.Visit(func(f *flag.Flag) { indexGiven = indexGiven || f.Name == "index" })
	if *format == "raw" && *outPath == "" && !*force && isTerminal(stdout) {
		return usagef("--format raw writes the connection's bytes as they are, terminal escapes included: not to a terminal; use -o FILE, a pipe, or --force")
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

	res, err := streams.Extract(ctx, pos[0], q)
	if res == nil || errors.Is(err, streams.ErrNoStream) {
		return err
	}
	if errors.Is(err, streams.ErrIndex) {
		// The error alone: the list may be thousands of lines.
		return fmt.Errorf("%w (run without --index to list them)", err)
	}
	if len(res.Connections) > 1 {
		fmt.Fprintf(stderr, "%d connections match %s:\n", len(res.Connections), q)
		writeConnections(stderr, res.Connections)
		if indexGiven {
			fmt.Fprintf(stderr, "showing connection %d\n", q.Index)
		} else {
			fmt.Fprintf(stderr, "showing connection 0 (choose another with --index N)\n")
		}
	}
	// A capture damaged part-way still gives the stream up to the damage:
	// print it, then report the error.
	if werr := writeStreamTo(out, stdout, func(w io.Writer) error { return writeStream(w, stderr, res, *format, dir) }); werr != nil {
		return werr
	}
	return err
}

// streamQuery reads FILE SRC DST PORT.
func streamQuery(pos []string) (streams.Query, error) {
	var q streams.Query
	if len(pos) != 4 {
		return q, usagef("stream takes FILE SRC DST PORT, got %d argument(s)", len(pos))
	}
	for i, p := range []*netip.Addr{&q.Src, &q.Dst} {
		a, err := netip.ParseAddr(pos[1+i])
		if err != nil {
			return q, usagef("%s %q is not an IP address", []string{"SRC", "DST"}[i], pos[1+i])
		}
		*p = a
	}
	port, err := strconv.ParseUint(pos[3], 10, 16)
	if err != nil {
		return q, usagef("PORT %q: want a number from 0 (any port) to 65535", pos[3])
	}
	q.Port = uint16(port)
	return q, nil
}

// outFile is the -o file, opened before the pass and written after it.
type outFile struct {
	f       *os.File
	path    string
	created bool // it did not exist before: removed if nothing is written
	written bool
}

// openOut opens path for writing without truncating it yet, so that a
// failed pass leaves an existing file as it was.
func openOut(path string) (*outFile, error) {
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("-o: %w", err)
	}
	return &outFile{f: f, path: path, created: errors.Is(statErr, fs.ErrNotExist)}, nil
}

// abandon closes the file if write never ran, removing it if openOut made it.
func (o *outFile) abandon() {
	if o.written {
		return
	}
	o.f.Close()
	if o.created {
		os.Remove(o.path)
	}
}

// writeStreamTo runs write on out (truncated first) or, without it, on
// stdout.
func writeStreamTo(out *outFile, stdout io.Writer, write func(io.Writer) error) error {
	if out == nil {
		bw := bufio.NewWriter(stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	out.written = true
	err := out.f.Truncate(0)
	if err == nil {
		bw := bufio.NewWriter(out.f)
		if err = write(bw); err == nil {
			err = bw.Flush()
		}
	}
	if cerr := out.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the stream to %s: %w", out.path, err)
	}
	return nil
}

// isTerminal reports whether w is a terminal: a character device other
// than the null device (which takes any bytes harmlessly). Without a
// dependency for the termios call, a serial line or another character
// device counts as a terminal too, where refusing is the safe side.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

func writeConnections(w io.Writer, conns []streams.Connection) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  INDEX\tCLIENT\tSERVER\tFIRST\tLAST\tCLIENT BYTES\tSERVER BYTES\tEND")
	for _, c := range conns {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", c.Index, c.Client, c.Server,
			c.First.UTC().Format(time.RFC3339Nano), c.Last.UTC().Format(time.RFC3339Nano), c.ClientBytes, c.ServerBytes, c.End)
	}
	tw.Flush()
}

// writeStream writes the chosen connection in format; notes about lost or
// cut bytes go to stderr in raw format, where stdout holds only bytes.
func writeStream(w, stderr io.Writer, res *streams.Result, format string, dir streams.Direction) error {
	if format == "raw" {
		for _, h := range []*streams.Half{&res.Client, &res.Server} {
			if h.Gaps > 0 {
				fmt.Fprintf(stderr, "%s: %d bytes missing in capture file (%d gaps), not written\n", h.Endpoint, h.Missing, h.Gaps)
			}
			if h.Truncated {
				fmt.Fprintf(stderr, "%s: stream cut at %d of %d bytes\n", h.Endpoint, len(h.Data), h.Bytes)
			}
		}
		if dir != streams.Both {
			_, err := w.Write(res.Half(dir).Data)
			return err
		}
		for _, ch := range res.Chunks {
			if _, err := w.Write(ch.Data); err != nil {
				return err
			}
		}
		return nil
	}
	writeStreamHeader(w, res)
	rule := strings.Repeat("=", 67)
	fmt.Fprintln(w, rule)
	for _, ch := range res.Chunks {
		if dir != streams.Both && ch.Direction != dir {
			continue
		}
		if ch.Gap {
			fmt.Fprintf(w, "[%d bytes missing in capture file]\n", ch.Missing)
			continue
		}
		arrow := ">>>"
		if ch.Direction == streams.FromServer {
			arrow = "<<<"
		}
		fmt.Fprintf(w, "%s %s %s, %d bytes at offset %d (packet %d, %s)\n", arrow, ch.Direction, res.Half(ch.Direction).Endpoint,
			ch.Length, ch.Offset, ch.Packet, ch.Time.UTC().Format("2006-01-02 15:04:05.000000"))
		if format == "hex" {
			writeHexDump(w, ch.Data, ch.Offset)
		} else {
			writeASCII(w, ch.Data)
		}
		if len(ch.Data) < ch.Length {
			fmt.Fprintf(w, "[%d more bytes past the %d-byte limit]\n", ch.Length-len(ch.Data), res.Query.MaxBytes)
		}
	}
	fmt.Fprintln(w, rule)
	return nil
}

func writeStreamHeader(w io.Writer, res *streams.Result) {
	c := res.Connection
	how := "client guessed from the ports"
	if c.ClientKnown {
		how = "client known from the handshake"
	}
	fmt.Fprintf(w, "Connection %d of %d: %s -> %s (%s, ended: %s)\n", c.Index, len(res.Connections), c.Client, c.Server, how, c.End)
	fmt.Fprintf(w, "Time: %s to %s\n", c.First.UTC().Format(time.RFC3339Nano), c.Last.UTC().Format(time.RFC3339Nano))
	for _, h := range []struct {
		name string
		h    *streams.Half
	}{{"client", &res.Client}, {"server", &res.Server}} {
		fmt.Fprintf(w, "%s %s: %d bytes", h.name, h.h.Endpoint, h.h.Bytes)
		if h.h.Gaps > 0 {
			fmt.Fprintf(w, ", %d bytes missing in %d gaps", h.h.Missing, h.h.Gaps)
		}
		if !h.h.SYN {
			fmt.Fprint(w, ", no SYN captured (starts mid-stream)")
		}
		if h.h.Truncated {
			fmt.Fprintf(w, ", cut at %d bytes", len(h.h.Data))
		}
		fmt.Fprintln(w)
	}
}

// writeASCII writes b as tshark's follow ascii does: printable ASCII and
// newlines as they are, every other byte as '.'.
func writeASCII(w io.Writer, b []byte) {
	out := make([]byte, len(b), len(b)+1)
	for i, c := range b {
		if c == '\n' || (c >= 0x20 && c < 0x7f) {
			out[i] = c
		} else {
			out[i] = '.'
		}
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	w.Write(out)
}

// writeHexDump writes b sixteen bytes a line, numbered from off.
func writeHexDump(w io.Writer, b []byte, off int) {
	var line strings.Builder
	for i := 0; i < len(b); i += 16 {
		row := b[i:min(i+16, len(b))]
		line.Reset()
		fmt.Fprintf(&line, "%08x  ", off+i)
		for j := range 16 {
			switch {
			case j < len(row):
				fmt.Fprintf(&line, "%02x ", row[j])
			default:
				line.WriteString("   ")
			}
			if j == 7 {
				line.WriteByte(' ')
			}
		}
		line.WriteString(" |")
		for _, c := range row {
			if c >= 0x20 && c < 0x7f {
				line.WriteByte(c)
			} else {
				line.WriteByte('.')
			}
		}
		line.WriteString("|\n")
		io.WriteString(w, line.String())
	}
}
