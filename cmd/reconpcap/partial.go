package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// maxPartialFile bounds what merge reads of one partial: a partial of the
// largest flow table and every detector table full is well under it.
const maxPartialFile = 4 << 30

// runShard is `reconpcap shard INPUT... -o F.partial`: one pass over the
// inputs, accumulated but not judged, written for `reconpcap merge`.
func runShard(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("shard", stderr)
	out := fs.String("o", "", "the partial to write (must not exist)")
	var thresholds thresholdFlags
	thresholds.register(fs)
	quiet := fs.Bool("quiet", false, "show no progress while reading")
	workers := registerWorkers(fs)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("shard takes capture files, directories or - (standard input), got none")
	}
	if *out == "" {
		return usagef("shard needs -o FILE, the partial to write")
	}
	cfg, err := thresholds.config()
	if err != nil {
		return usagef("%v", err)
	}
	in, closeIn, err := openInput(files, stdin, stderr, filterFlags{}, *workers, !*quiet)
	if err != nil {
		return err
	}
	p, err := detectors.Accumulate(ctx, in, cfg)
	closeIn()
	if p == nil {
		return err
	}
	b, merr := p.MarshalBinary()
	if merr != nil {
		return merr
	}
	if werr := writeNew(*out, b); werr != nil {
		return werr
	}
	fmt.Fprintf(stdout, "wrote %s: %s of %s, %s\n", textsafe.Escape(*out, 1000), humanize.Count(p.Packets(), "packet"), textsafe.Escape(p.Name(), 1000), humanize.Bytes(int64(len(b))))
	if err != nil {
		fmt.Fprintf(stderr, "reconpcap: warning: %s\n", textsafe.Escape(err.Error(), 1000))
	}
	return nil
}

// writeNew writes b to a new file at path, never over an existing one.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: shard never overwrites; remove it or choose another -o", path)
		}
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// runMergeFiles is `reconpcap merge F.partial...`: the partials read,
// merged and judged as one capture, printed as analyze prints.
func runMergeFiles(ctx context.Context, format string, files []string, pal palette, stdout, stderr io.Writer) error {
	var parts []*detectors.Partial
	for _, name := range files {
		b, err := readPartialFile(name)
		if err != nil {
			return err
		}
		var p detectors.Partial
		if err := p.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		parts = append(parts, &p)
	}
	a, err := judgeMerged(ctx, parts, "", stderr)
	if err != nil {
		return err
	}
	return printAnalysis(stdout, "analyze", format, a, pal)
}

// judgeMerged merges parts and judges them. When the capture files the
// parts came from are all here, the evidence pass numbers the findings'
// frames in them (their frames run on in time order, as one pass over
// them numbers them); otherwise the findings carry their filters only,
// and stderr says why.
//
// name names the capture ("" means its files).
func judgeMerged(ctx context.Context, parts []*detectors.Partial, name string, stderr io.Writer) (*detectors.Analysis, error) {
	p, err := detectors.MergePartials(parts...)
	if err != nil {
		return nil, err
	}
	in := detectors.Input{Name: cmp.Or(name, p.Name())}
	names := p.Files()
	var missing string
	for _, n := range names {
		if _, serr := os.Stat(n); serr != nil {
			missing = n
			break
		}
	}
	if missing == "" && len(names) > 0 {
		ins, oerr := capture.OpenInputs(names, nil)
		if oerr == nil {
			defer ins.Close()
			in.Sources = ins.Sources
		} else {
			missing = names[0]
		}
	}
	if missing != "" {
		fmt.Fprintf(stderr, "reconpcap: %s is not readable here: the findings carry their display filters but no frame numbers\n", textsafe.Escape(missing, 1000))
	}
	return p.Judge(ctx, in)
}

func readPartialFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPartialFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxPartialFile {
		return nil, fmt.Errorf("%s: larger than %s: not a partial", name, humanize.Bytes(maxPartialFile))
	}
	return b, nil
}

// registerWorkers adds --workers: how many goroutines decode and analyse.
func registerWorkers(fs interface {
	IntVar(*int, string, int, string)
}) *int {
	n := new(int)
	fs.IntVar(n, "workers", defaultWorkers(), "goroutines that decode and analyse while one reads (1: a single goroutine); the result is the same")
	return n
}
