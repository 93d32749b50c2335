package detectors

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	for _, path := range httpMergeCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, n := range []int{2, 3, 5} {
				for name, g := range groupings(n) {
					// Three requests kept for listing, at most: the merge
					// keeps the same three and counts the rest.
					cfg := Config{}.Defaults()
					if name == "grouped" {
						cfg.HTTP.MaxRequests = 3
					}
					whole, parts := splitByPair(t, path, cfg, n)
					want := jsonOf(t, viewHTTP(whole.dets.http, cfg, whole.capture))
					h, c := mergeHTTPParts(parts, g)
					if got := jsonOf(t, viewHTTP(h, cfg, c)); got != want {
						t.Errorf("n=%d %s: merged differs from one pass:\n%s", n, name, firstDiff(want, got))
					}
				}
			}
		})
	}
}

// TestHTTPMergeByFile cuts every capture into 2, 5 and 20 files, as a
// rotated capture is, merges their parts in order and reversed, and
// wants what one pass gives unless the merge counted a connection it
// could not join exactly (misfits: requests pipelined across a cut, a
// request retransmitted across it, a head past its bound); those are
// logged. The kept requests' frame numbers are each file's own and are
// left out of the comparison.
func TestHTTPMergeByFile(t *testing.T) {
	for _, path := range httpMergeCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, n := range []int{2, 5, 20} {
				for _, name := range []string{"in order", "reversed"} {
					cfg := Config{}.Defaults()
					if name == "reversed" {
						cfg.HTTP.MaxRequests = 3 // the merge keeps the same few and counts the rest
					}
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
						if !strings.Contains(strings.Join(gv.Warnings, "\n"), "could not be joined exactly") {
							t.Errorf("n=%d %s: %d misfits and no warning of them: %q", n, name, h.misfits, gv.Warnings)
						}
						t.Logf("n=%d %s: %d connections not joined exactly; merged differs:\n%s", n, name, h.misfits, firstDiff(want, got))
					default:
						t.Errorf("n=%d %s: merged differs from one pass:\n%s", n, name, firstDiff(want, got))
					}
				}
			}
		})
	}
}

// TestHTTPMergeBounds merges parts of a flood past small bounds: the
// merged tables stay within them, every request is counted (kept or in
// the eviction counters), the enumerating client keeps its finding with
// exact counts, and the warnings say what was dropped.
func TestHTTPMergeBounds(t *testing.T) {
	path, enumN := httpFloodCapture(t, 300, false)
	cfg := Config{HTTP: HTTPConfig{MaxPairs: 20, MaxConnections: 16}}.Defaults()
	for _, n := range []int{2, 5} {
		_, parts := splitByPair(t, path, cfg, n)
		h, c := mergeHTTPParts(parts, groupings(n)["grouped"])
		b := h.bounds
		if len(h.conns) > b.maxConns || len(h.pairs) > b.maxPairs || len(h.order) != len(h.pairs) {
			t.Errorf("n=%d: connections %d (bound %d), pairs %d (list %d, bound %d)", n, len(h.conns), b.maxConns, len(h.pairs), len(h.order), b.maxPairs)
		}
		v := viewHTTP(h, cfg, c)
		var kept int64
		for _, cl := range v.Clients {
			kept += cl.Requests
		}
		if want := int64(300 + enumN); kept+b.evictedRequests != want {
			t.Errorf("n=%d: kept %d + dropped %d requests, want %d", n, kept, b.evictedRequests, want)
		}
		var enum []report.Finding
		for _, f := range v.Findings {
			if f.Source == "192.0.2.66" {
				enum = append(enum, f)
			}
		}
		if len(enum) != 1 || enum[0].Counts["requests"] != int64(enumN) || enum[0].Counts["unique_paths"] != int64(enumN) {
			t.Errorf("n=%d: enumeration findings %+v, want one of %d requests and paths", n, enum, enumN)
		}
		w := strings.Join(v.Warnings, "\n")
		for _, s := range []string{"unfinished connections", "past the bound of 20 (HTTPConfig.MaxPairs)"} {
			if !strings.Contains(w, s) {
				t.Errorf("n=%d: warnings %q, want %q", n, v.Warnings, s)
			}
		}
	}
}

// TestTimedList checks that a list keeps the n earliest values by (time,
// value) whatever order they come in, and that merging two lists gives
// what one list offered every value gives.
func TestTimedList(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type offer struct {
		s int
		v string
	}
	tests := []struct {
		name     string
		n        int
		distinct bool
		offers   []offer
		want     []string
	}{
		{"in time order", 3, true, []offer{{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}}, []string{"a", "b", "c"}},
		{"late packet first", 3, true, []offer{{4, "d"}, {3, "c"}, {2, "b"}, {1, "a"}}, []string{"a", "b", "c"}},
		{"ties by value", 2, true, []offer{{1, "z"}, {1, "m"}, {1, "a"}}, []string{"a", "m"}},
		{"distinct keeps the earliest time", 3, true, []offer{{5, "x"}, {2, "y"}, {1, "x"}, {3, "z"}}, []string{"x", "y", "z"}},
		{"a repeat does not move a value later", 2, true, []offer{{1, "x"}, {9, "x"}, {2, "y"}}, []string{"x", "y"}},
		{"not distinct keeps repeats", 3, false, []offer{{1, "x"}, {2, "x"}, {3, "y"}, {4, "x"}}, []string{"x", "x", "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var one timedList[string]
			for _, o := range tc.offers {
				one.add(at(o.s), o.v, tc.n, tc.distinct)
			}
			if got := one.values(); !slices.Equal(got, tc.want) {
				t.Errorf("one list: %q, want %q", got, tc.want)
			}
			for cut := range len(tc.offers) + 1 {
				var x, y timedList[string]
				for i, o := range tc.offers {
					if i < cut {
						x.add(at(o.s), o.v, tc.n, tc.distinct)
					} else {
						y.add(at(o.s), o.v, tc.n, tc.distinct)
					}
				}
				y.merge(x, tc.n, tc.distinct)
				if got := y.values(); !slices.Equal(got, tc.want) {
					t.Errorf("cut at %d, merged: %q, want %q", cut, got, tc.want)
				}
			}
		})
	}
}

// TestHTTPMergeCutEverywhere cuts a hand-made capture after every packet
// (and into a few files), so that every request, answer, header block
// and body is cut somewhere: a request line in two segments, answers in
// the file after their request, a body of known length across a cut with
// the next answer after it, a traversal whose /etc/passwd answer body is
// in a file of its own, login attempts with password bodies. The merge
// must join every connection exactly and give what one pass gives.
func TestHTTPMergeCutEverywhere(t *testing.T) {
	s := newHTTPSynth(t)
	web := s.conn("192.0.2.12:50002", "198.51.100.8:80")
	scan := s.conn("192.0.2.13:50003", "198.51.100.8:80")
	web.send(true, "GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: "+httpUA+"\r\n\r\n")
	web.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	web.send(true, "GET /view.php?file=..%2F..%2F..%2Fetc%2Fpasswd HT")
	web.send(true, "TP/1.1\r\nHost: t\r\nUser-Agent: "+httpUA+"\r\n\r\n")
	scan.send(true, "GET /.env HTTP/1.1\r\nHost: t\r\nUser-Agent: gobuster/3.6\r\n\r\n")
	web.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n")
	scan.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nAPP_KEY=abc\n")
	web.send(false, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n"[:64])
	for i := range 12 {
		body := fmt.Sprintf("user=admin&password=guess%04d", i)
		web.send(true, fmt.Sprintf("POST /login HTTP/1.1\r\nHost: t\r\nUser-Agent: %s\r\nContent-Length: %d\r\n\r\n", httpUA, len(body)))
		web.send(true, body)
		scan.send(true, fmt.Sprintf("GET /admin/%d HTTP/1.1\r\nHost: t\r\nUser-Agent: gobuster/3.6\r\n\r\n", i))
		page := strings.Repeat("x", 1500)
		web.send(false, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", 3*len(page), page))
		web.send(false, page)
		scan.send(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		web.send(false, page)
	}
	path := s.close()
	cfg := Config{}.Defaults()
	whole := analyzeFile(t, path, cfg)
	packets := whole.Capture().Read
	for _, n := range []int{2, 3, 7, packets} {
		for name := range groupings(2) {
			w, parts := splitByFile(t, path, cfg, n)
			want := viewHTTP(w.dets.http, cfg, w.capture)
			h, c := mergeHTTPParts(parts, groupings(len(parts))[name])
			got := viewHTTP(h, cfg, c)
			for _, v := range []*httpView{&want, &got} {
				for i := range v.Requests {
					v.Requests[i].Packet = 0
				}
			}
			if h.misfits != 0 {
				t.Errorf("n=%d %s: %d connections not joined exactly", n, name, h.misfits)
			}
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("n=%d %s: merged differs from one pass:\n%s", n, name, firstDiff(w, g))
			}
		}
	}
	// The capture holds what the test says it does.
	var leaks, creds int64
	for _, cl := range whole.HTTPClients() {
		leaks += cl.PasswdLeaks
		creds += cl.CredentialAttempts
	}
	if leaks != 1 || creds != 12 {
		t.Errorf("one pass: %d passwd leaks, %d credential attempts; want 1 and 12", leaks, creds)
	}
}
