package report

import (
	"encoding/json"
	"time"
)

// Report is the verdict of one investigation, in the JSON contract of the
// original ReconAgentPcap plus our additions (findings, analyst).
//
// Evidence, Recommendations, Findings and Analyst.ToolCalls marshal as []
// when empty, never null: consumers of the Python tool index them freely.
type Report struct {
	// Timestamp is when the investigation finished.
	Timestamp time.Time `json:"timestamp"`
	// InvestigationTrigger says why it ran ("manual", an alert name, ...).
	InvestigationTrigger string `json:"investigation_trigger"`
	// PcapFile is the absolute path of the capture.
	PcapFile         string     `json:"pcap_file"`
	AttackAssessment Assessment `json:"attack_assessment"`
	// Evidence lists the observations that support the assessment.
	Evidence []string `json:"evidence"`
	// Recommendations lists what a defender should do next.
	Recommendations []string `json:"recommendations"`
	// Intelligence holds counts from the analysis, never from the model.
	Intelligence Intelligence `json:"intelligence"`
	// Findings are the detector findings the verdict rests on.
	Findings []Finding `json:"findings"`
	// Analyst says who reached the verdict and how.
	Analyst Analyst `json:"analyst"`
}

// Assessment is the heart of the verdict.
type Assessment struct {
	// AttackType is multiple when findings of more than one type stand,
	// unknown when none do.
	AttackType AttackType `json:"attack_type"`
	// Target is an IP address, TargetMultiple or TargetUnknown.
	Target     string     `json:"target"`
	Severity   Severity   `json:"severity"`
	Confidence Confidence `json:"confidence"`
}

// The two targets that are not an IP address.
const (
	TargetMultiple = "multiple_targets"
	TargetUnknown  = "unknown"
)

// Intelligence holds the numbers of the capture. The first three are the
// contract's; the others are additions, left out when zero.
type Intelligence struct {
	TotalPackets int64 `json:"total_packets"`
	// UniqueIPs counts the outermost IP header's addresses.
	UniqueIPs int `json:"unique_ips"`
	// ThreatCount is the number of findings that stand; 0 with no threat.
	ThreatCount int   `json:"threat_count"`
	TotalBytes  int64 `json:"total_bytes,omitempty"`
	// Start and End are the capture times of the first and last packet.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

// The analyst modes.
const (
	ModeLLM   = "llm"
	ModeRules = "rules"
)

// Analyst records who reached the verdict: a language model (ModeLLM) or
// the built-in rules analyst (ModeRules), and what it did on the way.
type Analyst struct {
	// Mode is ModeLLM or ModeRules.
	Mode string `json:"mode"`
	// Model names the language model, when one was asked (a report the
	// rules analyst wrote after a model failed keeps the model's name, and
	// Note says why); empty when no model was involved.
	Model string `json:"model,omitempty"`
	// ToolCalls lists the MCP tools called, in order.
	ToolCalls []string `json:"tool_calls"`
	// Turns counts the model round trips.
	Turns            int `json:"turns,omitempty"`
	PromptTokens     int `json:"prompt_tokens,omitempty"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	// Retries counts the model requests sent again after a 429, a 5xx or
	// a network error.
	Retries int `json:"retries,omitempty"`
	// DurationMS is the analyst's wall time in milliseconds.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Note says anything a reader should know, such as why the rules
	// analyst answered instead of the model.
	Note string `json:"note,omitempty"`
	// Disagreement records a model's verdict that stayed below what the
	// detectors proved after it was asked to reconsider: the model's view,
	// and the finding the report kept instead. Empty when they agree.
	Disagreement string `json:"disagreement,omitempty"`
}

// MarshalJSON writes the report with empty lists as [], never null.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // no methods: avoids recursing into MarshalJSON
	p := plain(r)
	p.Evidence = nonNil(p.Evidence)
	p.Recommendations = nonNil(p.Recommendations)
	p.Findings = nonNil(p.Findings)
	p.Analyst.ToolCalls = nonNil(p.Analyst.ToolCalls)
	return json.Marshal(p)
}

// MarshalJSON writes tool_calls as [] when there were none, never null.
func (a Analyst) MarshalJSON() ([]byte, error) {
	type plain Analyst
	p := plain(a)
	p.ToolCalls = nonNil(p.ToolCalls)
	return json.Marshal(p)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
