package capture

import (
	"errors"
	"fmt"
)

// Sentinel errors say what kind of problem a capture has. Every error this
// package returns for a capture is a *CaptureError that wraps one of them,
// so callers check with errors.Is(err, capture.ErrNotCapture) and read the
// path and details with errors.As.
var (
	// ErrNotFound: the path does not exist.
	ErrNotFound = errors.New("capture not found")
	// ErrNotRegular: the path is a directory, a device, a fifo or a socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrPermission: the file cannot be read by this process.
	ErrPermission = errors.New("permission denied")
	// ErrEmpty: the file has no bytes at all, or fewer than a file header.
	ErrEmpty = errors.New("capture is empty")
	// ErrNotCapture: the file does not start with a pcap or pcapng magic
	// number (nor a gzip-compressed one).
	ErrNotCapture = errors.New("not a packet capture")
	// ErrUnsupportedVersion: a pcap or pcapng version this reader cannot read.
	ErrUnsupportedVersion = errors.New("unsupported capture version")
	// ErrCorrupt: a record header that cannot be right (a length larger than
	// any capture allows, an interface that does not exist, a bad block).
	ErrCorrupt = errors.New("capture is corrupt")
)

// CaptureError is a problem with one capture file: the operation, the path,
// the kind (one of the sentinel errors above), how many packets were read
// before it, and the underlying cause.
type CaptureError struct {
	Op     string // "open" or "read"
	Path   string
	Kind   error // one of the Err* sentinels
	Packet int   // packets read successfully before the problem
	Detail string
	Err    error // the underlying cause, if any
}

func (e *CaptureError) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Kind)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Op == "read" {
		msg += fmt.Sprintf(" (after %d packets)", e.Packet)
	}
	return msg
}

// Unwrap gives errors.Is and errors.As both the kind and the cause.
func (e *CaptureError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}
