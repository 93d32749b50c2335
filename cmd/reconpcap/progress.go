package main

import (
	"fmt"
	"io"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/humanize"
)

// progressEvery is the least time between two redraws: a few a second
// reads as live without costing the scan anything.
const progressEvery = 250 * time.Millisecond

// progress draws one line on a terminal, redrawn in place with \r: bytes
// read of the total, the rate, and the time left. It is the
// capture.Config.Progress hook; now is the clock (time.Now outside
// tests).
type progress struct {
	w       io.Writer
	now     func() time.Time
	start   time.Time
	last    time.Time
	drawn   bool
	lastLen int
	// prev is the last count seen; a smaller one starts the next pass
	// (the evidence pass reads the inputs again), counted from its own
	// start.
	prev int64
	pass int
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, now: now, start: t, last: t}
}

// update is called with the bytes read so far and the total; it redraws
// at most every progressEvery, and never in the first progressEvery, so a
// small file shows nothing.
func (p *progress) update(done, total int64) {
	t := p.now()
	if done < p.prev {
		p.pass++
		p.start = t
	}
	p.prev = done
	if t.Sub(p.last) < progressEvery {
		return
	}
	p.last = t
	line := "reading " + humanize.Bytes(done)
	if p.pass > 0 {
		line = "locating the findings' evidence: " + line
	}
	if total > 0 {
		line += fmt.Sprintf(" of %s (%d%%)", humanize.Bytes(total), done*100/total)
	}
	el := t.Sub(p.start).Seconds()
	if el > 0 && done > 0 {
		rate := float64(done) / el
		line += fmt.Sprintf(", %s/s", humanize.Bytes(int64(rate)))
		if total > done {
			left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
			line += ", " + left.String() + " left"
		}
	}
	pad := max(p.lastLen-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%*s", line, pad, "")
	p.lastLen = len(line)
	p.drawn = true
}

// done clears the line, if one was drawn, so what follows on the terminal
// starts clean.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%*s\r", p.lastLen, "")
		p.drawn = false
	}
}
