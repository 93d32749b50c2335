package natsjobs

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// apiTimeout bounds one JetStream request. A request sent while the
// cluster elects a leader (a node was lost) is never answered: without a
// bound of its own it would wait as long as the caller's context, and
// the job with it.
const apiTimeout = 5 * time.Second

// retryFor bounds how long retry keeps trying when the caller's context
// has no deadline: a cluster that stays away this long is reported.
const retryFor = time.Minute

// retry runs op, each try bounded by apiTimeout, again while its error
// is transient (no answer, no responders, the cluster busy electing),
// until ctx ends or retryFor passes.
func retry[T any](ctx context.Context, op func(ctx context.Context) (T, error)) (T, error) {
	return retryEach(ctx, apiTimeout, op)
}

func retryEach[T any](ctx context.Context, each time.Duration, op func(ctx context.Context) (T, error)) (T, error) {
	giveUp := time.Now().Add(retryFor)
	wait := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, each)
		v, err := op(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !transient(err) || time.Now().After(giveUp) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// transient reports whether err may go away by itself: a request no one
// answered in time, or a cluster saying it is not available yet.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == 503 || api.Code == 408 || api.ErrorCode == 10008 || api.ErrorCode == 10004
	}
	return false
}
