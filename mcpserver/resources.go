package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Captures as MCP resources: resources/list names every capture under the
// roots (the list_captures walk, with its bounds), each as
// pcap:///ABSOLUTE/PATH, and reading one gives its summary, the JSON of
// read_pcap_summary. The template pcap://{+path} reads any capture under
// the roots by its path, listed or not.

// resourceScheme is the URI scheme of capture resources.
const resourceScheme = "pcap"

// maxListedResources bounds resources/list; list_captures pages through
// the rest, and the template reads any of them.
const maxListedResources = MaxLimit

// captureURI is the resource URI of the capture at an absolute path.
func captureURI(path string) string {
	return (&url.URL{Scheme: resourceScheme, Path: path}).String()
}

// capturePath reads the path back from a capture resource URI.
func capturePath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != resourceScheme || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return "", fmt.Errorf("%q is not a capture resource: want pcap:///ABSOLUTE/PATH", truncateURI(uri))
	}
	return u.Path, nil
}

func truncateURI(s string) string {
	if len(s) > 256 {
		return s[:256] + "..."
	}
	return s
}

// resourceHooks adds the captures to every resources/list answer. The
// walk is list_captures', bounded in depth and entries.
func (s *Server) resourceHooks(h *server.Hooks) {
	h.AddAfterListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, result *mcp.ListResourcesResult) {
		res, err := s.listCaptures(ctx, ListCapturesArgs{PageArgs: PageArgs{Limit: maxListedResources}})
		if err != nil {
			s.log.Warn("listing captures as resources", "err", err)
			return
		}
		for _, c := range res.Captures {
			desc := fmt.Sprintf("Summary of the %s capture %s (%d bytes): packets, addresses, protocols, top talkers and ports, DNS names, findings by type.", c.Format, c.Name, c.Size)
			result.Resources = append(result.Resources, mcp.NewResource(captureURI(c.PcapFile), c.Name,
				mcp.WithResourceDescription(desc), mcp.WithMIMEType("application/json")))
		}
	})
}

// captureTemplate reads a capture's summary by its URI.
func (s *Server) captureTemplate() server.ServerResourceTemplate {
	t := mcp.NewResourceTemplate(resourceScheme+"://{+path}", "Capture summary",
		mcp.WithTemplateDescription("The summary of the capture at an absolute path inside the allowed roots (the JSON of read_pcap_summary): pcap:///srv/captures/traffic.pcap."),
		mcp.WithTemplateMIMEType("application/json"))
	return server.ServerResourceTemplate{Template: t, Handler: s.readCapture}
}

// readCapture answers resources/read for a capture URI with its summary.
func (s *Server) readCapture(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	path, err := capturePath(req.Params.URI)
	if err != nil {
		return nil, err
	}
	if len(path) > MaxArgBytes {
		return nil, fmt.Errorf("the path is %d bytes, longer than the %d allowed", len(path), MaxArgBytes)
	}
	res, err := s.summary(ctx, SummaryArgs{Target: Target{PcapFile: path}})
	if err != nil {
		if msg, ok := actionable(err); ok {
			return nil, fmt.Errorf("%s", msg)
		}
		return nil, err
	}
	text, err := s.fit(res)
	if err != nil {
		return nil, err
	}
	if !json.Valid(text) {
		return nil, fmt.Errorf("internal error encoding the summary")
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: string(text)}}, nil
}
