package natsjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// CollectOptions tune Collect; the zero value is ready to use.
type CollectOptions struct {
	// Store says how the stream and buckets are made if a merge starts
	// before any submit.
	Store StoreOptions
}

// Collect waits until every file submitted for job has its done-marker
// or failed-marker, then returns the partials in file-ID order, each
// exactly once. timeout 0 means wait until ctx ends. Files submitted to
// the job while Collect waits are waited for too.
//
// When files failed, Collect returns the partials of the others and a
// *FailedError naming the failed ones. When the wait ends first, it
// returns a *PendingError (wrapping ErrTimeout) naming the files still
// pending, or ErrNoJob when no file was submitted at all.
func Collect(ctx context.Context, js jetstream.JetStream, job string, timeout time.Duration) ([][]byte, error) {
	return CollectWith(ctx, js, job, timeout, CollectOptions{})
}

// CollectWith is Collect with options.
func CollectWith(ctx context.Context, js jetstream.JetStream, job string, timeout time.Duration, o CollectOptions) ([][]byte, error) {
	if err := CheckJobID(job); err != nil {
		return nil, err
	}
	st, err := openStore(ctx, js, o.Store)
	if err != nil {
		return nil, err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	t, err := waitJob(wctx, st.state, job)
	if err != nil {
		if ctx.Err() != nil { // the caller gave up, not the timeout
			return nil, ctx.Err()
		}
		return nil, err
	}
	return t.fetch(ctx, st.parts, job)
}

// tally is what the state bucket says of one job.
type tally struct {
	files  map[string]File
	done   map[string]bool
	failed map[string]FailedFile
}

// complete reports whether every known file is done or failed.
func (t *tally) complete() bool {
	if len(t.files) == 0 {
		return false
	}
	for id := range t.files {
		if _, bad := t.failed[id]; !t.done[id] && !bad {
			return false
		}
	}
	return true
}

// waitJob watches the job's keys until the tally is complete.
func waitJob(ctx context.Context, kv jetstream.KeyValue, job string) (*tally, error) {
	w, err := kv.Watch(ctx, job+".>")
	if err != nil {
		return nil, fmt.Errorf("natsjobs: watching job %s: %w", job, err)
	}
	defer w.Stop()
	t := &tally{files: map[string]File{}, done: map[string]bool{}, failed: map[string]FailedFile{}}
	caughtUp := false
	for {
		select {
		case <-ctx.Done():
			return nil, t.pendingError(job)
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("natsjobs: watching job %s: the watch ended", job)
			}
			if e == nil {
				caughtUp = true // the values stored before the watch began
			} else {
				t.apply(job, e)
			}
			if caughtUp && t.complete() {
				return t, nil
			}
		}
	}
}

// apply records one key's value. Values that do not parse are ignored:
// anyone with write access to the bucket could have put them, and the
// file then simply stays pending.
func (t *tally) apply(job string, e jetstream.KeyValueEntry) {
	kind, id, ok := splitKey(job, e.Key())
	if !ok {
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		switch kind {
		case "files":
			delete(t.files, id)
		case "done":
			delete(t.done, id)
		case "failed":
			delete(t.failed, id)
		}
		return
	}
	switch kind {
	case "files":
		var jm jobMsg
		if json.Unmarshal(e.Value(), &jm) == nil && jm.File.ID == id {
			t.files[id] = jm.File
		}
	case "done":
		t.done[id] = true
	case "failed":
		var ff FailedFile
		if json.Unmarshal(e.Value(), &ff) == nil {
			t.failed[id] = ff
		}
	}
}

func (t *tally) pendingError(job string) error {
	if len(t.files) == 0 {
		return fmt.Errorf("%w: %s", ErrNoJob, job)
	}
	pe := &PendingError{Job: job}
	for _, id := range slices.Sorted(maps.Keys(t.files)) {
		if _, bad := t.failed[id]; t.done[id] || bad {
			pe.Done++
			continue
		}
		pe.Pending = append(pe.Pending, t.files[id])
	}
	return pe
}

// fetch reads the partials of the done files, in file-ID order. A file
// both done and failed (failed on one delivery, done on a later one) is
// done.
func (t *tally) fetch(ctx context.Context, obs jetstream.ObjectStore, job string) ([][]byte, error) {
	var out [][]byte
	fe := &FailedError{Job: job}
	for _, id := range slices.Sorted(maps.Keys(t.files)) {
		if !t.done[id] {
			ff := t.failed[id]
			ff.File = t.files[id]
			fe.Failed = append(fe.Failed, ff)
			continue
		}
		b, err := retryEach(ctx, objectTimeout, func(ctx context.Context) ([]byte, error) {
			return obs.GetBytes(ctx, objectName(job, id))
		})
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, fmt.Errorf("%w: job %s: %s is marked done but its partial %s is missing", ErrLost, job, t.files[id].Path, objectName(job, id))
		}
		if err != nil {
			return nil, fmt.Errorf("natsjobs: reading the partial of %s: %w", t.files[id].Path, err)
		}
		out = append(out, b)
	}
	if len(fe.Failed) > 0 {
		return out, fe
	}
	return out, nil
}
