package detectors

import (
	"context"
	"hash/maphash"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// TestMergeIsAssociativeAndCommutative: parts of a capture (by address
// pair, through a filter, and by time, as files cut by editcap) merged in
// random orders and random groupings are judged alike, and, once merged
// in any grouping, encode to the same verdict as merging them one by one.
func TestMergeIsAssociativeAndCommutative(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 2026))
	for _, name := range []string{"scan_decoy.pcap", "http_gobuster.pcap", "dns_tunnel.pcap", "exfil_drip.pcap", "benign_browse.pcap", "exfil_icmp.pcap", "tls_handshakes.pcap", "scan_frag.pcap"} {
		path := filepath.Join("..", "testdata", name)
		whole, err := Analyze(ctx, path, Config{NoFrames: true, HashKey: "property"})
		if err != nil {
			t.Fatal(err)
		}
		// By pair: 4 parts through a filter; by time: 6 files.
		var pairParts, timeParts [][]byte
		seed := maphash.MakeSeed()
		for i := range 4 {
			p, err := Accumulate(ctx, Input{Sources: []capture.Source{{Name: path, Path: path}}, Filter: pairPart{i, 4, seed}}, Config{NoFrames: true, HashKey: "property"})
			if err != nil {
				t.Fatal(err)
			}
			pairParts = append(pairParts, encodePartial(t, p))
		}
		for _, f := range editcapSplit(t, path, whole.Capture().Read, 6) {
			p, err := Accumulate(ctx, Input{Sources: []capture.Source{{Name: f, Path: f}}}, Config{NoFrames: true, HashKey: "property"})
			if err != nil {
				t.Fatal(err)
			}
			timeParts = append(timeParts, encodePartial(t, p))
		}
		for kind, parts := range map[string][][]byte{"by pair": pairParts, "by time": timeParts} {
			t.Run(name+"/"+kind, func(t *testing.T) {
				var want string
				for trial := range 6 {
					ps := decodePartials(t, parts)
					rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
					m := mergePartialTree(t, rng, ps)
					a, err := m.Judge(ctx, Input{Name: "merged"})
					if err != nil {
						t.Fatal(err)
					}
					got := verdict(t, a)
					if trial == 0 {
						want = got
						continue
					}
					if got != want {
						t.Fatalf("trial %d merged otherwise:\n%s", trial, firstDiff(want, got))
					}
				}
			})
		}
	}
}

// mergePartialTree merges ps in a random grouping: a random split, each side
// merged the same way, then the two sides.
func mergePartialTree(t *testing.T, rng *rand.Rand, ps []*Partial) *Partial {
	t.Helper()
	if len(ps) == 1 {
		return ps[0]
	}
	k := 1 + rng.IntN(len(ps)-1)
	l, r := mergePartialTree(t, rng, ps[:k]), mergePartialTree(t, rng, ps[k:])
	m, err := MergePartials(l, r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encodePartial(t *testing.T, p *Partial) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodePartials(t *testing.T, bs [][]byte) []*Partial {
	t.Helper()
	var out []*Partial
	for _, b := range bs {
		var p Partial
		if err := p.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		out = append(out, &p)
	}
	return out
}
