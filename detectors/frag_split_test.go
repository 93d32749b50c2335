package detectors

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// TestFragmentedDatagramsAcrossPartials: captures whose fragmented
// datagrams a file boundary separates (nmap -f's port scan; a DNS
// response over IPv6 fragments), cut into 2, 5 and 20 files, each file
// accumulated into a Partial, encoded and decoded, then merged in reverse
// order: the port scan and DNS verdicts and the fragment statistics are
// the whole capture's, and no datagram is counted incomplete that one
// pass reassembled.
func TestFragmentedDatagramsAcrossPartials(t *testing.T) {
	cases := []struct {
		path  func(t *testing.T) string
		check string // "scan" or "dns"
	}{
		{func(t *testing.T) string { return testdataFile(t, "scan_frag.pcap") }, "scan"},
		{func(t *testing.T) string {
			return corpusFile(t, "zeek/testing/btest/Traces/ipv6-fragmented-dns.pcap")
		}, "dns"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		path := tc.path(t)
		whole := analyzeFile(t, path, Config{})
		if whole.Capture().Fragments.Reassembled == 0 {
			t.Fatalf("%s: no datagram reassembled in one pass", path)
		}
		for _, n := range []int{2, 5, 20} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(path), n), func(t *testing.T) {
				files := editcapSplit(t, path, whole.Capture().Read, n)
				var parts []*Analysis
				for _, f := range files {
					p, err := Accumulate(ctx, Input{Sources: []capture.Source{{Name: f, Path: f}}}, Config{HashKey: "one capture"})
					if err != nil {
						t.Fatal(err)
					}
					b, err := p.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					var q Partial
					if err := q.UnmarshalBinary(b); err != nil {
						t.Fatal(err)
					}
					parts = append(parts, q.a)
				}
				slices.Reverse(parts)
				pending := 0
				for _, p := range parts {
					pending += p.capture.Pending()
				}
				if tc.check == "scan" && pending == 0 {
					t.Fatal("no file ends inside a datagram: nothing is tested")
				}
				switch tc.check {
				case "scan":
					d, c := mergeScanParts(parts)
					want, _ := scanVerdict(t, whole.dets.scans, whole.Config, whole.capture)
					if got, _ := scanVerdict(t, d, whole.Config, c); got != want {
						t.Errorf("merged port scan verdict differs:\n%s", lineDiff(want, got))
					}
					checkFragStats(t, c, whole.capture)
				case "dns":
					order := make([]int, len(parts))
					for i := range order {
						order[i] = i
					}
					d, c := mergeDNSParts(parts, order)
					if diff := dnsDiff(t, whole, d, c); diff != "" {
						t.Error(diff)
					}
					checkFragStats(t, c, whole.capture)
				}
			})
		}
	}
}

func checkFragStats(t *testing.T, got, want *capture.Capture) {
	t.Helper()
	if got.Fragments != want.Fragments || got.Packets != want.Packets || got.Bytes != want.Bytes || got.Pending() != 0 {
		t.Errorf("merged capture: %d packets, %d bytes, %+v, %d pending; one pass: %d packets, %d bytes, %+v",
			got.Packets, got.Bytes, got.Fragments, got.Pending(), want.Packets, want.Bytes, want.Fragments)
	}
}
