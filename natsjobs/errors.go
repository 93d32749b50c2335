package natsjobs

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrBadName is wrapped by every refused job ID or subject.
	ErrBadName = errors.New("natsjobs: bad name")
	// ErrNoJob is returned by Collect for a job with no file submitted
	// before the timeout.
	ErrNoJob = errors.New("natsjobs: no file submitted for this job")
	// ErrTimeout is wrapped by a Collect that gave up waiting; the error
	// is a *PendingError naming the files still pending.
	ErrTimeout = errors.New("natsjobs: timed out waiting for the job")
	// ErrLost is wrapped when a file is marked done but its partial is
	// not in the object store (removed by hand, or a bucket limit).
	ErrLost = errors.New("natsjobs: partial lost")
)

// A File is one submitted file of a job, as recorded in the state bucket.
type File struct {
	ID      string `json:"id"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	Subject string `json:"subject"`
}

// FailedFile is a file no worker could shard, with the last error.
type FailedFile struct {
	File
	Err string `json:"error"`
}

// FailedError is returned by Collect when one or more files of the job
// failed MaxDeliver times (or could not be analysed at all, such as a
// file changed since it was submitted). Collect returns the partials of
// the other files with it.
type FailedError struct {
	Job    string
	Failed []FailedFile // by file ID
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "natsjobs: job %s: %d file(s) failed:", e.Job, len(e.Failed))
	for i, f := range e.Failed {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(e.Failed)-i)
			break
		}
		fmt.Fprintf(&b, " %s (%s)", f.Path, f.Err)
		if i < len(e.Failed)-1 {
			b.WriteByte(';')
		}
	}
	return b.String()
}

// PendingError is returned by Collect when the timeout came before every
// file was done; it wraps ErrTimeout.
type PendingError struct {
	Job     string
	Done    int
	Pending []File // by file ID
}

func (e *PendingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "natsjobs: job %s: timed out with %d of %d file(s) done; pending:", e.Job, e.Done, e.Done+len(e.Pending))
	for i, f := range e.Pending {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(e.Pending)-i)
			break
		}
		fmt.Fprintf(&b, " %s", f.Path)
	}
	return b.String()
}

func (e *PendingError) Unwrap() error { return ErrTimeout }
