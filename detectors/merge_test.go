package detectors

import (
	"context"
	"hash/maphash"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// pairPart keeps the packets exchanged between the pairs of addresses
// that hash to part i of n (both directions, every port, ICMP and ARP
// between them); packets without addresses go to part 0. It is how the
// parallel engine splits a capture among workers.
type pairPart struct {
	i, n int
	seed maphash.Seed
}

func (f pairPart) Match(p *capture.Packet, _ int) bool {
	a, b := p.Src, p.Dst
	if !p.HasIP() {
		if p.Layers&capture.LayerARP == 0 || p.ARP == nil {
			return f.i == 0
		}
		a, _ = netip.AddrFromSlice(p.ARP.SourceProtAddress)
		b, _ = netip.AddrFromSlice(p.ARP.DstProtAddress)
	}
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	var h maphash.Hash
	h.SetSeed(f.seed)
	x, y := a.As16(), b.As16()
	h.Write(x[:])
	h.Write(y[:])
	return int(h.Sum64()%uint64(f.n)) == f.i
}

// splitByPair analyses the capture at path whole, and again in n parts
// split by address pair (pairPart), each part accumulated by its own
// Analysis and not yet merged nor judged. Each part's capture counts only
// its own packets as read, and part 0 alone the fragments, so that the
// merged capture counts each packet once.
func splitByPair(t *testing.T, path string, cfg Config, n int) (whole *Analysis, parts []*Analysis) {
	t.Helper()
	ctx := context.Background()
	whole, err := Analyze(ctx, path, cfg)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	cfg = cfg.Defaults()
	seed := maphash.MakeSeed()
	for i := range n {
		a := newAnalysis(cfg)
		c, err := capture.ScanFiles(ctx, []capture.Source{{Name: path, Path: path}}, capture.Config{MaxFlows: cfg.Limits.MaxFlows, Filter: pairPart{i, n, seed}}, a.analyzers()...)
		if c == nil {
			t.Fatalf("%s part %d: %v", filepath.Base(path), i, err)
		}
		c.Read = c.Packets
		if i > 0 {
			c.Fragments = capture.FragmentStats{}
		}
		a.capture = c
		parts = append(parts, a)
	}
	return whole, parts
}

// mergedCapture merges the captures of parts into a new Capture (the
// parts' own are left as they are).
func mergedCapture(parts []*Analysis) *capture.Capture {
	c := &capture.Capture{}
	for _, p := range parts {
		c.Merge(p.capture)
	}
	return c
}
