package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"   ", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"1.5", 1500 * time.Millisecond},
		{"0.25", 250 * time.Millisecond},
		{"-3", 0},
		{"+3", 0},
		{"1.2.3", 0},
		{".", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"1e9", 0},
		{"0x10", 0},
		{"86400", 24 * time.Hour},
		{"86401", MaxAfter},
		{"99999999999999999999999999", MaxAfter},
		{"Wed, 01 May 2024 12:00:30 GMT", 30 * time.Second},
		{"Wednesday, 01-May-24 12:01:00 GMT", time.Minute}, // RFC 850 form
		{"Wed May  1 12:00:10 2024", 10 * time.Second},     // asctime form
		{"Wed, 01 May 2024 11:59:00 GMT", 0},               // past
		{"Wed, 01 May 2024 12:00:00 GMT", 0},               // now
		{"Thu, 01 May 2025 12:00:00 GMT", MaxAfter},        // a year away
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := ParseAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDelayBounds(t *testing.T) {
	tests := []struct {
		name     string
		b        Backoff
		attempt  int
		min, max time.Duration
	}{
		{"zero value, first", Backoff{}, 0, 250 * time.Millisecond, 500 * time.Millisecond},
		{"zero value, third", Backoff{}, 2, time.Second, 2 * time.Second},
		{"zero value, capped", Backoff{}, 10, 15 * time.Second, 30 * time.Second},
		{"huge attempt", Backoff{}, 1 << 30, 15 * time.Second, 30 * time.Second},
		{"negative attempt", Backoff{}, -5, 250 * time.Millisecond, 500 * time.Millisecond},
		{"custom", Backoff{Base: 5 * time.Millisecond, Max: time.Minute}, 2, 10 * time.Millisecond, 20 * time.Millisecond},
		{"base above max", Backoff{Base: time.Hour, Max: time.Second}, 0, 500 * time.Millisecond, time.Second},
		{"one nanosecond", Backoff{Base: 1, Max: 1}, 3, 0, 1},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := tt.b.Delay(tt.attempt)
			if d < tt.min || d > tt.max {
				t.Fatalf("%s: Delay(%d) = %s, want within [%s, %s]", tt.name, tt.attempt, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		// Jitter: 200 draws from a range of millions of nanoseconds
		// all landing on one value would mean no randomness at all.
		if tt.max-tt.min > time.Millisecond && len(seen) < 2 {
			t.Errorf("%s: Delay(%d) gave one value in 200 draws: no jitter", tt.name, tt.attempt)
		}
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name     string
		b        Backoff
		after    time.Duration
		min, max time.Duration
	}{
		{"server asked, under the cap", Backoff{MaxAfter: 2 * time.Minute}, 90 * time.Second, 90 * time.Second, 90 * time.Second},
		{"server asked, over the cap", Backoff{MaxAfter: 2 * time.Minute}, time.Hour, 2 * time.Minute, 2 * time.Minute},
		{"MaxAfter zero uses Max", Backoff{Max: 10 * time.Second}, time.Minute, 10 * time.Second, 10 * time.Second},
		{"zero value caps at 30 s", Backoff{}, time.Hour, 30 * time.Second, 30 * time.Second},
		{"server silent: backoff", Backoff{}, 0, 250 * time.Millisecond, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := tt.b.Wait(0, tt.after); got < tt.min || got > tt.max {
			t.Errorf("%s: Wait(0, %s) = %s, want within [%s, %s]", tt.name, tt.after, got, tt.min, tt.max)
		}
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms) = %v, want nil", err)
	}
	if err := Sleep(t.Context(), 0); err != nil {
		t.Errorf("Sleep(0) = %v, want nil", err)
	}

	cause := errors.New("investigation cancelled")
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel(cause)
	}()
	start := time.Now()
	err := Sleep(ctx, time.Hour)
	if !errors.Is(err, cause) {
		t.Errorf("Sleep cancelled = %v, want the cause", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Sleep returned %s after its context ended", el)
	}
	if err := Sleep(ctx, 0); !errors.Is(err, cause) {
		t.Errorf("Sleep(0) on an ended context = %v, want the cause", err)
	}
}
