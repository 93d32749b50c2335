// Command reconpcap investigates packet captures for attacks.
//
//	reconpcap investigate [--offline] [--format json|text|html|eve|ecs] [--trigger T] [INPUT...]
//	reconpcap analyze [--format json|text] FILE
//	reconpcap triage|scan|http|dns|timeline [--format json|text] FILE
//	reconpcap packets [filters] FILE | packet N FILE | dns --queries FILE | phs FILE
//	reconpcap conversations|endpoints [--level ip|tcp|udp] FILE
//	reconpcap mcp [--http ADDR] [--root DIR]... [--out DIR]
//	reconpcap carve (--finding N | --filter EXPR) [--out FILE] FILE
//
// Exit status: 0 done (whatever was found; for a capture damaged part-way,
// results for the packets before the damage and a warning on stderr), 1 the
// work failed, 2 bad usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// defaultMemoryLimit is the Go runtime's soft memory limit when
// GOMEMLIMIT does not set one. Every table an analysis keeps is bounded,
// but per worker, and a capture built to fill them all makes a live heap
// of several hundred MiB that the collector would otherwise let double
// before collecting; near the limit it collects sooner instead. Ordinary
// captures stay far below it and never feel it.
const defaultMemoryLimit = 768 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode prints err (one clear line first) and maps it to the exit status.
// The message is escaped: it may carry a file name, and a file name may
// carry terminal escapes.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "reconpcap:", textsafe.Escape(err.Error(), 4000))
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintln(stderr, "run 'reconpcap help' for usage")
		return 2
	}
	return 1
}

var errHelp = errors.New("help requested")

const usageText = `reconpcap investigates packet captures for attacks.

Usage:
  reconpcap investigate [--offline] [--format json|text|html|eve|ecs] [--trigger T] [INPUT...]
        the whole investigation: detectors, then an analyst (the OpenAI model when
        OPENAI_API_KEY or OPENAI_BASE_URL is set, else the built-in rules analyst)
        writes the report. INPUT defaults to ./traffic.pcap; several inputs or a
        filter are first written to one capture (--selection FILE keeps it).
  reconpcap analyze  [--format json|text] INPUT...   every detector, no analyst
  reconpcap triage   [--format json|text] INPUT...   summary: talkers, ports, protocols, DNS names
  reconpcap timeline [--format json|text] [--interval 60s] INPUT...
  reconpcap scan|http|dns [--format json|text] INPUT...   one detector's findings
        INPUT: capture files, directories of rotated captures, - for standard
        input, read as one capture in time order. Filters: --host, --net,
        --port, --proto, --since/--until (RFC 3339 or +5m), -f 'tcpdump filter';
        --quiet hides the progress line shown on a terminal; --workers N
        goroutines decode and analyse (default: one per core).
  reconpcap packets [--host H] [--src S] [--dst D] [--port P] [--src-port P] [--dst-port P]
        [--proto tcp|udp|icmp|icmpv6|dns|arp] [--flags syn,!ack] [--since T] [--until T]
        [--first N] [--last N] [--offset N] [--limit N] [--format json|text] FILE
        the packets a filter selects, in tshark's columns, and the Wireshark filter
  reconpcap packet [--format json|text] N FILE   frame N layer by layer, with a hex dump
  reconpcap dns --queries [--offset N] [--limit N] [--format json|text] FILE
        every DNS query with its answer
  reconpcap phs [--format json|text] FILE   protocol hierarchy (tshark -z io,phs)
  reconpcap conversations|endpoints [--level ip|tcp|udp] [--limit N] [--format json|text] FILE
        traffic per address pair / connection, per address / address and port
  reconpcap mcp [--http ADDR] [--root DIR]... [--out DIR] [--indicators FILE]... [--intel-offline]
        the MCP server (stdio, or streamable HTTP); --out lets export_evidence write there
  reconpcap stream [--format ascii|hex|raw] [--index N] [-o FILE] FILE SRC DST PORT
        one TCP conversation, reassembled in both directions
  reconpcap carve (--finding N | --filter EXPR) [--out FILE] FILE
        the evidence packets of a finding, or of a filter, to a new capture file
  reconpcap tls [--format json|text] [--host IP] [--sni TEXT] FILE
        every TLS handshake: SNI, versions, ALPN, JA4, JA3, certificate
  reconpcap log conn|dns|http|tls [--format ndjson|csv|tsv|zeek] [-o FILE] FILE
        one record per connection, DNS query, HTTP request or TLS handshake, as Zeek logs them
  reconpcap intel [--ip X]... [--domain Y]... [--indicators FILE]... [--offline]
        threat intelligence: local indicator lists, AbuseIPDB and VirusTotal
        (ABUSEIPDB_API_KEY, VIRUSTOTAL_API_KEY); private addresses never leave
  reconpcap shard [--workers N] [--hash-key K] -o F.partial INPUT...
        one pass over the inputs, accumulated but not judged, for merge
  reconpcap merge [--format json|text|eve|ecs|html] F.partial...
        the partials merged and judged as one capture (a scan that spans two
        files is one finding); frames are numbered when their files are here
  reconpcap worker --nats URL [--subject jobs.SENSOR] [--parallel N]
  reconpcap submit --nats URL [--job ID] [--subject jobs.SENSOR] FILE|DIR...
  reconpcap merge  --nats URL --job ID [--format json|text] [--timeout D]
        many files on many machines through NATS JetStream: workers analyse the
        files submitted on their subject, merge prints the job's analysis
        (reconpcap worker --help for the TLS and credential options)
  reconpcap completion bash|zsh|fish   a shell completion script
  reconpcap version                    module version, commit and Go version (also --version)
  reconpcap help                       this text

Exit status: 0 done (whatever was found; for a capture damaged part-way the
results cover the packets before the damage, and stderr says so), 1 the work
failed, 2 bad usage.
`

// run is the whole command, testable without a process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		// The error and where to read more, not a screen of usage
		// above the one line that says what went wrong.
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return errHelp
	case "version", "--version":
		return runVersion(rest, stdout)
	case "completion":
		return runCompletion(rest, stdout)
	case "dns":
		if hasFlag(rest, "queries") {
			return runDNSQueries(ctx, rest, stdout, stderr)
		}
		return runAnalysis(ctx, cmd, rest, stdin, stdout, stderr)
	case "analyze", "triage", "timeline", "scan", "http":
		return runAnalysis(ctx, cmd, rest, stdin, stdout, stderr)
	case "packets":
		return runPackets(ctx, rest, stdout, stderr)
	case "packet":
		return runPacket(ctx, rest, stdout, stderr)
	case "phs":
		return runPHS(ctx, rest, stdout, stderr)
	case "conversations", "endpoints":
		return runTraffic(ctx, cmd, rest, stdout, stderr)
	case "investigate":
		return runInvestigate(ctx, rest, stdin, stdout, stderr)
	case "intel":
		return runIntel(ctx, rest, stdout, stderr)
	case "mcp":
		return runMCP(ctx, rest, stdin, stdout, stderr)
	case "stream":
		return runStream(ctx, rest, stdout, stderr)
	case "carve":
		return runCarve(ctx, rest, stdout, stderr)
	case "tls":
		return runTLS(ctx, rest, stdout, stderr)
	case "log":
		return runLog(ctx, rest, stdout, stderr)
	case "shard":
		return runShard(ctx, rest, stdin, stdout, stderr)
	case "worker":
		return runWorker(ctx, rest, stdout, stderr)
	case "submit":
		return runSubmit(ctx, rest, stdout, stderr)
	case "merge":
		return runMerge(ctx, rest, stdout, stderr)
	}
	return usagef("unknown command %q", cmd)
}
