package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is jittered exponential backoff. The zero Backoff waits up to
// 500 ms before the first retry, doubling to at most 30 s.
type Backoff struct {
	// Base bounds the wait before the first retry. Zero: 500 ms.
	Base time.Duration
	// Max bounds every wait Delay returns. Zero: 30 s.
	Max time.Duration
	// MaxAfter bounds a wait the server asked for (see Wait). Zero: Max.
	MaxAfter time.Duration
}

const (
	defaultBase = 500 * time.Millisecond
	defaultMax  = 30 * time.Second
)

// Delay is the wait before retry number attempt (0 for the first): a
// random duration between d/2 and d, where d is Base doubled attempt times
// and capped at Max. The jitter spreads clients that failed together, so
// they do not all come back at the same instant; the lower half is kept
// so a retry never comes back at once.
func (b Backoff) Delay(attempt int) time.Duration {
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = defaultBase
	}
	if limit <= 0 {
		limit = defaultMax
	}
	d := min(base, limit)
	// Doubling stops at the cap, so a large attempt cannot overflow.
	for i := 0; i < attempt && d < limit; i++ {
		d = min(2*d, limit)
	}
	return d/2 + rand.N(d/2+1)
}

// Wait is the wait before retry number attempt when the server asked for
// after (0: it did not say): after, capped at MaxAfter, or else Delay.
func (b Backoff) Wait(attempt int, after time.Duration) time.Duration {
	if after <= 0 {
		return b.Delay(attempt)
	}
	limit := b.MaxAfter
	if limit <= 0 {
		limit = b.Max
	}
	if limit <= 0 {
		limit = defaultMax
	}
	return min(after, limit)
}

// Sleep waits d, or until ctx ends, whichever comes first. It returns nil
// after d, else the context's cause.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
