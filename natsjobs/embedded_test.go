package natsjobs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// embedded starts an embedded server for one test.
func embedded(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, _ := embeddedServer(t)
	return js
}

// embeddedServer is embedded, with a function that opens another
// in-process connection to the same server.
func embeddedServer(t *testing.T) (jetstream.JetStream, func() (*nats.Conn, jetstream.JetStream)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, nc, err := Embedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); ns.Shutdown(); ns.WaitForShutdown() })
	if addr := ns.Addr(); addr != nil {
		t.Fatalf("the embedded server listens on %v", addr)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	another := func() (*nats.Conn, jetstream.JetStream) {
		nc, err := nats.Connect("", nats.InProcessServer(ns))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return nc, js
	}
	return js, another
}

// startWorkers runs n workers until the test ends.
func startWorkers(t *testing.T, js jetstream.JetStream, n int, w Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(ctx, js); err != nil {
				t.Errorf("Worker.Run: %v", err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// drained waits until the stream holds no job message: every one was
// acknowledged or terminated.
func drained(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		s, err := js.Stream(ctx, StreamName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream still holds %d job(s)", info.State.Msgs)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestEmbeddedSubmitWorkCollect(t *testing.T) {
	files := splitCapture(t, "benign_crawler.pcap", 300) // 766 packets: 3 files
	want := truth(t, files)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	res, err := Submit(ctx, js, SubmitOptions{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	if CheckJobID(res.Job) != nil || len(res.Files) != 3 || res.Duplicates != 0 {
		t.Fatalf("Submit = job %q, %d files, %d duplicates; want a valid generated ID, 3 files, 0 duplicates", res.Job, len(res.Files), res.Duplicates)
	}
	sc := newShardCounter()
	startWorkers(t, js, 2, Worker{Shard: sc.shard, AckWait: 2 * time.Second})

	got, err := Collect(ctx, js, res.Job, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPartials(t, res.Files, want), asStrings(got)); diff != "" {
		t.Errorf("Collect() mismatch (-want +got):\n%s", diff)
	}
	drained(t, js)

	// The same files again, in the same job: JetStream drops the
	// duplicates within its window.
	again, err := Submit(ctx, js, SubmitOptions{Job: res.Job, Files: files})
	if err != nil {
		t.Fatal(err)
	}
	if again.Duplicates != len(files) {
		t.Errorf("resubmit: %d duplicates, want %d", again.Duplicates, len(files))
	}
	// Past the window (a message without its ID, as JetStream would
	// accept after it): the worker finds the partial done.
	body, err := json.Marshal(jobMsg{Job: res.Job, File: res.Files[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, DefaultSubject, body); err != nil {
		t.Fatal(err)
	}
	drained(t, js)

	started, completed := sc.counts()
	for _, f := range files {
		if started[f] != 1 || completed[f] != 1 {
			t.Errorf("%s: sharded %d times (%d completed), want once", f, started[f], completed[f])
		}
	}
	got2, err := Collect(ctx, js, res.Job, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(asStrings(got), asStrings(got2)); diff != "" {
		t.Errorf("second Collect() differs (-first +second):\n%s", diff)
	}
}

// A job submitted one file per call (a tcpdump -z hook) is one job.
func TestSubmitOneFileAtATime(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100) // 266 packets: 3 files
	want := truth(t, files)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var all []File
	job := "rotated-2026_12_07"
	for _, f := range files {
		res, err := Submit(ctx, js, SubmitOptions{Job: job, Subject: "jobs.sensor-7", Files: []string{f}})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Files...)
	}
	sc := newShardCounter()
	startWorkers(t, js, 1, Worker{Subject: "jobs.sensor-7", Shard: sc.shard, AckWait: 2 * time.Second})
	got, err := Collect(ctx, js, job, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPartials(t, all, want), asStrings(got)); diff != "" {
		t.Errorf("Collect() mismatch (-want +got):\n%s", diff)
	}
}

// A file that fails every try is tried MaxDeliver times, then recorded
// failed; a file changed since it was submitted fails at once; Collect
// names both and returns the other partials.
func TestFailedFiles(t *testing.T) {
	files := splitCapture(t, "benign_crawler.pcap", 300)
	want := truth(t, files)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Submit(ctx, js, SubmitOptions{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	bad, changed, good := files[0], files[1], files[2]
	// Rewritten after submit: another modification time.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(changed, later, later); err != nil {
		t.Fatal(err)
	}
	sc := newShardCounter()
	sc.fail = map[string]bool{bad: true}
	startWorkers(t, js, 2, Worker{Shard: sc.shard, AckWait: 2 * time.Second, MaxDeliver: 2})

	got, err := Collect(ctx, js, res.Job, 30*time.Second)
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("Collect error = %v, want a *FailedError", err)
	}
	failed := map[string]string{}
	for _, f := range fe.Failed {
		failed[f.Path] = f.Err
	}
	if len(failed) != 2 || failed[bad] == "" || failed[changed] == "" {
		t.Errorf("failed files = %v, want %s and %s", failed, bad, changed)
	}
	if diff := cmp.Diff([]string{want[good]}, asStrings(got)); diff != "" {
		t.Errorf("partials of the good file mismatch (-want +got):\n%s", diff)
	}
	drained(t, js)
	started, _ := sc.counts()
	if started[bad] != 2 || started[changed] != 0 || started[good] != 1 {
		t.Errorf("shard calls = bad %d, changed %d, good %d; want 2 (MaxDeliver), 0, 1", started[bad], started[changed], started[good])
	}
}

func TestCollectWaits(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if _, err := Collect(ctx, js, "nobody-submitted", 300*time.Millisecond); !errors.Is(err, ErrNoJob) {
		t.Errorf("Collect of an unknown job: %v, want ErrNoJob", err)
	}
	res, err := Submit(ctx, js, SubmitOptions{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	// No worker: every file stays pending.
	_, err = Collect(ctx, js, res.Job, 500*time.Millisecond)
	var pe *PendingError
	if !errors.As(err, &pe) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Collect with no worker: %v, want a *PendingError wrapping ErrTimeout", err)
	}
	if pe.Done != 0 || len(pe.Pending) != len(files) {
		t.Errorf("pending: %d done, %d pending; want 0, %d", pe.Done, len(pe.Pending), len(files))
	}
	if _, err := Collect(ctx, js, "a.b", time.Second); !errors.Is(err, ErrBadName) {
		t.Errorf("Collect of job a.b: %v, want ErrBadName", err)
	}
}

// A file whose every try dies with its worker (no error to record) is
// still recorded failed, by the delivery after the last try, so that a
// merge does not wait for it for ever.
func TestEveryTryDies(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100)
	js, another := embeddedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Submit(ctx, js, SubmitOptions{Files: files[:1]})
	if err != nil {
		t.Fatal(err)
	}
	const ackWait = time.Second
	// Worker A takes the file and dies in it: its only try.
	ncA, jsA := another()
	scA := newShardCounter()
	inJob := make(chan struct{}, 1)
	scA.block = func(ctx context.Context, path string) error {
		inJob <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	ctxA, killA := context.WithCancel(ctx)
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		_ = Worker{Shard: scA.shard, AckWait: ackWait, MaxDeliver: 1}.Run(ctxA, jsA)
	}()
	<-inJob
	ncA.Close()
	killA()
	<-doneA

	scB := newShardCounter()
	startWorkers(t, js, 1, Worker{Shard: scB.shard, AckWait: ackWait, MaxDeliver: 1})
	_, err = Collect(ctx, js, res.Job, 30*time.Second)
	var fe *FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 1 || fe.Failed[0].Path != files[0] {
		t.Fatalf("Collect = %v, want a *FailedError naming %s", err, files[0])
	}
	if !strings.Contains(fe.Failed[0].Err, "no worker finished it") {
		t.Errorf("failure recorded as %q, want it to say no worker finished it", fe.Failed[0].Err)
	}
	if started, _ := scB.counts(); len(started) != 0 {
		t.Errorf("worker B sharded %v: past MaxDeliver it must only record the failure", started)
	}
	drained(t, js)
}

// A file that takes longer than AckWait stays with its worker, which
// reports progress: no second worker computes it too.
func TestSlowShardKeptAlive(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100)
	want := truth(t, files)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const ackWait = 500 * time.Millisecond
	sc := newShardCounter()
	sc.block = func(ctx context.Context, path string) error {
		select { // four times AckWait
		case <-time.After(4 * ackWait):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	startWorkers(t, js, 3, Worker{Shard: sc.shard, AckWait: ackWait})
	res, err := Submit(ctx, js, SubmitOptions{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Collect(ctx, js, res.Job, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPartials(t, res.Files, want), asStrings(got)); diff != "" {
		t.Errorf("Collect() mismatch (-want +got):\n%s", diff)
	}
	started, _ := sc.counts()
	for _, f := range files {
		if started[f] != 1 {
			t.Errorf("%s: started %d times, want once (the worker's progress reports keep it)", f, started[f])
		}
	}
}

// Forget removes a merged job's partials and keys, and no other job's.
func TestForget(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc := newShardCounter()
	startWorkers(t, js, 2, Worker{Shard: sc.shard, AckWait: 2 * time.Second})
	gone, err := Submit(ctx, js, SubmitOptions{Job: "gone", Files: files})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := Submit(ctx, js, SubmitOptions{Job: "kept", Files: files})
	if err != nil {
		t.Fatal(err)
	}
	keptParts, err := Collect(ctx, js, kept.Job, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(ctx, js, gone.Job, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := Forget(ctx, js, gone.Job); err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(ctx, js, gone.Job, 300*time.Millisecond); !errors.Is(err, ErrNoJob) {
		t.Errorf("Collect of a forgotten job: %v, want ErrNoJob", err)
	}
	obs, err := js.ObjectStore(ctx, PartialsBucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range gone.Files {
		if _, err := obs.GetInfo(ctx, objectName(gone.Job, f.ID)); !errors.Is(err, jetstream.ErrObjectNotFound) {
			t.Errorf("partial of %s after Forget: %v, want not found", f.Path, err)
		}
	}
	again, err := Collect(ctx, js, kept.Job, 10*time.Second)
	if err != nil {
		t.Fatalf("the other job after Forget: %v", err)
	}
	if diff := cmp.Diff(asStrings(keptParts), asStrings(again)); diff != "" {
		t.Errorf("the other job changed (-before +after):\n%s", diff)
	}
}

// A worker with Roots reads only files inside them, links resolved.
func TestWorkerRoots(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100)
	want := truth(t, files[2:])
	root := t.TempDir()
	link := filepath.Join(root, "link.pcap") // in the root, pointing out of it
	if err := os.Symlink(files[1], link); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(root, "inside.pcap")
	if err := os.Rename(files[2], inside); err != nil {
		t.Fatal(err)
	}
	want[inside] = want[files[2]]
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Submit(ctx, js, SubmitOptions{Files: []string{files[0], link, inside}})
	if err != nil {
		t.Fatal(err)
	}
	sc := newShardCounter()
	startWorkers(t, js, 1, Worker{Shard: sc.shard, AckWait: 2 * time.Second, Roots: []string{root}})
	got, err := Collect(ctx, js, res.Job, 30*time.Second)
	var fe *FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 2 {
		t.Fatalf("Collect = %v, want a *FailedError naming 2 files", err)
	}
	for _, f := range fe.Failed {
		if f.Path != files[0] && f.Path != link || !strings.Contains(f.Err, "outside") {
			t.Errorf("failed %s: %q; want %s and %s, outside the roots", f.Path, f.Err, files[0], link)
		}
	}
	if diff := cmp.Diff([]string{want[inside]}, asStrings(got)); diff != "" {
		t.Errorf("partials mismatch (-want +got):\n%s", diff)
	}
	if started, _ := sc.counts(); len(started) != 1 || started[inside] != 1 {
		t.Errorf("sharded %v, want only %s, once", started, inside)
	}
}

// A worker whose consumer is deleted under it makes it again and goes on.
func TestConsumerDeleted(t *testing.T) {
	files := splitCapture(t, "benign_browse.pcap", 100)
	want := truth(t, files)
	js := embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc := newShardCounter()
	startWorkers(t, js, 1, Worker{Shard: sc.shard, AckWait: 2 * time.Second})
	first, err := Submit(ctx, js, SubmitOptions{Files: files[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(ctx, js, first.Job, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsumer(ctx, durableName(DefaultSubject)); err != nil {
		t.Fatal(err)
	}
	rest, err := Submit(ctx, js, SubmitOptions{Files: files[1:]})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Collect(ctx, js, rest.Job, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPartials(t, rest.Files, want), asStrings(got)); diff != "" {
		t.Errorf("Collect() after the consumer was deleted mismatch (-want +got):\n%s", diff)
	}
}
