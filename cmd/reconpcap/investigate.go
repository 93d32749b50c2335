package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agents-of-shield/reconpcap/agent"
	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/report"
)

func runInvestigate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("investigate", stderr)
	format := fs.String("format", "text", "output format: json or text")
	offline := fs.Bool("offline", false, "use the built-in rules analyst even when a model is configured")
	trigger := fs.String("trigger", "manual", "what set the investigation off (the report's investigation_trigger)")
	timeout := fs.Duration("timeout", 300*time.Second, "bound on the whole investigation")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if len(files) > 1 {
		return usagef("investigate takes at most one capture file, got %d", len(files))
	}
	file := "traffic.pcap"
	if len(files) == 1 {
		file = files[0]
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	cfg := agent.Config{WorkingDir: filepath.Dir(abs), PcapFile: filepath.Base(abs), ClientSessionTimeout: *timeout, Analyst: agent.AnalystAuto}
	if *offline {
		cfg.Analyst = agent.AnalystRules
	}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	// Said only of a capture that opens: for any other, the error alone.
	if _, cerr := capture.CheckCapture(abs); cerr == nil && a.Mode() == agent.AnalystRules {
		why := "no OPENAI_API_KEY or OPENAI_BASE_URL is set"
		if *offline {
			why = "--offline"
		}
		fmt.Fprintf(stderr, "reconpcap: the built-in rules analyst answers (%s)\n", why)
	}
	rep, err := a.Investigate(ctx, agent.Trigger{Name: *trigger})
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeReport(stdout, rep)
	return nil
}

// writeReport prints the short report a person reads at a glance.
func writeReport(w io.Writer, r *report.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	a := r.AttackAssessment
	verdict := string(a.AttackType)
	if a.AttackType == report.AttackUnknown {
		verdict = "no attack found"
	}
	fmt.Fprintf(tw, "Capture\t%s\n", textsafe.Escape(r.PcapFile, 1000))
	fmt.Fprintf(tw, "Verdict\t%s\n", strings.ToUpper(verdict))
	fmt.Fprintf(tw, "Target\t%s\n", textsafe.Escape(a.Target, 200))
	fmt.Fprintf(tw, "Severity\t%s (confidence %s)\n", a.Severity, a.Confidence)
	fmt.Fprintf(tw, "Traffic\t%d packets, %d unique IPs, %s\n", r.Intelligence.TotalPackets, r.Intelligence.UniqueIPs, humanize.Count(r.Intelligence.ThreatCount, "threat"))
	analyst := r.Analyst.Mode
	if r.Analyst.Model != "" {
		analyst += " (" + r.Analyst.Model + ")"
	}
	fmt.Fprintf(tw, "Analyst\t%s, %d tool calls\n", analyst, len(r.Analyst.ToolCalls))
	tw.Flush()
	if r.Analyst.Note != "" {
		fmt.Fprintf(w, "Note: %s\n", textsafe.Escape(r.Analyst.Note, 1000))
	}
	fmt.Fprintln(w, "\nEvidence:")
	for _, e := range r.Evidence {
		fmt.Fprintf(w, "  - %s\n", textsafe.Escape(e, 1000))
	}
	fmt.Fprintln(w, "\nRecommendations:")
	for _, rec := range r.Recommendations {
		fmt.Fprintf(w, "  - %s\n", textsafe.Escape(rec, 1000))
	}
}
