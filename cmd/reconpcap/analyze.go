package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agents-of-shield/reconpcap/agent"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/htmlreport"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
	"github.com/agents-of-shield/reconpcap/report"
	"github.com/agents-of-shield/reconpcap/siem"
)

// commonFlags parses --format and the single FILE argument.
type commonFlags struct {
	format   string
	interval time.Duration
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseArgs parses flags that may stand before or after the file name.
// A bad flag is told once, by the caller, in one line: flag itself would
// print it, then every flag's usage, above that line.
// oneCapture parses a view's arguments (flags anywhere), then checks the
// --format flag format points to (json or text) and wants exactly one capture file, which it returns.
func oneCapture(fs *flag.FlagSet, args []string, format *string) (string, error) {
	files, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if err := checkFormat(*format); err != nil {
		return "", err
	}
	if len(files) != 1 {
		return "", usagef("%s takes one capture file, got %d", fs.Name(), len(files))
	}
	return files[0], nil
}

func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defer func() { fs.SetOutput(out); fs.Usage = usage }()
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.SetOutput(out)
				if usage != nil {
					usage()
				} else {
					fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
					fs.PrintDefaults()
				}
				return nil, errHelp
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func checkFormat(f string, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = []string{"json", "text"}
	}
	if !slices.Contains(allowed, f) {
		return usagef("--format %q: want %s", f, report.ListText(allowed, "or"))
	}
	return nil
}

// intervalValue accepts a duration ("90s", "5m") or a number of seconds ("90").
type intervalValue struct{ d *time.Duration }

func (v intervalValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v intervalValue) Set(s string) error {
	d, err := parseInterval(s)
	if err != nil {
		return err
	}
	return v.set(d)
}

// set refuses an interval under a millisecond here, where the flag is
// named: 0 would otherwise reach detectors.Config as "the default", 60s.
func (v intervalValue) set(d time.Duration) error {
	if d < time.Millisecond {
		return fmt.Errorf("%v: want at least 1ms (the default is 60s)", d)
	}
	*v.d = d
	return nil
}

func runAnalysis(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet(cmd, stderr)
	var cf commonFlags
	formats := []string{"json", "text", "eve", "ecs"}
	if cmd == "analyze" {
		formats = append(formats, "html")
	}
	fs.StringVar(&cf.format, "format", "text", "output format: "+report.ListText(formats, "or")+" (eve: Suricata EVE JSON alerts, ecs: Elastic Common Schema, one finding per line; html: a self-contained page)")
	cf.interval = 60 * time.Second
	if cmd == "timeline" || cmd == "analyze" {
		fs.Var(intervalValue{&cf.interval}, "interval", "timeline interval: seconds or a duration (500ms, 10s, 1m), at least 1ms")
	}
	var thresholds thresholdFlags
	thresholds.register(fs)
	var filters filterFlags
	filters.register(fs)
	quiet := fs.Bool("quiet", false, "show no progress while reading")
	workers := registerWorkers(fs)
	engine := fs.String("engine", "local", "local: this process's goroutines (--workers); nats: a NATS JetStream server inside the process (no listening socket) shares the files among workers, one per core, as a cluster would")
	color := registerColor(fs)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(cf.format, formats...); err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("%s takes capture files, directories or - (standard input), got none", cmd)
	}
	cfg, err := thresholds.config()
	if err != nil {
		return usagef("%v", err)
	}
	if fs.Lookup("interval") != nil && isSet(fs, "interval") {
		cfg.TimelineInterval = cf.interval
		if err := cfg.Validate(); err != nil {
			return usagef("%v", err)
		}
	}
	var a *detectors.Analysis
	switch *engine {
	case "local":
		a, err = analyzeInputs(ctx, files, filters, !*quiet, stdin, stderr, cfg, *workers)
	case "nats":
		a, err = analyzeInputsNATS(ctx, files, filters, stderr, cfg)
	default:
		return usagef("--engine %q: want local or nats", *engine)
	}
	if a == nil {
		return err
	}
	if err != nil && a.Summary.TotalPackets == 0 {
		return err // damaged before its first packet: nothing to show
	}
	// A capture damaged part-way still has results for the packets before
	// the damage: print them, and say on stderr what cut them short. The
	// results were written, so the exit status is 0, as investigate's is
	// for the same file (the JSON says "truncated" and gives the warning).
	if perr := printAnalysis(stdout, cmd, cf.format, a, paletteFor(color, stdout)); perr != nil {
		return perr
	}
	if err != nil {
		fmt.Fprintf(stderr, "reconpcap: warning: %s\n", textsafe.Escape(err.Error(), 1000))
	}
	return nil
}

// findingTypes maps the one-detector commands to their finding type.
var findingTypes = map[string]report.AttackType{
	"scan": report.AttackPortScan,
	"http": report.AttackHTTPEnumeration,
	"dns":  report.AttackDNSTunneling,
}

func printAnalysis(w io.Writer, cmd, format string, a *detectors.Analysis, pal palette) error {
	switch format {
	case "html":
		// The page states the verdict investigate --offline would give,
		// from the same findings.
		ans := agent.RulesAnswer(a)
		rep := &report.Report{
			PcapFile: a.File, AttackAssessment: ans.AttackAssessment, Evidence: ans.Evidence,
			Recommendations: ans.Recommendations, Findings: a.Findings, Analyst: report.Analyst{Mode: report.ModeRules},
		}
		return htmlreport.Write(w, htmlreport.Input{Analysis: a, Report: rep})
	case "eve", "ecs":
		src := siem.Source{PcapFile: a.File}
		if a.Summary.Start != nil {
			src.Start = *a.Summary.Start
		}
		return siem.Write(w, siem.Format(format), src, filterFindings(a.Findings, findingTypes[cmd]))
	}
	if format == "json" {
		var v any
		switch cmd {
		case "analyze":
			v = a
		case "triage":
			v = struct {
				File      string                 `json:"file"`
				Format    string                 `json:"format"`
				Truncated bool                   `json:"truncated"`
				Warnings  []string               `json:"warnings"`
				Summary   detectors.Summary      `json:"summary"`
				Files     []string               `json:"files,omitempty"`
				Filter    *detectors.FilterCount `json:"filter,omitempty"`
			}{a.File, a.Format, a.Truncated, a.Warnings, a.Summary, a.Files, a.Filter}
		case "timeline":
			v = struct {
				File     string                 `json:"file"`
				Timeline detectors.Timeline     `json:"timeline"`
				Files    []string               `json:"files,omitempty"`
				Filter   *detectors.FilterCount `json:"filter,omitempty"`
			}{a.File, a.Timeline, a.Files, a.Filter}
		default:
			v = struct {
				File     string                 `json:"file"`
				Findings []report.Finding       `json:"findings"`
				Files    []string               `json:"files,omitempty"`
				Filter   *detectors.FilterCount `json:"filter,omitempty"`
			}{a.File, filterFindings(a.Findings, findingTypes[cmd]), a.Files, a.Filter}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch cmd {
	case "analyze":
		writeHeader(tw, a)
		writeSummary(tw, a.Summary)
		writeFindings(tw, a.Findings, pal)
	case "triage":
		writeHeader(tw, a)
		writeSummary(tw, a.Summary)
	case "timeline":
		writeHeader(tw, a)
		writeTimeline(tw, a.Timeline)
	default:
		writeHeader(tw, a)
		writeFindings(tw, filterFindings(a.Findings, findingTypes[cmd]), pal)
	}
	return nil
}

func filterFindings(all []report.Finding, t report.AttackType) []report.Finding {
	if t == "" { // analyze, triage, timeline: every finding
		return all
	}
	out := []report.Finding{}
	for _, f := range all {
		if f.Type == t {
			out = append(out, f)
		}
	}
	return out
}

func writeHeader(w io.Writer, a *detectors.Analysis) {
	s := a.Summary
	fmt.Fprintf(w, "Capture\t%s (%s%s)\n", textsafe.Escape(a.File, 1000), a.Format, map[bool]string{true: ", gzip", false: ""}[a.Compressed])
	if len(a.Files) > 0 {
		fmt.Fprintf(w, "Files\t%d, read as one capture in time order, frames numbered on across them\n", len(a.Files))
	}
	fmt.Fprintf(w, "Packets\t%d (%s on the wire)\n", s.TotalPackets, humanize.Bytes(s.TotalBytes))
	if a.Filter != nil {
		fmt.Fprintf(w, "Filter\t%s: kept %d of %d packets read\n", textsafe.Escape(a.Filter.Expression, 500), a.Filter.Kept, a.Filter.Read)
	}
	if s.Start != nil {
		fmt.Fprintf(w, "Time\t%s to %s (%s)\n", s.Start.Format(time.RFC3339Nano), s.End.Format(time.RFC3339Nano), time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "Link types\t%s\n", strings.Join(s.LinkTypes, ", "))
	if a.Truncated {
		fmt.Fprintf(w, "Truncated\tyes\n")
	}
	for _, warn := range a.Warnings {
		fmt.Fprintf(w, "Warning\t%s\n", textsafe.Escape(warn, 500))
	}
	fmt.Fprintln(w)
}

func writeSummary(w io.Writer, s detectors.Summary) {
	fmt.Fprintf(w, "Unique IPs\t%d\nFlows\t%d\n", s.UniqueIPs, s.Flows)
	fmt.Fprintf(w, "Protocols\t%s\n\n", protocolLine(s.Protocols))
	if len(s.TopTalkers) > 0 {
		fmt.Fprintln(w, "TOP TALKERS\tPACKETS\tBYTES\tSENT\tRECEIVED")
		for _, t := range s.TopTalkers {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", t.IP, t.Packets, humanize.Bytes(t.Bytes), humanize.Bytes(t.BytesSent), humanize.Bytes(t.BytesReceived))
		}
		fmt.Fprintln(w)
	}
	if len(s.TopPorts) > 0 {
		fmt.Fprintln(w, "TOP SERVER PORTS\tFLOWS\tPACKETS\tBYTES")
		for _, p := range s.TopPorts {
			fmt.Fprintf(w, "%d/%s\t%d\t%d\t%s\n", p.Port, p.Proto, p.Flows, p.Packets, humanize.Bytes(p.Bytes))
		}
		fmt.Fprintln(w)
	}
	if len(s.TopConversations) > 0 {
		fmt.Fprintln(w, "TOP CONVERSATIONS\tA->B\tB->A\tPACKETS")
		for _, c := range s.TopConversations {
			fmt.Fprintf(w, "%s <-> %s\t%s\t%s\t%d\n", c.A, c.B, humanize.Bytes(c.BytesAToB), humanize.Bytes(c.BytesBToA), c.Packets)
		}
		fmt.Fprintln(w)
	}
	if len(s.DNSNames) > 0 {
		fmt.Fprintf(w, "DNS NAMES QUERIED (%d distinct)\tQUERIES\n", s.DNSNamesDistinct)
		for _, n := range s.DNSNames {
			fmt.Fprintf(w, "%s\t%d\n", textsafe.Escape(n.Name, 80), n.Count)
		}
		fmt.Fprintln(w)
	}
}

func writeTimeline(w io.Writer, t detectors.Timeline) {
	width, startFormat := fmt.Sprintf("%ds", t.IntervalSeconds), time.RFC3339
	if t.IntervalMilliseconds > 0 {
		width, startFormat = fmt.Sprintf("%dms", t.IntervalMilliseconds), "2006-01-02T15:04:05.000Z07:00"
	}
	fmt.Fprintf(w, "Interval\t%s (%d intervals, %d with packets; mean %.1f packets, stddev %.1f)\n\n", width, t.TotalIntervals, len(t.Intervals), t.MeanPackets, t.StdDevPackets)
	fmt.Fprintln(w, "START\tPACKETS\tBYTES\tNEW FLOWS\tPROTOCOLS\t")
	for _, iv := range t.Intervals {
		mark := ""
		if iv.Burst {
			mark = "BURST"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%s\t%s\n", iv.Start.Format(startFormat), iv.Packets, humanize.Bytes(iv.Bytes), iv.NewFlows, protocolLine(iv.Protocols), mark)
	}
}

func writeFindings(w io.Writer, fs []report.Finding, pal palette) {
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings.")
		return
	}
	fmt.Fprintf(w, "FINDINGS (%d)\n", len(fs))
	for _, f := range fs {
		fmt.Fprintf(w, "%s %s %s: %s -> %s\n", pal.severity(f.Severity, "["+strings.ToUpper(string(f.Severity))+"/"+string(f.Confidence)+"]"), f.Type, textsafe.Escape(f.Technique, 64), f.Source, f.Target)
		fmt.Fprintf(w, "    %s\n", textsafe.Escape(f.Summary, 300))
		writeEvidenceRef(w, f)
	}
}

// writeEvidenceRef writes where a finding's evidence is: its frames, its
// ATT&CK techniques and the display filter that selects it.
func writeEvidenceRef(w io.Writer, f report.Finding) {
	var parts []string
	if f.Frames != nil {
		parts = append(parts, fmt.Sprintf("frames %d to %d, %s", f.Frames.First, f.Frames.Last, humanize.Count(f.Frames.Packets, "packet")))
	}
	if len(f.MITRE) > 0 {
		parts = append(parts, "ATT&CK "+strings.Join(f.MITRE, ", "))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "    evidence: %s\n", strings.Join(parts, "; "))
	}
	if f.DisplayFilter != "" {
		fmt.Fprintf(w, "    wireshark: %s\n", f.DisplayFilter)
	}
}

func protocolLine(m map[string]int64) string {
	// Busiest first; ties by name, so the line is the same every run.
	names := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
