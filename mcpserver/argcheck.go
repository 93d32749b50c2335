package mcpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	schemakind "github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// argChecker validates a call's arguments against the tool's input schema
// and says what is wrong in words a model (or a person reading the
// inspector) acts on: "threshold must be at least 2, not 1", not the
// validator's "/threshold: &{Got:1/1 Want:2/1}" that mcp-go's built-in
// validation prints. It replaces server.WithInputSchemaValidation.
type argChecker struct {
	schema *jsonschema.Schema
	// props lists the tool's arguments, for the unknown-argument message.
	props []string
}

// newArgChecker compiles a tool's raw input schema. A schema that does not
// compile is a programming error the schema tests catch.
func newArgChecker(tool string, raw json.RawMessage) (*argChecker, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("mcpserver: input schema of %s: %w", tool, err)
	}
	c := jsonschema.NewCompiler()
	url := "mem:///" + tool + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("mcpserver: input schema of %s: %w", tool, err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("mcpserver: input schema of %s: %w", tool, err)
	}
	var props []string
	if m, ok := doc.(map[string]any); ok {
		if p, ok := m["properties"].(map[string]any); ok {
			for name := range p {
				props = append(props, name)
			}
		}
	}
	slices.Sort(props)
	return &argChecker{schema: schema, props: props}, nil
}

// check validates raw arguments (JSON; empty or null is no arguments) and
// returns every problem as one sentence, or nil.
func (c *argChecker) check(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return errors.New("the arguments are not a JSON object")
	}
	err = c.schema.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	var msgs []string
	for _, leaf := range leaves(verr) {
		if m := c.sentence(leaf); !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// leaves returns the validation errors that have no causes: the specific
// problems beneath "doesn't validate against the schema".
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// english prints the validator's own message for kinds sentence does not
// word itself.
var english = message.NewPrinter(language.English)

// sentence words one problem.
func (c *argChecker) sentence(e *jsonschema.ValidationError) string {
	name := argName(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *schemakind.Minimum:
		return fmt.Sprintf("%s must be at least %s, not %s", name, ratText(k.Want), ratText(k.Got))
	case *schemakind.Maximum:
		return fmt.Sprintf("%s must be at most %s, not %s", name, ratText(k.Want), ratText(k.Got))
	case *schemakind.ExclusiveMinimum:
		return fmt.Sprintf("%s must be more than %s, not %s", name, ratText(k.Want), ratText(k.Got))
	case *schemakind.ExclusiveMaximum:
		return fmt.Sprintf("%s must be less than %s, not %s", name, ratText(k.Want), ratText(k.Got))
	case *schemakind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = typeNoun(w)
		}
		return fmt.Sprintf("%s must be %s, not %s", name, strings.Join(want, " or "), typeNoun(k.Got))
	case *schemakind.AdditionalProperties:
		unknown := textsafe.EscapeAll(k.Properties, 64)
		word := "argument"
		if len(unknown) > 1 {
			word = "arguments"
		}
		return fmt.Sprintf("unknown %s %s: this tool takes %s", word, strings.Join(unknown, ", "), strings.Join(c.props, ", "))
	case *schemakind.Required:
		return fmt.Sprintf("missing required argument %s", strings.Join(k.Missing, ", "))
	case *schemakind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return fmt.Sprintf("%s must be one of %s, not %s", name, strings.Join(want, ", "), valueText(k.Got))
	case *schemakind.MinLength:
		return fmt.Sprintf("%s must be at least %d characters long", name, k.Want)
	case *schemakind.MaxLength:
		return fmt.Sprintf("%s must be at most %d characters long, not %d", name, k.Want, k.Got)
	case *schemakind.MinItems:
		return fmt.Sprintf("%s must hold at least %d items", name, k.Want)
	case *schemakind.MaxItems:
		return fmt.Sprintf("%s must hold at most %d items, not %d", name, k.Want, k.Got)
	case *schemakind.Pattern:
		return fmt.Sprintf("%s must match %s", name, k.Want)
	}
	return name + ": " + textsafe.Escape(e.ErrorKind.LocalizedString(english), 256)
}

// argName turns an instance location into the argument's name as a caller
// wrote it: [] is "the arguments", [ports 0] is "ports[0]".
func argName(loc []string) string {
	if len(loc) == 0 {
		return "the arguments"
	}
	var b strings.Builder
	for i, seg := range loc {
		switch {
		case i > 0 && isIndex(seg):
			b.WriteString("[" + seg + "]")
		case i > 0:
			b.WriteString("." + seg)
		default:
			b.WriteString(seg)
		}
	}
	return textsafe.Escape(b.String(), 128)
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// typeNoun names a JSON Schema type with its article.
func typeNoun(t string) string {
	switch t {
	case "integer":
		return "an integer"
	case "number":
		return "a number"
	case "string":
		return "a string"
	case "boolean":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "null":
		return "null"
	}
	return textsafe.Escape(t, 32)
}

// ratText prints a schema bound or value: integers as integers, other
// numbers in decimal.
func ratText(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

// valueText prints a value the caller sent, escaped and bounded.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return `"` + textsafe.Escape(s, 64) + `"`
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return textsafe.Escape(string(b), 64)
}
