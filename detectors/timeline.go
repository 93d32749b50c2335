package detectors

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Timeline is traffic per interval. Intervals without packets are left
// out of the list (their start times show the gaps) but count as zeros
// when bursts are judged.
type Timeline struct {
	IntervalSeconds int        `json:"interval_seconds"`
	Start           *time.Time `json:"start"`
	// TotalIntervals is how many intervals the capture spans, empty ones included.
	TotalIntervals int        `json:"total_intervals"`
	MeanPackets    float64    `json:"mean_packets"`
	StdDevPackets  float64    `json:"stddev_packets"`
	Intervals      []Interval `json:"intervals"`
	// Bursts lists the start of each interval that stands out.
	Bursts []time.Time `json:"bursts"`
}

// Interval is one bucket of the timeline.
type Interval struct {
	Start     time.Time        `json:"start"`
	Packets   uint64           `json:"packets"`
	Bytes     uint64           `json:"bytes"`
	NewFlows  uint64           `json:"new_flows"`
	Protocols map[string]int64 `json:"protocols"`
	// Burst marks an interval whose packet count stands far above the
	// others: more than the mean plus three standard deviations, and at
	// least twice the mean.
	Burst bool `json:"burst"`
}

// timelineProtos are the categories an interval counts.
var timelineProtos = [...]string{"tcp", "udp", "icmp", "arp", "other"}

type secondBucket struct {
	sec      int64
	packets  uint64
	bytes    uint64
	newFlows uint64
	protos   [len(timelineProtos)]uint64
}

// timelineAnalyzer keeps one-second buckets, so the timeline can be cut at
// any interval afterwards without reading the capture again. Its memory
// grows with the seconds that hold packets.
type timelineAnalyzer struct {
	buckets map[int64]*secondBucket
	last    *secondBucket
}

func newTimelineAnalyzer() *timelineAnalyzer {
	return &timelineAnalyzer{buckets: make(map[int64]*secondBucket)}
}

func (t *timelineAnalyzer) Packet(p *capture.Packet) {
	if p.Time.IsZero() {
		return // no timestamp at all (a leading pcapng Simple Packet Block)
	}
	sec := p.Time.Unix()
	b := t.last
	if b == nil || b.sec != sec {
		b = t.buckets[sec]
		if b == nil {
			b = &secondBucket{sec: sec}
			t.buckets[sec] = b
		}
		t.last = b
	}
	b.packets++
	b.bytes += uint64(p.Length)
	if p.NewFlow {
		b.newFlows++
	}
	switch {
	case p.Layers&capture.LayerTCP != 0:
		b.protos[0]++
	case p.Layers&capture.LayerUDP != 0:
		b.protos[1]++
	case p.Layers&(capture.LayerICMPv4|capture.LayerICMPv6) != 0:
		b.protos[2]++
	case p.Layers&capture.LayerARP != 0:
		b.protos[3]++
	default:
		b.protos[4]++
	}
}

// cut groups the one-second buckets into intervals of the given width,
// aligned on the capture's first second.
func (t *timelineAnalyzer) cut(interval time.Duration) (Timeline, error) {
	if interval < time.Second || interval%time.Second != 0 {
		return Timeline{}, fmt.Errorf("%w: timeline interval %v, want a whole number of seconds, at least 1s", ErrInvalidConfig, interval)
	}
	width := int64(interval / time.Second)
	tl := Timeline{IntervalSeconds: int(width), Intervals: []Interval{}, Bursts: []time.Time{}}
	if len(t.buckets) == 0 {
		return tl, nil
	}
	secs := make([]int64, 0, len(t.buckets))
	for s := range t.buckets {
		secs = append(secs, s)
	}
	slices.Sort(secs)
	first := secs[0]
	start := time.Unix(first, 0).UTC()
	tl.Start = &start
	var cur *Interval
	var curIdx int64 = -1
	var protos [len(timelineProtos)]uint64
	flush := func() {
		if cur == nil {
			return
		}
		cur.Protocols = make(map[string]int64)
		for i, n := range protos {
			if n > 0 {
				cur.Protocols[timelineProtos[i]] = int64(n)
			}
		}
		tl.Intervals = append(tl.Intervals, *cur)
		protos = [len(timelineProtos)]uint64{}
	}
	for _, s := range secs {
		idx := (s - first) / width
		if idx != curIdx {
			flush()
			curIdx = idx
			cur = &Interval{Start: time.Unix(first+idx*width, 0).UTC()}
		}
		b := t.buckets[s]
		cur.Packets += b.packets
		cur.Bytes += b.bytes
		cur.NewFlows += b.newFlows
		for i, n := range b.protos {
			protos[i] += n
		}
	}
	flush()
	tl.TotalIntervals = int((secs[len(secs)-1]-first)/width) + 1
	markBursts(&tl)
	return tl, nil
}

func markBursts(tl *Timeline) {
	n := float64(tl.TotalIntervals)
	var sum, sq float64
	for _, iv := range tl.Intervals {
		sum += float64(iv.Packets)
	}
	mean := sum / n
	for _, iv := range tl.Intervals {
		d := float64(iv.Packets) - mean
		sq += d * d
	}
	// Empty intervals are zeros: each adds mean² to the squared deviations.
	sq += (n - float64(len(tl.Intervals))) * mean * mean
	std := math.Sqrt(sq / n)
	tl.MeanPackets, tl.StdDevPackets = round2(mean), round2(std)
	if tl.TotalIntervals < 4 {
		return // too few intervals for anything to stand out
	}
	for i := range tl.Intervals {
		v := float64(tl.Intervals[i].Packets)
		if v > mean+3*std && v >= 2*mean {
			tl.Intervals[i].Burst = true
			tl.Bursts = append(tl.Bursts, tl.Intervals[i].Start)
		}
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
