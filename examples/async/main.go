// Command async investigates many captures at once with
// ReconAgentPcap.InvestigateAsync, all under one deadline, and prints one
// line per capture in the order given.
//
//	go run ./examples/async testdata                 # every *.pcap and *.pcapng in it
//	go run ./examples/async -timeout 30s a.pcap b.pcapng
//
// Without OPENAI_API_KEY (or OPENAI_BASE_URL) the built-in rules analyst
// answers; -rules forces it. The exit status is 1 when any capture failed.
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
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "async:", err)
		os.Exit(1)
	}
}

// run is the whole program, testable without a process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("async", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline for all the investigations together")
	rules := fs.Bool("rules", false, "use the built-in rules analyst even when a model is configured")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: async [-timeout D] [-rules] DIR|FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("name at least one capture or directory")
	}
	files, err := captures(fs.Args())
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("no *.pcap or *.pcapng files found")
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	analyst := agent.AnalystAuto
	if *rules {
		analyst = agent.AnalystRules
	}
	start := time.Now()
	results := make([]<-chan agent.Result, len(files))
	for i, f := range files {
		a, err := agent.New(agent.Config{WorkingDir: filepath.Dir(f), PcapFile: filepath.Base(f), Analyst: analyst, ClientSessionTimeout: *timeout})
		if err != nil {
			ch := make(chan agent.Result, 1)
			ch <- agent.Result{Err: err}
			results[i] = ch
			continue
		}
		results[i] = a.InvestigateAsync(ctx, agent.Trigger{Name: "async-example"})
	}
	failed := 0
	for i, ch := range results {
		r := <-ch
		if r.Err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: error: %v\n", files[i], r.Err)
			continue
		}
		as, in := r.Report.AttackAssessment, r.Report.Intelligence
		fmt.Fprintf(stdout, "%s: %s target=%s severity=%s confidence=%s threats=%d packets=%d analyst=%s\n",
			files[i], as.AttackType, as.Target, as.Severity, as.Confidence, in.ThreatCount, in.TotalPackets, r.Report.Analyst.Mode)
	}
	fmt.Fprintf(stderr, "%d captures in %v, %d failed\n", len(files), time.Since(start).Round(time.Millisecond), failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d investigations failed", failed, len(files))
	}
	return nil
}

// captures expands the arguments: a directory gives its *.pcap and
// *.pcapng files (sorted), anything else is taken as a capture.
func captures(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			out = append(out, arg) // a missing file is reported with its result
			continue
		}
		var found []string
		for _, pat := range []string{"*.pcap", "*.pcapng"} {
			m, err := filepath.Glob(filepath.Join(arg, pat))
			if err != nil {
				return nil, err
			}
			found = append(found, m...)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}
