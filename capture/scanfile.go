package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agents-of-shield/reconpcap/internal/humanize"
)

// Open opens the capture file at path for ScanFile, as Scan does: a path
// that is missing, or is not a regular file, is a *CaptureError (a fifo or
// a device is refused before it is opened, and the open never blocks).
func Open(path string) (*os.File, error) { return openPath(path) }

// ScanFile reads the capture in the open file f once, from its start,
// decodes every packet once, and hands each to every analyzer. name is the
// file's name in the Capture and in errors. f is checked as it is (a
// regular, non-empty file), never through its name, so a caller that
// opened a name once and vetted the descriptor analyses exactly that file.
// ScanFile does not close f, and f must not be read by anyone else during
// the scan.
//
// When ctx's deadline passes, the read stops and ScanFile returns the
// Capture of the packets read so far, with Stopped set, a warning and no
// error: a deadline asks for an answer in time, and the packets read are
// still worth judging. When ctx is cancelled, the error wraps ctx.Err().
//
// A file cut short in the middle of a record is not an error: ScanFile
// returns every packet before the damage with Truncated set and a warning.
// Any other problem is a *CaptureError; when it comes after some packets
// were read (a corrupt record, an unsupported section), ScanFile returns
// the Capture of those packets together with the error, and the analyzers
// have seen them.
//
// cfg bounds the state the scan keeps (the flow table); its zero value is
// the defaults.
func ScanFile(ctx context.Context, f *os.File, name string, cfg Config, analyzers ...Analyzer) (*Capture, error) {
	return ScanFiles(ctx, []Source{{Name: name, File: f}}, cfg, analyzers...)
}

// stop ends a read whose ctx is done: at a deadline the packets so far
// stand, with a warning saying how far the read went; a cancellation is
// an error.
func (c *Capture) stop(ctx context.Context, r *captureReader) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("reading %s: %w", c.Path, ctx.Err())
	}
	c.Stopped = true
	where := ""
	if c.Files != nil {
		where = " (in " + r.path + ")"
	}
	if off, err := r.f.Seek(0, io.SeekCurrent); err == nil && r.size > 0 {
		// The offset is the file's, read-ahead included; for a gzip file
		// it counts compressed bytes, still a fair share of the whole.
		where += fmt.Sprintf(", about %s of %s of the file", humanize.Bytes(min(off, r.size)), humanize.Bytes(r.size))
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("the analysis reached its deadline and stopped reading after %s%s: the results cover those packets only", humanize.Count(c.Packets, "packet"), where))
	return nil
}

// CheckFile reads the file header of the open file f, from its start,
// without reading any packet, as CheckCapture does for a path. It returns
// the format ("pcap" or "pcapng") and does not close f.
func CheckFile(f *os.File, name string) (string, error) {
	r, err := openFile(context.Background(), f, name)
	if err != nil {
		return "", err
	}
	return r.format, nil
}
