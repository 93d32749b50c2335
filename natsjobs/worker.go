package natsjobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ShardFunc turns one capture file into an encoded partial. It must honour
// ctx: a worker told to stop cancels it and hands the job back.
//
// job is the job the file belongs to: the parts of one job must be made
// with one configuration, and the caller may derive some of it (the
// sampled sets' hash key) from the job when nothing else gives it.
type ShardFunc func(ctx context.Context, job, path string) ([]byte, error)

// Worker takes file jobs from one subject, one at a time, and stores each
// file's partial. Run as many as there are cores to spare; the workers of
// a subject share one durable consumer, so each job goes to one of them.
type Worker struct {
	// Subject is the subject to take jobs from (jobs.SENSOR, or a
	// wildcard such as jobs.>). "" means DefaultSubject. In a work-queue
	// stream the subjects of different worker groups must not overlap:
	// run either one jobs.> group or one group per sensor.
	Subject string
	// Shard computes a file's partial. Required.
	Shard ShardFunc
	// AckWait is how long a job may go without news from its worker
	// before JetStream gives it to another: the worker reports progress
	// every AckWait/3 while Shard runs, so a worker that dies loses the
	// job after at most AckWait. 0 means 30 seconds.
	AckWait time.Duration
	// MaxDeliver is how many times a file is tried before it is recorded
	// as failed. 0 means 3.
	MaxDeliver int
	// Logger receives one line per job; nil discards.
	Logger *slog.Logger
	// Store says how the stream and buckets are made if they do not
	// exist yet.
	Store StoreOptions
	// Roots are the directories the worker reads files from; a job
	// naming a file elsewhere (after resolving symbolic links) is
	// recorded failed unread. nil means any file the job names: set it
	// when anyone but your submitters can publish on jobs.>, since a job
	// message is a path this worker opens.
	Roots []string
}

// pollWait bounds one wait for a job, so that a cancelled worker stops
// soon even on a connection that says nothing.
const pollWait = 5 * time.Second

// Run takes jobs until ctx is cancelled (it then returns nil, having
// handed back the job it held) or the connection closes.
func (w Worker) Run(ctx context.Context, js jetstream.JetStream) error {
	if w.Shard == nil {
		return errors.New("natsjobs: Worker.Shard is nil")
	}
	if w.Subject == "" {
		w.Subject = DefaultSubject
	}
	if err := CheckSubject(w.Subject, true); err != nil {
		return err
	}
	if w.AckWait <= 0 {
		w.AckWait = 30 * time.Second
	}
	if w.MaxDeliver <= 0 {
		w.MaxDeliver = 3
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	roots, err := resolveRoots(w.Roots)
	if err != nil {
		return err
	}
	w.Roots = roots
	st, err := openStore(ctx, js, w.Store)
	if err != nil {
		return err
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       durableName(w.Subject),
		Description:   "reconpcap workers of " + w.Subject,
		FilterSubject: w.Subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.AckWait,
		// One delivery more than the tries: a job delivered a
		// (MaxDeliver+1)th time had every try die without a word, and
		// that last delivery records it failed, so a merge does not
		// wait for it for ever.
		MaxDeliver: w.MaxDeliver + 1,
	}
	cons, err := retry(ctx, func(ctx context.Context) (jetstream.Consumer, error) {
		return st.stream.CreateOrUpdateConsumer(ctx, cfg)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("natsjobs: consumer for %s: %w", w.Subject, err)
	}
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, pollWait)
		msg, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		switch {
		case ctx.Err() != nil:
			if msg != nil {
				_ = msg.Nak() // not started: hand it back now
			}
			return nil
		case err == nil:
			w.handle(ctx, st, msg)
		case errors.Is(err, nats.ErrConnectionClosed):
			return fmt.Errorf("natsjobs: worker %s: %w", w.Subject, err)
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			// No job in pollWait: ask again, once sure the consumer is
			// still there (a deletion that raced a pending request can
			// end it in a plain timeout rather than ErrConsumerDeleted).
			ictx, icancel := context.WithTimeout(ctx, pollWait)
			_, ierr := cons.Info(ictx)
			icancel()
			if errors.Is(ierr, jetstream.ErrConsumerNotFound) {
				if c, err := w.remake(ctx, st, cfg); err == nil {
					cons = c
				} else if ctx.Err() == nil {
					return err
				}
			}
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
			// Deleted by an operator (or with the stream): make it
			// again rather than wait on nothing.
			if c, err := w.remake(ctx, st, cfg); err == nil {
				cons = c
			} else if ctx.Err() == nil {
				return err
			}
		default:
			// A leader election or a reconnect: wait a little and ask
			// again rather than give up the worker.
			w.Logger.Warn("natsjobs: waiting for a job", "subject", w.Subject, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// remake makes the worker's consumer again after it was deleted (by an
// operator, or with the stream).
func (w Worker) remake(ctx context.Context, st *store, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	w.Logger.Warn("natsjobs: consumer gone; making it again", "subject", w.Subject)
	c, err := retry(ctx, func(ctx context.Context) (jetstream.Consumer, error) {
		return st.stream.CreateOrUpdateConsumer(ctx, cfg)
	})
	if err != nil {
		return nil, fmt.Errorf("natsjobs: consumer for %s: %w", w.Subject, err)
	}
	return c, nil
}
