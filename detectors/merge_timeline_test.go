package detectors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// timelineView is the timeline at the configured interval, at 1 s and at
// 500 ms (an error when the buckets are wider), and its warnings.
type timelineView struct {
	Timeline      Timeline
	At1s, At500ms Timeline
	Err1s, Err500 string
	Warnings      []string
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func wholeTimeline(a *Analysis) timelineView {
	v := timelineView{Timeline: a.Timeline, Warnings: a.timeline.warnings()}
	var err error
	v.At1s, err = a.TimelineAt(time.Second)
	v.Err1s = errString(err)
	v.At500ms, err = a.TimelineAt(500 * time.Millisecond)
	v.Err500 = errString(err)
	return v
}

func judgeTimeline(t *timelineAnalyzer, c *capture.Capture, cfg Config) timelineView {
	v := timelineView{Warnings: t.warnings()}
	v.Timeline, _ = t.cut(c, t.fit(cfg.TimelineInterval))
	var err error
	v.At1s, err = t.cut(c, time.Second)
	v.Err1s = errString(err)
	v.At500ms, err = t.cut(c, 500*time.Millisecond)
	v.Err500 = errString(err)
	return v
}

// TestMergeTimelineCoarsened spreads packets over more seconds than the
// buckets may hold, deals them at random to parts (so every part holds
// packets of every stretch of time, and parts widen their buckets at
// different moments or not at all), merges the parts in a random order
// and grouping, and checks that the merged timeline has the unit, the
// buckets, the intervals and the warning of one pass over all packets.
func TestMergeTimelineCoarsened(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		unit    time.Duration
		max     int
		packets int
		spread  time.Duration
		parts   int
	}{
		{"seconds fit", time.Second, 1000, 3000, 600 * time.Second, 3},
		{"to ten seconds", time.Second, 100, 5000, 900 * time.Second, 4},
		{"to a minute", time.Second, 100, 5000, 5000 * time.Second, 5},
		{"ms to a second", 250 * time.Millisecond, 50, 4000, 40 * time.Second, 7},
		{"one part wide", time.Second, 50, 400, 60 * time.Second, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.packets)))
			pkts := make([]capture.Packet, tc.packets)
			layers := []capture.LayerSet{capture.LayerTCP, capture.LayerUDP, capture.LayerICMPv4, capture.LayerARP, capture.LayerIPv4}
			for i := range pkts {
				pkts[i] = capture.Packet{Time: start.Add(time.Duration(r.Int64N(int64(tc.spread)))), Length: 40 + r.IntN(1400), Layers: layers[r.IntN(len(layers))]}
			}
			if tc.name == "one part wide" {
				// Part 0 alone spans far: it widens, the other does not.
				pkts[0].Time = start.Add(100 * time.Hour)
			}
			newTL := func() *timelineAnalyzer {
				tl := newTimelineAnalyzer(tc.unit)
				tl.max = tc.max
				return tl
			}
			whole := newTL()
			parts := make([]*timelineAnalyzer, tc.parts)
			for i := range parts {
				parts[i] = newTL()
			}
			for i := range pkts {
				whole.Packet(&pkts[i])
				k := r.IntN(tc.parts)
				if tc.name == "one part wide" {
					k = min(i, 1)
				}
				parts[k].Packet(&pkts[i])
			}
			// Merge in a random order, in random pairs, until one is left.
			for len(parts) > 1 {
				i, j := r.IntN(len(parts)), r.IntN(len(parts)-1)
				if j >= i {
					j++
				}
				parts[i].merge(parts[j], nil)
				parts = append(parts[:j], parts[j+1:]...)
			}
			got := parts[0]
			if got.unit != whole.unit || len(got.buckets) != len(whole.buckets) || got.coarsened != whole.coarsened {
				t.Errorf("merged: unit %v, %d buckets, coarsened %d; one pass: %v, %d, %d", got.unit, len(got.buckets), got.coarsened, whole.unit, len(whole.buckets), whole.coarsened)
			}
			if len(got.buckets) > tc.max {
				t.Errorf("%d buckets past the bound %d", len(got.buckets), tc.max)
			}
			for _, iv := range []time.Duration{tc.unit, time.Second, 10 * time.Second, time.Minute} {
				wt, werr := whole.cut(nil, whole.fit(iv))
				gt, gerr := got.cut(nil, got.fit(iv))
				if errString(werr) != errString(gerr) {
					t.Errorf("cut at %v: error %v, one pass %v", iv, gerr, werr)
				}
				if d := jsonDiff(wt, gt); d != "" {
					t.Errorf("cut at %v: %s", iv, d)
				}
			}
			if d := jsonDiff(whole.warnings(), got.warnings()); d != "" {
				t.Errorf("warnings: %s", d)
			}
			var total uint64
			for _, b := range got.buckets {
				total += b.packets
			}
			if total != uint64(tc.packets) {
				t.Errorf("merged buckets hold %d packets, want %d", total, tc.packets)
			}
		})
	}
}
