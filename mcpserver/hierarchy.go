package mcpserver

import (
	"context"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/inspect"
)

// HierarchyArgs are get_protocol_hierarchy's arguments.
type HierarchyArgs struct {
	Target
}

// ProtocolNode is one node of the protocol hierarchy, listed depth first
// as tshark -z io,phs prints it.
type ProtocolNode struct {
	// Path names the node with its ancestors: eth:ip:tcp.
	Path     string `json:"path"`
	Protocol string `json:"protocol"`
	Depth    int    `json:"depth"`
	Frames   int    `json:"frames"`
	Bytes    int64  `json:"bytes"`
}

// HierarchyResult is get_protocol_hierarchy's answer.
type HierarchyResult struct {
	CaptureInfo
	Packets   int            `json:"packets"`
	Protocols []ProtocolNode `json:"protocols"`
	Truncated bool           `json:"truncated"`
}

func (r *HierarchyResult) shrink(keep float64) bool {
	if !cut(&r.Protocols, keep) {
		return false
	}
	r.Truncated = true
	return true
}

func (s *Server) hierarchyTool() toolSpec[HierarchyArgs, HierarchyResult] {
	return toolSpec[HierarchyArgs, HierarchyResult]{
		name:  "get_protocol_hierarchy",
		title: "Protocol hierarchy",
		desc:  "Protocols of the capture as a tree (eth > ip > tcp > http, ...) with frames and bytes per node, like tshark -z io,phs. Use it to see at once what the traffic is made of." + rereadNote + untrusted,
		extra: targetExtra,
		args:  func() HierarchyArgs { return HierarchyArgs{} },
		run:   s.hierarchy,
	}
}

func (s *Server) hierarchy(ctx context.Context, args HierarchyArgs) (*HierarchyResult, error) {
	src, err := s.openSource(args.Target)
	if err != nil {
		return nil, err
	}
	defer src.File.Close()
	path := src.Path
	h, err := inspect.ProtocolHierarchy(ctx, src)
	var c *capture.Capture
	if h != nil {
		c = h.Capture
	}
	info, err := rereadInfo(path, h != nil, c, err)
	if err != nil {
		return nil, err
	}
	res := &HierarchyResult{CaptureInfo: info, Packets: c.Packets, Protocols: []ProtocolNode{}, Truncated: h.Truncated}
	var walk func(n *inspect.Node, parent string, depth int)
	walk = func(n *inspect.Node, parent string, depth int) {
		p := n.Protocol
		if parent != "" {
			p = parent + ":" + p
		}
		res.Protocols = append(res.Protocols, ProtocolNode{Path: p, Protocol: n.Protocol, Depth: depth, Frames: n.Frames, Bytes: n.Bytes})
		for _, ch := range n.Children {
			walk(ch, p, depth+1)
		}
	}
	for _, r := range h.Roots {
		walk(r, "", 0)
	}
	return res, nil
}
