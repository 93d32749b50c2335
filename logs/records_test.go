package logs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
	"github.com/agents-of-shield/reconpcap/logs"
)

func testdata(name string) string { return filepath.Join("..", "testdata", name) }

// zeekLogs caches the logs the tests read: several tests check the same
// log of the same capture.
var zeekLogs sync.Map // "name capture" -> []map[string]string

// zeekLog writes the log name of capture in the zeek format and reads it
// back by its header.
func zeekLog(t *testing.T, name, capture string) []map[string]string {
	t.Helper()
	if rows, ok := zeekLogs.Load(name + " " + capture); ok {
		return rows.([]map[string]string)
	}
	rows := zeekLogAt(t, name, testdata(capture))
	zeekLogs.Store(name+" "+capture, rows)
	return rows
}

// zeekLogAt is zeekLog of the capture at path, uncached.
func zeekLogAt(t *testing.T, name, path string) []map[string]string {
	t.Helper()
	l, err := logs.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := logs.NewWriter(&buf, logs.FormatZeek, l.Schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(context.Background(), path, w); err != nil {
		t.Fatalf("%s log of %s: %v", name, path, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fields, types, rows := readZeek(t, buf.Bytes())
	if len(fields) != len(l.Schema.Fields) || len(types) != len(fields) {
		t.Fatalf("%s log: header has %d fields and %d types for a schema of %d", name, len(fields), len(types), len(l.Schema.Fields))
	}
	return rows
}

// tsharkCounts counts, with tshark, what each log has one record of.
var tsharkCounts = map[string]func(t *testing.T, path string) int{
	"conn": func(t *testing.T, path string) int {
		return conversations(t, path)
	},
	"dns": func(t *testing.T, path string) int {
		return len(tsharktest.Frames(t, path, "dns.flags.response==0")) + len(tsharktest.Frames(t, path, "dns.flags.response==1 && !dns.response_to"))
	},
	"http": func(t *testing.T, path string) int { return len(tsharktest.Frames(t, path, "http.request")) },
	"tls":  func(t *testing.T, path string) int { return len(tsharktest.Frames(t, path, "tls.handshake.type==1")) },
}

// TestLogCountsMatchTshark: as many records as tshark sees connections
// (its TCP and UDP conversation tables), DNS queries (plus the responses
// it ties to no query), HTTP requests and ClientHellos.
func TestLogCountsMatchTshark(t *testing.T) {
	tsharktest.Path(t)
	tests := []struct {
		capture string
		logs    []string
	}{
		{"benign_browse.pcap", []string{"conn", "dns", "http", "tls"}},
		{"benign_cdn_dns.pcap", []string{"conn", "dns"}},
		{"benign_dns.pcapng", []string{"conn", "dns"}},
		{"benign_udp_noise.pcap", []string{"conn", "dns"}},
		{"http_gobuster.pcap", []string{"conn", "http"}},
		{"http_sqlmap.pcap", []string{"conn", "http"}},
		{"scan_syn.pcap", []string{"conn"}},
		{"scan_decoy.pcap", []string{"conn"}},
		{"tls_handshakes.pcap", []string{"conn", "tls"}},
		{"benign_tls_browse.pcap", []string{"conn", "dns", "tls"}},
		{"gen_edge_pcapng_multi.pcapng", []string{"conn", "dns", "http"}},
		{"gen_traffic.pcap.gz", []string{"conn", "dns", "http"}},
	}
	for _, tt := range tests {
		for _, name := range tt.logs {
			t.Run(tt.capture+"/"+name, func(t *testing.T) {
				t.Parallel() // tshark's start-up dominates: two at a time
				want := tsharkCounts[name](t, testdata(tt.capture))
				if name != "tls" && want == 0 {
					t.Fatalf("tshark finds no %s records: a test that cannot fail", name)
				}
				if got := len(zeekLog(t, name, tt.capture)); got != want {
					t.Errorf("%d records, tshark says %d", got, want)
				}
			})
		}
	}
}

// conversations counts the rows of tshark's TCP and UDP conversation
// tables.
func conversations(t *testing.T, path string) int {
	t.Helper()
	out := tsharkRun(t, "-n", "-q", "-r", path, "-z", "conv,tcp", "-z", "conv,udp")
	return strings.Count(out, "<->")
}

func tsharkRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := execTshark(tsharktest.Path(t), args...)
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	return out
}

// side is what tshark shows one direction of a connection sent.
type side struct {
	pkts, ipBytes, data uint64
	flags               uint8 // TCP flags ORed
}

// tsharkSides sums, per direction (src -> dst, "addr:port"), the packets,
// IP lengths, TCP payload of segments that are no retransmission (UDP
// payload), and TCP flags.
func tsharkSides(t *testing.T, path string) map[[2]string]*side {
	t.Helper()
	lines := tsharktest.Fields(t, path, "(tcp or udp) and !icmp and !icmpv6", "ip.src", "ipv6.src", "tcp.srcport", "udp.srcport",
		"ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport", "ip.len", "ipv6.plen", "tcp.len", "udp.length", "tcp.flags", "tcp.analysis.retransmission")
	out := map[[2]string]*side{}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 14 {
			t.Fatalf("tshark line %q", l)
		}
		src, dst := f[0]+f[1]+":"+f[2]+f[3], f[4]+f[5]+":"+f[6]+f[7]
		k := [2]string{src, dst}
		s := out[k]
		if s == nil {
			s = &side{}
			out[k] = s
		}
		s.pkts++
		if f[8] != "" {
			s.ipBytes += atou(t, f[8])
		} else {
			s.ipBytes += 40 + atou(t, f[9])
		}
		if f[10] != "" { // TCP
			flags, err := strconv.ParseUint(strings.TrimPrefix(f[12], "0x"), 16, 16)
			if err != nil {
				t.Fatalf("tcp.flags %q", f[12])
			}
			s.flags |= uint8(flags)
			if f[13] == "" && flags&0x04 == 0 {
				s.data += atou(t, f[10])
			}
		} else {
			s.data += atou(t, f[11]) - 8
		}
	}
	return out
}

func atou(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("tshark field %q: %v", s, err)
	}
	return n
}

func endpoint(h, p string) string {
	return h + ":" + p
}

// TestConnFieldsMatchTshark holds every conn record's packets, IP bytes
// and payload bytes per side against tshark's per-packet fields, and its
// conn_state against Zeek's meaning of the states whose pattern of flags
// is plain (S0, REJ, RSTO, SF, S1).
func TestConnFieldsMatchTshark(t *testing.T) {
	tsharktest.Path(t)
	for _, tt := range []struct{ capture, only string }{
		{"benign_browse.pcap", ""}, {"http_gobuster.pcap", ""}, {"tls_handshakes.pcap", ""}, {"scan_syn.pcap", ""},
		{"scan_connect.pcap", ""}, {"benign_dns.pcapng", ""}, {"exfil_split.pcap", ""}, {"benign_udp_noise.pcap", ""},
		{"gen_edge_pcapng_multi.pcapng", ""},
		// TCP over IPv6 with a hop-by-hop header; its UDP datagrams
		// are fragmented, and tshark's per-frame IP lengths are not
		// the datagrams'.
		{"gen_vlan_qinq.pcap", "tcp"},
	} {
		c := tt.capture
		t.Run(c, func(t *testing.T) {
			sides := tsharkSides(t, testdata(c))
			rows := zeekLog(t, "conn", c)
			states := map[string]int{}
			checked := 0
			for _, r := range rows {
				if tt.only != "" && r["proto"] != tt.only {
					continue
				}
				o, p := endpoint(r["id.orig_h"], r["id.orig_p"]), endpoint(r["id.resp_h"], r["id.resp_p"])
				os, rs := sides[[2]string{o, p}], sides[[2]string{p, o}]
				if os == nil {
					os = &side{}
				}
				if rs == nil {
					rs = &side{}
				}
				what := fmt.Sprintf("%s %s -> %s", r["proto"], o, p)
				for _, f := range []struct {
					name string
					want uint64
				}{{"orig_pkts", os.pkts}, {"resp_pkts", rs.pkts}, {"orig_ip_bytes", os.ipBytes}, {"resp_ip_bytes", rs.ipBytes}} {
					if r[f.name] != strconv.FormatUint(f.want, 10) {
						t.Errorf("%s: %s %s, tshark %d", what, f.name, r[f.name], f.want)
					}
				}
				if r["duration"] != "-" {
					if r["orig_bytes"] != strconv.FormatUint(os.data, 10) || r["resp_bytes"] != strconv.FormatUint(rs.data, 10) {
						t.Errorf("%s: orig_bytes %s resp_bytes %s, tshark %d and %d", what, r["orig_bytes"], r["resp_bytes"], os.data, rs.data)
					}
				}
				states[r["conn_state"]]++
				if want := plainState(r["proto"], os, rs); want != "" {
					checked++
					if r["conn_state"] != want {
						t.Errorf("%s: conn_state %s, want %s (flags %#x / %#x)", what, r["conn_state"], want, os.flags, rs.flags)
					}
				}
			}
			t.Logf("%d connections, %d with a plain state; states %v", len(rows), checked, states)
			if checked == 0 {
				t.Errorf("no connection's state was checked")
			}
		})
	}
}

// plainState is the conn_state Zeek's documentation gives a connection
// whose flags leave no doubt, or "" for the rest.
func plainState(proto string, o, r *side) string {
	const fin, syn, rst, ack = 0x01, 0x02, 0x04, 0x10
	if proto == "udp" {
		if r.pkts == 0 {
			return "S0"
		}
		return "SF"
	}
	switch {
	case o.flags == syn && r.pkts == 0:
		return "S0" // attempt seen, no reply
	case o.flags == syn && r.flags&rst != 0 && r.flags&syn == 0:
		return "REJ" // attempt rejected
	case o.flags&(syn|rst) == syn|rst && o.flags&fin == 0 && r.flags&(syn|ack) == syn|ack && r.flags&(rst|fin) == 0:
		return "RSTO" // established, the originator aborted
	case o.flags&(syn|fin) == syn|fin && r.flags&(syn|fin) == syn|fin && (o.flags|r.flags)&rst == 0:
		return "SF" // normal establishment and termination
	case o.flags&syn != 0 && r.flags&(syn|ack) == syn|ack && (o.flags|r.flags)&(fin|rst) == 0:
		return "S1" // established, not terminated
	}
	return ""
}

// TestLogsJoinOnUID: every dns, http and tls record names, by its uid,
// a conn record with the same endpoints.
func TestLogsJoinOnUID(t *testing.T) {
	for _, tt := range []struct{ capture, log string }{
		{"benign_browse.pcap", "dns"}, {"benign_browse.pcap", "http"}, {"tls_handshakes.pcap", "tls"}, {"http_gobuster.pcap", "http"}, {"benign_dns.pcapng", "dns"},
	} {
		conns := map[string]map[string]string{}
		for _, r := range zeekLog(t, "conn", tt.capture) {
			if conns[r["uid"]] != nil {
				t.Fatalf("%s: uid %s names two connections", tt.capture, r["uid"])
			}
			conns[r["uid"]] = r
		}
		rows := zeekLog(t, tt.log, tt.capture)
		if len(rows) == 0 {
			t.Fatalf("%s: no %s records", tt.capture, tt.log)
		}
		for _, r := range rows {
			c := conns[r["uid"]]
			if c == nil {
				t.Errorf("%s %s: uid %q is in no conn record", tt.capture, tt.log, r["uid"])
				continue
			}
			for _, f := range []string{"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"} {
				if r[f] != c[f] {
					t.Errorf("%s %s: %s %s, its conn record %s", tt.capture, tt.log, f, r[f], c[f])
				}
			}
		}
	}
}

// TestDNSRecordsMatchTshark: the query names, and for each answered query
// its transaction ID, response code and answers, as tshark reads them.
func TestDNSRecordsMatchTshark(t *testing.T) {
	tsharktest.Path(t)
	for _, c := range []string{"benign_browse.pcap", "benign_dns.pcapng", "benign_cdn_dns.pcap", "dns_tunnel_b32.pcap"} {
		t.Run(c, func(t *testing.T) {
			path := testdata(c)
			want := tsharktest.Fields(t, path, "dns.flags.response==0", "dns.qry.name")
			var got []string
			rows := zeekLog(t, "dns", c)
			for _, r := range rows {
				got = append(got, r["query"])
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("query names differ from tshark's:\n got %.300q\nwant %.300q", got, want)
			}
			// Each answered query: tshark's response to it, by ID and name.
			resp := map[string]string{}
			for _, l := range tsharktest.Fields(t, path, "dns.flags.response==1 && dns.response_to", "dns.id", "dns.qry.name", "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.cname") {
				f := strings.Split(l, "\t")
				id, err := strconv.ParseUint(strings.TrimPrefix(f[0], "0x"), 16, 16)
				if err != nil {
					t.Fatalf("dns.id %q", f[0])
				}
				var answers []string
				for _, a := range f[3:] {
					if a != "" {
						answers = append(answers, strings.Split(a, ",")...)
					}
				}
				slices.Sort(answers)
				resp[fmt.Sprint(id, " ", f[1])] = f[2] + " " + strings.Join(answers, ",")
			}
			answered := 0
			for _, r := range rows {
				if r["rcode"] == "-" {
					continue
				}
				answered++
				if r["qtype_name"] != "A" && r["qtype_name"] != "AAAA" {
					// tshark's dns.a holds the additional section's
					// addresses too (an MX answer's glue).
					if w := resp[r["trans_id"]+" "+r["query"]]; !strings.HasPrefix(w, r["rcode"]+" ") {
						t.Errorf("query %s %s: rcode %s, tshark %q", r["trans_id"], r["query"], r["rcode"], w)
					}
					continue
				}
				var answers []string
				if r["answers"] != "(empty)" {
					for _, a := range strings.Split(r["answers"], ",") {
						if !strings.Contains(a, " ") && !strings.HasPrefix(a, "<") { // addresses and names, as tshark's a/aaaa/cname
							answers = append(answers, a)
						}
					}
				}
				slices.Sort(answers)
				k := r["trans_id"] + " " + r["query"]
				if w, ok := resp[k]; !ok || w != r["rcode"]+" "+strings.Join(answers, ",") {
					t.Errorf("query %s: rcode and answers %q, tshark %q", k, r["rcode"]+" "+strings.Join(answers, ","), w)
				}
			}
			if answered != len(resp) {
				t.Errorf("%d answered queries, tshark ties %d responses to a query", answered, len(resp))
			}
		})
	}
}

// TestHTTPRecordsMatchTshark: method, host, URI and user agent of every
// request, with the client's port, as tshark reads them.
func TestHTTPRecordsMatchTshark(t *testing.T) {
	tsharktest.Path(t)
	for _, c := range []string{"benign_browse.pcap", "http_gobuster.pcap", "http_sqlmap.pcap", "http_injection_ua.pcap"} {
		t.Run(c, func(t *testing.T) {
			want := tsharktest.Fields(t, testdata(c), "http.request", "tcp.srcport", "http.request.method", "http.host", "http.request.uri", "http.user_agent")
			var got []string
			for _, r := range zeekLog(t, "http", c) {
				got = append(got, strings.Join([]string{r["id.orig_p"], r["method"], r["host"], r["uri"], r["user_agent"]}, "\t"))
			}
			if len(got) != len(want) {
				t.Fatalf("%d requests, tshark %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] && !strings.Contains(got[i], `\x`) { // tshark shows escapes differently
					t.Errorf("request %d:\n got %q\nwant %q", i+1, got[i], want[i])
				}
			}
		})
	}
}

// TestSSLRecordsMatchTshark: server names and JA3 of every ClientHello.
func TestSSLRecordsMatchTshark(t *testing.T) {
	tsharktest.Path(t)
	for _, c := range []string{"tls_handshakes.pcap", "benign_tls_browse.pcap"} {
		t.Run(c, func(t *testing.T) {
			want := tsharktest.Fields(t, testdata(c), "tls.handshake.type==1", "tcp.srcport", "tls.handshake.extensions_server_name", "tls.handshake.ja3")
			var got []string
			for _, r := range zeekLog(t, "tls", c) {
				sni := r["server_name"]
				if sni == "-" {
					sni = ""
				}
				got = append(got, r["id.orig_p"]+"\t"+sni+"\t"+r["ja3"])
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("handshakes differ from tshark's:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func execTshark(path string, args ...string) (string, error) {
	out, err := exec.Command(path, args...).Output()
	return string(out), err
}

// TestConnMatchesZeek holds our conn log against Zeek's own conn.log of
// the same capture: the baseline Zeek's tests ship with
// pcapng-multi-interface.pcapng (in the shared corpus, beside the
// repository; BSD-3-Clause, read in place). Every field both logs have
// must agree, but ts and uid, which the baseline masks.
func TestConnMatchesZeek(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "corpus", "zeek", "testing", "btest")
	baseline, err := os.ReadFile(filepath.Join(dir, "Baseline", "core.pcapng-pktsrc", "conn.log"))
	if err != nil {
		t.Skipf("Zeek's baseline is not there: %v", err)
	}
	_, _, want := readZeek(t, baseline)
	got := zeekLogAt(t, "conn", filepath.Join(dir, "Traces", "pcapng-multi-interface.pcapng"))
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d records, Zeek %d", len(got), len(want))
	}
	key := func(r map[string]string) string {
		return r["proto"] + " " + r["id.orig_h"] + ":" + r["id.orig_p"] + " " + r["id.resp_h"] + ":" + r["id.resp_p"]
	}
	byKey := map[string]map[string]string{}
	for _, r := range got {
		byKey[key(r)] = r
	}
	for _, w := range want {
		g := byKey[key(w)]
		if g == nil {
			t.Errorf("Zeek's %s is not in our log", key(w))
			continue
		}
		for _, f := range logs.ConnSchema.Fields {
			if f.Name == "ts" || f.Name == "uid" {
				continue
			}
			if g[f.Name] != w[f.Name] {
				t.Errorf("%s: %s %q, Zeek %q", key(w), f.Name, g[f.Name], w[f.Name])
			}
		}
	}
}

// TestLogCountsOnZeekTraces counts records against tshark on captures
// from Zeek's test suite (in the shared corpus beside the repository,
// read in place): browsing with LLMNR and mDNS, HTTP posts, an nmap run,
// fragmented DNS over IPv6.
func TestLogCountsOnZeekTraces(t *testing.T) {
	tsharktest.Path(t)
	dir := filepath.Join("..", "..", "shared", "corpus", "zeek", "testing", "btest", "Traces")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Zeek's traces are not there: %v", err)
	}
	for _, tt := range []struct {
		capture string
		logs    []string
	}{
		{"wikipedia.pcap", []string{"conn", "dns", "http"}},
		{"workshop_2011_browse.pcap", []string{"conn", "http"}},
		{"http/http-post-large.pcap", []string{"conn", "http"}},
		{"nmap-vsn.pcap", []string{"conn", "dns"}},
		{"ipv6-fragmented-dns.pcap", []string{"conn", "dns"}},
	} {
		for _, name := range tt.logs {
			t.Run(tt.capture+"/"+name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(dir, tt.capture)
				want := tsharkCounts[name](t, path)
				if want == 0 {
					t.Fatalf("tshark finds no %s records", name)
				}
				if got := len(zeekLogAt(t, name, path)); got != want {
					t.Errorf("%d records, tshark says %d", got, want)
				}
			})
		}
	}
}
