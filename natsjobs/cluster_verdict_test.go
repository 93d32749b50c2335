package natsjobs

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
)

// detectorShard is reconpcap worker's analysis of one file: the detectors'
// accumulated state, encoded, with the job's hash key.
func detectorShard(ctx context.Context, job, path string) ([]byte, error) {
	ins, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	p, err := detectors.Accumulate(ctx, detectors.Input{Sources: ins.Sources}, detectors.Config{HashKey: "job " + job})
	if p == nil {
		return nil, err
	}
	return p.MarshalBinary()
}

// findingsAndSummary renders what issue 15 asks a cluster to agree on
// with one pass: the findings (frames included) and the summary.
func findingsAndSummary(t *testing.T, a *detectors.Analysis) string {
	t.Helper()
	b, err := json.MarshalIndent(struct {
		Summary  detectors.Summary
		Findings any
	}{a.Summary, a.Findings}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClusterVerdictEqualsWholeFile is issue 15's acceptance on a three-
// node JetStream cluster: every testdata recording cut with editcap -c
// into 2, 5 and 20 files, each cut submitted as a job, analysed by two
// workers on different nodes of which one dies in the middle of its first
// job, collected, merged and judged, gives exactly the findings and
// summary of the whole file.
func TestClusterVerdictEqualsWholeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.pcap*"))
	ctx := context.Background()
	type job struct {
		name, want string
		files      []string
		id         string
	}
	var jobs []*job
	for _, path := range paths {
		if strings.HasPrefix(filepath.Base(path), "gen_") {
			continue // generated edge cases, not recordings
		}
		whole, err := detectors.Analyze(ctx, path, detectors.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2, 5, 20} {
			per := (whole.Capture().Read + n - 1) / n
			jobs = append(jobs, &job{name: fmt.Sprintf("%s/%d", filepath.Base(path), n), want: findingsAndSummary(t, whole), files: splitCapture(t, filepath.Base(path), per)})
		}
	}
	servers := startCluster(t)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	_, jsSubmit := connect(t, servers[2])
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := openStore(actx, jsSubmit, StoreOptions{})
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("JetStream cluster not ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Worker A, on node 1, dies in its first job; worker B, on node 2,
	// runs throughout.
	ncA, jsA := connect(t, servers[0])
	_, jsB := connect(t, servers[1])
	inJob := make(chan struct{})
	var once sync.Once
	shardA := func(ctx context.Context, job, path string) ([]byte, error) {
		once.Do(func() { close(inJob) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	const ackWait = 2 * time.Second
	ctxA, killA := context.WithCancel(ctx)
	doneA := make(chan error, 1)
	go func() { doneA <- Worker{Shard: shardA, AckWait: ackWait}.Run(ctxA, jsA) }()
	for i, j := range jobs {
		res, err := Submit(ctx, jsSubmit, SubmitOptions{Job: "verdict-" + strconv.Itoa(i), Files: j.files})
		if err != nil {
			t.Fatal(err)
		}
		j.id = res.Job
	}
	<-inJob
	ctxB, stopB := context.WithCancel(ctx)
	var wgB sync.WaitGroup
	wgB.Add(1)
	go func() {
		defer wgB.Done()
		if err := (Worker{Shard: detectorShard, AckWait: ackWait}).Run(ctxB, jsB); err != nil {
			t.Errorf("worker B: %v", err)
		}
	}()
	defer func() { stopB(); wgB.Wait() }()
	ncA.Close()
	killA()
	<-doneA

	for _, j := range jobs {
		parts, err := Collect(ctx, jsSubmit, j.id, 2*time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", j.name, err)
		}
		if len(parts) != len(j.files) {
			t.Fatalf("%s: %d partials for %d files", j.name, len(parts), len(j.files))
		}
		var ps []*detectors.Partial
		for _, b := range parts {
			var p detectors.Partial
			if err := p.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			ps = append(ps, &p)
		}
		m, err := detectors.MergePartials(ps...)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Packets(); got == 0 {
			t.Fatalf("%s: nothing merged", j.name)
		}
		names := m.Files()
		if !slices.Equal(names, j.files) {
			t.Errorf("%s: merged files %v, want %v", j.name, names, j.files)
		}
		var srcs []capture.Source
		for _, f := range j.files {
			srcs = append(srcs, capture.Source{Name: f, Path: f})
		}
		a, err := m.Judge(ctx, detectors.Input{Sources: srcs})
		if err != nil {
			t.Fatal(err)
		}
		if got := findingsAndSummary(t, a); got != j.want {
			t.Errorf("%s: the cluster's verdict differs from the whole file's:\n%s", j.name, lineDiff(j.want, got))
		}
	}
}

// lineDiff shows the first differing line of two renderings.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d\n want: %s\n  got: %s", i+1, w[i], g[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
