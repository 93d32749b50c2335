package detectors

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// httpMergeCaptures are the captures the HTTP merge is checked on: every
// HTTP and benign recording of testdata, the generated traffic, and the
// corpus captures that carry HTTP.
func httpMergeCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"http_*.pcap*", "benign_*.pcap*", "gen_traffic.pcap.gz", "download_large.pcap", "exfil_high.pcap"} {
		m, err := filepath.Glob(filepath.Join(filepath.Dir(testdataFile(t, "benign_browse.pcap")), pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	for _, rel := range []string{
		"chrissanders-packets/http_dvwa_directorytraversal.pcapng",
		"chrissanders-packets/http_dvwa_sqlinjection.pcapng",
		"esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_all.pcap",
		"esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_vanilla.pcap",
		"snort-sqlmap-detection/sqlmap.pcap",
		"suricata-verify/tests/bug-814/input.pcap",
		"suricata-verify/tests/http-protocol-nodup/input.pcap",
		"zeek/testing/btest/Traces/http/cooper-grill-dvwa.pcapng",
		"zeek/testing/btest/Traces/http/http-post-large.pcap",
		"chrissanders-packets/http_espn.pcapng",
		"chrissanders-packets/http_google.pcapng",
		"zeek/testing/btest/Traces/wikipedia.pcap",
		"zeek/testing/btest/Traces/workshop_2011_browse.pcap",
		"chrissanders-packets/http_ip4and6.pcapng",
		"file-type/fixture/fixture-big-endian.pcap",
		"markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/http-fault-post.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/four_ipv6_http_streams.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/raw_ip.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",
		"suricata-verify/tests/decode-sll2-01/input.pcap",
		"suricata-verify/tests/mime/mime-stream-depth/input.pcap",
		"zeek/testing/btest/Traces/http-qinq-0.pcap",
		"zeek/testing/btest/Traces/http-vlan-0.pcap",
	} {
		out = append(out, corpusFile(t, rel))
	}
	return out
}

// httpView is everything the HTTP detector reports: its findings, the
// accessors and its warnings.
type httpView struct {
	Findings  []report.Finding
	Requests  []HTTPRequest
	Truncated bool
	Dropped   int64
	Clients   []HTTPClientStats
	Warnings  []string
}

func viewHTTP(h *httpDetector, cfg Config, c *capture.Capture) httpView {
	a := &Analysis{}
	a.dets.http = h
	v := httpView{Findings: h.Findings(cfg, c), Requests: a.HTTPRequests(), Clients: a.HTTPClients(), Warnings: h.warnings()}
	v.Truncated, v.Dropped = a.HTTPRequestsTruncated()
	return v
}

// mergeHTTPParts merges the HTTP state of parts (already accumulated, in
// the grouping given: each group merged in order, then the groups) and
// returns the merged detector and capture.
func mergeHTTPParts(parts []*Analysis, groups [][]int) (*httpDetector, *capture.Capture) {
	var top *httpDetector
	var topC *capture.Capture
	for _, g := range groups {
		sub := make([]*Analysis, len(g))
		for i, k := range g {
			sub[i] = parts[k]
		}
		c := mergedCapture(sub)
		h := sub[0].dets.http
		for _, p := range sub[1:] {
			h.merge(p.dets.http, c)
		}
		if top == nil {
			top, topC = h, c
			continue
		}
		topC.Merge(c)
		top.merge(h, topC)
	}
	return top, topC
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// groupings of n parts: in order, reversed, and in two groups merged
// back to front.
func groupings(n int) map[string][][]int {
	in, rev := make([]int, n), make([]int, n)
	for i := range n {
		in[i], rev[i] = i, n-1-i
	}
	h := n / 2
	return map[string][][]int{"in order": {in}, "reversed": {rev}, "grouped": {rev[:h], rev[h:]}}
}

// TestHTTPMergeByPair splits every capture by address pair, merges the
// parts in several orders and groupings, and wants exactly what one pass
// gives.
func TestHTTPMergeByPair(t *testing.T) {
	cfg := Config{}.Defaults()
	for _, path := range httpMergeCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, n := range []int{2, 3, 5} {
				for name, g := range groupings(n) {
					whole, parts := splitByPair(t, path, cfg, n)
					want := jsonOf(t, viewHTTP(whole.dets.http, cfg, whole.capture))
					h, c := mergeHTTPParts(parts, g)
					if got := jsonOf(t, viewHTTP(h, cfg, c)); got != want {
						t.Errorf("n=%d %s: merged differs from one pass:\n%s", n, name, firstDiff(got, want))
					}
				}
			}
		})
	}
}

// firstDiff shows the first line where got and want differ, with some
// context.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			lo := max(0, i-4)
			return "got:\n" + strings.Join(g[lo:min(len(g), i+3)], "\n") + "\nwant:\n" + strings.Join(w[lo:min(len(w), i+3)], "\n")
		}
	}
	return "lengths differ"
}

// TestHTTPMergeByFile cuts every capture into 2, 5 and 20 files, as a
// rotated capture is, merges their parts in order and reversed, and
// wants what one pass gives unless the merge counted a connection it
// could not join exactly (misfits: requests pipelined across a cut, a
// request retransmitted across it, a head past its bound); those are
// logged. The kept requests' frame numbers are each file's own and are
// left out of the comparison.
func TestHTTPMergeByFile(t *testing.T) {
	cfg := Config{}.Defaults()
	for _, path := range httpMergeCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, n := range []int{2, 5, 20} {
				for _, name := range []string{"in order", "reversed"} {
					whole, parts := splitByFile(t, path, cfg, n)
					wv := viewHTTP(whole.dets.http, cfg, whole.capture)
					h, c := mergeHTTPParts(parts, groupings(len(parts))[name])
					gv := viewHTTP(h, cfg, c)
					for _, v := range []*httpView{&wv, &gv} {
						for i := range v.Requests {
							v.Requests[i].Packet = 0
						}
					}
					got, want := jsonOf(t, gv), jsonOf(t, wv)
					switch {
					case got == want:
					case h.misfits > 0:
						t.Logf("n=%d %s: %d connections not joined exactly; merged differs:\n%s", n, name, h.misfits, firstDiff(got, want))
					default:
						t.Errorf("n=%d %s: merged differs from one pass:\n%s", n, name, firstDiff(got, want))
					}
				}
			}
		})
	}
}
