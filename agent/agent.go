package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/mcpserver"
	"github.com/agents-of-shield/reconpcap/report"
	"github.com/mark3labs/mcp-go/client"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ReconAgentPcap investigates one capture: it starts an MCP session with
// the bundled detection server (in process, or a subprocess over stdio),
// lets an analyst call the tools, and returns a validated report. It is
// safe for concurrent use: every investigation has its own MCP session;
// the in-process server, and so its analysis cache, is shared.
type ReconAgentPcap struct {
	cfg        Config
	mode       AnalystMode // resolved: rules or llm
	pcapPath   string      // absolute
	workingDir string      // absolute
	server     *mcpserver.Server
	log        *slog.Logger
	llm        *llmAnalyst
}

// New checks cfg, fills in its defaults and returns the agent. It does not
// read the capture: a missing capture is reported by Investigate, as it may
// appear later. Only a missing WorkingDir, which the bundled server needs,
// makes New fail with ErrCaptureNotFound, saying the directory is missing.
func New(cfg Config) (*ReconAgentPcap, error) {
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = "."
	}
	if cfg.PcapFile == "" {
		cfg.PcapFile = "traffic.pcap"
	}
	if cfg.ClientSessionTimeout == 0 {
		cfg.ClientSessionTimeout = 300 * time.Second
	}
	if cfg.ClientSessionTimeout < 0 {
		return nil, fmt.Errorf("%w: ClientSessionTimeout %v is negative", ErrConfig, cfg.ClientSessionTimeout)
	}
	if cfg.Analyst == "" {
		cfg.Analyst = AnalystAuto
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Detectors.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	wd, err := filepath.Abs(cfg.WorkingDir)
	if err != nil {
		return nil, fmt.Errorf("%w: working directory %q: %v", ErrConfig, cfg.WorkingDir, err)
	}
	if real, err := filepath.EvalSymlinks(wd); err == nil {
		wd = real
	}
	a := &ReconAgentPcap{cfg: cfg, workingDir: wd, pcapPath: joinClean(wd, cfg.PcapFile), log: cfg.Logger}
	llm, err := newLLMAnalyst(cfg)
	switch cfg.Analyst {
	case AnalystRules:
		a.mode = AnalystRules
	case AnalystLLM:
		if err != nil {
			return nil, err
		}
		a.mode, a.llm = AnalystLLM, llm
	case AnalystAuto:
		a.mode = AnalystRules
		if err == nil && llm != nil {
			a.mode, a.llm = AnalystLLM, llm
		}
	default:
		return nil, fmt.Errorf("%w: Analyst %q: want auto, llm or rules", ErrConfig, cfg.Analyst)
	}
	if cfg.ServerCommand == "" {
		srv, err := mcpserver.New(mcpserver.Config{Roots: []string{wd}, Detectors: cfg.Detectors, Logger: cfg.Logger})
		if err != nil {
			// The server refuses a missing root; the caller's problem is
			// then the missing directory, or the missing capture.
			if _, serr := os.Stat(wd); errors.Is(serr, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s: the working directory %s does not exist", ErrCaptureNotFound, a.pcapPath, wd)
			}
			if cerr := checkCapture(a.pcapPath); cerr != nil {
				return nil, cerr
			}
			return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
		}
		a.server = srv
	}
	return a, nil
}

// PcapFile returns the absolute path of the capture the agent investigates.
func (a *ReconAgentPcap) PcapFile() string { return a.pcapPath }

// Mode returns the analyst the agent uses: AnalystLLM or AnalystRules.
func (a *ReconAgentPcap) Mode() AnalystMode { return a.mode }

// Investigate runs one investigation and returns its validated report. It
// is bounded by ctx and by Config.ClientSessionTimeout. The errors a
// caller must handle wrap ErrCaptureNotFound, ErrOutsideRoot, ErrNotCapture,
// ErrSessionTimeout, ErrServerStart (and ErrModel with AnalystLLM).
//
// Config.OnEvent, when set, sees the investigation's events from
// EventStarted to EventFinished, one at a time and in order.
func (a *ReconAgentPcap) Investigate(ctx context.Context, trig Trigger) (*report.Report, error) {
	started := time.Now()
	if trig.Name == "" {
		trig.Name = "manual"
	}
	em := &emitter{id: newInvestigationID(), fn: a.cfg.OnEvent}
	log := a.log.With("investigation", em.id)
	tr := tracer(a.cfg.TracerProvider)
	ctx, sp := startSpan(ctx, tr, "invoke_agent reconpcap", trace.SpanKindInternal,
		attribute.String(attrOperation, "invoke_agent"), attribute.String(attrAgentName, "reconpcap"),
		attribute.String(attrInvestID, em.id), attribute.String(attrPcapFile, a.pcapPath), attribute.String(attrTrigger, trig.Name))
	log.Info("investigation started", "pcap_file", a.pcapPath, "trigger", trig.Name, "analyst", string(a.mode))
	em.emit(EventStarted{EventBase: em.base(), PcapFile: a.pcapPath, Trigger: trig.Name, Analyst: a.mode})
	rep, err := a.investigate(ctx, trig, em, log, tr, started)
	fin := EventFinished{EventBase: em.base(), Duration: time.Since(started), Err: err}
	if err != nil {
		log.Info("investigation failed", "duration", fin.Duration, "err", err)
	} else {
		fin.Verdict = rep.AttackAssessment
		log.Info("investigation finished", "duration", fin.Duration, "attack_type", string(rep.AttackAssessment.AttackType), "severity", string(rep.AttackAssessment.Severity))
	}
	endSpan(sp, err)
	em.emit(fin)
	return rep, err
}

func (a *ReconAgentPcap) investigate(ctx context.Context, trig Trigger, em *emitter, log *slog.Logger, tr trace.Tracer, started time.Time) (*report.Report, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, a.cfg.ClientSessionTimeout, ErrSessionTimeout)
	defer cancel()
	if err := a.checkTarget(); err != nil {
		return nil, err
	}
	sess, err := a.openSession(ctx)
	if err != nil {
		return nil, a.ctxError(ctx, err)
	}
	defer sess.close()
	sess.emit, sess.log, sess.tracer = em, log, tr

	fx, err := gatherFacts(ctx, sess)
	if err != nil {
		return nil, a.ctxError(ctx, outsideRoot(err))
	}
	factCalls := sess.toolCalls() // the rules analyst's work
	base := report.Report{
		Timestamp:            time.Now().UTC(),
		InvestigationTrigger: trig.Name,
		PcapFile:             a.pcapPath,
		Intelligence: report.Intelligence{
			TotalPackets: fx.TotalPackets,
			UniqueIPs:    fx.UniqueIPs,
			ThreatCount:  threatCount(fx.Findings),
			TotalBytes:   fx.TotalBytes,
		},
		Findings: fx.Findings,
	}
	var ans *report.Answer
	var analyst report.Analyst
	if a.mode == AnalystLLM {
		ans, analyst, err = a.llm.investigate(ctx, sess, fx, trig)
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.ctxError(ctx, err)
			}
			if a.cfg.Analyst == AnalystLLM && !errors.Is(err, errFallback) {
				return nil, err
			}
			log.Warn("model analyst failed; the rules analyst answers", "err", err)
			em.emit(EventFallback{EventBase: em.base(), Reason: err})
			ans = rulesAnswer(fx)
			analyst.Mode = report.ModeRules
			// One record: the model's calls, then the rules analyst's,
			// and the reason said once.
			analyst.ToolCalls = append(analyst.ToolCalls, factCalls...)
			why := strings.TrimPrefix(err.Error(), errFallback.Error()+": ")
			analyst.Note = clip("The model's answer could not be used, so the rules analyst wrote this report: "+why, 2000)
		}
	} else {
		// The rules analyst's work is the fact gathering. A model's record
		// stays its own: the calls it asked for, not the agent's fact
		// gathering or grounding checks.
		ans = rulesAnswer(fx)
		analyst.Mode = report.ModeRules
		analyst.ToolCalls = factCalls
	}
	analyst.DurationMS = time.Since(started).Milliseconds()
	base.Analyst = analyst
	rep := ans.Report(base)
	if err := rep.Validate(); err != nil {
		return nil, fmt.Errorf("the report failed validation: %w", err)
	}
	return rep, nil
}

// InvestigateAsync runs Investigate in its own goroutine. The channel is
// buffered for the one Result, so the goroutine never blocks on a caller
// that stopped listening; cancel ctx to stop the work itself.
func (a *ReconAgentPcap) InvestigateAsync(ctx context.Context, trig Trigger) <-chan Result {
	ch := make(chan Result, 1)
	go func() {
		r, err := a.Investigate(ctx, trig)
		ch <- Result{Report: r, Err: err}
	}()
	return ch
}

func (a *ReconAgentPcap) openSession(ctx context.Context) (*session, error) {
	var c *client.Client
	var err error
	if a.server != nil {
		c, err = client.NewInProcessClient(a.server.MCP())
	} else {
		c, err = stdioClient(ctx, a.cfg.ServerCommand, a.cfg.ServerArgs)
	}
	if err != nil {
		return nil, err
	}
	s, err := newSession(ctx, c, a.pcapPath, a.workingDir)
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// ctxError turns an error that ended because ctx ended into the typed
// error the caller expects.
func (a *ReconAgentPcap) ctxError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), ErrSessionTimeout) {
			return fmt.Errorf("%w after %v: %v", ErrSessionTimeout, a.cfg.ClientSessionTimeout, err)
		}
		return fmt.Errorf("investigation stopped: %w", ctx.Err())
	}
	return err
}

// checkCapture refuses a missing file or one that is not a capture before
// any analyst runs. The error reads as the capture's own error and matches
// both the agent's sentinel and the detectors' one with errors.Is.
func checkCapture(path string) error {
	_, err := capture.CheckCapture(path)
	return captureError(err)
}

// captureError gives a capture's error the agent's sentinel beside its own.
func captureError(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, capture.ErrNotFound), errors.Is(err, capture.ErrPermission), errors.Is(err, capture.ErrNotRegular):
		return &kindError{kind: ErrCaptureNotFound, err: err}
	}
	return &kindError{kind: ErrNotCapture, err: err}
}

// outsideRoot marks a tool error that says the capture lies outside the
// server's roots (a subprocess server started with another --root) with
// ErrOutsideRoot. Over stdio only the text of the server's error arrives.
func outsideRoot(err error) error {
	var te *ToolError
	if errors.As(err, &te) && strings.Contains(te.Message, mcpserver.ErrOutsideRoots.Error()) {
		return &kindError{kind: ErrOutsideRoot, err: err}
	}
	return err
}

// kindError gives an error a second identity for errors.Is without
// changing its message.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }
