package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// analyzeInputs analyses the captures the paths name (files, directories,
// "-") as one capture, through the filter flags, with a progress line on
// stderr when it is a terminal and show is set.
func analyzeInputs(ctx context.Context, paths []string, ff filterFlags, show bool, stdin io.Reader, stderr io.Writer, cfg detectors.Config, workers int) (*detectors.Analysis, error) {
	in, closeIn, err := openInput(paths, stdin, stderr, ff, workers, show)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	return detectors.AnalyzeInput(ctx, in, cfg)
}

// openInput opens the inputs (capture.OpenInputs: files, directories, -
// for stdin, in time order) with the filter of ff, as the analysis
// commands read them, with a progress line on stderr when it is a
// terminal and show is set; close clears the line and closes the files.
func openInput(paths []string, stdin io.Reader, stderr io.Writer, ff filterFlags, workers int, show bool) (in detectors.Input, close func(), err error) {
	if slices.Contains(paths, capture.StdinName) {
		if f, ok := stdin.(*os.File); ok && isTerminal(f) {
			// Reading a capture typed at the keyboard would wait forever.
			return in, nil, usagef("- reads a capture from standard input, which is a terminal: pipe one in (cat x.pcap | reconpcap analyze -)")
		}
	}
	ins, err := capture.OpenInputs(paths, stdin)
	if err != nil {
		return in, nil, err
	}
	for _, s := range ins.Skipped {
		fmt.Fprintf(stderr, "reconpcap: skipped %s\n", textsafe.Escape(s, 1000))
	}
	in = detectors.Input{Sources: ins.Sources, Workers: workers}
	if len(paths) > 1 || len(ins.Sources) > 1 {
		in.Name = strings.Join(paths, " ")
	}
	if ff.set() {
		x, text, err := ff.build(ins.Start)
		if err != nil {
			ins.Close()
			return in, nil, err
		}
		in.Filter, in.FilterText = x, text
	}
	if show && isTerminal(stderr) {
		p := newProgress(stderr, time.Now)
		in.Progress = p.update
		return in, func() { p.done(); ins.Close() }, nil
	}
	return in, func() { ins.Close() }, nil
}

// defaultWorkers is --workers' default: one per core.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }
