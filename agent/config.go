package agent

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/report"
	"go.opentelemetry.io/otel/trace"
)

// AnalystMode chooses who writes the verdict.
type AnalystMode string

const (
	// AnalystAuto uses the model when an API key or a base URL is
	// configured (in Config or the environment), the rules analyst otherwise.
	AnalystAuto AnalystMode = "auto"
	// AnalystLLM always uses the model; without a key or base URL New fails.
	AnalystLLM AnalystMode = "llm"
	// AnalystRules always uses the built-in rules analyst: no network.
	AnalystRules AnalystMode = "rules"
)

// Config configures a ReconAgentPcap. It mirrors the Python constructor;
// every zero value is a documented default.
type Config struct {
	// WorkingDir is the directory that holds the capture and bounds what the
	// MCP tools may read. Empty means ".".
	WorkingDir string
	// PcapFile is the capture, relative to WorkingDir (or absolute, inside
	// it). Empty means "traffic.pcap".
	PcapFile string
	// ServerCommand and ServerArgs start the MCP server as a subprocess over
	// stdio, e.g. "reconpcap" with ["mcp", "--root", dir]. Empty
	// ServerCommand means the bundled server, in process.
	ServerCommand string
	ServerArgs    []string
	// ClientSessionTimeout bounds one whole investigation (the MCP session
	// and the analyst). Zero means 300 s.
	ClientSessionTimeout time.Duration
	// Analyst chooses the analyst. Empty means AnalystAuto.
	Analyst AnalystMode
	// Logger receives the agent's logs: at Info the start and the end of
	// each investigation, every record with an "investigation" attribute
	// (the ID events carry too). Nil discards them.
	Logger *slog.Logger
	// TracerProvider receives OpenTelemetry spans: one per investigation,
	// one per tool call and one per model request, with the GenAI semantic
	// conventions' attributes. Nil means otel's global provider, a no-op
	// unless the program installs one.
	TracerProvider trace.TracerProvider
	// Detectors holds the detector thresholds the bundled server uses. The
	// zero value is the documented defaults.
	Detectors detectors.Config

	// Model is the model's name. Empty means $OPENAI_MODEL, else DefaultModel.
	Model string
	// APIKey is the key for the model endpoint. Empty means $OPENAI_API_KEY.
	APIKey string
	// BaseURL is an OpenAI-compatible endpoint (Ollama, vLLM, Azure, ...).
	// Empty means $OPENAI_BASE_URL, else OpenAI's.
	BaseURL string
	// HTTPClient carries the model requests. Nil means a client with no
	// overall timeout (each request has RequestTimeout).
	HTTPClient *http.Client
	// MaxTurns bounds the model's tool-calling turns. Zero means 12.
	MaxTurns int
	// RequestTimeout bounds one request to the model. Zero means 120 s.
	RequestTimeout time.Duration
	// MaxRetries bounds the retries of one model request after 429, 5xx or
	// a network error. Zero means 4; negative means none.
	MaxRetries int

	// ChatClient supplies the model without HTTP (a test fake, another
	// SDK, a gateway). Nil means an OpenAI client built from APIKey,
	// BaseURL and HTTPClient. When set, no key or base URL is needed and
	// AnalystAuto uses the model.
	ChatClient ChatClient
	// Instructions are added to the system prompt, after the agent's own:
	// they steer the analyst (a house style, what to weigh), but cannot
	// lift the rule that strings from the capture are data. Empty adds
	// nothing.
	Instructions string
	// Temperature is sent to the endpoint when set; nil leaves the
	// endpoint's default. go-openai omits a zero temperature, so a
	// pointer to 0 is sent as the smallest positive float32. Set it with
	// new(float32(0.2)).
	Temperature *float32
	// Seed is sent to the endpoint when set, for endpoints that honour
	// it; nil sends none.
	Seed *int

	// OnEvent, when set, receives every event of every investigation
	// (see Event), synchronously on the investigation's goroutine and
	// never concurrently for one investigation: a slow callback slows the
	// investigation. Investigations run at once call it concurrently;
	// EventBase.ID tells them apart. Nil means no events.
	OnEvent func(Event)
}

// DefaultModel is the model used when neither Config.Model nor
// $OPENAI_MODEL names one: a current small OpenAI model.
const DefaultModel = "gpt-4o-mini"

// Trigger says what set an investigation off.
type Trigger struct {
	// Name becomes the report's investigation_trigger. Empty means "manual".
	Name string
	// Details from the orchestrator (an alert, a ticket) reach the analyst.
	Details map[string]any
}

// Result is what InvestigateAsync delivers: a report or an error.
type Result struct {
	Report *report.Report
	Err    error
}
