package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/mcpserver"
	"github.com/agents-of-shield/reconpcap/report"
)

// corpusDir holds the shared corpus of public captures; tests that use it
// skip when it is absent.
const corpusDir = "../../shared/corpus"

// testdataDir holds the captures recorded with real tools and their
// ground truth (testdata/README.md, testdata/ground_truth.json).
const testdataDir = "../testdata"

// binDir holds the reconpcap binary built for the subprocess-server tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reconpcap-agent-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// reconpcapBin builds cmd/reconpcap once for the subprocess tests.
func reconpcapBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		p := filepath.Join(binDir, "reconpcap")
		// Built with the test's own -race setting, the packages come from
		// the build cache of the test binary: only the link is new.
		args := []string{"build", "-o", p}
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "-race" && s.Value == "true" {
					args = append(args, "-race")
				}
			}
		}
		out, err := exec.Command("go", append(args, "../cmd/reconpcap")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = p
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// serverChildren returns the pids of running processes started from bin.
func serverChildren(t *testing.T, bin string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue // gone, or a kernel thread
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if argv[0] == bin {
			// A zombie has an empty cmdline, so a match is a live process.
			pids = append(pids, filepath.Base(filepath.Dir(p))+" "+strings.Join(argv, " "))
		}
	}
	return pids
}

// expectation is what an investigation of one capture must conclude.
type expectation struct {
	File      string // relative to its directory
	Dir       string
	Attack    report.AttackType
	Target    string
	Severity  report.Severity
	Packets   int64 // -1: not known
	UniqueIPs int   // -1: not known
}

func (e expectation) String() string {
	return fmt.Sprintf("%s: %s %s %s", e.File, e.Attack, e.Target, e.Severity)
}

// checkReport asserts what every report of the rules analyst must hold,
// then the expectation.
func checkReport(t *testing.T, rep *report.Report, want expectation, trigger string) {
	t.Helper()
	if err := rep.Validate(); err != nil {
		t.Errorf("report does not validate: %v", err)
	}
	a := rep.AttackAssessment
	if a.AttackType != want.Attack || a.Target != want.Target || a.Severity != want.Severity {
		t.Errorf("assessment = %s %s %s (confidence %s), want %s %s %s\nevidence:\n  %s",
			a.AttackType, a.Target, a.Severity, a.Confidence, want.Attack, want.Target, want.Severity, strings.Join(rep.Evidence, "\n  "))
	}
	// threat_count counts the findings that decide the verdict (medium
	// severity and confidence or more); the rest are notes.
	deciding := 0
	for _, f := range rep.Findings {
		if f.Severity.Rank() >= report.SeverityMedium.Rank() && f.Confidence.Rank() >= report.ConfidenceMedium.Rank() {
			deciding++
		}
	}
	if want.Attack == report.AttackUnknown {
		if rep.Intelligence.ThreatCount != 0 || deciding != 0 {
			t.Errorf("benign capture: threat_count %d, %d deciding findings, want 0: %+v", rep.Intelligence.ThreatCount, deciding, rep.Findings)
		}
	} else if rep.Intelligence.ThreatCount < 1 {
		t.Errorf("threat_count %d for an attack", rep.Intelligence.ThreatCount)
	}
	if rep.Intelligence.ThreatCount != deciding {
		t.Errorf("threat_count %d, but %d deciding findings", rep.Intelligence.ThreatCount, deciding)
	}
	if want.Packets >= 0 && rep.Intelligence.TotalPackets != want.Packets {
		t.Errorf("total_packets = %d, want %d", rep.Intelligence.TotalPackets, want.Packets)
	}
	if want.UniqueIPs >= 0 && rep.Intelligence.UniqueIPs != want.UniqueIPs {
		t.Errorf("unique_ips = %d, want %d", rep.Intelligence.UniqueIPs, want.UniqueIPs)
	}
	if rep.Analyst.Mode != report.ModeRules {
		t.Errorf("analyst.mode = %q, want rules", rep.Analyst.Mode)
	}
	for _, tool := range []string{"read_pcap_summary", "list_findings"} {
		if !slices.Contains(rep.Analyst.ToolCalls, tool) {
			t.Errorf("analyst.tool_calls %q lacks %s", rep.Analyst.ToolCalls, tool)
		}
	}
	if rep.InvestigationTrigger != trigger {
		t.Errorf("investigation_trigger = %q, want %q", rep.InvestigationTrigger, trigger)
	}
	abs, _ := filepath.Abs(filepath.Join(want.Dir, want.File))
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if rep.PcapFile != abs {
		t.Errorf("pcap_file = %q, want %q", rep.PcapFile, abs)
	}
	// The report survives a JSON round trip and still validates.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decoding the report's JSON: %v", err)
	}
	if err := back.Validate(); err != nil {
		t.Errorf("the decoded report does not validate: %v", err)
	}
}

func rulesAgent(t *testing.T, e expectation, mod ...func(*Config)) *ReconAgentPcap {
	t.Helper()
	cfg := Config{WorkingDir: e.Dir, PcapFile: e.File, Analyst: AnalystRules, ClientSessionTimeout: 60 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func subprocess(bin, root string) func(*Config) {
	return func(c *Config) {
		c.ServerCommand = bin
		c.ServerArgs = []string{"mcp", "--root", root}
	}
}

// corpusExpectations are a few corpus captures with a known verdict.
func corpusExpectations(t *testing.T) []expectation {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "expected.json")); err != nil {
		return nil
	}
	want := []expectation{
		{File: "austina-portscandetector/halfopen15.pcap", Attack: report.AttackPortScan, Target: "10.10.2.36", Severity: report.SeverityMedium},
		{File: "suricata-verify/tests/mime/mime-stream-depth/input.pcap", Attack: report.AttackDataExfiltration, Target: "10.9.18.101", Severity: report.SeverityMedium},
		{File: "dmachard-malicious-dns/sods.pcap", Attack: report.AttackDNSTunneling, Target: "192.168.1.17", Severity: report.SeverityHigh},
		{File: "zeek/testing/btest/Traces/wikipedia.pcap", Attack: report.AttackUnknown, Target: report.TargetUnknown, Severity: report.SeverityLow},
	}
	b, err := os.ReadFile(filepath.Join(corpusDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Files map[string]struct {
			TotalPackets *int64 `json:"total_packets"`
			UniqueIPs    *int   `json:"unique_ips"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("corpus expected.json: %v", err)
	}
	var out []expectation
	for _, e := range want {
		// Each capture sits in its own directory: that is the agent's root.
		e.Dir = filepath.Join(corpusDir, filepath.Dir(e.File))
		f, ok := exp.Files[e.File]
		if !ok || f.TotalPackets == nil || f.UniqueIPs == nil {
			t.Fatalf("corpus expected.json has no total_packets/unique_ips for %s", e.File)
		}
		e.Packets, e.UniqueIPs = *f.TotalPackets, *f.UniqueIPs
		e.File = filepath.Base(e.File)
		out = append(out, e)
	}
	return out
}

// allExpectations are the real-tool captures of testdata/ and the corpus
// captures.
func allExpectations(t *testing.T) []expectation {
	t.Helper()
	return append(testdataExpectations(t), corpusExpectations(t)...)
}

// TestInvestigate is issue 5's acceptance: every real-tool capture of
// testdata/ (and a few corpus captures) gets the verdict of its ground
// truth from the rules analyst, with the in-process server and with
// `reconpcap mcp` as a subprocess, and no server process outlives the
// investigations.
func TestInvestigate(t *testing.T) {
	exps := allExpectations(t)
	if len(exps) == 0 {
		t.Fatal("no captures to investigate")
	}
	bin := reconpcapBin(t)
	ctx := context.Background()
	t.Run("group", func(t *testing.T) {
		for _, e := range exps {
			t.Run(e.File, func(t *testing.T) {
				t.Parallel()
				inproc, err := rulesAgent(t, e).Investigate(ctx, Trigger{Name: "acceptance"})
				if err != nil {
					t.Fatalf("in process: %v", err)
				}
				checkReport(t, inproc, e, "acceptance")

				sub, err := rulesAgent(t, e, subprocess(bin, e.Dir)).Investigate(ctx, Trigger{})
				if err != nil {
					t.Fatalf("subprocess: %v", err)
				}
				checkReport(t, sub, e, "manual")
				// Same verdict, same numbers, same evidence both ways.
				if inproc.AttackAssessment != sub.AttackAssessment {
					t.Errorf("in process %+v, subprocess %+v", inproc.AttackAssessment, sub.AttackAssessment)
				}
				if inproc.Intelligence != sub.Intelligence {
					t.Errorf("intelligence: in process %+v, subprocess %+v", inproc.Intelligence, sub.Intelligence)
				}
				if !slices.Equal(inproc.Evidence, sub.Evidence) {
					t.Errorf("evidence differs:\n  %s\nvs\n  %s", strings.Join(inproc.Evidence, "\n  "), strings.Join(sub.Evidence, "\n  "))
				}
				if !slices.Equal(inproc.Analyst.ToolCalls, sub.Analyst.ToolCalls) {
					t.Errorf("tool calls: in process %q, subprocess %q", inproc.Analyst.ToolCalls, sub.Analyst.ToolCalls)
				}
			})
		}
	})
	if left := serverChildren(t, bin); len(left) > 0 {
		t.Errorf("server processes left after every Investigate returned: %q", left)
	}
}

// TestInvestigateSubprocessStops: the `reconpcap mcp` subprocess is gone
// by the time Investigate returns, after a report and after an error.
func TestInvestigateSubprocessStops(t *testing.T) {
	bin := reconpcapBin(t)
	e := expectation{File: "scan_syn.pcap", Dir: testdataDir, Attack: report.AttackPortScan, Target: "10.66.0.20", Severity: report.SeverityHigh, Packets: -1, UniqueIPs: -1}
	for i := range 3 {
		rep, err := rulesAgent(t, e, subprocess(bin, testdataDir)).Investigate(context.Background(), Trigger{})
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, e, "manual")
		if left := serverChildren(t, bin); len(left) > 0 {
			t.Fatalf("run %d: server processes left after Investigate returned: %q", i, left)
		}
	}
	// A root the server refuses to read from: the tools fail, the
	// investigation fails, and the server still stops.
	_, err := rulesAgent(t, e, subprocess(bin, t.TempDir())).Investigate(context.Background(), Trigger{})
	var te *ToolError
	if !errors.As(err, &te) || !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("a capture outside the server's root: err = %v, want a *ToolError matching ErrOutsideRoot", err)
	}
	if left := serverChildren(t, bin); len(left) > 0 {
		t.Errorf("server processes left after a failed investigation: %q", left)
	}
	// A cancelled investigation stops its server too.
	ctx, cancel := context.WithCancel(context.Background())
	ch := rulesAgent(t, e, subprocess(bin, testdataDir)).InvestigateAsync(ctx, Trigger{})
	time.Sleep(50 * time.Millisecond)
	cancel()
	if r := <-ch; r.Err != nil && !errors.Is(r.Err, context.Canceled) {
		t.Errorf("cancelled: %v", r.Err)
	}
	if left := serverChildren(t, bin); len(left) > 0 {
		t.Errorf("server processes left after a cancelled investigation: %q", left)
	}
}

// TestInvestigateCaptureBound checks the session binds tool calls to the
// agent's capture: another capture in the same directory is refused.
func TestInvestigateCaptureBound(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(testdataDir, "scan_syn.pcap"), filepath.Join(dir, "traffic.pcap"))
	copyFile(t, filepath.Join(testdataDir, "scan_udp.pcap"), filepath.Join(dir, "other.pcap"))
	a, err := New(Config{WorkingDir: dir, Analyst: AnalystRules})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sess, err := a.openSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	_, err = sess.call(ctx, "read_pcap_summary", map[string]any{"pcap_file": "other.pcap"})
	var te *ToolError
	if !errors.As(err, &te) || !strings.Contains(te.Message, "bound to its own capture") {
		t.Errorf("another capture: err = %v, want a *ToolError saying the session is bound", err)
	}
	for _, args := range []map[string]any{nil, {"pcap_file": "traffic.pcap"}, {"pcap_file": filepath.Join(a.workingDir, "traffic.pcap"), "working_dir": a.workingDir}} {
		var sum mcpserver.SummaryResult
		if err := sess.callInto(ctx, "read_pcap_summary", args, &sum); err != nil {
			t.Errorf("args %v: %v", args, err)
		} else if sum.TotalPackets == 0 {
			t.Errorf("args %v: no packets in the summary", args)
		}
	}
}

// TestInvestigateDefaults: Config{WorkingDir: dir} investigates
// dir/traffic.pcap, the Python tool's default.
func TestInvestigateDefaults(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(testdataDir, "scan_syn.pcap"), filepath.Join(dir, "traffic.pcap"))
	a, err := New(Config{WorkingDir: dir, Analyst: AnalystRules})
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if want := filepath.Join(real, "traffic.pcap"); a.PcapFile() != want {
		t.Errorf("PcapFile() = %q, want %q", a.PcapFile(), want)
	}
	if a.Mode() != AnalystRules {
		t.Errorf("Mode() = %q", a.Mode())
	}
	rep, err := a.Investigate(context.Background(), Trigger{Name: "orchestrator", Details: map[string]any{"alert": "ids-42"}})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, expectation{File: "traffic.pcap", Dir: dir, Attack: report.AttackPortScan, Target: "10.66.0.20", Severity: report.SeverityHigh, Packets: -1, UniqueIPs: 2}, "orchestrator")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInvestigateErrors: the typed errors a caller must handle, returned
// before any analyst runs.
func TestInvestigateErrors(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(testdataDir, "scan_syn.pcap"), filepath.Join(dir, "traffic.pcap"))
	if err := os.WriteFile(filepath.Join(dir, "notes.pcap"), []byte("these are my notes, not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.pcap"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir.pcap"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want []error
		msg  string
	}{
		{"missing capture", Config{WorkingDir: dir, PcapFile: "nope.pcap"}, []error{ErrCaptureNotFound, capture.ErrNotFound}, "nope.pcap"},
		{"missing directory", Config{WorkingDir: filepath.Join(dir, "gone")}, []error{ErrCaptureNotFound}, "traffic.pcap"},
		{"a directory", Config{WorkingDir: dir, PcapFile: "adir.pcap"}, []error{ErrCaptureNotFound}, "adir.pcap"},
		{"a text file", Config{WorkingDir: dir, PcapFile: "notes.pcap"}, []error{ErrNotCapture}, "notes.pcap"},
		{"an empty file", Config{WorkingDir: dir, PcapFile: "empty.pcap"}, []error{ErrNotCapture}, "empty.pcap"},
		{"no such server command", Config{WorkingDir: dir, ServerCommand: filepath.Join(dir, "no-such-reconpcap")}, []error{ErrServerStart}, "no-such-reconpcap"},
		// A command that exits at once: the session cannot initialise.
		{"a server that exits", Config{WorkingDir: dir, ServerCommand: "true"}, []error{ErrServerStart}, "initialize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Analyst = AnalystRules
			tt.cfg.ClientSessionTimeout = 20 * time.Second
			// A missing WorkingDir fails in New already (the bundled
			// server needs its root); everything else in Investigate.
			a, err := New(tt.cfg)
			if err == nil {
				var rep *report.Report
				rep, err = a.Investigate(context.Background(), Trigger{})
				if rep != nil {
					t.Errorf("a report with an error: %+v", rep.AttackAssessment)
				}
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want one wrapping %v", err, w)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q does not mention %q", err, tt.msg)
			}
		})
	}
	// A text file named traffic.pcap, as the issue has it.
	t.Run("text traffic.pcap", func(t *testing.T) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "traffic.pcap"), []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := New(Config{WorkingDir: d, Analyst: AnalystRules})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Investigate(context.Background(), Trigger{})
		if !errors.Is(err, ErrNotCapture) || errors.Is(err, ErrCaptureNotFound) {
			t.Errorf("err = %v, want ErrNotCapture only", err)
		}
	})
}

// TestNewConfigErrors: a Config that cannot work fails in New with ErrConfig.
func TestNewConfigErrors(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	tests := []struct {
		name string
		cfg  Config
		msg  string
	}{
		{"unknown analyst", Config{Analyst: "x"}, `Analyst "x"`},
		{"negative timeout", Config{ClientSessionTimeout: -time.Second}, "negative"},
		{"llm without key or base URL", Config{Analyst: AnalystLLM}, "OPENAI_API_KEY"},
		{"bad detector thresholds", Config{Detectors: detectors.Config{PortScan: detectors.PortScanConfig{Threshold: -1}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, %v; want an error wrapping ErrConfig", a, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q does not mention %q", err, tt.msg)
			}
		})
	}
	// Auto without a key falls back to the rules analyst.
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode() != AnalystRules {
		t.Errorf("auto without a key: Mode() = %q, want rules", a.Mode())
	}
}

// waitGoroutines waits until the goroutine count is back to at most
// before, and fails with every stack when it is not.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	n := runtime.NumGoroutine()
	for n > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines left over (before %d, after %d):\n%s", n-before, before, n, buf)
	}
}

// TestInvestigateAsyncConcurrent: 50 concurrent investigations on one
// agent, and more over several captures and agents, each with a deadline;
// every result is valid and no goroutine is left afterwards.
func TestInvestigateAsyncConcurrent(t *testing.T) {
	before := runtime.NumGoroutine()
	e := expectation{File: "scan_syn.pcap", Dir: testdataDir, Attack: report.AttackPortScan, Target: "10.66.0.20", Severity: report.SeverityHigh, Packets: -1, UniqueIPs: -1}
	a := rulesAgent(t, e)

	type pending struct {
		want expectation
		ch   <-chan Result
		stop context.CancelFunc
	}
	var waiting []pending
	for i := range 50 {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		waiting = append(waiting, pending{e, a.InvestigateAsync(ctx, Trigger{Name: fmt.Sprintf("async-%d", i)}), cancel})
	}
	// Several captures, each with its own agent, three calls each.
	var others []expectation
	for _, x := range testdataExpectations(t) {
		if x.File != e.File && len(others) < 4 {
			others = append(others, x)
		}
	}
	for _, x := range others {
		ax := rulesAgent(t, x)
		for i := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			waiting = append(waiting, pending{x, ax.InvestigateAsync(ctx, Trigger{Name: fmt.Sprintf("%s-%d", x.File, i)}), cancel})
		}
	}
	var first *report.Report
	for i, c := range waiting {
		r := <-c.ch
		c.stop()
		if r.Err != nil {
			t.Errorf("call %d (%s): %v", i, c.want.File, r.Err)
			continue
		}
		trig := fmt.Sprintf("async-%d", i)
		if i >= 50 {
			trig = fmt.Sprintf("%s-%d", c.want.File, (i-50)%3)
		}
		checkReport(t, r.Report, c.want, trig)
		if i < 50 {
			if first == nil {
				first = r.Report
			} else if !slices.Equal(first.Evidence, r.Report.Evidence) || first.Intelligence != r.Report.Intelligence {
				t.Errorf("call %d: a different report from the same capture", i)
			}
		}
		// The channel delivers one result, then nothing: it is not closed
		// and not written again.
		select {
		case extra := <-c.ch:
			t.Errorf("call %d: a second result %+v", i, extra)
		default:
		}
	}
	waitGoroutines(t, before)
}

// TestInvestigateAsyncAbandoned: callers that never read their channel
// leak nothing; the goroutine ends once its result is buffered.
func TestInvestigateAsyncAbandoned(t *testing.T) {
	before := runtime.NumGoroutine()
	a := rulesAgent(t, expectation{File: "scan_udp.pcap", Dir: testdataDir})
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = a.InvestigateAsync(ctx, Trigger{})
		defer cancel()
	}
	waitGoroutines(t, before)
}

// TestInvestigateCancelled: a cancelled ctx ends the investigation
// promptly with an error wrapping context.Canceled.
func TestInvestigateCancelled(t *testing.T) {
	before := runtime.NumGoroutine()
	a := rulesAgent(t, expectation{File: "scan_syn.pcap", Dir: testdataDir})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	rep, err := a.Investigate(ctx, Trigger{})
	if !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("already cancelled: %v, %v; want an error wrapping context.Canceled", rep, err)
	}
	if errors.Is(err, ErrSessionTimeout) {
		t.Errorf("a cancel is not a session timeout: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v to notice a cancelled ctx", d)
	}

	// Cancelled while the calls are in flight: the result is either a
	// report (it finished first) or context.Canceled, and comes promptly.
	for i := range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		ch := a.InvestigateAsync(ctx, Trigger{})
		time.Sleep(time.Duration(i) * time.Millisecond)
		cancel()
		start := time.Now()
		select {
		case r := <-ch:
			if r.Err != nil && !errors.Is(r.Err, context.Canceled) {
				t.Errorf("cancelled after %d ms: %v, want context.Canceled", i, r.Err)
			}
			if r.Err == nil {
				if err := r.Report.Validate(); err != nil {
					t.Error(err)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no result %v after the cancel", time.Since(start))
		}
	}
	waitGoroutines(t, before)
}

// TestInvestigateSessionTimeout: ClientSessionTimeout bounds the whole
// investigation, in process and with a server that never answers.
func TestInvestigateSessionTimeout(t *testing.T) {
	a := rulesAgent(t, expectation{File: "scan_syn.pcap", Dir: testdataDir}, func(c *Config) { c.ClientSessionTimeout = time.Nanosecond })
	_, err := a.Investigate(context.Background(), Trigger{})
	if !errors.Is(err, ErrSessionTimeout) {
		t.Errorf("tiny timeout: err = %v, want ErrSessionTimeout", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("a timeout is not a cancel: %v", err)
	}

	// A "server" that reads its stdin and never answers: the session
	// times out, and the process is stopped with it.
	tmp := t.TempDir()
	hangSh, pidFile := filepath.Join(tmp, "hang.sh"), filepath.Join(tmp, "pid")
	if err := os.WriteFile(hangSh, []byte("#!/bin/sh\necho $$ >"+pidFile+"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a = rulesAgent(t, expectation{File: "scan_syn.pcap", Dir: testdataDir}, func(c *Config) {
		c.ServerCommand = hangSh
		c.ClientSessionTimeout = 300 * time.Millisecond
	})
	start := time.Now()
	_, err = a.Investigate(context.Background(), Trigger{})
	if !errors.Is(err, ErrSessionTimeout) {
		t.Errorf("hung server: err = %v, want ErrSessionTimeout", err)
	}
	// The server is killed when the session times out.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("hung server: took %v", d)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the hung server never ran: %v", err)
	}
	// Its parent (this process) reaps it, so a gone server has no /proc entry.
	if _, err := os.Stat("/proc/" + string(bytes.TrimSpace(pid))); err == nil {
		t.Errorf("the hung server (pid %s) is still running", bytes.TrimSpace(pid))
	}
}

// groundTruth is the part of testdata/ground_truth.json the agent tests
// read: each capture's origin, counts and the findings it must give.
type groundTruth map[string]struct {
	Origin       string `json:"origin"`
	TotalPackets *int64 `json:"total_packets"`
	UniqueIPs    *int   `json:"unique_ips"`
	Expected     []struct {
		Type     report.AttackType `json:"type"`
		Source   string            `json:"source"`
		Target   string            `json:"target"`
		Severity report.Severity   `json:"severity"`
		// Confidence is written only where a recording is meant to be
		// reported below high confidence; absent, it is high (a recording
		// of a known attack).
		Confidence report.Confidence `json:"confidence"`
	} `json:"expected"`
}

// knownDisagreements are captures whose ground truth severity and the
// detectors' own tests disagree on. The test asserts the detectors' value,
// so any change shows, and logs the disagreement each run. None today.
var knownDisagreements = map[string]struct {
	severity report.Severity
	why      string
}{}

// testdataExpectations turns the real-tool captures of
// testdata/ground_truth.json into report verdicts by the contract's rules:
// only findings of medium severity or more and of medium confidence or more
// (absent: high) decide; no such finding is unknown/unknown/low; one type
// is that type, more are multiple; the target is the attacked host (for
// exfiltration and DNS tunnels the host whose data leaves, the finding's
// source), or multiple_targets; the severity is the highest, raised to
// critical when one source runs several types or a high exfiltration
// leaves the network.
func testdataExpectations(t *testing.T) []expectation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, "ground_truth.json"))
	if err != nil {
		t.Fatalf("the real-tool captures' ground truth: %v", err)
	}
	var gt groundTruth
	if err := json.Unmarshal(b, &gt); err != nil {
		t.Fatalf("ground_truth.json: %v", err)
	}
	var out []expectation
	for _, file := range slices.Sorted(maps.Keys(gt)) {
		g := gt[file]
		if !strings.HasPrefix(g.Origin, "real tool") {
			continue
		}
		if g.TotalPackets == nil || g.UniqueIPs == nil {
			t.Fatalf("ground_truth.json: %s has no total_packets or unique_ips", file)
		}
		if _, err := os.Stat(filepath.Join(testdataDir, file)); err != nil {
			t.Fatalf("ground_truth.json names %s: %v", file, err)
		}
		e := expectation{File: file, Dir: testdataDir, Packets: *g.TotalPackets, UniqueIPs: *g.UniqueIPs,
			Attack: report.AttackUnknown, Target: report.TargetUnknown, Severity: report.SeverityLow}
		types, targets := map[report.AttackType]bool{}, map[string]bool{}
		stages := map[string]map[report.AttackType]bool{}
		for _, f := range g.Expected {
			if f.Severity.Rank() < report.SeverityMedium.Rank() || f.Confidence == report.ConfidenceLow {
				continue // a note: it decides nothing
			}
			types[f.Type] = true
			victim := f.Target
			if f.Type == report.AttackDataExfiltration || f.Type == report.AttackDNSTunneling {
				victim = f.Source
			}
			targets[victim] = true
			if stages[f.Source] == nil {
				stages[f.Source] = map[report.AttackType]bool{}
			}
			stages[f.Source][f.Type] = true
			if f.Severity.Rank() > e.Severity.Rank() {
				e.Severity = f.Severity
			}
			sure := f.Confidence == "" || f.Confidence == report.ConfidenceHigh
			if f.Type == report.AttackDataExfiltration && f.Severity == report.SeverityHigh && sure && !netip.MustParseAddr(f.Target).IsPrivate() {
				e.Severity = report.SeverityCritical
			}
			e.Attack, e.Target = f.Type, victim
		}
		if len(types) > 1 {
			e.Attack = report.AttackMultiple
		}
		if len(targets) > 1 {
			e.Target = report.TargetMultiple
		}
		for _, ts := range stages {
			if len(ts) > 1 {
				e.Severity = report.SeverityCritical
			}
		}
		if k, ok := knownDisagreements[file]; ok {
			t.Logf("%s: %s; expecting %s", file, k.why, k.severity)
			e.Severity = k.severity
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		t.Fatal("ground_truth.json lists no real-tool capture")
	}
	return out
}
