package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/retry"
	"golang.org/x/time/rate"
)

// Rate is a provider's request budget: Requests per Per, as a token bucket
// that refills evenly (one token every Per/Requests) and holds at most Burst
// tokens. The zero Rate means the provider's default.
type Rate struct {
	Requests int
	Per      time.Duration
	// Burst is how many requests may go at once after a quiet spell. Zero
	// means 1: requests are spaced evenly, so no window of length Per ever
	// sees more than Requests+1 of them.
	Burst int
}

func (r Rate) limiter(def Rate) (*rate.Limiter, error) {
	if r.Requests == 0 && r.Per == 0 {
		r.Requests, r.Per = def.Requests, def.Per
		if r.Burst == 0 {
			r.Burst = def.Burst
		}
	}
	if r.Requests <= 0 || r.Per <= 0 || r.Burst < 0 {
		return nil, fmt.Errorf("intel: invalid rate %d per %s (burst %d)", r.Requests, r.Per, r.Burst)
	}
	if r.Burst == 0 {
		r.Burst = 1
	}
	return rate.NewLimiter(rate.Every(r.Per/time.Duration(r.Requests)), r.Burst), nil
}

const (
	defaultTimeout      = 10 * time.Second
	defaultMaxRetries   = 2
	defaultMaxRetryWait = time.Minute
	defaultBackoff      = time.Second
	// maxBody bounds what is read of an answer; VirusTotal domain reports
	// with DNS records and certificates run to tens of kilobytes.
	maxBody = 2 << 20
)

// remote is the HTTP machinery the online providers share: the token
// bucket, the pause a 429 imposes on every caller, bounded retries, the
// per-request timeout, and key redaction.
type remote struct {
	name         string
	key          string
	client       *http.Client
	limiter      *rate.Limiter
	timeout      time.Duration
	maxRetries   int
	maxRetryWait time.Duration
	// backoff is the wait after a 5xx, or a 429 without Retry-After:
	// jittered, first up to defaultBackoff, doubling, at most maxRetryWait.
	backoff retry.Backoff
	logger  *slog.Logger
	now     func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
}

// newRemote builds the machinery of the provider name from c, with
// defaultRate for a zero c.Rate.
func newRemote(name string, c ProviderConfig, defaultRate Rate) (*remote, error) {
	if c.APIKey == "" {
		return nil, fmt.Errorf("%w for %s", ErrNoAPIKey, name)
	}
	lim, err := c.Rate.limiter(defaultRate)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := &remote{
		name:         name,
		key:          c.APIKey,
		client:       c.HTTPClient,
		limiter:      lim,
		timeout:      c.Timeout,
		maxRetries:   c.MaxRetries,
		maxRetryWait: c.MaxRetryWait,
		logger:       c.Logger,
		now:          time.Now,
	}
	if r.client == nil {
		r.client = http.DefaultClient
	}
	if r.timeout <= 0 {
		r.timeout = defaultTimeout
	}
	switch {
	case r.maxRetries == 0:
		r.maxRetries = defaultMaxRetries
	case r.maxRetries < 0:
		r.maxRetries = 0
	}
	if r.maxRetryWait <= 0 {
		r.maxRetryWait = defaultMaxRetryWait
	}
	r.backoff = retry.Backoff{Base: defaultBackoff, Max: r.maxRetryWait}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// response is a successful or final answer: the status and the body.
type response struct {
	status int
	body   []byte
}

// apiErrorFunc turns a failed answer into the service's code and message.
type apiErrorFunc func(body []byte) (code, message string)

// get sends GET url with the given headers and returns the answer of the
// first attempt that is neither a 429 nor a 5xx, retrying those at most
// maxRetries times. A 2xx or 404 is returned as a response; anything else
// becomes an *APIError.
func (r *remote) get(ctx context.Context, url string, header http.Header, apiErr apiErrorFunc) (*response, error) {
	for attempt := 0; ; attempt++ {
		if err := r.waitPause(ctx); err != nil {
			return nil, err
		}
		if err := r.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: waiting for the rate limiter: %w", r.name, ctx.Err())
			}
			// rate.Limiter refuses up front a wait that would pass the
			// deadline; say so in the terms callers match on.
			return nil, fmt.Errorf("%s: rate limit leaves no time before the deadline: %w", r.name, context.DeadlineExceeded)
		}
		resp, err := r.once(ctx, url, header)
		if err != nil {
			return nil, err
		}
		if resp.status/100 == 2 || resp.status == http.StatusNotFound {
			return &response{status: resp.status, body: resp.body}, nil
		}
		e := &APIError{Provider: r.name, StatusCode: resp.status}
		if apiErr != nil {
			e.Code, e.Message = apiErr(resp.body)
		}
		e.Code = clean(e.Code, 64)
		e.Message = clean(r.redact(e.Message), maxErrorLen)
		var wait time.Duration
		switch {
		case resp.status == http.StatusTooManyRequests:
			wait = retry.ParseAfter(resp.header.Get("Retry-After"), r.now())
			e.RetryAfter = wait
			if wait <= 0 {
				wait = r.backoff.Delay(attempt)
			}
			// Every caller of this provider pauses, not just this one:
			// the quota is the key's, not the request's.
			r.pause(wait)
			if attempt >= r.maxRetries || wait > r.maxRetryWait {
				return nil, e
			}
			r.logger.Info("intel: rate limited, pausing provider", "provider", r.name, "wait", wait, "attempt", attempt+1)
		case resp.status >= 500:
			if attempt >= r.maxRetries {
				return nil, e
			}
			wait = r.backoff.Delay(attempt)
			r.logger.Info("intel: server error, retrying", "provider", r.name, "status", resp.status, "wait", wait)
			if err := retry.Sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
		default:
			return nil, e
		}
	}
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// once makes one attempt under the per-request timeout.
func (r *remote) once(ctx context.Context, url string, header http.Header) (*rawResponse, error) {
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: building request: %w", r.name, err)
	}
	req.Header = header.Clone()
	req.Header.Set("User-Agent", "reconpcap-intel")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, r.transportError(ctx, actx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, r.transportError(ctx, actx, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", r.name, maxBody)
	}
	r.logger.Debug("intel: answer", "provider", r.name, "status", resp.StatusCode, "bytes", len(body))
	return &rawResponse{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// transportError words a failed round trip. The caller's cancellation comes
// first; then our own per-request timeout, which wraps
// context.DeadlineExceeded. The key travels in a header, never in the URL,
// so the url.Error text is safe to keep.
func (r *remote) transportError(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", r.name, context.Cause(ctx))
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer within %s: %w", r.name, r.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %s", r.name, clean(r.redact(err.Error()), maxErrorLen))
}

func (r *remote) redact(s string) string {
	if r.key == "" {
		return s
	}
	return strings.ReplaceAll(s, r.key, "[redacted]")
}

func (r *remote) pause(d time.Duration) {
	until := r.now().Add(d)
	r.mu.Lock()
	if until.After(r.pausedUntil) {
		r.pausedUntil = until
	}
	r.mu.Unlock()
}

// waitPause blocks while the provider is paused by a 429.
func (r *remote) waitPause(ctx context.Context) error {
	for {
		r.mu.Lock()
		d := r.pausedUntil.Sub(r.now())
		r.mu.Unlock()
		if d <= 0 {
			return nil
		}
		if d > r.maxRetryWait {
			// A daily quota: fail fast rather than hold callers for hours.
			return fmt.Errorf("%s: paused by the service's rate limit for %s more: %w", r.name, d.Round(time.Second), ErrRateLimited)
		}
		if dl, ok := ctx.Deadline(); ok && r.now().Add(d).After(dl) {
			return fmt.Errorf("%s: paused by the service's rate limit for %s, past the deadline: %w", r.name, d.Round(time.Millisecond), ErrRateLimited)
		}
		if err := retry.Sleep(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
}
