package mcpserver

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/inspect"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// topTalkersShown is how many talkers get_conversations lists.
const topTalkersShown = 10

// ConversationsArgs are get_conversations' arguments.
type ConversationsArgs struct {
	Target
	IP    string `json:"ip,omitempty" jsonschema:"Only conversations this address takes part in, and only its own traffic under talkers. Default: every address."`
	Level string `json:"level,omitempty" jsonschema:"ip: address pairs (conversations); tcp or udp: address and port pairs (connections), like tshark -z conv,tcp. Default ip."`
	PageArgs
}

// ConversationsResult is get_conversations' answer.
type ConversationsResult struct {
	CaptureInfo
	// TotalTalkers counts every address of the capture.
	TotalTalkers int `json:"total_talkers"`
	// Talkers is the busiest addresses (by packets), or the one asked for.
	Talkers []detectors.Talker `json:"talkers"`
	// Conversations is this page of the address pairs, most bytes first.
	// A is the address that sent first.
	Conversations []detectors.Conversation `json:"conversations"`
	// Connections is this page of the TCP or UDP conversations (level tcp
	// or udp), most bytes first; A is the side that opened it.
	Connections []inspect.Connection `json:"connections,omitempty"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *ConversationsResult) shrink(keep float64) bool {
	switch {
	case cut(&r.Conversations, keep):
		r.Page = pageOf(r.Total, r.Offset, len(r.Conversations))
	case cut(&r.Connections, keep):
		r.Page = pageOf(r.Total, r.Offset, len(r.Connections))
	case cut(&r.Talkers, keep):
	default:
		return false
	}
	r.Truncated = true
	return true
}

func (s *Server) conversationsTool() toolSpec[ConversationsArgs, ConversationsResult] {
	return toolSpec[ConversationsArgs, ConversationsResult]{
		name:  "get_conversations",
		title: "Top talkers and conversations",
		desc: "Who talked to whom over the whole capture: the busiest addresses (talkers, with packets and bytes sent and received) and every address pair (conversations, with packets and bytes each way, connections, first and last time), largest first. " +
			"Call it to find the hosts that matter, to size a transfer between two hosts, or with ip to see everything one host did; level tcp or udp lists connections (address:port pairs) instead. Paged (offset, limit)." + untrusted,
		extra: merge(targetExtra, pageExtra, schemaExtra{"level": {"enum": []string{"ip", "tcp", "udp"}, "default": "ip"}}),
		args:  func() ConversationsArgs { return ConversationsArgs{Level: "ip"} },
		run:   s.conversations,
	}
}

func (s *Server) conversations(ctx context.Context, args ConversationsArgs) (*ConversationsResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	proto, err := levelProto(args.Level)
	if err != nil {
		return nil, err
	}
	ip, err := parseIPArg(args.IP)
	if err != nil {
		return nil, err
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	talkers := l.a.Talkers()
	res := &ConversationsResult{CaptureInfo: l.info, TotalTalkers: len(talkers), Talkers: []detectors.Talker{}}
	convs := l.a.Conversations()
	if ip == "" {
		res.Talkers = append(res.Talkers, talkers[:min(topTalkersShown, len(talkers))]...)
	} else {
		for _, t := range talkers {
			if t.IP == ip {
				res.Talkers = append(res.Talkers, t)
			}
		}
		var mine []detectors.Conversation
		for _, c := range convs {
			if c.A == ip || c.B == ip {
				mine = append(mine, c)
			}
		}
		convs = mine
	}
	if proto == 0 {
		res.Conversations, res.Page = page(convs, offset, limit)
		return res, nil
	}
	res.Conversations = []detectors.Conversation{}
	conns := inspect.Connections(l.a.Capture().Flows(), proto)
	if ip != "" {
		conns = slices.DeleteFunc(conns, func(c inspect.Connection) bool {
			return !strings.HasPrefix(c.A, ip+":") && !strings.HasPrefix(c.B, ip+":") && !strings.HasPrefix(c.A, "["+ip+"]:") && !strings.HasPrefix(c.B, "["+ip+"]:")
		})
	}
	res.Connections, res.Page = page(conns, offset, limit)
	return res, nil
}

// levelProto maps a level argument to the IP protocol it lists, 0 for ip.
func levelProto(level string) (uint8, error) {
	switch level {
	case "", "ip":
		return 0, nil
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	}
	return 0, badArg("level %q, want ip, tcp or udp", textsafe.Escape(level, 64))
}

// parseIPArg checks an ip argument and writes it as the analysis does;
// "" stays "".
func parseIPArg(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	addr, err := netip.ParseAddr(v)
	if err != nil {
		return "", badArg("ip %q is not an IP address", textsafe.Escape(v, 64))
	}
	return addr.String(), nil
}
