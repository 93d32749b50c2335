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
	IntervalSeconds int `json:"interval_seconds"`
	// IntervalMilliseconds is the interval in milliseconds when it is not
	// a whole number of seconds (IntervalSeconds is then 0); left out
	// otherwise.
	IntervalMilliseconds int64      `json:"interval_ms,omitempty"`
	Start                *time.Time `json:"start"`
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
	sec     int64
	packets uint64
	bytes   uint64
	// evicted counts the flows that began in the bucket and that the
	// flow table let go; the flows it still holds are counted from their
	// first packet's time when the timeline is cut (see newFlows), so
	// that a connection two parts of a capture both saw counts once.
	evicted uint64
	protos  [len(timelineProtos)]uint64
}

// timelineAnalyzer keeps buckets of one unit (a second, or the interval
// asked for when it is shorter), so the timeline can be cut at any
// multiple of the unit afterwards without reading the capture again. Its
// memory grows with the units that hold packets.
type timelineAnalyzer struct {
	unit    time.Duration
	buckets map[int64]*secondBucket
	last    *secondBucket `partial:"-"` // the bucket of the packet before, a cache
	// coarsened counts the times the buckets outgrew timelineMaxBuckets
	// and were merged into a wider unit: the capture's timestamps, which
	// its writer chooses, never make the timeline grow without bound.
	coarsened int
	max       int `partial:"-"` // timelineMaxBuckets; tests make it small
}

// timelineMaxBuckets bounds the buckets kept (about 100 bytes each).
const timelineMaxBuckets = 1 << 18

// nextUnit is the next wider bucket: a second from a divisor of it, then
// 10 s, a minute, 10 minutes, an hour, a day, each a multiple of the one
// before; otherwise ten times as wide.
func nextUnit(u time.Duration) time.Duration {
	ladder := []time.Duration{time.Second, 10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour}
	for _, l := range ladder {
		if l > u && l%u == 0 {
			return l
		}
	}
	return 10 * u
}

// coarsen merges the buckets into the next wider unit.
func (t *timelineAnalyzer) coarsen() {
	next := nextUnit(t.unit)
	k := int64(next / t.unit)
	merged := make(map[int64]*secondBucket, len(t.buckets)/int(min(k, 1<<20))+1)
	for slot, b := range t.buckets {
		ns := slot / k
		if slot%k < 0 {
			ns--
		}
		m := merged[ns]
		if m == nil {
			m = &secondBucket{sec: ns}
			merged[ns] = m
		}
		m.packets += b.packets
		m.bytes += b.bytes
		m.evicted += b.evicted
		for i, n := range b.protos {
			m.protos[i] += n
		}
	}
	t.buckets, t.unit, t.last = merged, next, nil
	t.coarsened++
}

// warnings says when the buckets were widened.
func (t *timelineAnalyzer) warnings() []string {
	if t.coarsened == 0 {
		return nil
	}
	return []string{fmt.Sprintf("the timeline held more than %d buckets: it counts packets per %v instead, so its intervals are multiples of %v", t.max, t.unit, t.unit)}
}

// newTimelineAnalyzer keeps one-second buckets, or buckets of interval
// when it is shorter than a second.
func newTimelineAnalyzer(interval time.Duration) *timelineAnalyzer {
	unit := time.Second
	if interval > 0 && interval < time.Second {
		unit = interval
	}
	return &timelineAnalyzer{unit: unit, buckets: make(map[int64]*secondBucket), max: timelineMaxBuckets}
}

// slot is the bucket of a time: units since 1970, rounded down.
func (t *timelineAnalyzer) slot(at time.Time) int64 {
	ns, u := at.UnixNano(), int64(t.unit)
	if t.unit == time.Second {
		return at.Unix() // also right for times outside UnixNano's range
	}
	q := ns / u
	if ns%u < 0 {
		q--
	}
	return q
}

// slotTime is the start of a slot.
func (t *timelineAnalyzer) slotTime(slot int64) time.Time {
	if t.unit == time.Second {
		return time.Unix(slot, 0).UTC()
	}
	return time.Unix(0, slot*int64(t.unit)).UTC()
}

func (t *timelineAnalyzer) Packet(p *capture.Packet) {
	if p.Time.IsZero() {
		return // no timestamp at all (a leading pcapng Simple Packet Block)
	}
	sec := t.slot(p.Time)
	b := t.last
	if b == nil || b.sec != sec {
		b = t.buckets[sec]
		if b == nil {
			if len(t.buckets) >= t.max {
				t.coarsen()
				t.Packet(p)
				return
			}
			b = &secondBucket{sec: sec}
			t.buckets[sec] = b
		}
		t.last = b
	}
	b.packets++
	b.bytes += uint64(p.Length)
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

// FlowEvicted counts a flow the flow table let go in the bucket of its
// first packet.
func (t *timelineAnalyzer) FlowEvicted(f *capture.Flow) {
	if f.First.IsZero() {
		return
	}
	sec := t.slot(f.First)
	b := t.buckets[sec]
	if b == nil { // not reached: the flow's first packet made its bucket
		if len(t.buckets) >= t.max {
			t.coarsen()
			t.FlowEvicted(f)
			return
		}
		b = &secondBucket{sec: sec}
		t.buckets[sec] = b
	}
	b.evicted++
}

// newFlows counts the flows per bucket: those c still holds by the time
// of their first packet, and the evicted ones.
func (t *timelineAnalyzer) newFlows(c *capture.Capture) map[int64]uint64 {
	m := make(map[int64]uint64)
	for s, b := range t.buckets {
		if b.evicted > 0 {
			m[s] = b.evicted
		}
	}
	if c == nil {
		return m
	}
	for _, f := range c.Flows() {
		if !f.First.IsZero() {
			m[t.slot(f.First)]++
		}
	}
	return m
}

// cut groups the buckets into intervals of the given width, aligned on
// the capture's first bucket; c is the capture whose flows are counted
// as new flows.
func (t *timelineAnalyzer) cut(c *capture.Capture, interval time.Duration) (Timeline, error) {
	if interval < t.unit || interval%t.unit != 0 {
		return Timeline{}, fmt.Errorf("%w: timeline interval %v, want a whole multiple of %v (the pass counted packets per %v)", ErrInvalidConfig, interval, t.unit, t.unit)
	}
	width := int64(interval / t.unit)
	tl := Timeline{IntervalSeconds: int(interval / time.Second), Intervals: []Interval{}, Bursts: []time.Time{}}
	if interval%time.Second != 0 {
		tl.IntervalSeconds, tl.IntervalMilliseconds = 0, interval.Milliseconds()
	}
	if len(t.buckets) == 0 {
		return tl, nil
	}
	secs := make([]int64, 0, len(t.buckets))
	for s := range t.buckets {
		secs = append(secs, s)
	}
	newFlows := t.newFlows(c)
	for s := range newFlows {
		if t.buckets[s] == nil {
			secs = append(secs, s) // not reached: a flow's first packet has its bucket
		}
	}
	slices.Sort(secs)
	first := secs[0]
	start := t.slotTime(first)
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
			cur = &Interval{Start: t.slotTime(first + idx*width)}
		}
		cur.NewFlows += newFlows[s]
		b := t.buckets[s]
		if b == nil {
			continue
		}
		cur.Packets += b.packets
		cur.Bytes += b.bytes
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

// fit returns interval, or when the buckets grew wider than it (or it is
// not a multiple of them), the nearest multiple of the unit above it.
func (t *timelineAnalyzer) fit(interval time.Duration) time.Duration {
	if interval >= t.unit && interval%t.unit == 0 {
		return interval
	}
	return (interval + t.unit - 1) / t.unit * t.unit
}
