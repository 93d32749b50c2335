package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// session is one MCP client session bound to one investigation's capture:
// every tool call names that capture, whatever the caller asked.
type session struct {
	c          *client.Client
	pcapFile   string // absolute
	workingDir string // absolute
	emit       *emitter
	log        *slog.Logger // with the investigation's ID
	tracer     trace.Tracer // nil: no spans

	mu    sync.Mutex
	calls []string
}

// newSession initialises an MCP client over tr (nil: c is already started).
func newSession(ctx context.Context, c *client.Client, pcapFile, workingDir string) (*session, error) {
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrServerStart, err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "reconpcap-agent", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		return nil, fmt.Errorf("%w: initialize: %v", ErrServerStart, err)
	}
	return &session{c: c, pcapFile: pcapFile, workingDir: workingDir}, nil
}

// stdioClient starts command as an MCP server subprocess over stdio, bound
// to ctx: the transport starts it with exec.CommandContext, so when ctx
// ends (a cancel, the session timeout) the child is killed at once, not
// left to the two-second grace of a Close that only closes its stdin. Its stderr is discarded into the
// transport's bounded buffer.
func stdioClient(ctx context.Context, command string, args []string) (*client.Client, error) {
	tr := transport.NewStdioWithOptions(command, nil, args)
	if err := tr.Start(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrServerStart, command, err)
	}
	return client.NewClient(tr), nil
}

func (s *session) close() error { return s.c.Close() }

// toolCalls returns the names of the tools called so far, in order.
func (s *session) toolCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.calls...)
}

// listTools returns the server's tools.
func (s *session) listTools(ctx context.Context) ([]mcp.Tool, error) {
	res, err := s.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return nil, err
	}
	return res.Tools, nil
}

// errOtherCapture is the tool error a call naming another capture gets.
var errOtherCapture = errors.New("this investigation is bound to its own capture: pcap_file and working_dir must be omitted or name that capture")

// bind fills in the investigation's capture and refuses any other.
func (s *session) bind(args map[string]any) (map[string]any, error) {
	out := maps.Clone(args)
	if out == nil {
		out = make(map[string]any, 2)
	}
	if v, ok := out["pcap_file"]; ok && v != nil && v != "" {
		p, _ := v.(string)
		if p != s.pcapFile && joinClean(s.workingDir, p) != s.pcapFile {
			return nil, errOtherCapture
		}
	}
	if v, ok := out["working_dir"]; ok && v != nil && v != "" {
		if p, _ := v.(string); joinClean(s.workingDir, p) != s.workingDir {
			return nil, errOtherCapture
		}
	}
	out["pcap_file"] = s.pcapFile
	out["working_dir"] = s.workingDir
	return out, nil
}

// call runs one tool on the investigation's capture and returns its
// structured result as JSON. A tool error result is a *ToolError.
func (s *session) call(ctx context.Context, name string, args map[string]any) (json.RawMessage, error) {
	started := time.Now()
	argText := "{}"
	if len(args) > 0 {
		if b, merr := json.Marshal(args); merr == nil {
			argText = string(b)
		}
	}
	ctx, sp := startSpan(ctx, s.tracer, "execute_tool "+name, trace.SpanKindInternal,
		attribute.String(attrOperation, "execute_tool"), attribute.String(attrToolName, name), attribute.String(attrToolCallArgs, clip(argText, 2000)))
	raw, err := s.callTool(ctx, name, args)
	sp.SetAttributes(attribute.Int(attrResultBytes, len(raw)))
	endSpan(sp, err)
	s.emit.emit(EventToolCalled{EventBase: s.emit.base(), Name: name, Arguments: argText, Duration: time.Since(started), ResultBytes: len(raw), Err: err})
	return raw, err
}

func (s *session) callTool(ctx context.Context, name string, args map[string]any) (json.RawMessage, error) {
	bound, err := s.bind(args)
	s.mu.Lock()
	s.calls = append(s.calls, name)
	s.mu.Unlock()
	if err != nil {
		return nil, &ToolError{Tool: name, Message: err.Error()}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = bound
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("tool %s: %w", name, err)
	}
	if res.IsError {
		return nil, &ToolError{Tool: name, Message: resultText(res)}
	}
	switch {
	case len(res.RawStructuredContent) > 0:
		return res.RawStructuredContent, nil
	case res.StructuredContent != nil:
		return json.Marshal(res.StructuredContent)
	}
	txt := resultText(res)
	if !json.Valid([]byte(txt)) {
		return json.Marshal(txt)
	}
	return json.RawMessage(txt), nil
}

// callInto runs a tool and decodes its structured result into out.
func (s *session) callInto(ctx context.Context, name string, args map[string]any, out any) error {
	raw, err := s.call(ctx, name, args)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("tool %s: decoding its result: %w", name, err)
	}
	return nil
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// logger returns the session's logger, which names the investigation, or
// fallback for a session made outside an investigation.
func (s *session) logger(fallback *slog.Logger) *slog.Logger {
	if s == nil || s.log == nil {
		return fallback
	}
	return s.log
}
