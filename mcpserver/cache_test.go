package mcpserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
)

// countingServer is a server whose parses are counted and can be held.
type countingServer struct {
	*Server
	parses  atomic.Int64
	gate    chan struct{} // when non-nil, each parse waits for it (or its ctx)
	started chan struct{} // receives once per parse start
}

func newCountingServer(t *testing.T, cfg Config, hold bool) *countingServer {
	t.Helper()
	cs := &countingServer{started: make(chan struct{}, 64)}
	if hold {
		cs.gate = make(chan struct{})
	}
	s, err := newServer(cfg, func(ctx context.Context, f *os.File, path string, dc detectors.Config) (*detectors.Analysis, error) {
		cs.parses.Add(1)
		cs.started <- struct{}{}
		if cs.gate != nil {
			select {
			case <-cs.gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return detectors.AnalyzeFile(ctx, f, path, dc)
	})
	if err != nil {
		t.Fatal(err)
	}
	cs.Server = s
	return cs
}

func TestCacheFiveToolsOneParse(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 2, 12)
	cs := newCountingServer(t, Config{Roots: []string{dir}}, false)
	c := testClient(t, cs.Server)
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"read_pcap_summary", nil},
		{"detect_port_scanning", nil},
		{"detect_http_anomalies", nil},
		{"detect_data_exfiltration", nil},
		{"get_traffic_timeline", nil},
		// Arguments that only re-cut the analysis: no new parse.
		{"detect_port_scanning", map[string]any{"threshold": 13}},
		{"detect_data_exfiltration", map[string]any{"threshold_bytes": 10}},
		{"get_traffic_timeline", map[string]any{"interval_seconds": 1}},
		{"list_findings", nil},
		{"get_conversations", nil},
	} {
		res := callTool(t, c, call.tool, call.args)
		if res.IsError {
			t.Fatalf("%s: %s", call.tool, text(t, res))
		}
	}
	if n := cs.parses.Load(); n != 1 {
		t.Errorf("%d parses, want 1", n)
	}
	st := cs.Stats()
	if st.Parses != 1 || st.Hits != 9 || st.Entries != 1 || st.Bytes <= 0 {
		t.Errorf("stats %+v, want 1 parse, 9 hits, 1 entry", st)
	}
	// The threshold really re-judged: 12 ports is a scan at 10, not at 13.
	at10 := decode[PortScanResult](t, c, "detect_port_scanning", nil)
	at13 := decode[PortScanResult](t, c, "detect_port_scanning", map[string]any{"threshold": 13})
	if !at10.PortScanDetected || at10.Total != 2 || at13.PortScanDetected {
		t.Errorf("threshold 10: %v (%d), threshold 13: %v; want 2 scans then none", at10.PortScanDetected, at10.Total, at13.PortScanDetected)
	}
	if n := cs.parses.Load(); n != 1 {
		t.Errorf("%d parses after threshold changes, want 1", n)
	}
}

// callTool is call without the t.Fatal on tool errors, for loops.
var callTool = call

func TestCacheChangedFileIsReadAgain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "traffic.pcap")
	writeScanCapture(t, path, 1, 12)
	cs := newCountingServer(t, Config{Roots: []string{dir}}, false)
	c := testClient(t, cs.Server)
	first := decode[SummaryResult](t, c, "read_pcap_summary", nil)
	writeScanCapture(t, path, 3, 12)
	// Make sure the modification time moves even on coarse clocks.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	second := decode[SummaryResult](t, c, "read_pcap_summary", nil)
	if first.TotalPackets != 24 || second.TotalPackets != 72 {
		t.Errorf("packets %d then %d, want 24 then 72", first.TotalPackets, second.TotalPackets)
	}
	if n := cs.parses.Load(); n != 2 {
		t.Errorf("%d parses, want 2", n)
	}
	if st := cs.Stats(); st.Entries != 1 {
		t.Errorf("%d entries, want the old version replaced", st.Entries)
	}
}

func TestCacheConcurrentCallsShareOneParse(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 5, 12)
	cs := newCountingServer(t, Config{Roots: []string{dir}}, true)
	c := testClient(t, cs.Server)
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := range 20 {
		tool := ToolNames[i%len(ToolNames)]
		wg.Go(func() {
			res, err := callErr(context.Background(), c, tool, nil)
			if err != nil || res.IsError {
				errs <- tool
			}
		})
	}
	<-cs.started
	// Let every call reach the cache before the parse ends.
	deadline := time.Now().Add(5 * time.Second)
	for cs.Stats().Shared < 19 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(cs.gate)
	wg.Wait()
	close(errs)
	for tool := range errs {
		t.Errorf("%s failed", tool)
	}
	if n := cs.parses.Load(); n != 1 {
		t.Errorf("%d parses for 20 concurrent calls, want 1", n)
	}
}

// TestCacheCancellation checks a caller that gives up does not fail the
// parse others wait for, and that the parse stops when everyone gives up.
func TestCacheCancellation(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	cs := newCountingServer(t, Config{Roots: []string{dir}}, true)
	// get takes the file the policy opened, as the tools do.
	get := func(ctx context.Context, s *countingServer) (*detectors.Analysis, error) {
		f, path, err := s.policy.Open("", "")
		if err != nil {
			return nil, err
		}
		return s.cache.get(ctx, f, path)
	}

	impatient, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { _, err := get(impatient, cs); done <- err }()
	<-cs.started
	var patientA *detectors.Analysis
	go func() {
		a, err := get(context.Background(), cs)
		patientA = a
		done <- err
	}()
	for cs.Stats().Shared < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("impatient caller: %v, want context.Canceled", err)
	}
	close(cs.gate)
	if err := <-done; err != nil || patientA == nil || patientA.Summary.TotalPackets != 24 {
		t.Fatalf("patient caller: %v, want the analysis", err)
	}

	// Everyone gives up: the parse is cancelled, and nothing is cached.
	cs2 := newCountingServer(t, Config{Roots: []string{dir}}, true)
	ctx, cancel2 := context.WithCancel(context.Background())
	go func() { _, err := get(ctx, cs2); done <- err }()
	<-cs2.started
	cancel2()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("sole caller: %v, want context.Canceled", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		cs2.cache.mu.Lock()
		flights := len(cs2.cache.flights)
		cs2.cache.mu.Unlock()
		if flights == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if st := cs2.Stats(); st.Entries != 0 {
		t.Errorf("a cancelled parse was cached: %+v", st)
	}
	// The next caller starts afresh.
	close(cs2.gate)
	if a, err := get(context.Background(), cs2); err != nil || a == nil {
		t.Fatalf("after cancellation: %v", err)
	}
	if n := cs2.parses.Load(); n != 2 {
		t.Errorf("%d parses, want 2 (the cancelled one and a fresh one)", n)
	}
}

// TestToolCallCancelled checks a cancelled call through the client stops
// waiting and the parse behind it.
func TestToolCallCancelled(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	cs := newCountingServer(t, Config{Roots: []string{dir}}, true)
	c := testClient(t, cs.Server)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := callErr(ctx, c, "read_pcap_summary", nil); errc <- err }()
	<-cs.started
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("cancelled call returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled call did not return")
	}
}

func TestCacheBounds(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.pcap", "b.pcap", "c.pcap"} {
		writeScanCapture(t, filepath.Join(dir, n), 1, 12)
	}
	cs := newCountingServer(t, Config{Roots: []string{dir}, CacheEntries: 2}, false)
	c := testClient(t, cs.Server)
	for _, n := range []string{"a.pcap", "b.pcap", "c.pcap", "c.pcap", "a.pcap"} {
		decode[SummaryResult](t, c, "read_pcap_summary", map[string]any{"pcap_file": n})
	}
	// a, b, c read; c hit; a was evicted by c and is read again.
	if n := cs.parses.Load(); n != 4 {
		t.Errorf("%d parses, want 4", n)
	}
	if st := cs.Stats(); st.Entries != 2 {
		t.Errorf("%d entries, want 2", st.Entries)
	}
	// A byte budget smaller than any analysis keeps nothing.
	tiny := newCountingServer(t, Config{Roots: []string{dir}, CacheBytes: 1}, false)
	tc := testClient(t, tiny.Server)
	decode[SummaryResult](t, tc, "read_pcap_summary", map[string]any{"pcap_file": "a.pcap"})
	decode[SummaryResult](t, tc, "read_pcap_summary", map[string]any{"pcap_file": "a.pcap"})
	if n := tiny.parses.Load(); n != 2 {
		t.Errorf("%d parses with a 1-byte budget, want 2", n)
	}
}

// TestPanicsAreRecovered checks a panic in a parse or a handler becomes a
// protocol error and the server goes on serving.
func TestPanicsAreRecovered(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 1, 12)
	// The first analysis panics, as a decoder bug would; later ones are
	// real, so the call after the panics shows the server still works.
	var analyses atomic.Int32
	s, err := newServer(Config{Roots: []string{dir}}, func(ctx context.Context, f *os.File, path string, cfg detectors.Config) (*detectors.Analysis, error) {
		if analyses.Add(1) == 1 {
			panic("decoder bug")
		}
		return detectors.AnalyzeFile(ctx, f, path, cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.MCP().AddTools(typedTool(s, toolSpec[DNSArgs, DNSResult]{
		name: "boom", desc: "panics", args: func() DNSArgs { return DNSArgs{} },
		run: func(context.Context, DNSArgs) (*DNSResult, error) { panic("handler bug") },
	}))
	c := testClient(t, s)
	args := map[string]any{"working_dir": dir, "pcap_file": "traffic.pcap"}
	for _, tool := range []string{"read_pcap_summary", "boom"} {
		res, err := callErr(t.Context(), c, tool, args)
		if err == nil && (res == nil || !res.IsError) {
			t.Errorf("%s: a panic gave neither an error nor an error result", tool)
		}
	}
	// A real call after both panics: the capture holds one SYN and one
	// RST-ACK for each of 12 ports, 24 packets between 2 addresses.
	sum := decode[SummaryResult](t, c, "read_pcap_summary", args)
	if sum.TotalPackets != 24 || sum.UniqueIPs != 2 {
		t.Errorf("after the panics: %d packets, %d addresses; want 24 and 2", sum.TotalPackets, sum.UniqueIPs)
	}
	if n := analyses.Load(); n != 2 {
		t.Errorf("%d analyses, want 2: the panicked one must not be cached", n)
	}
}
