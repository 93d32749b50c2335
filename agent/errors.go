package agent

import (
	"errors"
	"fmt"
)

// Errors a caller must handle, checked with errors.Is. Every one is
// wrapped with the details (the path, the command, the cause).
var (
	// ErrCaptureNotFound: the capture file is missing (or unreadable).
	ErrCaptureNotFound = errors.New("capture not found")
	// ErrOutsideRoot: the capture lies outside the roots the MCP server
	// may read (a subprocess server started with another --root).
	ErrOutsideRoot = errors.New("capture outside the server's roots")
	// ErrNotCapture: the file exists but is not a pcap or pcapng capture,
	// or is damaged beyond reading.
	ErrNotCapture = errors.New("not a usable capture")
	// ErrSessionTimeout: the investigation ran past ClientSessionTimeout.
	ErrSessionTimeout = errors.New("investigation timed out")
	// ErrServerStart: the MCP server could not be started or initialised.
	ErrServerStart = errors.New("MCP server failed to start")
	// ErrConfig: the Config cannot work.
	ErrConfig = errors.New("invalid agent configuration")
	// ErrModel: the model could not be used and no fallback applied (only
	// with AnalystLLM; AnalystAuto falls back to the rules analyst).
	ErrModel = errors.New("model failed")
)

// ToolError is a tool call the MCP server answered with an error result.
type ToolError struct {
	Tool    string
	Message string
}

func (e *ToolError) Error() string { return fmt.Sprintf("tool %s: %s", e.Tool, e.Message) }
