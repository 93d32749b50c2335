package natsjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// objectTimeout bounds one try at storing or reading a partial, which
// may be megabytes.
const objectTimeout = 30 * time.Second

// Permanent failures: no retry will change them.
var (
	errChanged = errors.New("file changed since it was submitted")
	errOutside = errors.New("file outside the worker's roots")
)

// handle does one job: skip it if its partial is done, else shard, store
// the partial, mark it done and acknowledge. Every outcome ends in an
// Ack, a Nak (try again) or a Term (recorded failed, never again).
func (w Worker) handle(ctx context.Context, st *store, msg jetstream.Msg) {
	var jm jobMsg
	if err := json.Unmarshal(msg.Data(), &jm); err != nil || CheckJobID(jm.Job) != nil ||
		jm.File.ID != fileID(jm.File.Path, jm.File.Size, time.Unix(0, jm.File.ModTime)) {
		// Not a message Submit wrote: no job to record it against.
		w.Logger.Warn("natsjobs: dropping a malformed job message", "subject", msg.Subject())
		_ = msg.TermWithReason("malformed job message")
		return
	}
	job, f := jm.Job, jm.File
	log := w.Logger.With("job", job, "file", f.Path, "id", f.ID)
	meta, err := msg.Metadata()
	if err != nil {
		log.Warn("natsjobs: job message without metadata", "err", err)
		_ = msg.Nak()
		return
	}

	// Progress reports keep the job ours for as long as this worker
	// lives, however long the file takes.
	stop := keepAlive(msg, w.AckWait/3)
	defer stop()

	if done, err := retry(ctx, func(ctx context.Context) (bool, error) { return w.alreadyDone(ctx, st, job, f.ID) }); err != nil {
		log.Warn("natsjobs: checking for a partial", "err", err)
		_ = msg.Nak()
		return
	} else if done {
		log.Info("natsjobs: partial already done")
		_ = msg.Ack()
		return
	}
	if int(meta.NumDelivered) > w.MaxDeliver {
		w.fail(ctx, st, msg, jm, fmt.Errorf("no worker finished it in %d deliveries (each died or went silent for %v)", w.MaxDeliver, w.AckWait))
		return
	}

	data, err := w.shard(ctx, job, f)
	if ctx.Err() != nil {
		// Told to stop: hand the job back at once.
		_ = msg.Nak()
		return
	}
	if err != nil {
		if errors.Is(err, errChanged) || errors.Is(err, errOutside) || int(meta.NumDelivered) >= w.MaxDeliver {
			w.fail(ctx, st, msg, jm, err)
			return
		}
		log.Warn("natsjobs: shard failed; will retry", "delivery", meta.NumDelivered, "err", err)
		_ = msg.Nak()
		return
	}
	if _, err := retryEach(ctx, objectTimeout, func(ctx context.Context) (*jetstream.ObjectInfo, error) {
		return st.parts.PutBytes(ctx, objectName(job, f.ID), data)
	}); err != nil {
		log.Warn("natsjobs: storing the partial", "err", err)
		_ = msg.Nak()
		return
	}
	if _, err := retry(ctx, func(ctx context.Context) (uint64, error) {
		return st.state.Put(ctx, doneKey(job, f.ID), []byte(objectName(job, f.ID)))
	}); err != nil {
		log.Warn("natsjobs: marking done", "err", err)
		_ = msg.Nak()
		return
	}
	if _, err := retry(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, msg.DoubleAck(ctx) }); err != nil {
		// The partial and its marker are stored: a redelivery finds
		// them and only acknowledges.
		log.Warn("natsjobs: acknowledging", "err", err)
		return
	}
	log.Info("natsjobs: partial stored", "bytes", len(data))
}

// alreadyDone reports whether the file's partial is stored, writing the
// done-marker when the partial is there without it (a worker that died
// between the two).
func (w Worker) alreadyDone(ctx context.Context, st *store, job, id string) (bool, error) {
	_, err := st.state.Get(ctx, doneKey(job, id))
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, err
	}
	info, err := st.parts.GetInfo(ctx, objectName(job, id))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Deleted {
		return false, nil
	}
	_, err = st.state.Put(ctx, doneKey(job, id), []byte(objectName(job, id)))
	return err == nil, err
}

// shard checks the file is the one submitted, then runs Shard, turning a
// panic into an error: the file is attacker-controlled, and one bad file
// must not take the worker down.
func (w Worker) shard(ctx context.Context, job string, f File) (data []byte, err error) {
	if err := w.inRoots(f.Path); err != nil {
		return nil, err
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		return nil, err
	}
	if fi.Size() != f.Size || fi.ModTime().UnixNano() != f.ModTime {
		return nil, fmt.Errorf("%w: %d bytes modified %v, submitted %d bytes modified %v", errChanged,
			fi.Size(), fi.ModTime().UTC(), f.Size, time.Unix(0, f.ModTime).UTC())
	}
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("shard panicked: %v", r)
		}
	}()
	return w.Shard(ctx, job, f.Path)
}

// fail records the file as failed, so a merge can name it, and ends the
// job.
func (w Worker) fail(ctx context.Context, st *store, msg jetstream.Msg, jm jobMsg, cause error) {
	w.Logger.Warn("natsjobs: file failed", "job", jm.Job, "file", jm.File.Path, "err", cause)
	msgText := cause.Error()
	if len(msgText) > 2000 {
		msgText = msgText[:2000]
	}
	body, _ := json.Marshal(FailedFile{File: jm.File, Err: msgText})
	if _, err := retry(ctx, func(ctx context.Context) (uint64, error) {
		return st.state.Put(ctx, failedKey(jm.Job, jm.File.ID), body)
	}); err != nil {
		// Not recorded: let it come back and try again.
		_ = msg.Nak()
		return
	}
	_ = msg.TermWithReason("failed: " + msgText)
}

// keepAlive reports progress on msg every period until stop is called.
func keepAlive(msg jetstream.Msg, period time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(period, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
