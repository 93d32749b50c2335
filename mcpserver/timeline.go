package mcpserver

import (
	"context"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
)

// Timeline argument bounds.
const (
	DefaultIntervalSeconds = 60
	MaxIntervalSeconds     = 7 * 24 * 3600
)

// TimelineArgs are get_traffic_timeline's arguments.
type TimelineArgs struct {
	Target
	IntervalSeconds int `json:"interval_seconds,omitempty" jsonschema:"Width of each interval in seconds, 1 to 604800 (a week). Default 60."`
	PageArgs
}

// TimelineResult is get_traffic_timeline's answer: traffic per interval
// over the whole capture, with the intervals that stand out as bursts.
type TimelineResult struct {
	CaptureInfo
	IntervalSeconds int        `json:"interval_seconds"`
	Start           *time.Time `json:"start"`
	// TotalIntervals is how many intervals the capture spans, empty ones
	// included; only intervals holding packets are listed.
	TotalIntervals int     `json:"total_intervals"`
	MeanPackets    float64 `json:"mean_packets"`
	StdDevPackets  float64 `json:"stddev_packets"`
	// Intervals is this page of the non-empty intervals, in time order.
	Intervals []detectors.Interval `json:"intervals"`
	// Bursts lists the start of every interval that stands out (more than
	// the mean plus three standard deviations, and twice the mean), over
	// the whole capture; BurstsTotal counts them all when the list is cut.
	Bursts      []time.Time `json:"bursts"`
	BurstsTotal int         `json:"bursts_total"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *TimelineResult) shrink(keep float64) bool {
	switch {
	case len(r.Bursts) > len(r.Intervals) && cut(&r.Bursts, keep):
	case cut(&r.Intervals, keep):
		r.Page = pageOf(r.Total, r.Offset, len(r.Intervals))
	case cut(&r.Bursts, keep):
	default:
		return false
	}
	r.Truncated = true
	return true
}

func (s *Server) timelineTool() toolSpec[TimelineArgs, TimelineResult] {
	return toolSpec[TimelineArgs, TimelineResult]{
		name:  "get_traffic_timeline",
		title: "Traffic timeline",
		desc: "Traffic per interval_seconds (packets, bytes, new connections, protocols) with the bursts that stand out. " +
			"Call it to see when an attack happened and how long it lasted. Paged." + untrusted,
		extra: merge(targetExtra, pageExtra, schemaExtra{
			"interval_seconds": {"default": DefaultIntervalSeconds, "minimum": 1, "maximum": MaxIntervalSeconds},
		}),
		args: func() TimelineArgs { return TimelineArgs{IntervalSeconds: DefaultIntervalSeconds} },
		run:  s.timeline,
	}
}

func (s *Server) timeline(ctx context.Context, args TimelineArgs) (*TimelineResult, error) {
	if args.IntervalSeconds < 1 || args.IntervalSeconds > MaxIntervalSeconds {
		return nil, badArg("interval_seconds %d, want 1 to %d", args.IntervalSeconds, MaxIntervalSeconds)
	}
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	tl, err := l.a.TimelineAt(time.Duration(args.IntervalSeconds) * time.Second)
	if err != nil {
		return nil, err
	}
	res := &TimelineResult{
		CaptureInfo:     l.info,
		IntervalSeconds: tl.IntervalSeconds,
		Start:           tl.Start,
		TotalIntervals:  tl.TotalIntervals,
		MeanPackets:     tl.MeanPackets,
		StdDevPackets:   tl.StdDevPackets,
		Bursts:          append([]time.Time{}, tl.Bursts...),
		BurstsTotal:     len(tl.Bursts),
	}
	res.Intervals, res.Page = page(tl.Intervals, offset, limit)
	for i := range res.Intervals {
		if res.Intervals[i].Protocols == nil {
			res.Intervals[i].Protocols = map[string]int64{}
		}
	}
	return res, nil
}
