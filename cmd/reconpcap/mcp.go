package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/agents-of-shield/reconpcap/intel"
	"github.com/agents-of-shield/reconpcap/mcpserver"
)

func runMCP(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("mcp", stderr)
	httpAddr := fs.String("http", "", "serve streamable HTTP on ADDR (e.g. 127.0.0.1:8765) instead of stdio")
	var roots stringList
	fs.Var(&roots, "root", "a directory captures may be read from (repeatable; default: the current directory)")
	allowRemote := fs.Bool("allow-remote", false, "with --http, allow a non-loopback address")
	var indicators stringList
	fs.Var(&indicators, "indicators", "a local indicator list for lookup_threat_intel: IPs, CIDRs and domains, one per line or CSV (repeatable)")
	intelOffline := fs.Bool("intel-offline", false, "lookup_threat_intel consults only the local lists: nothing is sent to AbuseIPDB or VirusTotal even with API keys set")
	callTimeout := fs.Duration("call-timeout", mcpserver.DefaultCallTimeout, "how long a tool call may read a capture: past it, the tools answer from the packets read so far, marked partial with a warning")
	verbose := fs.Bool("v", false, "log to stderr")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("mcp takes no arguments (got %q); name capture directories with --root", rest[0])
	}
	if *callTimeout <= 0 {
		return usagef("--call-timeout %v: want a positive duration (e.g. 3m, 30s)", *callTimeout)
	}
	for _, r := range roots {
		if st, err := os.Stat(r); err != nil || !st.IsDir() {
			return usagef("--root %s: not a directory", r)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		// stdout carries the protocol: logs go to stderr only.
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	srv, err := mcpserver.New(mcpserver.Config{
		Roots:       roots,
		Logger:      logger,
		Intel:       intel.Config{IndicatorFiles: indicators, Offline: *intelOffline},
		CallTimeout: *callTimeout,
	})
	if err != nil {
		return err
	}
	if *httpAddr == "" {
		return srv.ServeStdio(ctx, stdin, stdout)
	}
	host, _, err := net.SplitHostPort(*httpAddr)
	if err != nil {
		return usagef("--http %q: want HOST:PORT", *httpAddr)
	}
	if ip := net.ParseIP(host); !*allowRemote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usagef("--http %s is not a loopback address; add --allow-remote to serve other hosts", *httpAddr)
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "reconpcap: MCP server on http://%s%s (roots %v)\n", ln.Addr(), mcpserver.HTTPPath, srv.Policy().Roots())
	return srv.ServeListener(ctx, ln)
}
