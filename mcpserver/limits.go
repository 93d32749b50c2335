package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/mark3labs/mcp-go/server"
)

// Bounds on what a client may send, checked before any work is done for
// it: every legitimate argument is far below them (a path is at most
// PATH_MAX, 4096 bytes, on Linux).
const (
	// MaxArgBytes bounds every string in a tool call's arguments (a
	// path, an address, each indicator): a longer one is refused as an
	// invalid argument before the tool runs.
	MaxArgBytes = 4096
	// MaxRequestBytes bounds a whole JSON-RPC message as the server
	// receives it, whatever the transport: a larger one is refused as an
	// invalid request before its parameters are decoded.
	MaxRequestBytes = 1 << 20
)

// limitHooks returns the hooks that refuse a message over MaxRequestBytes
// as soon as mcp-go has read it, before it decodes the parameters (which
// costs about ten times the message in memory).
func limitHooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRequestInitialization(func(_ context.Context, _ any, message any) error {
		if raw, ok := message.(json.RawMessage); ok && len(raw) > MaxRequestBytes {
			return fmt.Errorf("request of %d bytes refused: at most %d", len(raw), MaxRequestBytes)
		}
		return nil
	})
	return h
}

// checkArgSizes refuses any string in the decoded arguments args, keys
// included, longer than MaxArgBytes, naming where it is. It runs before
// the arguments are bound to a tool's type.
func checkArgSizes(args any) error {
	return walkArgStrings(args, "", func(where string, n int) error {
		return fmt.Errorf("%s is a string of %d bytes, longer than the %d allowed", where, n, MaxArgBytes)
	})
}

func walkArgStrings(v any, where string, tooLong func(string, int) error) error {
	name := func(key string) string {
		if where == "" {
			return key
		}
		return where + "." + key
	}
	switch v := v.(type) {
	case string:
		if len(v) > MaxArgBytes {
			return tooLong(where, len(v))
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the same argument is named every time
		for _, k := range keys {
			if len(k) > MaxArgBytes {
				return tooLong("an argument name", len(k))
			}
			if err := walkArgStrings(v[k], name(k), tooLong); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := walkArgStrings(e, fmt.Sprintf("%s[%d]", where, i), tooLong); err != nil {
				return err
			}
		}
	case json.RawMessage:
		var decoded any
		if err := json.Unmarshal(v, &decoded); err == nil {
			return walkArgStrings(decoded, where, tooLong)
		}
	}
	return nil
}
