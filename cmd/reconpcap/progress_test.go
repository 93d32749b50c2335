package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressRedrawsAFewTimesASecond(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var w bytes.Buffer
	p := newProgress(&w, clock.now)
	steps := []struct {
		after      time.Duration
		done, tot  int64
		wantOutput string
	}{
		// Nothing in the first quarter second: a small file shows none.
		{100 * time.Millisecond, 1e6, 100e6, ""},
		// 50 MB in 1 s of 100 MB: 50 MB/s, 1 s left.
		{900 * time.Millisecond, 50e6, 100e6, "\rreading 50.00 MB of 100.00 MB (50%), 50.00 MB/s, 1s left"},
		// Less than progressEvery since the last redraw: none.
		{100 * time.Millisecond, 55e6, 100e6, ""},
		// 90 MB in 1.5 s: 60 MB/s, 10 MB left is 0.17 s, rounded to 0s.
		{400 * time.Millisecond, 90e6, 100e6, "\rreading 90.00 MB of 100.00 MB (90%), 60.00 MB/s, 0s left"},
		// An unknown total (0): bytes and rate only; the shorter line
		// is padded over the longer one before it.
		{time.Second, 100e6, 0, "\rreading 100.00 MB, 40.00 MB/s" + strings.Repeat(" ", len("reading 90.00 MB of 100.00 MB (90%), 60.00 MB/s, 0s left")-len("reading 100.00 MB, 40.00 MB/s"))},
	}
	for i, s := range steps {
		clock.t = clock.t.Add(s.after)
		w.Reset()
		p.update(s.done, s.tot)
		if w.String() != s.wantOutput {
			t.Errorf("step %d: wrote %q, want %q", i, w.String(), s.wantOutput)
		}
	}
	w.Reset()
	p.done()
	if want := "\r" + strings.Repeat(" ", len("reading 100.00 MB, 40.00 MB/s")) + "\r"; w.String() != want {
		t.Errorf("done wrote %q, want %q", w.String(), want)
	}
	w.Reset()
	p.done()
	if w.Len() != 0 {
		t.Errorf("a second done wrote %q", w.String())
	}
}

// TestNoProgressOffATerminal: stderr that is not a terminal gets no
// progress, only what it got before; stdout holds the JSON alone.
func TestNoProgressOffATerminal(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"analyze", "--format", "json", "../../testdata/scan_slow.pcap"}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if errb.Len() != 0 || strings.Contains(out.String(), "reading") {
		t.Errorf("stderr %q, stdout has progress: %v", errb.String(), strings.Contains(out.String(), "reading"))
	}
}

// TestProgressEvidencePass: when the count starts again from a smaller
// number, the evidence pass is reading the inputs again: the line says so
// and its rate counts from that pass's start.
func TestProgressEvidencePass(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var w bytes.Buffer
	p := newProgress(&w, clock.now)
	clock.t = clock.t.Add(2 * time.Second)
	p.update(100e6, 100e6) // the first pass ends after 2 s
	clock.t = clock.t.Add(time.Second)
	p.update(1e6, 100e6) // the second pass begins
	clock.t = clock.t.Add(time.Second)
	w.Reset()
	p.update(21e6, 100e6) // 21 MB in the pass's first second
	if want := "\rlocating the findings' evidence: reading 21.00 MB of 100.00 MB (21%), 21.00 MB/s, 4s left"; !strings.HasPrefix(w.String(), want) {
		t.Errorf("wrote %q, want it to start %q", w.String(), want)
	}
}
