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
	// warnings says what the detector's bounds on memory made it drop,
	// and how much; nil when nothing was.
	warnings() []string
}

// Analysis is everything one pass over a capture learned: the summary, the
// timeline, the findings of every detector, and the state behind them.
type Analysis struct {
	File       string `json:"file"`
	Format     string `json:"format"`
	Compressed bool   `json:"compressed"`
	Truncated  bool   `json:"truncated"`
	// Files lists the files read, in the order read, when the capture was
	// given as more than one (AnalyzeInput); frame numbers run on across
	// them.
	Files []string `json:"files,omitempty"`
	// Filter says what the input's filter kept; nil without one.
	Filter   *FilterCount     `json:"filter,omitempty"`
	Warnings []string         `json:"warnings"`
	Summary  Summary          `json:"summary"`
	Timeline Timeline         `json:"timeline"`
	Findings []report.Finding `json:"findings"`

	// Config is the configuration (defaults filled in) the findings and
	// timeline above were made with.
	Config Config `json:"-"`

	capture  *capture.Capture
	summary  *summaryAnalyzer
	timeline *timelineAnalyzer
	tls      *tlsAnalyzer
	convs    []Conversation
	dets     detectorSet
	evidence *evidenceCache
	// input is what the pass read, kept while AnalyzeInput runs so the
	// evidence pass reads the same files with the same filter.
	input  *Input
	byPath bool
}

// FilterCount is what a filter kept of the packets read.
type FilterCount struct {
	Expression string `json:"expression"`
	Read       int    `json:"packets_read"`
	Kept       int    `json:"packets_kept"`
}

// Input is what AnalyzeInput reads: one or more files as one capture
// (capture.ScanFiles), with an optional filter and progress report.
type Input struct {
	// Sources are the files, in the order to read them (capture.OpenInputs
	// puts them in time order).
	Sources []capture.Source
	// Name is what the Analysis calls the capture ("" means the sources'
	// names joined by ", ").
	Name string
	// Filter, when not nil, keeps the packets the analyses see, in both
	// passes; FilterText is how the user wrote it, for the Analysis.
	Filter     capture.Filter
	FilterText string
	// Progress is capture.Config.Progress, for the first pass and then for
	// the evidence pass, which reads the inputs again from their start.
	Progress func(done, total int64)
	// Workers, above 1, spreads the decoding and analysis over that many
	// goroutines (capture.ScanSharded) while one reads; the result is the
	// same. Zero or one reads and analyses in one goroutine.
	Workers int
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
		dns:   newDNSDetector().configure(cfg.DNS).keyed(cfg.HashKey),
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
	return analyzeInput(ctx, Input{Sources: []capture.Source{{Name: name, File: f}}}, cfg, true)
}

// AnalyzeInput is AnalyzeFile on every file of in, read as one capture
// through in's filter: the analyses see only the packets it keeps, and
// the Analysis says how many that was in Filter. The files are read from
// their start and are not closed.
func AnalyzeInput(ctx context.Context, in Input, cfg Config) (*Analysis, error) {
	return analyzeInput(ctx, in, cfg, false)
}

// analyzeInput is AnalyzeInput; byPath says the one source's name is a
// path that LocateEvidence may open again after the analysis.
func analyzeInput(ctx context.Context, in Input, cfg Config, byPath bool) (*Analysis, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Defaults().withHashKey()
	a, c, err := accumulate(ctx, in, cfg, false)
	if c == nil {
		return nil, err
	}
	if errors.Is(err, context.Canceled) {
		return nil, err // a cancelled pass has nothing whole to report
	}
	a.capture = c
	return a.judge(ctx, in, byPath, err)
}

// accumulate reads in once with cfg (defaults filled in): one goroutine,
// or in.Workers sharing the packets by address pair, whose states merge.
// It returns the Analysis that accumulated, not yet judged, and the
// capture (nil when nothing could be read) apart, with the scan's error.
//
// The analyzers see a fragmented datagram's fragments once it settles
// (capture.Config.HoldFragments), so that a pass and parts merged agree;
// keepPending leaves the datagrams incomplete at the end pending, for a
// part (Accumulate).
func accumulate(ctx context.Context, in Input, cfg Config, keepPending bool) (*Analysis, *capture.Capture, error) {
	ccfg := capture.Config{MaxFlows: cfg.Limits.MaxFlows, Filter: in.Filter, Progress: in.Progress, HoldFragments: true, KeepPending: keepPending}
	if in.Workers <= 1 {
		a := newAnalysis(cfg)
		c, err := capture.ScanFiles(ctx, in.Sources, ccfg, a.analyzers()...)
		return a, c, err
	}
	parts := make([]*Analysis, in.Workers)
	for i := range parts {
		parts[i] = newAnalysis(cfg)
	}
	c, err := capture.ScanSharded(ctx, in.Sources, ccfg, in.Workers, func(i int) []capture.Analyzer { return parts[i].analyzers() })
	if c == nil {
		return nil, nil, err
	}
	a := parts[0]
	a.capture = c
	for _, p := range parts[1:] {
		a.mergeAnalyzers(p)
	}
	return a, c, err
}

// newAnalysis returns an Analysis ready to accumulate a pass with cfg
// (defaults filled in): every analyzer fresh, nothing judged.
func newAnalysis(cfg Config) *Analysis {
	return &Analysis{
		Config:   cfg,
		summary:  newSummaryAnalyzer(cfg.Limits, newSampleHash(cfg.HashKey)),
		timeline: newTimelineAnalyzer(cfg.TimelineInterval),
		tls:      newTLSAnalyzer(cfg),
		dets:     newDetectorSet(cfg),
		evidence: &evidenceCache{},
	}
}

// analyzers lists what accumulates during a pass, in the order each
// packet reaches them.
func (a *Analysis) analyzers() []capture.Analyzer {
	out := []capture.Analyzer{a.summary, a.timeline, a.tls}
	for _, d := range a.dets.all() {
		out = append(out, d)
	}
	return out
}

// judge turns what a pass (or several merged, see merge.go) accumulated
// into the summary, the timeline, the findings and the warnings, then
// locates the findings' frames in in's files. err is the pass's error,
// returned with the Analysis.
func (a *Analysis) judge(ctx context.Context, in Input, byPath bool, err error) (*Analysis, error) {
	cfg, c := a.Config, a.capture
	// A merged part's datagrams still pending are given up now that
	// every part is in; nothing is pending after a whole pass.
	c.Settle(a.analyzers()...)
	a.File, a.Format, a.Compressed, a.Truncated, a.Files = c.Path, c.Format, c.Compressed, c.Truncated, c.Files
	if in.Name != "" {
		a.File = in.Name
	}
	if in.Filter != nil {
		a.Filter = &FilterCount{Expression: in.FilterText, Read: c.Read, Kept: c.Packets}
	}
	a.input, a.byPath = &in, byPath
	defer func() { a.input = nil }()
	a.Warnings = append([]string{}, c.Warnings...)
	if c.Malformed > 0 {
		a.Warnings = append(a.Warnings, humanize.Count(c.Malformed, "packet")+" had a header the decoder could not read in full; what could be read was counted")
	}
	a.convs = a.summary.conversations(c)
	a.Summary = a.summary.summary(c, a.convs, cfg.TopN)
	a.Warnings = append(a.Warnings, a.summary.bounds.warnings(a.Summary.UniqueIPs)...)
	a.Timeline, _ = a.timeline.cut(c, a.timeline.fit(cfg.TimelineInterval))
	a.Warnings = append(a.Warnings, a.timeline.warnings()...)
	a.Findings = a.evaluate(cfg)
	// What the bounds on memory dropped (issue 16): each detector says
	// what it could not keep.
	for _, d := range a.dets.all() {
		a.Warnings = append(a.Warnings, d.warnings()...)
	}
	// A second pass, only when there is something to point at, ties each
	// finding to its packets (see LocateEvidence).
	if cfg.NoFrames || len(in.Sources) == 0 {
		for i := range a.Findings {
			describeEvidence(&a.Findings[i])
		}
	} else if lerr := a.LocateEvidence(ctx, a.Findings); lerr != nil && ctx.Err() != nil {
		return nil, errors.Join(err, lerr)
	}
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
	a.evidence.fill(out)
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
	return a.timeline.cut(a.capture, interval)
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
