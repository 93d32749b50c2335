package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

const tlsUsage = `usage: reconpcap tls [--format text|json] [--host IP] [--sni TEXT] FILE

Lists every TLS handshake over TCP: the frame of the ClientHello, client,
server and port, the server name (SNI), the version chosen (or offered when
the server's answer was not seen), ALPN, the JA4 and JA3 fingerprints and,
for TLS 1.2 and older, the leaf certificate's subject and issuer. --host
keeps handshakes with that address on either side, --sni those whose
server name contains TEXT (case-insensitive). json gives every field.
`

// runTLS is the tls command: the capture's TLS handshakes.
func runTLS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tls", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, tlsUsage) }
	format := fs.String("format", "text", "output format: json or text")
	hostFlag := fs.String("host", "", "only handshakes with this IP address as client or server")
	sni := fs.String("sni", "", "only handshakes whose server name contains this text")
	file, err := oneCapture(fs, args, format)
	if err != nil {
		return err
	}
	var host netip.Addr
	if *hostFlag != "" {
		if host, err = netip.ParseAddr(*hostFlag); err != nil {
			return usagef("--host %q: not an IP address", *hostFlag)
		}
	}
	// The view shows no finding: no second pass for their frames.
	a, err := detectors.Analyze(ctx, file, detectors.Config{NoFrames: true})
	if a == nil {
		return err
	}
	all, stats := a.TLSHandshakes()
	hs := filterHandshakes(all, host, *sni)
	// A capture damaged part-way still has the handshakes before the
	// damage: print them, then report the error.
	if perr := printTLS(stdout, *format, a, hs, stats); perr != nil {
		return perr
	}
	return err
}

// filterHandshakes keeps the handshakes with host on either side (when
// valid) whose server name contains sni (when not empty).
func filterHandshakes(all []*detectors.TLSHandshake, host netip.Addr, sni string) []*detectors.TLSHandshake {
	sni = strings.ToLower(sni)
	out := []*detectors.TLSHandshake{}
	for _, h := range all {
		if host.IsValid() && h.Client != host && h.Server != host {
			continue
		}
		if sni != "" && !strings.Contains(strings.ToLower(h.SNI), sni) {
			continue
		}
		out = append(out, h)
	}
	return out
}

func printTLS(w io.Writer, format string, a *detectors.Analysis, hs []*detectors.TLSHandshake, stats detectors.TLSStats) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			File       string                    `json:"file"`
			Truncated  bool                      `json:"truncated"`
			Warnings   []string                  `json:"warnings"`
			Stats      detectors.TLSStats        `json:"stats"`
			Handshakes []*detectors.TLSHandshake `json:"handshakes"`
		}{a.File, a.Truncated, a.Warnings, stats, hs})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	writeHeader(tw, a)
	fmt.Fprintf(tw, "TLS\t%d ClientHellos, %d ServerHellos, %d certificates read", stats.ClientHellos, stats.ServerHellos, stats.Certificates)
	if stats.Unreadable > 0 {
		fmt.Fprintf(tw, "; %d hellos unreadable (cut or malformed)", stats.Unreadable)
	}
	if stats.Skipped+stats.Dropped > 0 {
		fmt.Fprintf(tw, "; %d not listed", stats.Skipped+stats.Dropped)
	}
	fmt.Fprintf(tw, "\n\n")
	if len(hs) == 0 {
		fmt.Fprintln(tw, "No TLS handshake matches.")
		return nil
	}
	fmt.Fprintln(tw, "FRAME\tCLIENT\tSERVER\tSNI\tVERSION\tALPN\tJA4\tJA3\tCERTIFICATE")
	for _, h := range hs {
		version := h.ChosenVersion
		if !h.ServerHello {
			version = "(no answer)"
		}
		alpn := h.ServerALPN
		if alpn == "" {
			alpn = strings.Join(h.ALPN, ",")
			if alpn != "" {
				alpn += " (offered)"
			}
		}
		cert := "-"
		if c := h.Certificate; c != nil {
			cert = "CN=" + c.SubjectCN
			if c.SubjectO != "" {
				cert += ", O=" + c.SubjectO
			}
			if c.IssuerCN != c.SubjectCN || c.IssuerO != c.SubjectO {
				cert += " (issuer CN=" + c.IssuerCN + ")"
			} else {
				cert += " (self-signed)"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Packet,
			netip.AddrPortFrom(h.Client, h.ClientPort), netip.AddrPortFrom(h.Server, h.ServerPort),
			cell(h.SNI, 64), version, cell(alpn, 32), h.JA4, h.JA3Hash, cell(cert, 120))
	}
	return nil
}

// cell escapes a string from the capture for one table cell: no control
// character reaches the terminal, no tab breaks the columns, and an empty
// value shows as "-".
func cell(s string, max int) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(textsafe.Escape(s, max), "\t", `\x09`)
}
