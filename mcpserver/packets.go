package mcpserver

import (
	"context"
	"errors"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/inspect"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// rereadNote tells the model the packet-level tools read the file again.
const rereadNote = " Reads the capture again."

// PacketFilter selects packets; every field left out matches everything.
type PacketFilter struct {
	Host       string `json:"host,omitempty" jsonschema:"Address or network (10.0.0.0/24) on either side."`
	Src        string `json:"src,omitempty" jsonschema:"Source address or network."`
	Dst        string `json:"dst,omitempty" jsonschema:"Destination address or network."`
	Port       int    `json:"port,omitempty" jsonschema:"TCP or UDP port on either side."`
	SrcPort    int    `json:"src_port,omitempty"`
	DstPort    int    `json:"dst_port,omitempty"`
	Proto      string `json:"proto,omitempty"`
	Flags      string `json:"flags,omitempty" jsonschema:"TCP flags set, or clear with !: syn,!ack."`
	Since      string `json:"since,omitempty" jsonschema:"Packets at or after this time (RFC 3339, as first_seen in findings)."`
	Until      string `json:"until,omitempty" jsonschema:"Packets before this time (RFC 3339)."`
	FirstFrame int    `json:"first_frame,omitempty"`
	LastFrame  int    `json:"last_frame,omitempty"`
}

var filterExtra = schemaExtra{
	"proto":       {"enum": []string{"tcp", "udp", "icmp", "icmpv6", "dns", "arp"}},
	"port":        {"minimum": 0, "maximum": 65535},
	"src_port":    {"minimum": 0, "maximum": 65535},
	"dst_port":    {"minimum": 0, "maximum": 65535},
	"first_frame": {"minimum": 0},
	"last_frame":  {"minimum": 0},
}

// expr builds the filter, its errors worded for the model.
func (f PacketFilter) expr() (filter.Expr, error) {
	o := filter.Options{Host: f.Host, Src: f.Src, Dst: f.Dst, Proto: f.Proto, Flags: f.Flags, FirstFrame: f.FirstFrame, LastFrame: f.LastFrame}
	for _, p := range []struct {
		name string
		v    int
		dst  *uint16
	}{{"port", f.Port, &o.Port}, {"src_port", f.SrcPort, &o.SrcPort}, {"dst_port", f.DstPort, &o.DstPort}} {
		if p.v < 0 || p.v > 65535 {
			return filter.Expr{}, badArg("%s %d, want 1 to 65535", p.name, p.v)
		}
		*p.dst = uint16(p.v)
	}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", f.Since, &o.Since}, {"until", f.Until, &o.Until}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return filter.Expr{}, badArg("%s %q is not an RFC 3339 time (2024-05-01T10:00:00Z)", t.name, textsafe.Escape(t.v, 64))
		}
		*t.dst = v
	}
	e, err := filter.FromOptions(o)
	if err != nil {
		return filter.Expr{}, badArg("%s", textsafe.Escape(err.Error(), 256))
	}
	return e, nil
}

// FindPacketsArgs are find_packets' arguments.
type FindPacketsArgs struct {
	Target
	PacketFilter
	PageArgs
}

// FindPacketsResult is find_packets' answer.
type FindPacketsResult struct {
	CaptureInfo
	// DisplayFilter selects the same packets in Wireshark or tshark -Y.
	DisplayFilter string `json:"display_filter"`
	// Packets is this page of the matching packets, in tshark's default
	// columns; Total counts every match.
	Packets []inspect.Line `json:"packets"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *FindPacketsResult) shrink(keep float64) bool {
	return cutPage(&r.Packets, &r.Page, &r.Truncated, keep)
}

func (s *Server) findPacketsTool() toolSpec[FindPacketsArgs, FindPacketsResult] {
	return toolSpec[FindPacketsArgs, FindPacketsResult]{
		name:  "find_packets",
		title: "Find packets",
		desc: "List packets as tshark does (number, time since the first packet, source, destination, protocol, length, info), filtered by host or network, port, protocol, TCP flags, time window and frame range; all filters must hold. " +
			"Also returns the equivalent Wireshark display filter. Use it to see the packets behind a finding, then get_packet for one of them. Paged." + rereadNote + untrusted,
		extra: merge(targetExtra, pageExtra, filterExtra),
		args:  func() FindPacketsArgs { return FindPacketsArgs{} },
		run:   s.findPackets,
	}
}

func (s *Server) findPackets(ctx context.Context, args FindPacketsArgs) (*FindPacketsResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	e, err := args.expr()
	if err != nil {
		return nil, err
	}
	src, err := s.openSource(args.Target)
	if err != nil {
		return nil, err
	}
	defer src.File.Close()
	path := src.Path
	list, err := inspect.Find(ctx, src, e, offset, limit)
	info, err := rereadInfo(path, list != nil, capOf(list), err)
	if err != nil {
		return nil, err
	}
	res := &FindPacketsResult{CaptureInfo: info, DisplayFilter: e.String(), Packets: list.Lines, Page: pageOf(list.Matched, min(offset, list.Matched), len(list.Lines))}
	if res.Packets == nil {
		res.Packets = []inspect.Line{}
	}
	return res, nil
}

// openSource opens the capture once through the path policy: the views
// read that descriptor, never the name again. The caller closes the file.
func (s *Server) openSource(t Target) (inspect.Source, error) {
	f, path, err := s.policy.Open(t.WorkingDir, t.PcapFile)
	if err != nil {
		return inspect.Source{}, err
	}
	return inspect.Source{Path: path, File: f}, nil
}

func capOf(l *inspect.List) *capture.Capture {
	if l == nil {
		return nil
	}
	return l.Capture
}

// rereadInfo sorts the outcome of a packet-level read: a capture damaged
// part-way, or read only until the call's deadline, still gives the
// packets read (partial, with a warning), any other error is the call's.
func rereadInfo(path string, got bool, c *capture.Capture, err error) (CaptureInfo, error) {
	var ce *capture.CaptureError
	if err != nil && !(got && errors.As(err, &ce)) {
		return CaptureInfo{}, err
	}
	info := CaptureInfo{PcapFile: path, Partial: err != nil, Warnings: []string{}}
	if c != nil {
		info.Partial = info.Partial || c.Truncated || c.Stopped
		info.Warnings = textsafe.EscapeAll(c.Warnings, 512)
	}
	return info, nil
}

// GetPacketArgs are get_packet's arguments.
type GetPacketArgs struct {
	Target
	Frame int `json:"frame,omitempty" jsonschema:"Frame number, from 1, as find_packets and tshark number them. Default 1."`
}

// GetPacketResult is get_packet's answer.
type GetPacketResult struct {
	CaptureInfo
	inspect.Detail
	Truncated bool `json:"truncated"`
}

func (r *GetPacketResult) shrink(keep float64) bool {
	switch {
	case cut(&r.Hex, keep):
		r.HexTruncated = true
	case cut(&r.Layers, keep):
	default:
		return false
	}
	r.Truncated = true
	return true
}

func (s *Server) getPacketTool() toolSpec[GetPacketArgs, GetPacketResult] {
	return toolSpec[GetPacketArgs, GetPacketResult]{
		name:  "get_packet",
		title: "Decode one packet",
		desc: "One frame decoded layer by layer (every header field and its value) with a hex dump of its first 512 bytes. Use it on a frame number from find_packets or a finding." +
			rereadNote + untrusted,
		extra: merge(targetExtra, schemaExtra{"frame": {"minimum": 1, "default": 1}}),
		args:  func() GetPacketArgs { return GetPacketArgs{Frame: 1} },
		run:   s.getPacket,
	}
}

func (s *Server) getPacket(ctx context.Context, args GetPacketArgs) (*GetPacketResult, error) {
	if args.Frame < 1 {
		return nil, badArg("frame %d, frames are numbered from 1", args.Frame)
	}
	src, err := s.openSource(args.Target)
	if err != nil {
		return nil, err
	}
	defer src.File.Close()
	path := src.Path
	d, err := inspect.Frame(ctx, src, args.Frame)
	if errors.Is(err, inspect.ErrNoFrame) {
		return nil, &toolError{msg: "invalid argument: " + err.Error()}
	}
	if err != nil {
		return nil, err
	}
	return &GetPacketResult{CaptureInfo: CaptureInfo{PcapFile: path, Warnings: []string{}}, Detail: *d}, nil
}
