package natsjobs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The names of what this package keeps in JetStream. Submitters, workers
// and merges must agree on them, so they are fixed, not configured.
const (
	// StreamName is the work-queue stream of shard jobs, one message per
	// file, on subjects under SubjectPrefix.
	StreamName = "RECONPCAP_JOBS"
	// SubjectPrefix starts every job subject: jobs.SENSOR.
	SubjectPrefix = "jobs."
	// DefaultSubject is where Submit puts a file and a Worker takes it
	// from when neither names a subject.
	DefaultSubject = "jobs.default"
	// StateBucket is the key-value bucket of each job's file list,
	// done-markers and failed-markers (keys JOB.files.ID, JOB.done.ID,
	// JOB.failed.ID).
	StateBucket = "RECONPCAP_STATE"
	// PartialsBucket is the object store of encoded partials, one object
	// named JOB/ID per file.
	PartialsBucket = "RECONPCAP_PARTIALS"
)

// maxJobID bounds a job ID: it is part of every key and object name.
const maxJobID = 64

// CheckJobID reports whether id can name a job: 1 to 64 letters, digits,
// '-' or '_'. A '.' or a wildcard would change which keys a merge
// watches, so they are refused rather than escaped.
func CheckJobID(id string) error {
	if id == "" || len(id) > maxJobID {
		return fmt.Errorf("%w: job ID %q: want 1 to %d characters", ErrBadName, id, maxJobID)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: job ID %q: want letters, digits, '-' or '_'", ErrBadName, id)
		}
	}
	return nil
}

// CheckSubject reports whether s is a subject a job can be published on:
// under SubjectPrefix, tokens non-empty, no white space. wildcard allows
// '*' and '>' tokens, which a Worker may take from but Submit may not
// publish to.
func CheckSubject(s string, wildcard bool) error {
	if !strings.HasPrefix(s, SubjectPrefix) || len(s) > 256 {
		return fmt.Errorf("%w: subject %q: want %sSENSOR, at most 256 bytes", ErrBadName, s, SubjectPrefix)
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return fmt.Errorf("%w: subject %q has an empty token", ErrBadName, s)
		case strings.ContainsAny(t, " \t\r\n\x00"):
			return fmt.Errorf("%w: subject %q has white space", ErrBadName, s)
		case t == "*" || t == ">" && i == len(toks)-1:
			if !wildcard {
				return fmt.Errorf("%w: subject %q: a file is submitted to one subject, not a wildcard", ErrBadName, s)
			}
		case strings.ContainsAny(t, "*>"):
			return fmt.Errorf("%w: subject %q: a wildcard must be a whole token", ErrBadName, s)
		}
	}
	return nil
}

// fileID names one version of one file: the hash of its absolute path,
// size and modification time. The same file submitted again has the same
// ID (so JetStream drops the duplicate message and a worker finds its
// partial done); the file rewritten has another.
func fileID(absPath string, size int64, mtime time.Time) string {
	h := sha256.New()
	// Lengths first, so that no two (path, size, time) encode alike.
	fmt.Fprintf(h, "%d:%s|%d|%d", len(absPath), absPath, size, mtime.UnixNano())
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// msgID is the Nats-Msg-Id of a file's job message: the same file in
// another job is another piece of work.
func msgID(job, id string) string { return job + "/" + id }

func filesKey(job, id string) string  { return job + ".files." + id }
func doneKey(job, id string) string   { return job + ".done." + id }
func failedKey(job, id string) string { return job + ".failed." + id }
func objectName(job, id string) string {
	return job + "/" + id
}

// splitKey parses a state key of job into its kind (files, done, failed)
// and file ID.
func splitKey(job, key string) (kind, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, job+".")
	if !ok {
		return "", "", false
	}
	kind, id, ok = strings.Cut(rest, ".")
	return kind, id, ok && id != ""
}

// durableName is the consumer the workers of subject share. Consumer
// names cannot hold '.', '*' or '>', so those are replaced, and a hash of
// the subject keeps jobs.a_b and jobs.a.b apart.
func durableName(subject string) string {
	r := strings.NewReplacer(".", "_", "*", "any", ">", "all")
	name := r.Replace(strings.TrimPrefix(subject, SubjectPrefix))
	if len(name) > 64 {
		name = name[:64]
	}
	sum := sha256.Sum256([]byte(subject))
	return "reconpcap_" + name + "_" + hex.EncodeToString(sum[:4])
}

// absPath is filepath.Abs with the error wrapped.
func absPath(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("natsjobs: %s: %w", strconv.Quote(p), err)
	}
	return a, nil
}
