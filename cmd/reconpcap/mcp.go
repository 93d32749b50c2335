package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/agents-of-shield/reconpcap/intel"
	"github.com/agents-of-shield/reconpcap/mcpserver"
)

func runMCP(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("mcp", stderr)
	httpAddr := fs.String("http", "", "serve streamable HTTP on ADDR (e.g. 127.0.0.1:8765) instead of stdio")
	var roots stringList
	fs.Var(&roots, "root", "a directory captures may be read from (repeatable; default: the current directory)")
	allowRemote := fs.Bool("allow-remote", false, "with --http, allow a non-loopback address (requires --token-file)")
	tokenFile := fs.String("token-file", "", "with --http, every request must carry \"Authorization: Bearer TOKEN\", TOKEN being this file's content")
	var origins stringList
	fs.Var(&origins, "allow-origin", "with --http, a browser origin (https://host[:port]) to serve besides the loopback ones (repeatable)")
	var indicators stringList
	fs.Var(&indicators, "indicators", "a local indicator list for lookup_threat_intel: IPs, CIDRs and domains, one per line or CSV (repeatable)")
	intelOffline := fs.Bool("intel-offline", false, "lookup_threat_intel consults only the local lists: nothing is sent to AbuseIPDB or VirusTotal even with API keys set")
	callTimeout := fs.Duration("call-timeout", mcpserver.DefaultCallTimeout, "how long a tool call may read a capture: past it, the tools answer from the packets read so far, marked partial with a warning")
	verbose := fs.Bool("v", false, "log to stderr")
	var thresholds thresholdFlags
	thresholds.register(fs)
	outputSchemas := fs.Bool("output-schemas", false, "list each tool's output schema in tools/list and validate results against it (for clients that check results; costs the model's context)")
	outDir := fs.String("out", "", "a directory, outside every --root, where export_evidence writes carved captures (default: none, exports refused)")
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
	if *httpAddr == "" && (*tokenFile != "" || len(origins) > 0 || *allowRemote) {
		return usagef("--token-file, --allow-origin and --allow-remote apply to --http only")
	}
	var transport mcpserver.TransportConfig
	if *httpAddr != "" {
		host, _, err := net.SplitHostPort(*httpAddr)
		if err != nil {
			return usagef("--http %q: want HOST:PORT", *httpAddr)
		}
		if ip := net.ParseIP(host); !*allowRemote && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return usagef("--http %s is not a loopback address; add --allow-remote (and --token-file) to serve other hosts", *httpAddr)
		}
		if *allowRemote && *tokenFile == "" {
			return usagef("--allow-remote requires --token-file: a server reachable from other hosts must authenticate its clients")
		}
		if *tokenFile != "" {
			if transport.Token, err = readToken(*tokenFile); err != nil {
				return err
			}
		}
		transport.AllowedOrigins = origins
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		// stdout carries the protocol: logs go to stderr only.
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	} else if *httpAddr != "" {
		// Warnings (serving beyond loopback) are printed even without -v.
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	dcfg, err := thresholds.config()
	if err != nil {
		return usagef("%v", err)
	}
	srv, err := mcpserver.New(mcpserver.Config{
		Detectors:     dcfg,
		Roots:         roots,
		OutDir:        *outDir,
		Logger:        logger,
		Intel:         intel.Config{IndicatorFiles: indicators, Offline: *intelOffline},
		CallTimeout:   *callTimeout,
		OutputSchemas: *outputSchemas,
		Transport:     transport,
	})
	if err != nil {
		if errors.Is(err, mcpserver.ErrOutDir) {
			return usagef("--out: %v", err)
		}
		return err
	}
	if *httpAddr == "" {
		return srv.ServeStdio(ctx, stdin, stdout)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *httpAddr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "reconpcap: MCP server on http://%s%s (roots %v)\n", ln.Addr(), mcpserver.HTTPPath, srv.Policy().Roots())
	return srv.ServeListener(ctx, ln)
}

// maxTokenFile bounds what readToken reads: a token is a line, not a file.
const maxTokenFile = 4 << 10

// readToken reads a bearer token from path: the file's content, surrounding
// white space removed. An empty token, or one with inner white space or
// control characters (which no Authorization header could carry), is an
// error.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("--token-file %s: longer than %d bytes", path, maxTokenFile)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("--token-file %s: empty", path)
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("--token-file %s: the token holds white space or control characters", path)
	}
	return token, nil
}
