// Command progress investigates one capture and prints a progress line
// for every event of the investigation as it happens, then the verdict:
// what an orchestrator's Config.OnEvent sees.
//
//	go run ./examples/progress testdata/scan_syn.pcap
//	go run ./examples/progress -rules capture.pcapng
//
// Without OPENAI_API_KEY (or OPENAI_BASE_URL) the built-in rules analyst
// answers; -rules forces it.
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
		fmt.Fprintln(os.Stderr, "progress:", err)
		os.Exit(1)
	}
}

// run is the whole program, testable without a process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("progress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Minute, "deadline for the investigation")
	rules := fs.Bool("rules", false, "use the built-in rules analyst even when a model is configured")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: progress [-timeout D] [-rules] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("name one capture")
	}
	analyst := agent.AnalystAuto
	if *rules {
		analyst = agent.AnalystRules
	}
	file := fs.Arg(0)
	a, err := agent.New(agent.Config{
		WorkingDir: filepath.Dir(file), PcapFile: filepath.Base(file), Analyst: analyst, ClientSessionTimeout: *timeout,
		// OnEvent runs on the investigation's goroutine, one event at a
		// time, so it may write to stdout without a lock.
		OnEvent: func(ev agent.Event) { fmt.Fprintln(stdout, progressLine(ev)) },
	})
	if err != nil {
		return err
	}
	r := <-a.InvestigateAsync(ctx, agent.Trigger{Name: "progress-example"})
	if r.Err != nil {
		return r.Err
	}
	as := r.Report.AttackAssessment
	fmt.Fprintf(stdout, "verdict: %s target=%s severity=%s confidence=%s\n", as.AttackType, as.Target, as.Severity, as.Confidence)
	return nil
}

// progressLine is one line per event, prefixed with the investigation's ID.
func progressLine(ev agent.Event) string {
	id := ev.InvestigationID()
	switch e := ev.(type) {
	case agent.EventStarted:
		return fmt.Sprintf("[%s] started: %s (trigger %s, %s analyst)", id, e.PcapFile, e.Trigger, e.Analyst)
	case agent.EventToolCalled:
		if e.Err != nil {
			return fmt.Sprintf("[%s] tool %s %s failed after %v: %v", id, e.Name, e.Arguments, e.Duration.Round(time.Millisecond), e.Err)
		}
		return fmt.Sprintf("[%s] tool %s %s: %d bytes in %v", id, e.Name, e.Arguments, e.ResultBytes, e.Duration.Round(time.Millisecond))
	case agent.EventModelTurn:
		return fmt.Sprintf("[%s] model turn %d (%s): %d tool calls, %d+%d tokens in %v", id, e.Turn, e.Model, e.ToolCalls, e.PromptTokens, e.CompletionTokens, e.Duration.Round(time.Millisecond))
	case agent.EventRetry:
		return fmt.Sprintf("[%s] retry %d (HTTP %d) in %v: %v", id, e.Attempt, e.Status, e.Wait.Round(time.Millisecond), e.Err)
	case agent.EventFallback:
		return fmt.Sprintf("[%s] the rules analyst answers: %v", id, e.Reason)
	case agent.EventDisagreement:
		return fmt.Sprintf("[%s] the model disagrees; the %s finding stands: %s", id, e.Finding.Type, e.View)
	case agent.EventFinished:
		if e.Err != nil {
			return fmt.Sprintf("[%s] failed after %v: %v", id, e.Duration.Round(time.Millisecond), e.Err)
		}
		return fmt.Sprintf("[%s] finished in %v: %s", id, e.Duration.Round(time.Millisecond), e.Verdict.AttackType)
	}
	return fmt.Sprintf("[%s] %T", id, ev)
}
