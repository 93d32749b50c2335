package agent

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
	openai "github.com/sashabaranov/go-openai"
)

// rawSchema sends a JSON schema as it is: go-openai wants a json.Marshaler
// for the response format's schema.
type rawSchema json.RawMessage

func (r rawSchema) MarshalJSON() ([]byte, error) { return r, nil }

// openAITools turns the MCP tool list into OpenAI function tools. The
// capture arguments are left out: the session supplies them.
func openAITools(ts []mcp.Tool) ([]openai.Tool, map[string]bool) {
	out := make([]openai.Tool, 0, len(ts))
	known := map[string]bool{}
	for _, t := range ts {
		schema := map[string]any{}
		if b, err := json.Marshal(t.InputSchema); err == nil {
			json.Unmarshal(b, &schema)
		}
		if props, ok := schema["properties"].(map[string]any); ok {
			delete(props, "pcap_file")
			delete(props, "working_dir")
		}
		if req, ok := schema["required"].([]any); ok {
			kept := []any{}
			for _, r := range req {
				if r != "pcap_file" && r != "working_dir" {
					kept = append(kept, r)
				}
			}
			schema["required"] = kept
		}
		if schema["type"] == nil {
			schema["type"] = "object"
		}
		raw, _ := json.Marshal(schema)
		out = append(out, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: json.RawMessage(raw)}})
		known[t.Name] = true
	}
	return out, known
}
