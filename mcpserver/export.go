package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/server"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// maxExportNames bounds the names tried for one export before giving up:
// an output directory that full is a problem for a person.
const maxExportNames = 1000

// ErrOutDir is wrapped by New's error when Config.OutDir cannot be used.
var ErrOutDir = errors.New("unusable output directory")

// checkOutDir resolves the output directory export_evidence writes to: it
// must exist, be a directory, and lie outside every capture root, so a
// carved file never becomes a capture the tools read (or overwrite).
func checkOutDir(dir string, policy *PathPolicy) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("mcpserver: %w %q: %w", ErrOutDir, dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("mcpserver: %w %q: %w", ErrOutDir, dir, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("mcpserver: %w %q: %w", ErrOutDir, dir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("mcpserver: %w %q: not a directory", ErrOutDir, dir)
	}
	if policy.inside(real) {
		return "", fmt.Errorf("mcpserver: %w %q: it lies inside a capture root, and carved files must stay apart from the captures", ErrOutDir, dir)
	}
	return real, nil
}

// ExportEvidenceArgs are export_evidence's arguments.
type ExportEvidenceArgs struct {
	Target
	Finding int    `json:"finding,omitempty" jsonschema:"The finding whose evidence packets to export: its index from list_findings (1 is the first). Give this or filter."`
	Filter  string `json:"filter,omitempty" jsonschema:"Instead of a finding, the packets to export as key=value words that must all hold: host= src= dst= (address or CIDR), port= sport= dport=, proto= (tcp udp icmp icmpv6 dns arp), flags= (syn,!ack), payload=yes, since= until= (RFC 3339 or Unix seconds), frames= (N-M), domain=."`
}

// ExportEvidenceResult is export_evidence's answer.
type ExportEvidenceResult struct {
	CaptureInfo
	// Path is the file written, in the server's output directory.
	Path string `json:"path"`
	// Format is pcap or pcapng, the capture's own.
	Format string `json:"format"`
	// Packets and Bytes are what the file holds.
	Packets int   `json:"packets"`
	Bytes   int64 `json:"bytes"`
	// FirstFrame and LastFrame are the capture's frame numbers of the
	// first and last packet written.
	FirstFrame int `json:"first_frame,omitempty"`
	LastFrame  int `json:"last_frame,omitempty"`
	// DisplayFilter selects the same packets in Wireshark.
	DisplayFilter string `json:"display_filter"`
}

func (*ExportEvidenceResult) shrink(float64) bool { return false }

func (s *Server) exportEvidenceTool() server.ServerTool {
	t := typedTool(s, toolSpec[ExportEvidenceArgs, ExportEvidenceResult]{
		name:  "export_evidence",
		title: "Export evidence packets to a file",
		desc:  "Writes the packets of one finding (its evidence, as its display_filter selects them) or of a filter to a new pcap or pcapng file in the server's output directory, for a person to open in Wireshark or hand to incident response. Returns the file's path, packets and bytes. Never overwrites; refused when the server was started without an output directory (reconpcap mcp --out DIR)." + untrusted,
		extra: targetExtra,
		args:  func() ExportEvidenceArgs { return ExportEvidenceArgs{} },
		run:   s.exportEvidence,
	})
	// It writes a new file each call: not read-only, not idempotent, but
	// it destroys nothing.
	no := false
	t.Tool.Annotations.ReadOnlyHint = &no
	t.Tool.Annotations.IdempotentHint = &no
	return t
}

func (s *Server) exportEvidence(ctx context.Context, args ExportEvidenceArgs) (*ExportEvidenceResult, error) {
	// The path policy first, so a path outside the roots is refused as
	// every tool refuses it, whatever else is wrong.
	if _, err := s.policy.Resolve(args.WorkingDir, args.PcapFile); err != nil {
		return nil, err
	}
	if s.outDir == "" {
		return nil, &toolError{msg: "export_evidence is off: the server has no output directory (start it with reconpcap mcp --out DIR)"}
	}
	if (args.Finding != 0) == (args.Filter != "") {
		return nil, badArg("give one of finding (an index from list_findings) or filter")
	}
	if args.Finding < 0 {
		return nil, badArg("finding %d: findings are counted from 1", args.Finding)
	}
	var f filter.Expr
	var what string
	if args.Filter != "" {
		o, err := filter.ParseOptions(args.Filter)
		if err != nil {
			return nil, badArg("filter: %s", textsafe.Escape(err.Error(), 256))
		}
		if f, err = filter.FromOptions(o); err != nil {
			return nil, badArg("filter: %s", textsafe.Escape(err.Error(), 256))
		}
		what = "filtered"
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	if args.Finding != 0 {
		if args.Finding > len(l.a.Findings) {
			return nil, badArg("finding %d: the capture has %d findings", args.Finding, len(l.a.Findings))
		}
		e, ok := detectors.EvidenceFilter(l.a.Findings[args.Finding-1])
		if !ok {
			return nil, &toolError{msg: fmt.Sprintf("finding %d names no address to select its packets by", args.Finding)}
		}
		f, what = e, "finding-"+strconv.Itoa(args.Finding)
	}
	format, err := capture.CheckCapture(l.info.PcapFile)
	if err != nil {
		return nil, err
	}
	file, path, err := s.createExport(l.info.PcapFile, what, format)
	if err != nil {
		return nil, err
	}
	res, err := detectors.Carve(ctx, l.info.PcapFile, f, file)
	if cerr := file.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		// No half-written evidence is left for someone to trust.
		os.Remove(path)
		var ce *capture.CaptureError
		if errors.As(err, &ce) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &internalError{msg: "export_evidence: " + err.Error()}
	}
	return &ExportEvidenceResult{
		CaptureInfo: l.info, Path: path, Format: res.Format, Packets: res.Packets, Bytes: res.Bytes,
		FirstFrame: res.First, LastFrame: res.Last, DisplayFilter: f.String(),
	}, nil
}

// createExport creates a new file in the output directory named after the
// capture and what is exported, adding -2, -3, ... until the name is
// free: O_EXCL never opens a file (or a symbolic link) that exists.
func (s *Server) createExport(capturePath, what, format string) (*os.File, string, error) {
	base := safeName(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(capturePath), ".gz"), filepath.Ext(strings.TrimSuffix(filepath.Base(capturePath), ".gz"))))
	for i := 1; i <= maxExportNames; i++ {
		name := base + "-" + what
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		path := filepath.Join(s.outDir, name+"."+format)
		file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return file, path, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", &internalError{msg: "export_evidence: " + err.Error()}
		}
	}
	return nil, "", &toolError{msg: fmt.Sprintf("export_evidence: the output directory already holds %d exports of this name", maxExportNames)}
}

// safeName keeps letters, digits, '.', '-' and '_' of a file name (at most
// 64 of them): the capture's name becomes part of the export's.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || strings.Trim(b.String(), ".") == "" {
		return "capture"
	}
	return b.String()
}
