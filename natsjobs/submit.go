package natsjobs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// SubmitOptions name the job and the files to queue.
type SubmitOptions struct {
	// Job is the job ID; "" means a new one, returned by Submit. Submit
	// called again with the same Job adds files to that job (a tcpdump
	// -z post-rotate hook calls it once per file).
	Job string
	// Subject is where the files' jobs go, jobs.SENSOR, the subject the
	// workers that can read the files take from. "" means DefaultSubject.
	Subject string
	// Files are the capture files. Each must be a regular file here, as
	// its path, size and modification time name it; workers open the
	// same path on their machine.
	Files []string
	// Store says how the stream and buckets are made if they do not exist.
	Store StoreOptions
}

// SubmitResult says what Submit queued.
type SubmitResult struct {
	Job string
	// Files are the files of this call, in the order given.
	Files []File
	// Duplicates counts the files JetStream already had queued for this
	// job (the same path, size and modification time): they are not
	// analysed twice.
	Duplicates int
}

// Submit records each file in the job's file list, then queues one job
// message per file. The list goes first, so a merge never sees a file
// done that it did not know of.
func Submit(ctx context.Context, js jetstream.JetStream, o SubmitOptions) (*SubmitResult, error) {
	if o.Job == "" {
		o.Job = nuid.Next()
	}
	if err := CheckJobID(o.Job); err != nil {
		return nil, err
	}
	if o.Subject == "" {
		o.Subject = DefaultSubject
	}
	if err := CheckSubject(o.Subject, false); err != nil {
		return nil, err
	}
	if len(o.Files) == 0 {
		return nil, fmt.Errorf("natsjobs: submit: no files")
	}
	// Every file is checked before any is queued: a typo in the last
	// name must not leave the job half submitted.
	files := make([]File, 0, len(o.Files))
	for _, p := range o.Files {
		f, err := describe(p, o.Subject)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	st, err := openStore(ctx, js, o.Store)
	if err != nil {
		return nil, err
	}
	res := &SubmitResult{Job: o.Job, Files: files}
	for _, f := range files {
		body, err := json.Marshal(jobMsg{Job: o.Job, File: f})
		if err != nil {
			return nil, err
		}
		// Both steps are idempotent (the same value, the same message
		// ID), so a try that timed out is safely tried again.
		if _, err := retry(ctx, func(ctx context.Context) (uint64, error) {
			return st.state.Put(ctx, filesKey(o.Job, f.ID), body)
		}); err != nil {
			return nil, fmt.Errorf("natsjobs: recording %s: %w", f.Path, err)
		}
		ack, err := retry(ctx, func(ctx context.Context) (*jetstream.PubAck, error) {
			return js.Publish(ctx, o.Subject, body, jetstream.WithMsgID(msgID(o.Job, f.ID)))
		})
		if err != nil {
			return nil, fmt.Errorf("natsjobs: queueing %s: %w", f.Path, err)
		}
		if ack.Duplicate {
			res.Duplicates++
		}
	}
	return res, nil
}

// jobMsg is the body of a job message and the value of a files key.
type jobMsg struct {
	Job  string `json:"job"`
	File File   `json:"file"`
}

// describe names a file to submit by its absolute path, size and
// modification time.
func describe(path, subject string) (File, error) {
	abs, err := absPath(path)
	if err != nil {
		return File{}, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return File{}, fmt.Errorf("natsjobs: submit: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return File{}, fmt.Errorf("natsjobs: submit: %s is not a regular file", abs)
	}
	return File{
		ID: fileID(abs, fi.Size(), fi.ModTime()), Path: abs, Size: fi.Size(),
		ModTime: fi.ModTime().UnixNano(), Subject: subject,
	}, nil
}
