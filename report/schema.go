package report

import (
	"encoding/json"
	"fmt"
)

// AnswerSchemaName names AnswerSchema where an API asks for a name, as
// OpenAI's response_format json_schema does (letters, digits, _ and -).
const AnswerSchemaName = "recon_pcap_answer"

// AnswerSchema returns the JSON schema of an Answer, in the subset OpenAI's
// structured outputs accept with strict: true: every property required,
// additionalProperties false at every level, enums listed. Bounds that
// strict mode does not enforce everywhere (list and line lengths, the form
// of target) are stated in descriptions and checked by Validate.
//
// The enums are built from AttackTypes, Severities and Confidences, so the
// schema follows the vocabulary. Each call returns a fresh copy.
func AnswerSchema() json.RawMessage {
	str := func(desc string) map[string]any {
		return map[string]any{"type": "string", "description": desc}
	}
	enum := func(desc string, values any) map[string]any {
		return map[string]any{"type": "string", "description": desc, "enum": values}
	}
	lines := func(desc string) map[string]any {
		return map[string]any{
			"type":        "array",
			"description": fmt.Sprintf("%s At most %d items, each at most %d characters.", desc, MaxListItems, MaxLineLength),
			"items":       map[string]any{"type": "string"},
		}
	}
	schema := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"attack_assessment", "evidence", "recommendations"},
		"properties": map[string]any{
			"attack_assessment": map[string]any{
				"type":                 "object",
				"description":          "The verdict on the capture.",
				"additionalProperties": false,
				"required":             []string{"attack_type", "target", "severity", "confidence"},
				"properties": map[string]any{
					"attack_type": enum("The attack the tool results show: multiple when findings of more than one type stand, unknown when none do.", AttackTypes),
					"target":      str(`The attacked host's IP address (such as 192.0.2.10), "` + TargetMultiple + `" when several hosts were attacked, or "` + TargetUnknown + `".`),
					"severity":    enum("How bad the attack is; low when there is no threat.", Severities),
					"confidence":  enum("How sure the verdict is.", Confidences),
				},
			},
			"evidence":        lines("Observations from the tool results that support the verdict, with numbers, addresses and ports. Not empty unless attack_type is unknown."),
			"recommendations": lines("Actions a defender should take. Not empty unless attack_type is unknown."),
		},
	}
	b, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		panic("report: marshalling the answer schema: " + err.Error()) // maps of strings always marshal
	}
	return b
}
