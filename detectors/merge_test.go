package detectors

import (
	"context"
	"hash/maphash"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// splitByFile analyses the capture at path whole, and again as n files
// cut from it with editcap -c (each of about an nth of its packets, in
// order, as a rotated capture is), each file accumulated by its own
// Analysis, not yet merged nor judged. It skips the test without editcap.
func splitByFile(t *testing.T, path string, cfg Config, n int) (whole *Analysis, parts []*Analysis) {
	t.Helper()
	ctx := context.Background()
	whole, err := Analyze(ctx, path, cfg)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	files := editcapSplit(t, path, whole.Capture().Read, n)
	cfg = cfg.Defaults()
	for _, f := range files {
		a := newAnalysis(cfg)
		c, err := capture.ScanFiles(ctx, []capture.Source{{Name: f, Path: f}}, capture.Config{MaxFlows: cfg.Limits.MaxFlows, KeepPending: true}, a.analyzers()...)
		if c == nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		a.capture = c
		parts = append(parts, a)
	}
	return whole, parts
}

// editcapSplit cuts the capture at path, of packets packets, into n
// files of about packets/n each with editcap -c, and returns their
// paths in order.
func editcapSplit(t *testing.T, path string, packets, n int) []string {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap is not installed")
	}
	per := max(1, (packets+n-1)/n)
	dir := t.TempDir()
	out := filepath.Join(dir, "part"+filepath.Ext(strings.TrimSuffix(path, ".gz")))
	if b, err := exec.Command("editcap", "-c", strconv.Itoa(per), path, out).CombinedOutput(); err != nil {
		if strings.Contains(string(b), "internal error") {
			// editcap cannot write a pcapng whose packets change link
			// type within one interface's section (gen_edge_pcapng_multi).
			t.Skipf("editcap cannot cut %s: %s", filepath.Base(path), b)
		}
		t.Fatalf("editcap: %v: %s", err, b)
	}
	files, err := filepath.Glob(filepath.Join(dir, "part_*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("editcap wrote no file: %v", err)
	}
	slices.Sort(files) // editcap numbers them part_00000_..., part_00001_...
	return files
}
