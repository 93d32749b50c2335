package capture

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// StdinName is the path that stands for standard input in OpenInputs.
const StdinName = "-"

// stdinLabel is what the Capture and errors call standard input.
const stdinLabel = "standard input"

// Inputs are the files of one capture given as many paths: files,
// directories of rotated captures, and "-" for standard input. Sources
// lists them in time order, ready for ScanFiles: files by path (opened
// one at a time by the scan), standard input as an open temporary file;
// Close closes that.
type Inputs struct {
	Sources []Source
	// Skipped says, for each file of a directory that was left out, why
	// (empty, or not a capture): a directory may hold other files.
	Skipped []string
	// Start is the earliest first-packet timestamp of the files (zero when
	// none has a packet): the capture's start, before it is read.
	Start time.Time
}

// OpenInputs opens every capture the paths name, as one capture:
//
//   - a file is read as it is (pcap, pcapng, either gzip-compressed);
//   - a directory stands for every regular file directly in it (not in
//     its subdirectories, not those whose name starts with "."); those
//     that are empty or are not captures are skipped and listed in
//     Skipped, as tcpdump -G/-C leaves a file it just opened empty;
//   - "-" is standard input, read from stdin: it is copied to an unnamed
//     temporary file first, because the evidence references need a
//     second pass; it may be given once.
//
// The files are put in the order of their first packet's timestamp (not
// their names: tcpdump -C numbers its files capture, capture1, ...
// capture10 that sort wrongly as text), ties kept in the order given; a
// file with no packet goes first. A named file that cannot be opened or
// is not a capture is an error, and nothing stays open.
func OpenInputs(paths []string, stdin io.Reader) (*Inputs, error) {
	in := &Inputs{}
	type timed struct {
		src   Source
		first time.Time
	}
	var all []timed
	ok := false
	defer func() {
		if !ok {
			in.Close()
			for _, t := range all {
				if t.src.File != nil {
					t.src.File.Close()
				}
			}
		}
	}()
	add := func(name string, f *os.File, fromDir, keepOpen bool) error {
		first, err := firstTime(f, name)
		if err != nil {
			if fromDir && (errors.Is(err, ErrEmpty) || errors.Is(err, ErrNotCapture)) {
				f.Close()
				in.Skipped = append(in.Skipped, fmt.Sprintf("%s: %v", name, err))
				return nil
			}
			f.Close()
			return err
		}
		src := Source{Name: name, File: f}
		if !keepOpen {
			// Closed now and opened again by the scan, in its turn: a
			// directory may hold more files than may be open at once.
			f.Close()
			src = Source{Name: name, Path: name}
		}
		all = append(all, timed{src, first})
		return nil
	}
	stdinSeen := false
	for _, p := range paths {
		if p == StdinName {
			if stdinSeen {
				return nil, fmt.Errorf("standard input (-) is given twice")
			}
			stdinSeen = true
			f, err := spool(stdin)
			if err != nil {
				return nil, err
			}
			if err := add(stdinLabel, f, false, true); err != nil {
				return nil, err
			}
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, &CaptureError{Op: "open", Path: p, Kind: statKind(err), Err: err}
			}
			n := len(all)
			for _, e := range entries {
				if e.Name()[0] == '.' || !e.Type().IsRegular() {
					continue
				}
				name := filepath.Join(p, e.Name())
				f, err := Open(name)
				if err != nil {
					return nil, err
				}
				if err := add(name, f, true, false); err != nil {
					return nil, err
				}
			}
			if len(all) == n {
				return nil, &CaptureError{Op: "open", Path: p, Kind: ErrEmpty, Detail: "the directory holds no capture file"}
			}
			continue
		}
		f, err := Open(p)
		if err != nil {
			return nil, err
		}
		if err := add(p, f, false, false); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(all, func(a, b timed) int { return cmp.Compare(a.first.UnixNano(), b.first.UnixNano()) })
	for _, t := range all {
		in.Sources = append(in.Sources, t.src)
		if !t.first.IsZero() && (in.Start.IsZero() || t.first.Before(in.Start)) {
			in.Start = t.first
		}
	}
	ok = true
	return in, nil
}

// Close closes every file of in.
func (in *Inputs) Close() error {
	var errs []error
	for _, s := range in.Sources {
		if s.File != nil {
			errs = append(errs, s.File.Close())
		}
	}
	in.Sources = nil
	return errors.Join(errs...)
}

// firstTime reads the file header and the first packet of f and returns
// the packet's timestamp (zero when the file has none).
func firstTime(f *os.File, name string) (time.Time, error) {
	r, err := openFile(context.Background(), f, name)
	if err != nil {
		return time.Time{}, err
	}
	_, ci, _, err := r.next()
	if err != nil {
		return time.Time{}, nil // no whole first packet: the scan will say why
	}
	return ci.Timestamp, nil
}

// spool copies standard input into a temporary file that is unlinked at
// once, so nothing is left behind whatever happens to the process.
func spool(stdin io.Reader) (*os.File, error) {
	if stdin == nil {
		return nil, fmt.Errorf("standard input: none was given")
	}
	f, err := os.CreateTemp("", "reconpcap-stdin-*")
	if err != nil {
		return nil, fmt.Errorf("standard input: %w", err)
	}
	os.Remove(f.Name())
	if _, err := io.Copy(f, stdin); err != nil {
		f.Close()
		return nil, fmt.Errorf("standard input: copying it to a temporary file: %w", err)
	}
	return f, nil
}
