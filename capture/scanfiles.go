package capture

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Source is one file of a scan: the open file, or the path to open, and
// the name the Capture and errors call it.
type Source struct {
	Name string
	// File is the open file; when it is nil, ScanFiles opens Path (as
	// Open does) when it comes to it and closes it after, so a directory
	// of thousands of rotated files never holds more than one open.
	File *os.File
	Path string
}

// open returns the source's file, and whether the caller must close it.
func (s Source) open() (*os.File, bool, error) {
	if s.File != nil {
		return s.File, false, nil
	}
	f, err := Open(s.Path)
	return f, true, err
}

// ScanFiles reads the files of srcs one after the other, in the order
// given, as ONE capture: frame numbers go on from one file to the next
// (the first packet of the second file is the frame after the last of the
// first), and the flow table and every analyzer's state carry over, so a
// connection or a scan that spans two rotated files is one. Each file is
// checked and read as ScanFile reads one (ScanFile is ScanFiles of one
// source); the files are not closed.
//
// A file cut short in the middle of a record sets Truncated and the next
// file is read on (a rotated capture is often cut where its writer
// stopped). Any other damage stops the scan there, as for one file: the
// Capture of the packets read so far comes back with the *CaptureError,
// which names the file. With more than one source, Files lists their
// names, Path is them joined by ", ", Format lists every format met
// ("pcap,pcapng"), Compressed is true if any file was, and Interfaces
// is the most any one file declared.
func ScanFiles(ctx context.Context, srcs []Source, cfg Config, analyzers ...Analyzer) (*Capture, error) {
	return scanFiles(ctx, srcs, cfg, nil, analyzers)
}

// scanFiles is ScanFiles, sharded among sh's workers when sh is not nil.
func scanFiles(ctx context.Context, srcs []Source, cfg Config, sh *sharder, analyzers []Analyzer) (c *Capture, err error) {
	if sh != nil {
		// The workers stop, and their captures join c, however the
		// read ends.
		defer func() {
			if c == nil {
				c = &Capture{flows: newFlowTable(1)}
				sh.finish(c)
				c = nil
				return
			}
			sh.finish(c)
			c.settle(err)
		}()
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no capture file to read")
	}
	ps := &pass{dec: newDecoder(), filter: cfg.Filter, progress: cfg.Progress, shards: sh}
	if ps.progress != nil {
		for _, s := range srcs {
			var st os.FileInfo
			var err error
			if s.File != nil {
				st, err = s.File.Stat()
			} else {
				st, err = os.Stat(s.Path)
			}
			if err == nil {
				ps.total += st.Size()
			}
		}
	}
	c = &Capture{Path: srcs[0].Name, flows: newFlowTable(cfg.maxFlows())}
	cfg.fragMode(c)
	if sh != nil {
		c.flows = newFlowTable(1) // the workers keep the flows
		c.flows.stats.Limit = 0
	}
	if len(srcs) > 1 {
		for _, s := range srcs {
			c.Files = append(c.Files, s.Name)
		}
		c.Path = strings.Join(c.Files, ", ")
	}
	c.flows.onEvict = evictTo(analyzers)
	var formats []string
	for i, s := range srcs {
		f, owned, oerr := s.open()
		var r *captureReader
		if oerr == nil {
			r, oerr = openFile(ctx, f, s.Name)
			if oerr != nil && owned {
				f.Close()
			}
		}
		if oerr != nil {
			if ctx.Err() != nil {
				oerr = fmt.Errorf("reading %s: %w", s.Name, ctx.Err())
			}
			if i == 0 {
				return nil, oerr
			}
			c.Warnings = append(c.Warnings, fmt.Sprintf("reading stopped after %d packets: %s could not be opened", c.Read, s.Name))
			err = oerr
			break
		}
		if !slices.Contains(formats, r.format) {
			formats = append(formats, r.format)
		}
		c.Compressed = c.Compressed || r.compressed
		c.Nanosecond = c.Nanosecond || r.nanosecond
		err = c.run(ctx, r, ps, analyzers)
		for _, t := range r.linkTypes {
			if !containsLinkType(c.LinkTypes, t) {
				c.LinkTypes = append(c.LinkTypes, t)
			}
		}
		// Rotated files of one capture each declare the same interfaces:
		// they are counted once.
		c.Interfaces = max(c.Interfaces, r.ifaces)
		ps.report(r)
		ps.done += r.size
		if owned {
			f.Close()
		}
		if err != nil || c.Stopped {
			break
		}
	}
	c.Format = strings.Join(formats, ",")
	// In numeric order, as Merge leaves them: parts of one capture merged
	// in any order list them alike.
	slices.Sort(c.LinkTypes)
	c.finishDefrag(analyzers)
	c.settle(err)
	return c, err
}
