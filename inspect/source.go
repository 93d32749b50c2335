package inspect

import (
	"context"
	"os"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Source is the capture a view reads. With File nil, Path is opened by
// name. With File set, that open file is read from its start and Path only
// names it: a caller that opened and vetted a descriptor (the MCP server's
// path policy) reads exactly that file, whatever the name points to by
// then. A view does not close File.
type Source struct {
	Path string
	File *os.File
}

// scan reads the source once with the analyzers.
func (s Source) scan(ctx context.Context, analyzers ...capture.Analyzer) (*capture.Capture, error) {
	if s.File == nil {
		return capture.Scan(ctx, s.Path, analyzers...)
	}
	return capture.ScanFile(ctx, s.File, s.Path, capture.Config{}, analyzers...)
}
