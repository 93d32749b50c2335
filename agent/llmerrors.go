package agent

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// modelError is a typed model error: its text (msg, wrapping ErrModel) is
// safe to show, and it keeps the client's error for errors.As (the status,
// the param of an *openai.APIError) without printing it, as that text can
// quote the API key.
type modelError struct {
	msg   error
	cause error
}

func (e *modelError) Error() string   { return e.msg.Error() }
func (e *modelError) Unwrap() []error { return []error{e.msg, e.cause} }

// classify says whether a model error is worth retrying and wraps it in a
// clear typed error that never contains the API key.
func classify(err error) (bool, error) {
	retry, msg := classifyText(err)
	return retry, &modelError{msg: msg, cause: err}
}

func classifyText(err error) (bool, error) {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	status := 0
	msg := err.Error()
	switch {
	case errors.As(err, &apiErr):
		status, msg = apiErr.HTTPStatusCode, apiErr.Message
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
		msg = fmt.Sprintf("HTTP %d: %s", reqErr.HTTPStatusCode, clip(string(reqErr.Body), 300))
	}
	switch {
	case status == 401 || status == 403:
		return false, fmt.Errorf("%w: the endpoint refused the API key (HTTP %d)", ErrModel, status)
	case status == 404:
		return false, fmt.Errorf("%w: the endpoint or model was not found (HTTP 404): %s", ErrModel, clip(msg, 300))
	case status == 400 || status == 422:
		return false, fmt.Errorf("%w: the endpoint rejected the request (HTTP %d): %s", ErrModel, status, clip(msg, 300))
	case status == 429 || status >= 500:
		return true, fmt.Errorf("%w: HTTP %d: %s", ErrModel, status, clip(msg, 300))
	case status == 0:
		if errors.Is(err, context.DeadlineExceeded) {
			return true, fmt.Errorf("%w: the request timed out", ErrModel)
		}
		return true, fmt.Errorf("%w: %s", ErrModel, clip(redact(err.Error()), 300))
	}
	return false, fmt.Errorf("%w: HTTP %d: %s", ErrModel, status, clip(msg, 300))
}

// redact drops anything that looks like a bearer token from an error text.
func redact(s string) string {
	return regexp.MustCompile(`(?i)(bearer\s+|sk-)[A-Za-z0-9_\-]{4,}`).ReplaceAllString(s, "[redacted]")
}

func refusesResponseFormat(err error) bool {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	text := strings.ToLower(err.Error())
	if errors.As(err, &apiErr) {
		if apiErr.HTTPStatusCode != 400 && apiErr.HTTPStatusCode != 422 {
			return false
		}
		text = strings.ToLower(apiErr.Message)
		if apiErr.Param != nil {
			text += " " + strings.ToLower(*apiErr.Param)
		}
	} else if errors.As(err, &reqErr) {
		if reqErr.HTTPStatusCode != 400 && reqErr.HTTPStatusCode != 422 {
			return false
		}
		text = strings.ToLower(string(reqErr.Body))
	}
	return strings.Contains(text, "response_format") || strings.Contains(text, "json_schema") || strings.Contains(text, "structured output")
}
