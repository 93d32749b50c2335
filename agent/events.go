package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agents-of-shield/reconpcap/report"
)

// Event is one step of an investigation, delivered to Config.OnEvent. It
// is one of EventStarted, EventToolCalled, EventModelTurn, EventRetry,
// EventFallback, EventDisagreement and EventFinished; switch on the type.
type Event interface {
	// InvestigationID says which investigation the event belongs to, so a
	// program that runs several at once can tell their events apart.
	InvestigationID() string
}

// EventBase carries what every event has.
type EventBase struct {
	ID string    // the investigation's ID
	At time.Time // when the event happened
}

// InvestigationID implements Event.
func (b EventBase) InvestigationID() string { return b.ID }

// EventStarted opens an investigation; it is always the first event.
type EventStarted struct {
	EventBase
	PcapFile string      // absolute
	Trigger  string      // the trigger's name
	Analyst  AnalystMode // AnalystLLM or AnalystRules
}

// EventToolCalled reports one MCP tool call, whoever made it: the agent
// gathering facts, the grounding checks, or the model.
type EventToolCalled struct {
	EventBase
	Name        string
	Arguments   string // the arguments as JSON, as the caller gave them
	Duration    time.Duration
	ResultBytes int   // the size of the structured result
	Err         error // a *ToolError, a transport error, or nil
}

// EventModelTurn reports one answered model request.
type EventModelTurn struct {
	EventBase
	Turn             int    // 1 for the first request
	Model            string // the model that answered, from the response
	PromptTokens     int
	CompletionTokens int
	ToolCalls        int           // the tool calls the model asked for
	Duration         time.Duration // including retries
}

// EventRetry reports a failed model request that will be sent again.
type EventRetry struct {
	EventBase
	Attempt int           // 1 for the first retry
	Status  int           // the HTTP status; 0 for a network error or timeout
	Wait    time.Duration // before the next attempt
	Err     error
}

// EventFallback reports that the rules analyst answers instead of the model.
type EventFallback struct {
	EventBase
	Reason error
}

// EventDisagreement reports a model that kept its verdict below a finding
// the detectors proved after being asked to reconsider: the report keeps
// the finding's verdict.
type EventDisagreement struct {
	EventBase
	Finding report.Finding // the finding the model's verdict stayed below
	View    string         // the model's view, as report.Analyst.Disagreement records it
}

// EventFinished closes an investigation; it is always the last event.
type EventFinished struct {
	EventBase
	Verdict  report.Assessment // zero when Err is set
	Duration time.Duration
	Err      error
}

// emitter delivers one investigation's events. The mutex makes the
// callback never concurrent and keeps events in order, whatever goroutine
// an event comes from.
type emitter struct {
	id string
	mu sync.Mutex
	fn func(Event)
}

// base returns the common part of an event made now.
func (e *emitter) base() EventBase {
	if e == nil {
		return EventBase{At: time.Now()}
	}
	return EventBase{ID: e.id, At: time.Now()}
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.fn == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fn(ev)
}

// newInvestigationID returns a random ID that tells one investigation's
// events and log records from another's.
func newInvestigationID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// httpStatus returns the HTTP status of a model error, 0 when it has none
// (a network error or a timeout).
func httpStatus(err error) int {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		return reqErr.HTTPStatusCode
	}
	return 0
}
