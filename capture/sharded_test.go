package capture

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// pairWatch records, per unordered address pair, the workers that saw it.
type pairWatch struct {
	worker int
	mu     *sync.Mutex
	seen   map[[2]netip.Addr]map[int]bool
	frames *[]int
}

func (w pairWatch) Packet(p *Packet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	*w.frames = append(*w.frames, p.Index)
	if !p.HasIP() {
		return
	}
	a, b := p.Src, p.Dst
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	k := [2]netip.Addr{a, b}
	if w.seen[k] == nil {
		w.seen[k] = map[int]bool{}
	}
	w.seen[k][w.worker] = true
}

// TestScanShardedIsScanFiles: spread over 2, 3 or 8 workers, every
// capture of testdata gives the capture one goroutine gives (counts,
// time range, fragments, warnings, and flow for flow), every packet is
// analysed once, and each pair of addresses by one worker.
func TestScanShardedIsScanFiles(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.pcap*"))
	if len(paths) == 0 {
		t.Fatal("no capture in testdata")
	}
	ctx := context.Background()
	for _, path := range paths {
		for _, cfg := range []Config{{}, {HoldFragments: true}} {
			src := []Source{{Name: path, Path: path}}
			want, werr := ScanFiles(ctx, src, cfg)
			for _, n := range []int{2, 3, 8} {
				t.Run(fmt.Sprintf("%s/%d/hold=%v", filepath.Base(path), n, cfg.HoldFragments), func(t *testing.T) {
					var mu sync.Mutex
					seen := map[[2]netip.Addr]map[int]bool{}
					var frames []int
					got, err := ScanSharded(ctx, src, cfg, n, func(i int) []Analyzer {
						return []Analyzer{pairWatch{worker: i, mu: &mu, seen: seen, frames: &frames}}
					})
					if (err == nil) != (werr == nil) {
						t.Fatalf("error %v, want %v", err, werr)
					}
					if want == nil {
						if got != nil {
							t.Fatal("a capture where one goroutine has none")
						}
						return
					}
					type facts struct {
						Path, Format             string
						Read, Packets, Malformed int
						Bytes, Captured          int64
						Start, End               string
						Truncated                bool
						Fragments                FragmentStats
						Warnings                 []string
						LinkTypes                any
						Flows                    int
						Total, Evicted           int
					}
					of := func(c *Capture) facts {
						return facts{c.Path, c.Format, c.Read, c.Packets, c.Malformed, c.Bytes, c.Captured, c.Start.String(), c.End.String(), c.Truncated, c.Fragments, c.Warnings, c.LinkTypes, len(c.Flows()), c.FlowStats().Total, c.FlowStats().Evicted}
					}
					if g, w := of(got), of(want); !reflect.DeepEqual(g, w) {
						t.Errorf("sharded capture\n %+v\nwant\n %+v", g, w)
					}
					byKey := map[flowKey]Flow{}
					for _, f := range want.Flows() {
						byKey[keyOf(f)] = *f
					}
					for i, f := range got.Flows() {
						if i < len(want.Flows()) && keyOf(want.Flows()[i]) != keyOf(f) && !want.Flows()[i].First.Equal(f.First) {
							t.Errorf("flow %d is %v-%v, want %v-%v", i, f.Client, f.Server, want.Flows()[i].Client, want.Flows()[i].Server)
						}
						if w, ok := byKey[keyOf(f)]; !ok || w != *f {
							t.Errorf("flow %v-%v: %+v, want %+v", f.Client, f.Server, *f, w)
						}
					}
					if len(frames) != want.Packets {
						t.Errorf("%d packets analysed, want %d", len(frames), want.Packets)
					}
					for k, ws := range seen {
						if len(ws) > 1 {
							t.Errorf("pair %v seen by %d workers", k, len(ws))
						}
					}
				})
			}
		}
	}
}
