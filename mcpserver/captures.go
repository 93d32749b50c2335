package mcpserver

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// Bounds on the walk list_captures makes: roots may hold large trees.
const (
	// listMaxDepth is how many directory levels below a root are listed.
	listMaxDepth = 6
	// listMaxEntries is how many directory entries one call looks at.
	listMaxEntries = 20000
)

// ListCapturesArgs are list_captures' arguments.
type ListCapturesArgs struct {
	WorkingDir string `json:"working_dir,omitempty" jsonschema:"Only captures under this directory (inside the allowed roots). Default: every root."`
	PageArgs
}

// CaptureFile is one capture under the roots.
type CaptureFile struct {
	// PcapFile is the absolute path to pass as pcap_file; Name is the same
	// file relative to its root.
	PcapFile string    `json:"pcap_file"`
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	// Format is pcap or pcapng, read from the magic number; Compressed
	// says the file is gzip-compressed.
	Format     string `json:"format"`
	Compressed bool   `json:"compressed"`
	// Packets is known when this version of the file was analysed already
	// (another tool read it); otherwise it is left out.
	Packets *int `json:"packets,omitempty"`
}

// ListCapturesResult is list_captures' answer.
type ListCapturesResult struct {
	Roots    []string      `json:"roots"`
	Captures []CaptureFile `json:"captures"`
	Page
	Truncated bool `json:"truncated"`
	// Incomplete is true when the walk stopped at its bounds (depth 6,
	// 20,000 entries): list a subdirectory with working_dir.
	Incomplete bool `json:"incomplete"`
}

func (r *ListCapturesResult) shrink(keep float64) bool {
	return cutPage(&r.Captures, &r.Page, &r.Truncated, keep)
}

func (s *Server) listCapturesTool() toolSpec[ListCapturesArgs, ListCapturesResult] {
	return toolSpec[ListCapturesArgs, ListCapturesResult]{
		name:  "list_captures",
		title: "List captures",
		desc: "The capture files (pcap, pcapng, gzip-compressed or not, recognised by content) under the server's allowed roots: path to pass as pcap_file, size, modification time, format, and packets when already analysed. Call it first when you were not told which file to read. Paged." +
			untrusted,
		extra: pageExtra,
		args:  func() ListCapturesArgs { return ListCapturesArgs{} },
		run:   s.listCaptures,
	}
}

func (s *Server) listCaptures(ctx context.Context, args ListCapturesArgs) (*ListCapturesResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	roots := s.policy.Roots()
	res := &ListCapturesResult{Roots: textsafe.EscapeAll(roots, DefaultStringMax)}
	starts := roots
	if args.WorkingDir != "" {
		dir, err := s.policy.resolveDir(args.WorkingDir)
		if err != nil {
			return nil, err
		}
		starts = []string{dir}
	}
	var found []CaptureFile
	seen := map[string]bool{}
	entries := 0
	for _, start := range starts {
		err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if entries++; entries > listMaxEntries {
				res.Incomplete = true
				return filepath.SkipAll
			}
			if err != nil {
				return nil // an unreadable directory is skipped, not fatal
			}
			if d.IsDir() {
				if rel, _ := filepath.Rel(start, path); rel != "." && strings.Count(rel, string(filepath.Separator)) >= listMaxDepth {
					res.Incomplete = true
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			// A symbolic link counts only when it resolves to a regular
			// file inside the roots; directories it names are not walked.
			real, err := s.policy.Resolve("", path)
			if err != nil || seen[real] {
				return nil
			}
			if f, ok := s.captureFile(real, path, start); ok {
				seen[real] = true
				found = append(found, f)
			}
			return nil
		})
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	res.Captures, res.Page = page(found, offset, limit)
	return res, nil
}

// captureFile describes the file at real (found as path under root) if it
// is a capture.
func (s *Server) captureFile(real, path, root string) (CaptureFile, bool) {
	format, err := capture.CheckCapture(real)
	if err != nil {
		return CaptureFile{}, false
	}
	st, err := os.Stat(real)
	if err != nil {
		return CaptureFile{}, false
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		rel = filepath.Base(path)
	}
	f := CaptureFile{PcapFile: textsafe.Escape(real, 1024), Name: textsafe.Escape(rel, 1024), Size: st.Size(), Modified: st.ModTime().UTC(), Format: format, Compressed: gzipped(real)}
	if a := s.cache.peek(real, st); a != nil {
		n := a.Summary.TotalPackets
		f.Packets = &n
	}
	return f, true
}

func gzipped(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [2]byte
	n, _ := f.Read(b[:])
	return n == 2 && b[0] == 0x1f && b[1] == 0x8b
}

// peek returns the cached analysis of this version of the file, if any,
// without counting a hit or reordering the cache.
func (c *analysisCache) peek(path string, st os.FileInfo) *detectors.Analysis {
	key := cacheKey{path: path, file: fileIdentity(st)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		return el.Value.(*cached).a
	}
	return nil
}
