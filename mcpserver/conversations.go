package mcpserver

import (
	"context"
	"net/netip"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// topTalkersShown is how many talkers get_conversations lists.
const topTalkersShown = 10

// ConversationsArgs are get_conversations' arguments.
type ConversationsArgs struct {
	Target
	IP string `json:"ip,omitempty" jsonschema:"Only conversations this address takes part in, and only its own traffic under talkers. Default: every address."`
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
	Page
	Truncated bool `json:"truncated"`
}

func (r *ConversationsResult) shrink(keep float64) bool {
	switch {
	case cut(&r.Conversations, keep):
		r.Page = pageOf(r.Total, r.Offset, len(r.Conversations))
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
			"Call it to find the hosts that matter, to size a transfer between two hosts, or with ip to see everything one host did. Conversations are paged (offset, limit)." +
			targetNote + untrusted,
		extra: merge(targetExtra, pageExtra),
		args:  func() ConversationsArgs { return ConversationsArgs{} },
		run:   s.conversations,
	}
}

func (s *Server) conversations(ctx context.Context, args ConversationsArgs) (*ConversationsResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	ip := ""
	if args.IP != "" {
		addr, err := netip.ParseAddr(args.IP)
		if err != nil {
			return nil, badArg("ip %q is not an IP address", textsafe.Escape(args.IP, 64))
		}
		ip = addr.String()
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
	res.Conversations, res.Page = page(convs, offset, limit)
	return res, nil
}
