package detectors

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// The merges of the summary, the timeline and the TLS reader are tested
// together: each split of a capture is read once and all three views are
// compared with the whole's.

// msumCaptures lists every capture of testdata/ and of the shared corpus
// that Analyze reads without an error (the damaged ones stop part-way,
// and a part would stop elsewhere).
func msumCaptures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	if d := corpusDir(); d != "" {
		err := filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") || strings.HasSuffix(p, ".cap")) {
				paths = append(paths, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var ok []string
	for _, p := range paths {
		if a, err := Analyze(context.Background(), p, Config{NoFrames: true}); err == nil && a.Capture().Read > 0 {
			ok = append(ok, p)
		}
	}
	if len(ok) < 40 {
		t.Fatalf("only %d readable captures found", len(ok))
	}
	return ok
}

// msumName names a capture's subtest by its path under testdata/ or the corpus.
func msumName(p string) string {
	if i := strings.Index(p, "corpus/"); i >= 0 {
		return p[i+len("corpus/"):]
	}
	return filepath.Base(p)
}

// summaryView is everything the summary answers: the judge's Summary,
// Conversations, Talkers and the warnings of its bounds.
type summaryView struct {
	Summary       Summary
	Conversations []Conversation
	Talkers       []Talker
	Warnings      []string
}

func wholeSummary(a *Analysis) summaryView {
	return summaryView{a.Summary, a.Conversations(), a.Talkers(), a.summary.bounds.warnings(a.Summary.UniqueIPs)}
}

func judgeSummary(s *summaryAnalyzer, c *capture.Capture, cfg Config) summaryView {
	convs := s.conversations(c)
	sum := s.summary(c, convs, cfg.TopN)
	return summaryView{sum, convs, talkers(convs, s.bounds.hosts), s.bounds.warnings(sum.UniqueIPs)}
}

// msumViews is the three analyzers' answers.
type msumViews struct {
	Summary  summaryView
	Timeline timelineView
	TLS      tlsView
}

func wholeViews(a *Analysis) msumViews {
	return msumViews{wholeSummary(a), wholeTimeline(a), wholeTLS(a)}
}

func judgeViews(a *Analysis, c *capture.Capture) msumViews {
	return msumViews{judgeSummary(a.summary, c, a.Config), judgeTimeline(a.timeline, c, a.Config), judgeTLS(a.tls)}
}

// mergeInOrder merges the three analyzers of parts as the brief of the
// harness asks: the merged capture first, then each part into the first.
func mergeInOrder(parts []*Analysis) (*Analysis, *capture.Capture) {
	c := mergedCapture(parts)
	d := parts[0]
	for _, o := range parts[1:] {
		d.summary.merge(o.summary, c)
		d.timeline.merge(o.timeline, c)
		d.tls.merge(o.tls, c)
	}
	// The datagrams whose fragments files shared reach the merged
	// analyzers; those never completed are given up.
	c.HandPending(d.summary, d.timeline, d.tls)
	c.Settle(d.summary, d.timeline, d.tls)
	return d, c
}

// mergeMine is Analysis.mergeState for the three analyzers alone: o's
// capture into a's, then each analyzer against it.
func mergeMine(a, o *Analysis) {
	a.capture.Merge(o.capture)
	a.summary.merge(o.summary, a.capture)
	a.timeline.merge(o.timeline, a.capture)
	a.tls.merge(o.tls, a.capture)
}

// jsonDiff says where want and got differ as JSON ("" when they do not).
func jsonDiff(want, got any) string {
	w, err1 := json.MarshalIndent(want, "", " ")
	g, err2 := json.MarshalIndent(got, "", " ")
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("marshal: %v %v", err1, err2)
	}
	if string(w) == string(g) {
		return ""
	}
	wl, gl := strings.Split(string(w), "\n"), strings.Split(string(g), "\n")
	for i := range max(len(wl), len(gl)) {
		if i >= len(wl) || i >= len(gl) || wl[i] != gl[i] {
			lo := max(0, i-4)
			return fmt.Sprintf("first difference at line %d:\n want: %s\n  got: %s", i+1, strings.Join(wl[lo:min(len(wl), i+3)], "\n       "), strings.Join(gl[lo:min(len(gl), i+3)], "\n       "))
		}
	}
	return "differ"
}

// checkViews compares the views field group by field group.
func checkViews(t *testing.T, want, got msumViews, what string) {
	t.Helper()
	for _, v := range []struct {
		name      string
		want, got any
	}{
		{"summary", want.Summary, got.Summary},
		{"timeline", want.Timeline, got.Timeline},
		{"tls", want.TLS, got.TLS},
	} {
		if d := jsonDiff(v.want, v.got); d != "" {
			t.Errorf("%s: %s differs from the whole's: %s", what, v.name, d)
		}
	}
}

// msumConfigs are the configurations the splits are judged with: the
// defaults, and a timeline of half-second buckets.
var msumConfigs = []struct {
	name string
	cfg  Config
}{
	{"default", Config{NoFrames: true}},
	{"500ms", Config{NoFrames: true, TimelineInterval: 500e6}},
}

// TestMergeSummaryTimelineTLSByPair splits every capture by address pair
// into 2, 3 and 5 parts and checks that merging the parts' summary,
// timeline and TLS state and judging it gives the whole's answers,
// field for field.
func TestMergeSummaryTimelineTLSByPair(t *testing.T) {
	for _, path := range msumCaptures(t) {
		t.Run(msumName(path), func(t *testing.T) {
			for _, cc := range msumConfigs {
				if cc.name != "default" && !strings.Contains(path, "testdata") {
					continue // the corpus once, at the defaults
				}
				for _, n := range []int{2, 3, 5} {
					whole, parts := splitByPair(t, path, cc.cfg, n)
					d, c := mergeInOrder(parts)
					checkViews(t, wholeViews(whole), judgeViews(d, c), fmt.Sprintf("%s, %d pair parts", cc.name, n))
				}
			}
		})
	}
}

// TestMergeSummaryTimelineTLSOrder merges the same parts in three orders
// and groupings (in order into the first, in reverse into the last, and
// as two groups merged first) and checks that each judges as the whole.
// The parts are the files editcap cuts (the same files each time), and a
// split by pair with a fixed hash.
func TestMergeSummaryTimelineTLSOrder(t *testing.T) {
	cfg := Config{NoFrames: true}
	for _, name := range []string{"benign_tls_browse.pcap", "exfil_tls.pcap", "benign_browse.pcap", "scan_frag.pcap", "dns_tunnel.pcap", "gen_vlan_qinq.pcap", "http_sqlmap.pcap"} {
		path := testdataFile(t, name)
		t.Run(name, func(t *testing.T) {
			split := func() (*Analysis, []*Analysis) { return splitByFile(t, path, cfg, 5) }
			wholeA, _ := split()
			want := wholeViews(wholeA)
			var results []msumViews
			// In order, into the first.
			_, parts := split()
			c := &capture.Capture{}
			for _, p := range parts {
				c.Merge(p.capture)
			}
			for _, o := range parts[1:] {
				parts[0].summary.merge(o.summary, c)
				parts[0].timeline.merge(o.timeline, c)
				parts[0].tls.merge(o.tls, c)
			}
			results = append(results, judgeViews(parts[0], c))
			// In reverse, into the last, the captures merged in reverse too.
			_, parts = split()
			slices.Reverse(parts)
			for _, o := range parts[1:] {
				mergeMine(parts[0], o)
			}
			results = append(results, judgeViews(parts[0], parts[0].capture))
			// Two groups: (0+3) and (4+(1+2)), then the second into the first.
			_, parts = split()
			mergeMine(parts[0], parts[3])
			mergeMine(parts[1], parts[2])
			mergeMine(parts[4], parts[1])
			mergeMine(parts[0], parts[4])
			results = append(results, judgeViews(parts[0], parts[0].capture))
			for i := 1; i < len(results); i++ {
				checkViews(t, results[0], results[i], fmt.Sprintf("order %d against order 0", i))
			}
			// The summary and timeline of a file split are exact (see
			// TestMergeSummaryTimelineByFile) but for what the files lose.
			if why := fileSplitLoss(wholeA.Capture(), parts[0].capture); why != "" {
				t.Logf("not compared with the whole: %s", why)
				return
			}
			got := results[0]
			if d := jsonDiff(want.Summary, got.Summary); d != "" {
				t.Errorf("summary differs from the whole's: %s", d)
			}
			if d := jsonDiff(want.Timeline, got.Timeline); d != "" {
				t.Errorf("timeline differs from the whole's: %s", d)
			}
		})
	}
}

// TestMergeSummaryTimelineByFile cuts every capture into 2, 5 and 20
// files with editcap, as a rotated capture is, and checks that the merged
// summary (every field, conversations, talkers) and timeline are the
// whole's: both are sums, minimums and maximums over packets and over the
// flows the merged capture joined. TLS is checked in
// TestMergeTLSByFile.
//
// Two things the parts cannot see are left out, and logged: an IP
// datagram whose fragments fall in two files is reassembled by neither
// (the capture's defragmenter holds no fragments across files), and a
// pcapng packet without a timestamp, which editcap writes with the time
// 0 where one pass gives it the time of the packet before.
func TestMergeSummaryTimelineByFile(t *testing.T) {
	exact := 0
	for _, path := range msumCaptures(t) {
		t.Run(msumName(path), func(t *testing.T) {
			splittable(t, path)
			for _, n := range []int{2, 5, 20} {
				whole, parts := splitByFile(t, path, Config{NoFrames: true}, n)
				d, c := mergeInOrder(parts)
				if why := fileSplitLoss(whole.Capture(), c); why != "" {
					t.Logf("%d files: not compared: %s", n, why)
					continue
				}
				exact++
				want, got := wholeViews(whole), judgeViews(d, c)
				if diff := jsonDiff(want.Summary, got.Summary); diff != "" {
					t.Errorf("%d files: summary differs: %s", n, diff)
				}
				if diff := jsonDiff(want.Timeline, got.Timeline); diff != "" {
					t.Errorf("%d files: timeline differs: %s", n, diff)
				}
			}
		})
	}
	if exact < 150 {
		t.Errorf("only %d splits compared exactly", exact)
	}
	t.Logf("%d splits compared exactly", exact)
}

// fileSplitLoss says what the files cut from a capture lost that one
// pass over it has ("" when nothing): fragments reassembled across two
// files, or timestamps editcap wrote for packets that had none.
func fileSplitLoss(whole, merged *capture.Capture) string {
	if w, m := whole.Fragments.Reassembled, merged.Fragments.Reassembled; w != m {
		return fmt.Sprintf("%d datagrams reassembled from fragments, %d in the files", w, m)
	}
	if !whole.Start.Equal(merged.Start) {
		return fmt.Sprintf("the files start at %v, the capture at %v", merged.Start, whole.Start)
	}
	return ""
}

// splittable skips the test when editcap cannot write path again (a
// pcapng file whose packets carry another link type than their
// interface's).
func splittable(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap is not installed")
	}
	out := filepath.Join(t.TempDir(), "probe"+filepath.Ext(strings.TrimSuffix(path, ".gz")))
	if b, err := exec.Command("editcap", path, out).CombinedOutput(); err != nil {
		t.Skipf("editcap cannot rewrite %s: %s", filepath.Base(path), strings.TrimSpace(string(b)))
	}
}

// TestMergeSummaryBounded splits captures with more address pairs and
// flows than small bounds allow: past the bounds the parts fold and
// evict other entries than one pass does, so the lists may differ, but
// the merged tables stay within the bounds, every packet is still
// counted once in the talkers or in what the warnings say was dropped,
// the per-packet counts are exact, and the warnings say what was capped.
func TestMergeSummaryBounded(t *testing.T) {
	cfg := Config{NoFrames: true, Limits: Limits{MaxHosts: 4, MaxFlows: 16}}
	for _, path := range []string{
		testdataFile(t, "sweep_syn.pcap"),
		testdataFile(t, "gen_edge_pcapng_multi.pcapng"),
		testdataFile(t, "benign_udp_noise.pcap"),
		corpusFile(t, "lucaderi-sgr/2022/Favilli/tests/hs-icmpScan.pcap"),
	} {
		for _, n := range []int{2, 3, 5} {
			whole, parts := splitByPair(t, path, cfg, n)
			d, c := mergeInOrder(parts)
			want, got := wholeSummary(whole), judgeSummary(d.summary, c, d.Config)
			name := fmt.Sprintf("%s, %d parts", msumName(path), n)
			b := d.summary.bounds
			if len(d.summary.pairs) > b.maxHosts || len(b.convs) > b.maxHosts || len(b.hosts) > b.maxHosts {
				t.Errorf("%s: %d pairs, %d evicted pairs, %d hosts; bound %d", name, len(d.summary.pairs), len(b.convs), len(b.hosts), b.maxHosts)
			}
			sent := func(ts []Talker, dropped uint64) uint64 {
				for _, x := range ts {
					dropped += x.PacketsSent
				}
				return dropped
			}
			if w, g := sent(want.Talkers, whole.summary.bounds.droppedPkts), sent(got.Talkers, b.droppedPkts); w != g {
				t.Errorf("%s: talkers sent %d packets (with those dropped), the whole's %d", name, g, w)
			}
			ws, gs := want.Summary, got.Summary
			if ws.TotalPackets != gs.TotalPackets || ws.IPv4Packets != gs.IPv4Packets || ws.IPv6Packets != gs.IPv6Packets || jsonDiff(ws.Protocols, gs.Protocols) != "" || jsonDiff(ws.DNSNames, gs.DNSNames) != "" {
				t.Errorf("%s: per-packet counts differ: %s", name, jsonDiff(ws, gs))
			}
			if !gs.UniqueIPsEstimated || len(got.Warnings) == 0 || !strings.Contains(got.Warnings[0], "conversations capped at 4") {
				t.Errorf("%s: estimated %v, warnings %q; want the caps said", name, gs.UniqueIPsEstimated, got.Warnings)
			}
		}
	}
}
