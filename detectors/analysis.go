package detectors

import (
	"cmp"
	"context"
	"errors"
	"os"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// detector is an analysis that judges what it accumulated and reports
// findings. Findings may be called many times, and concurrently, after the
// pass: it reads the detector's state and never changes it, so new
// thresholds are answered without reading the capture again.
type detector interface {
	capture.Analyzer

	Findings(cfg Config, c *capture.Capture) []report.Finding
}

// Analysis is everything one pass over a capture learned: the summary, the
// timeline, the findings of every detector, and the state behind them.
type Analysis struct {
	File       string           `json:"file"`
	Format     string           `json:"format"`
	Compressed bool             `json:"compressed"`
	Truncated  bool             `json:"truncated"`
	Warnings   []string         `json:"warnings"`
	Summary    Summary          `json:"summary"`
	Timeline   Timeline         `json:"timeline"`
	Findings   []report.Finding `json:"findings"`

	// Config is the configuration (defaults filled in) the findings and
	// timeline above were made with.
	Config Config `json:"-"`

	capture  *capture.Capture
	summary  *summaryAnalyzer
	timeline *timelineAnalyzer
	tls      *tlsAnalyzer
	convs    []Conversation
	dets     detectorSet
}

// detectorSet holds the detectors of one pass, typed so that the
// accessors (DNS, Transfers, HTTPRequests, ...) read their state directly.
// A new detector is one field here, one line in newDetectorSet and one in
// all.
type detectorSet struct {
	dns   *dnsDetector
	scans *portscanDetector
	exfil *exfilDetector
	http  *httpDetector
}

// newDetectorSet returns one fresh instance of every detector.
func newDetectorSet(cfg Config) detectorSet {
	return detectorSet{
		dns:   newDNSDetector(),
		scans: newPortscanDetector(cfg.Limits),
		exfil: newExfilDetector(cfg.Limits),
		http:  newHTTPDetector(cfg),
	}
}

// all lists the detectors in the order their findings are gathered; it is
// empty for an Analysis that was not made by Analyze.
func (s detectorSet) all() []detector {
	if s.dns == nil {
		return nil
	}
	return []detector{s.dns, s.scans, s.exfil, s.http}
}

// Analyze reads the capture at path once and runs every analysis over every
// packet. cfg's zero fields take their defaults; an invalid cfg is an error
// wrapping ErrInvalidConfig. It is AnalyzeFile on the file opened at path.
//
// The errors are those of capture.Scan. When a capture is damaged part-way,
// Analyze returns the Analysis of the packets before the damage together
// with the *CaptureError, and the Analysis carries the problem in Warnings.
// When ctx's deadline passes first, Analyze judges the packets read until
// then and returns that Analysis with no error: Capture().Stopped is set
// and Warnings says where the read stopped. A cancelled ctx is an error.
func Analyze(ctx context.Context, path string, cfg Config) (*Analysis, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return AnalyzeFile(ctx, f, path, cfg)
}

// AnalyzeFile is Analyze on the open file f, read from its start; name is
// what the Analysis and errors call it. f is checked and read as it is,
// never reopened by name, and is not closed. The MCP server opens a path
// once under its policy and analyses that descriptor.
func AnalyzeFile(ctx context.Context, f *os.File, name string, cfg Config) (*Analysis, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Defaults()
	a := &Analysis{
		Config:   cfg,
		summary:  newSummaryAnalyzer(cfg.Limits),
		timeline: newTimelineAnalyzer(),
		tls:      newTLSAnalyzer(cfg),
		dets:     newDetectorSet(cfg),
	}
	analyzers := []capture.Analyzer{a.summary, a.timeline, a.tls}
	for _, d := range a.dets.all() {
		analyzers = append(analyzers, d)
	}
	c, err := capture.ScanFile(ctx, f, name, capture.Config{MaxFlows: cfg.Limits.MaxFlows}, analyzers...)
	if c == nil {
		return nil, err
	}
	if errors.Is(err, context.Canceled) {
		return nil, err // a cancelled pass has nothing whole to report
	}
	a.capture = c
	a.File, a.Format, a.Compressed, a.Truncated = c.Path, c.Format, c.Compressed, c.Truncated
	a.Warnings = append([]string{}, c.Warnings...)
	if c.Malformed > 0 {
		a.Warnings = append(a.Warnings, humanize.Count(c.Malformed, "packet")+" had a header the decoder could not read in full; what could be read was counted")
	}
	a.convs = a.summary.conversations(c)
	a.Summary = a.summary.summary(c, a.convs, cfg.TopN)
	a.Warnings = append(a.Warnings, a.summary.bounds.warnings(a.Summary.UniqueIPs)...)
	a.Timeline, _ = a.timeline.cut(cfg.TimelineInterval)
	a.Findings = a.evaluate(cfg)
	a.Warnings = append(a.Warnings, a.dets.scans.warnings()...)
	return a, err
}

// Evaluate judges the capture again with other thresholds, from the state
// the pass kept: the file is not read again.
func (a *Analysis) Evaluate(cfg Config) ([]report.Finding, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return a.evaluate(cfg.Defaults()), nil
}

func (a *Analysis) evaluate(cfg Config) []report.Finding {
	out := []report.Finding{}
	for _, d := range a.dets.all() {
		out = append(out, d.Findings(cfg, a.capture)...)
	}
	SortFindings(out)
	return out
}

// SortFindings orders findings most severe first, then by confidence,
// type, source and target, so output is stable.
func SortFindings(f []report.Finding) {
	slices.SortStableFunc(f, func(x, y report.Finding) int {
		return cmp.Or(
			cmp.Compare(y.Severity.Rank(), x.Severity.Rank()),
			cmp.Compare(y.Confidence.Rank(), x.Confidence.Rank()),
			cmp.Compare(x.Type, y.Type),
			cmp.Compare(x.Source, y.Source),
			cmp.Compare(x.Target, y.Target),
			cmp.Compare(x.Technique, y.Technique),
		)
	})
}

// TimelineAt cuts the timeline at another interval from the one-second
// buckets the pass kept: the file is not read again.
func (a *Analysis) TimelineAt(interval time.Duration) (Timeline, error) {
	return a.timeline.cut(interval)
}

// Capture returns what the pass learned about the file and its connections.
func (a *Analysis) Capture() *capture.Capture { return a.capture }

// Conversations returns every address pair, largest first (the summary
// keeps only the top ones).
func (a *Analysis) Conversations() []Conversation { return a.convs }

// Talkers returns every address with its traffic, busiest first.
func (a *Analysis) Talkers() []Talker {
	if a.summary == nil {
		return talkers(a.convs, nil)
	}
	return talkers(a.convs, a.summary.bounds.hosts)
}
