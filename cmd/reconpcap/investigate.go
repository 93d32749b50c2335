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
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/htmlreport"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/report"
	"github.com/agents-of-shield/reconpcap/siem"
)

func runInvestigate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("investigate", stderr)
	formats := []string{"json", "text", "html", "eve", "ecs"}
	format := fs.String("format", "text", "output format: "+report.ListText(formats, "or")+" (eve, ecs: the report's findings one per line; html: a self-contained page, which reads the capture again for its charts)")
	offline := fs.Bool("offline", false, "use the built-in rules analyst even when a model is configured")
	trigger := fs.String("trigger", "manual", "what set the investigation off (the report's investigation_trigger)")
	timeout := fs.Duration("timeout", 300*time.Second, "bound on the whole investigation")
	var thresholds thresholdFlags
	thresholds.register(fs)
	color := registerColor(fs)
	var ff filterFlags
	ff.register(fs)
	selection := fs.String("selection", "", "with several inputs, a directory, - or a filter: keep the capture of the selected packets in this new file (the report's frames number it); by default it is temporary")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format, formats...); err != nil {
		return err
	}
	file := "traffic.pcap"
	if len(files) == 1 {
		file = files[0]
	}
	if len(files) > 1 || file == capture.StdinName || isDir(file) || ff.set() || *selection != "" {
		// Several inputs, stdin or a filter: the selected packets become
		// one capture, which the analyst's tools then read like any file.
		sel, cleanup, err := selectPackets(ctx, files, ff, *selection, stdin, stderr)
		if err != nil {
			return err
		}
		defer cleanup()
		file = sel
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	dcfg, err := thresholds.config()
	if err != nil {
		return usagef("%v", err)
	}
	cfg := agent.Config{WorkingDir: filepath.Dir(abs), PcapFile: filepath.Base(abs), ClientSessionTimeout: *timeout, Analyst: agent.AnalystAuto, Detectors: dcfg}
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
	switch *format {
	case "html":
		// The report holds the verdict and findings; the page's timeline,
		// talkers and DNS and HTTP tables come from the analysis, read
		// again here (the bundled server's copy lives in its process).
		// The findings and their frames come from the report.
		pageCfg := dcfg
		pageCfg.NoFrames = true
		an, aerr := detectors.Analyze(ctx, abs, pageCfg)
		if an == nil {
			return aerr
		}
		return htmlreport.Write(stdout, htmlreport.Input{Analysis: an, Report: rep})
	case "eve", "ecs":
		return siem.Write(stdout, siem.Format(*format), siem.Source{PcapFile: rep.PcapFile, Start: rep.Intelligence.Start}, rep.Findings)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeReport(stdout, rep, paletteFor(color, stdout))
	return nil
}

// writeReport prints the short report a person reads at a glance.
func writeReport(w io.Writer, r *report.Report, pal palette) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	a := r.AttackAssessment
	verdict := string(a.AttackType)
	if a.AttackType == report.AttackUnknown {
		verdict = "no attack found"
	}
	fmt.Fprintf(tw, "Capture\t%s\n", textsafe.Escape(r.PcapFile, 1000))
	fmt.Fprintf(tw, "Verdict\t%s\n", strings.ToUpper(verdict))
	fmt.Fprintf(tw, "Target\t%s\n", textsafe.Escape(a.Target, 200))
	fmt.Fprintf(tw, "Severity\t%s (confidence %s)\n", pal.severity(a.Severity, string(a.Severity)), a.Confidence)
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
