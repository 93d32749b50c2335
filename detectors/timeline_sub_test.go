package detectors

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
)

// TestTimelineSubSecond cuts a recording into 250 ms intervals and
// counts each against tshark's own timestamps (frame.time_epoch) put in
// the same 250 ms slots.
func TestTimelineSubSecond(t *testing.T) {
	tsharktest.Path(t)
	path := testfiles.Testdata(t, "benign_browse.pcap")
	a := analyzeFile(t, path, Config{TimelineInterval: 250 * time.Millisecond})
	if a.Timeline.IntervalMilliseconds != 250 || a.Timeline.IntervalSeconds != 0 {
		t.Fatalf("interval %d s / %d ms, want 250 ms", a.Timeline.IntervalSeconds, a.Timeline.IntervalMilliseconds)
	}
	want := map[int64]uint64{}
	for _, line := range tsharktest.Fields(t, path, "", "frame.time_epoch") {
		f, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
		if err != nil {
			t.Fatal(err)
		}
		want[int64(math.Floor(f*4))]++ // 250 ms slots since 1970
	}
	got := map[int64]uint64{}
	for _, iv := range a.Timeline.Intervals {
		got[iv.Start.UnixMilli()/250] += iv.Packets
	}
	if len(got) != len(want) || len(want) < 3 {
		t.Fatalf("%d intervals with packets, tshark's timestamps give %d", len(got), len(want))
	}
	for slot, n := range want {
		if got[slot] != n {
			t.Errorf("slot %s: %d packets, tshark %d", time.UnixMilli(slot*250).UTC().Format(time.RFC3339Nano), got[slot], n)
		}
	}
	if _, err := a.TimelineAt(500 * time.Millisecond); err != nil {
		t.Errorf("re-cut at 500 ms: %v", err)
	}
	if _, err := a.TimelineAt(300 * time.Millisecond); err == nil {
		t.Error("re-cut at 300 ms, not a multiple of 250 ms: no error")
	}
}

// TestTimelineBounded: timestamps the capture chooses cannot grow the
// timeline past its bound: past it the buckets merge into wider ones
// (1 s, 10 s, a minute ...), every packet still counted, with a warning.
func TestTimelineBounded(t *testing.T) {
	tl := newTimelineAnalyzer(time.Second)
	tl.max = 100
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 5000 // one packet in each of 5000 distinct seconds
	for i := range n {
		tl.Packet(&capture.Packet{Time: start.Add(time.Duration(i) * time.Second), Length: 60, Layers: capture.LayerUDP})
	}
	if len(tl.buckets) > tl.max {
		t.Errorf("%d buckets, bound %d", len(tl.buckets), tl.max)
	}
	if tl.unit != time.Minute {
		t.Errorf("unit %v, want a minute (5000 s in 100 buckets)", tl.unit)
	}
	cut, err := tl.cut(nil, tl.fit(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, iv := range cut.Intervals {
		total += iv.Packets
	}
	if total != n || cut.IntervalSeconds != 60 {
		t.Errorf("%d packets in %d-second intervals, want %d in 60", total, cut.IntervalSeconds, n)
	}
	if w := tl.warnings(); len(w) != 1 || !strings.Contains(w[0], "1m0s") {
		t.Errorf("warnings %q", w)
	}
}
