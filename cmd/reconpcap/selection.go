package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// isDir reports whether path names a directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// selectPackets writes the packets the filter flags select from the
// inputs (files, directories of rotated captures, - for stdin, read as one
// capture in time order, as analyze reads them) to one new pcapng: to
// keep when keep names it (never overwritten), else to a temporary file
// that cleanup removes. investigate then reads it like any capture, so
// its frame numbers are the selection's.
func selectPackets(ctx context.Context, paths []string, ff filterFlags, keep string, stdin io.Reader, stderr io.Writer) (path string, cleanup func(), err error) {
	if len(paths) == 0 {
		paths = []string{"traffic.pcap"}
	}
	if slices.Contains(paths, capture.StdinName) {
		if f, ok := stdin.(*os.File); ok && isTerminal(f) {
			return "", nil, usagef("- reads a capture from standard input, which is a terminal: pipe one in (cat x.pcap | reconpcap investigate -)")
		}
	}
	ins, err := capture.OpenInputs(paths, stdin)
	if err != nil {
		return "", nil, err
	}
	defer ins.Close()
	for _, s := range ins.Skipped {
		fmt.Fprintf(stderr, "reconpcap: skipped %s\n", textsafe.Escape(s, 1000))
	}
	var x filter.Expr
	if ff.set() {
		if x, _, err = ff.build(ins.Start); err != nil {
			return "", nil, err
		}
	}
	cleanup = func() {}
	if keep != "" {
		path = keep
	} else {
		dir, err := os.MkdirTemp("", "reconpcap-selection-")
		if err != nil {
			return "", nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		path = filepath.Join(dir, "selection.pcapng")
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		cleanup()
		if errors.Is(err, os.ErrExist) {
			return "", nil, usagef("--selection %s exists: it is never overwritten", textsafe.Escape(path, 1000))
		}
		return "", nil, err
	}
	carved, cerr := detectors.CarveSources(ctx, ins.Sources, x, out)
	if err := out.Close(); err != nil && cerr == nil {
		cerr = err
	}
	var ce *capture.CaptureError
	if cerr != nil && !errors.As(cerr, &ce) || carved.Packets == 0 {
		if keep != "" {
			os.Remove(path)
		}
		cleanup()
		if cerr == nil {
			cerr = errors.New("the inputs and filter select no packet")
		}
		return "", nil, cerr
	}
	if cerr != nil {
		fmt.Fprintf(stderr, "reconpcap: warning: %s\n", textsafe.Escape(cerr.Error(), 1000))
	}
	where := "a temporary capture, removed afterwards"
	if keep != "" {
		where = textsafe.Escape(keep, 1000)
	}
	fmt.Fprintf(stderr, "reconpcap: investigating %d packets selected from %d files, written to %s (the report's frames number them)\n", carved.Packets, len(ins.Sources), where)
	return path, cleanup, nil
}
