package detectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// verdict is what a merged or decoded analysis must agree on with one
// pass: everything the report shows.
func verdict(t *testing.T, a *Analysis) string {
	t.Helper()
	b, err := json.MarshalIndent(struct {
		Summary  Summary
		Timeline Timeline
		Findings any
		Warnings []string
	}{a.Summary, a.Timeline, a.Findings, a.Warnings}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPartialRoundTrip: a Partial encoded, decoded and judged is the
// analysis of one pass, and the same packets encode to the same bytes.
func TestPartialRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, path := range testCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			whole, err := Analyze(ctx, path, Config{})
			if err != nil {
				t.Skipf("not analysable: %v", err)
			}
			in := Input{Sources: []capture.Source{{Name: path, Path: path}}}
			var enc [2][]byte
			for i := range enc {
				p, err := Accumulate(ctx, in, Config{HashKey: "round trip"})
				if err != nil {
					t.Fatal(err)
				}
				if enc[i], err = p.MarshalBinary(); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(enc[0], enc[1]) {
				t.Error("two passes over the same file encoded differently")
			}
			var p Partial
			if err := p.UnmarshalBinary(enc[0]); err != nil {
				t.Fatal(err)
			}
			got, err := p.Judge(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := verdict(t, got), verdict(t, whole); g != w {
				t.Errorf("decoded partial judged differently:\n%s", firstDiff(w, g))
			}
		})
	}
}

func TestPartialRefusesOthers(t *testing.T) {
	path := testfiles.Testdata(t, "scan_syn.pcap")
	ctx := context.Background()
	in := Input{Sources: []capture.Source{{Name: path, Path: path}}}
	p, err := Accumulate(ctx, in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"not a partial": {[]byte("hello"), ErrNotPartial},
		"cut short":     {b[:len(b)/2], ErrNotPartial},
		"trailing":      {append(append([]byte{}, b...), 1, 2, 3), ErrNotPartial},
		"other version": {append(append([]byte{}, partialMagic...), 99), ErrIncompatible},
	} {
		var q Partial
		if err := q.UnmarshalBinary(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	cfg := Config{}
	cfg.PortScan.Threshold = 7
	other, err := Accumulate(ctx, in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MergePartials(p, other); !errors.Is(err, ErrIncompatible) {
		t.Errorf("merging other configurations: %v", err)
	}
}

// testCaptures lists the captures of testdata/.
func testCaptures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "*.pcap*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no capture in testdata: %v", err)
	}
	return paths
}

// firstDiff shows the first line where two renderings differ, with a
// little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d:\n want: %s\n  got: %s\ncontext (want):\n%s", i+1, a, b, strings.Join(w[lo:min(len(w), i+3)], "\n"))
		}
	}
	return "(equal)"
}
