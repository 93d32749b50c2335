package mcpserver

import (
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// outputSchema generates R's output schema as mcp.WithOutputSchema does,
// without "additionalProperties": false and "required". Results only grow
// (doc.go): a client validating against a closed schema would reject the
// fields a later version adds. And tools/list is what a model reads
// before it does anything: the two keywords were a third of the output
// schemas, which keep every field and its type.
func outputSchema[R any]() mcp.ToolOption {
	var t mcp.Tool
	mcp.WithOutputSchema[R]()(&t)
	raw, err := json.Marshal(t.OutputSchema)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: output schema of %T: %v", *new(R), err))
	}
	var schema any
	if err := json.Unmarshal(raw, &schema); err != nil {
		panic(fmt.Sprintf("mcpserver: output schema of %T: %v", *new(R), err))
	}
	dropKey(schema, "additionalProperties")
	dropKey(schema, "required")
	raw, err = json.Marshal(schema)
	if err != nil {
		panic(err)
	}
	return mcp.WithRawOutputSchema(raw)
}

// dropKey removes key from every object of a decoded JSON document.
func dropKey(v any, key string) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, key)
		for _, c := range x {
			dropKey(c, key)
		}
	case []any:
		for _, c := range x {
			dropKey(c, key)
		}
	}
}
