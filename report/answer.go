package report

import (
	"encoding/json"
	"slices"
)

// Answer is the part of a report an analyst produces: the assessment, the
// evidence and the recommendations. A language model answers in this shape
// (see AnswerSchema); Parse reads it and Validate checks it. Everything else
// in a Report comes from the analysis and the agent, never from the model.
type Answer struct {
	AttackAssessment Assessment `json:"attack_assessment"`
	Evidence         []string   `json:"evidence"`
	Recommendations  []string   `json:"recommendations"`
}

// MarshalJSON writes empty lists as [], never null, as AnswerSchema requires.
func (a Answer) MarshalJSON() ([]byte, error) {
	type plain Answer
	p := plain(a)
	p.Evidence = nonNil(p.Evidence)
	p.Recommendations = nonNil(p.Recommendations)
	return json.Marshal(p)
}

// Report returns base with the answer's assessment, evidence and
// recommendations in place of its own. base carries what the analysis and
// the agent know: timestamp, trigger, file, intelligence, findings, analyst.
// The lists are copied, so later changes to a do not reach the report.
func (a *Answer) Report(base Report) *Report {
	base.AttackAssessment = a.AttackAssessment
	base.Evidence = slices.Clone(a.Evidence)
	base.Recommendations = slices.Clone(a.Recommendations)
	return &base
}

// Answer returns the analyst's part of r.
func (r *Report) Answer() *Answer {
	return &Answer{
		AttackAssessment: r.AttackAssessment,
		Evidence:         slices.Clone(r.Evidence),
		Recommendations:  slices.Clone(r.Recommendations),
	}
}
