package intel

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors, matched with errors.Is. Provider failures wrap them; the
// Checker also turns them into ProviderResult.ErrorCode values.
var (
	// ErrUnsupported is returned by a provider asked for a kind of lookup it
	// does not do (AbuseIPDB and domains).
	ErrUnsupported = errors.New("intel: lookup kind not supported by this provider")
	// ErrUnauthorized means the service refused the API key (HTTP 401 or
	// 403). The message never contains the key.
	ErrUnauthorized = errors.New("intel: API key refused")
	// ErrRateLimited means the service kept answering 429 (or asked for a
	// pause longer than the provider's MaxRetryWait); daily quotas end here.
	ErrRateLimited = errors.New("intel: rate limited")
	// ErrNotPublic is returned by an online provider handed an address or
	// name that must never leave the machine (private, loopback,
	// documentation, internal names, ...). The Checker never hands them
	// over; providers refuse them again in case they are used alone.
	ErrNotPublic = errors.New("intel: not a public indicator; never sent to an outside service")
	// ErrNoAPIKey is returned by NewAbuseIPDB and NewVirusTotal without a key.
	ErrNoAPIKey = errors.New("intel: no API key")
)

// InputError reports an indicator that is not a valid IP address or host
// name. Input is truncated and quoted when printed: it may come from a packet.
type InputError struct {
	// Kind is what the input was taken for: KindIP or KindDomain.
	Kind Kind
	// Input is the text as given (at most maxInputEcho bytes are kept).
	Input string
	// Reason says what is wrong with it.
	Reason string
}

const maxInputEcho = 100

func newInputError(kind Kind, input, reason string) *InputError {
	if len(input) > maxInputEcho {
		input = input[:maxInputEcho] + "..."
	}
	return &InputError{Kind: kind, Input: input, Reason: reason}
}

func (e *InputError) Error() string {
	what := "indicator"
	switch e.Kind {
	case KindIP:
		what = "IP address"
	case KindDomain:
		what = "domain"
	}
	return fmt.Sprintf("intel: invalid %s %q: %s", what, e.Input, e.Reason)
}

// APIError is an unsuccessful answer from an online service. It unwraps to
// ErrUnauthorized for 401/403 and to ErrRateLimited for 429, so callers can
// match the sentinel without caring about the type.
type APIError struct {
	// Provider is the provider's name ("abuseipdb", "virustotal").
	Provider string
	// StatusCode is the HTTP status of the last attempt.
	StatusCode int
	// Code is the service's error code when it gives one
	// (VirusTotal: "WrongCredentialsError", "QuotaExceededError", ...).
	Code string
	// Message is the service's explanation, truncated, with the API key
	// removed should the service ever echo it.
	Message string
	// RetryAfter is the pause the service asked for, zero if none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var what string
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		what = "API key refused"
	case http.StatusTooManyRequests:
		what = "rate limited"
	default:
		what = "request failed"
	}
	s := fmt.Sprintf("intel: %s: %s (HTTP %d", e.Provider, what, e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	s += ")"
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap maps the status to the package's sentinels.
func (e *APIError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusTooManyRequests:
		return ErrRateLimited
	}
	return nil
}
