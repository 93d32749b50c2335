package intel

import (
	"log/slog"
	"net/http"
	"time"
)

// ProviderConfig is what configures every online provider: AbuseIPDB and
// VirusTotal embed it. Each provider's own config says which header carries
// its key, which environment variable New reads it from, and its default
// BaseURL and Rate.
type ProviderConfig struct {
	// APIKey is sent in a request header, never in a URL, log or error.
	// Zero: New reads the provider's environment variable; without a key
	// the provider is skipped. NewAbuseIPDB and NewVirusTotal do not read
	// the environment.
	APIKey string
	// BaseURL is the API root. Zero: the provider's default.
	BaseURL string
	// Rate is the request budget. Zero: the provider's default.
	Rate Rate
	// MaxRetries bounds retries after a 429 or 5xx. Zero: 2; negative: none.
	MaxRetries int
	// MaxRetryWait is the longest Retry-After honoured by waiting, and the
	// longest backoff; a longer Retry-After (a spent daily quota) fails at
	// once with ErrRateLimited, and so do later calls until it has passed.
	// Zero: one minute.
	MaxRetryWait time.Duration
	// Disabled leaves the provider out of a Checker even with a key.
	Disabled bool
	// HTTPClient, Timeout and Logger: zero means Config's (in a Checker),
	// else http.DefaultClient, 10 s per request, and discarding logs.
	HTTPClient *http.Client
	Timeout    time.Duration
	Logger     *slog.Logger
}

// withDefaults fills the zero HTTPClient, Timeout and Logger from a
// Checker's Config, and sets the key.
func (c ProviderConfig) withDefaults(key string, client *http.Client, timeout time.Duration, logger *slog.Logger) ProviderConfig {
	c.APIKey = key
	c.HTTPClient = orDefault(c.HTTPClient, client)
	c.Timeout = orDefault(c.Timeout, timeout)
	c.Logger = orDefault(c.Logger, logger)
	return c
}
