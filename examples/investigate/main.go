// Command investigate is the Python test script's job in Go: it
// investigates one capture with ReconAgentPcap and prints the assessment,
// the evidence and the recommendations.
//
//	go run ./examples/investigate                 # ./traffic.pcap
//	go run ./examples/investigate /captures       # /captures/traffic.pcap
//	go run ./examples/investigate testdata/scan_syn.pcap
//
// With OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible
// server) set, an OpenAI model investigates; without, it says so on stderr
// and the built-in rules analyst answers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/agents-of-shield/reconpcap/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "investigate:", err)
		os.Exit(1)
	}
}

// run is the whole program, testable without a process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("investigate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole investigation")
	trigger := fs.String("trigger", "manual", "what set the investigation off")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: investigate [-timeout D] [-trigger T] [DIR | FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errors.New("at most one directory or capture file")
	}
	dir, file, err := target(fs.Arg(0))
	if err != nil {
		return err
	}

	cfg := agent.Config{WorkingDir: dir, PcapFile: file, ClientSessionTimeout: *timeout}
	if os.Getenv("OPENAI_API_KEY") == "" && os.Getenv("OPENAI_BASE_URL") == "" {
		fmt.Fprintln(stderr, "OPENAI_API_KEY is not set: the built-in rules analyst investigates instead of an OpenAI model.")
		fmt.Fprintln(stderr, "Set OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server) to let a model investigate.")
		cfg.Analyst = agent.AnalystRules
	}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Investigating %s\n\n", a.PcapFile())
	rep, err := a.Investigate(ctx, agent.Trigger{Name: *trigger})
	if err != nil {
		return err
	}

	as := rep.AttackAssessment
	fmt.Fprintln(stdout, "Attack assessment")
	fmt.Fprintf(stdout, "  attack type: %s\n", as.AttackType)
	fmt.Fprintf(stdout, "  target:      %s\n", as.Target)
	fmt.Fprintf(stdout, "  severity:    %s\n", as.Severity)
	fmt.Fprintf(stdout, "  confidence:  %s\n", as.Confidence)
	in := rep.Intelligence
	fmt.Fprintf(stdout, "\nIntelligence: %d packets, %d unique IPs, %d threats\n", in.TotalPackets, in.UniqueIPs, in.ThreatCount)
	analyst := rep.Analyst.Mode
	if rep.Analyst.Model != "" {
		analyst += " (" + rep.Analyst.Model + ")"
	}
	fmt.Fprintf(stdout, "Analyst: %s, tools called: %v\n", analyst, rep.Analyst.ToolCalls)
	if rep.Analyst.Note != "" {
		fmt.Fprintf(stdout, "Note: %s\n", rep.Analyst.Note)
	}
	fmt.Fprintln(stdout, "\nEvidence")
	for _, e := range rep.Evidence {
		fmt.Fprintf(stdout, "  - %s\n", e)
	}
	fmt.Fprintln(stdout, "\nRecommendations")
	for _, r := range rep.Recommendations {
		fmt.Fprintf(stdout, "  - %s\n", r)
	}
	return nil
}

// target splits the argument into the agent's working directory and
// capture: nothing means ./traffic.pcap, a directory its traffic.pcap, a
// file itself. A missing path is left to the agent, whose error names it.
func target(arg string) (dir, file string, err error) {
	if arg == "" {
		return ".", "traffic.pcap", nil
	}
	abs, err := filepath.Abs(arg)
	if err != nil {
		return "", "", err
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		return abs, "traffic.pcap", nil
	}
	return filepath.Dir(abs), filepath.Base(abs), nil
}
