package detectors

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

func httpTotal(a *Analysis) int64 {
	var n int64
	for _, c := range a.HTTPClients() {
		n += c.Requests
	}
	return n
}

func TestHTTPCorpusAttacks(t *testing.T) {
	tests := []struct {
		file                string
		source, target      string
		technique           string
		severity            report.Severity
		requests            int64 // of the pair
		uniquePaths         int64
		scannerRequests     int64
		answered, status404 int64
		sqli, trav, xss     int64
		golden              string
	}{
		{"suricata-verify/tests/http-protocol-nodup/input.pcap", "223.72.39.14", "192.168.182.147", "scanner_user_agent", report.SeverityHigh, 40, 40, 40, 40, 40, 0, 0, 0, "http_nodup"},
		{"esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_all.pcap", "10.87.1.10", "130.211.223.103", "scanner_user_agent", report.SeverityHigh, 31, 8, 27, 31, 13, 0, 0, 0, "http_nmap_80_all"},
		{"snort-sqlmap-detection/sqlmap.pcap", "192.168.0.192", "192.168.0.154", "scanner_user_agent", report.SeverityHigh, 3, 1, 3, 3, 0, 1, 1, 1, "http_sqlmap"},
		{"suricata-verify/tests/bug-814/input.pcap", "fe80::20c:29ff:fef3:cf38", "fe80::20c:29ff:faf2:ab42", "scanner_user_agent", report.SeverityHigh, 1, 1, 1, 0, 0, 0, 0, 0, "http_nikto_ipv6_vlan"},
		{"chrissanders-packets/http_dvwa_sqlinjection.pcapng", "10.2.2.101", "10.2.2.104", "sql_injection", report.SeverityMedium, 3, 1, 0, 3, 0, 3, 0, 0, "http_dvwa_sqli"},
		{"chrissanders-packets/http_dvwa_directorytraversal.pcapng", "10.2.2.101", "10.2.2.104", "path_traversal", report.SeverityMedium, 1, 1, 0, 1, 0, 0, 1, 0, ""},
		{"zeek/testing/btest/Traces/http/cooper-grill-dvwa.pcapng", "192.168.111.148", "192.168.111.154", "sql_injection", report.SeverityMedium, 3, 1, 0, 3, 0, 3, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(filepath.Dir(tt.file))+"/"+filepath.Base(tt.file), func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, tt.file), Config{})
			fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
			if len(fs) != 1 {
				t.Fatalf("got %d http findings, want 1: %+v", len(fs), fs)
			}
			f := fs[0]
			if f.Source != tt.source || f.Target != tt.target || f.Technique != tt.technique || f.Severity != tt.severity {
				t.Errorf("finding %s -> %s %s %s, want %s -> %s %s %s", f.Source, f.Target, f.Technique, f.Severity, tt.source, tt.target, tt.technique, tt.severity)
			}
			got := map[string]int64{}
			for _, k := range []string{"requests", "unique_paths", "scanner_requests", "answered", "status_404", "sql_injection", "path_traversal", "xss"} {
				got[k] = f.Counts[k]
			}
			want := map[string]int64{"requests": tt.requests, "unique_paths": tt.uniquePaths, "scanner_requests": tt.scannerRequests,
				"answered": tt.answered, "status_404": tt.status404, "sql_injection": tt.sqli, "path_traversal": tt.trav, "xss": tt.xss}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			if f.FirstSeen.IsZero() || f.LastSeen.Before(f.FirstSeen) {
				t.Errorf("first/last seen %v %v", f.FirstSeen, f.LastSeen)
			}
			if tt.technique == "scanner_user_agent" {
				tool := f.Samples["scanners"][0]
				if !strings.Contains(f.Summary, tool) {
					t.Errorf("summary %q does not name the tool %q", f.Summary, tool)
				}
				if len(f.Samples["user_agents"]) == 0 || ScannerTool(f.Samples["user_agents"][0]) != tool {
					t.Errorf("user_agents sample %q does not hold the %s user agent", f.Samples["user_agents"], tool)
				}
			}
			if tt.golden != "" {
				golden(t, tt.golden, fs)
			}
		})
	}
}

// recordedExposed names the secret files each recording leaked (a GET
// answered 200), read from the recording's script and checked against
// tshark's paths_200; a capture not named leaked none. The uploads
// (exfil_high's PUT of a .sql.gz) are not leaks.
var recordedExposed = map[string][]string{
	"http_gobuster.pcap": {"/.env"},
	"http_ffuf.pcap":     {"/.env"},
	// gobuster's wordlist again, slowly and on port 4444.
	"http_lowrate_browser.pcap": {"/.env"},
	"http_odd_port.pcap":        {"/.env"},
}

// TestHTTPRecorded runs the captures of the real tools recorded in
// ../testdata (testdata/record/record.sh) against their ground truth
// (testdata/ground_truth.json): request, method and 404 counts as tshark
// measured them, sensitive paths answered 200, and exactly the expected
// http_enumeration findings.
func TestHTTPRecorded(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct {
		Expected []struct {
			Type, Source, Target, Technique string
			Severity                        report.Severity
		} `json:"expected"`
		Measured struct {
			HTTP *struct {
				Requests      int64            `json:"requests"`
				Methods       map[string]int64 `json:"methods"`
				ResponseCodes map[string]int64 `json:"response_codes"`
				UniquePaths   int64            `json:"unique_paths"`
				Sources       map[string]int64 `json:"sources"`
				Paths200      []string         `json:"paths_200"`
			} `json:"http"`
		} `json:"measured"`
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	goldens := map[string]string{"http_gobuster.pcap": "http_testdata_gobuster", "http_ffuf.pcap": "http_testdata_ffuf"}
	checked := map[string]bool{}
	for name, gt := range truth {
		h := gt.Measured.HTTP
		if h == nil {
			continue
		}
		checked[name] = true
		t.Run(name, func(t *testing.T) {
			a := analyzeFile(t, testdataFile(t, name), Config{})
			clients := a.HTTPClients()
			var total, n404 int64
			methods := map[string]int64{}
			var exposed []string
			for _, c := range clients {
				total += c.Requests
				n404 += c.Status[404]
				for m, n := range c.Methods {
					methods[m] += n
				}
				exposed = append(exposed, c.ExposedPaths...)
			}
			// SSDP (HTTP over UDP multicast) is not web traffic: the
			// detector reads TCP only.
			for _, m := range []string{"M-SEARCH", "NOTIFY"} {
				h.Requests -= h.Methods[m]
				delete(h.Methods, m)
			}
			if total != h.Requests || n404 != h.ResponseCodes["404"] {
				t.Errorf("requests %d, 404s %d; want %d, %d", total, n404, h.Requests, h.ResponseCodes["404"])
			}
			if diff := cmp.Diff(h.Methods, methods, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("methods (-want +got):\n%s", diff)
			}
			if len(clients) == 1 && clients[0].UniquePaths != h.UniquePaths {
				t.Errorf("unique paths %d, want %d", clients[0].UniquePaths, h.UniquePaths)
			}
			// The leaks each capture holds, named here by hand; each
			// must be a path tshark saw a GET answered 200 for.
			wantExposed := recordedExposed[name]
			for _, p := range wantExposed {
				if !slices.Contains(h.Paths200, p) || h.Methods["GET"] == 0 {
					t.Errorf("expectation %s: tshark saw no GET of it answered 200 (paths_200 %q)", p, h.Paths200)
				}
			}
			slices.Sort(exposed)
			if !slices.Equal(exposed, wantExposed) {
				t.Errorf("exposed paths %q, want %q", exposed, wantExposed)
			}
			type want struct {
				Source, Target, Technique string
				Severity                  report.Severity
			}
			var wantF, gotF []want
			for _, e := range gt.Expected {
				if e.Type == string(report.AttackHTTPEnumeration) {
					wantF = append(wantF, want{e.Source, e.Target, e.Technique, e.Severity})
				}
			}
			fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
			for _, f := range fs {
				gotF = append(gotF, want{f.Source, f.Target, f.Technique, f.Severity})
				// Every POST of a login brute force carried a guess.
				if f.Technique == "credential_bruteforce" && f.Counts["credential_attempts"] != h.Methods["POST"] {
					t.Errorf("credential attempts %d, tshark counted %d POSTs", f.Counts["credential_attempts"], h.Methods["POST"])
				}
				if slices.Contains(f.Samples["exposed_paths"], "/.env") && !strings.Contains(f.Summary, "/.env answered 200: something leaked") {
					t.Errorf("summary %q does not call out the leak", f.Summary)
				}
			}
			if diff := cmp.Diff(wantF, gotF); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if g := goldens[name]; g != "" {
				golden(t, g, fs)
			}
		})
	}
	for _, name := range []string{"http_gobuster.pcap", "http_ffuf.pcap", "http_sqlmap.pcap", "benign_browse.pcap", "http_injection_ua.pcap",
		"http_bruteforce.pcap", "http_sqlmap_random_agent.pcap", "http_vhost_fuzz.pcap", "http_lowrate_browser.pcap", "http_odd_port.pcap",
		"benign_healthcheck.pcap", "benign_crawler.pcap"} {
		if !checked[name] {
			t.Errorf("ground truth has no http measurements for %s", name)
		}
	}
}

// TestHTTPCorpusTotals checks that the request count of every corpus
// capture equals tshark's (expected.json http.requests: every pipelined
// request counted).
func TestHTTPCorpusTotals(t *testing.T) {
	dir := corpusFile(t, "expected.json")
	b, err := os.ReadFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Files map[string]struct {
			HTTP *struct {
				Requests int64          `json:"requests"`
				Methods  map[string]int `json:"methods"`
			} `json:"http"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, e := range exp.Files {
		if e.HTTP == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			a, _ := Analyze(context.Background(), filepath.Join(corpusDir(), name), Config{})
			if a == nil {
				t.Skip("capture unreadable")
			}
			if got := httpTotal(a); got != e.HTTP.Requests {
				t.Errorf("requests = %d, want %d", got, e.HTTP.Requests)
			}
			if got := int64(len(a.HTTPRequests())); got != e.HTTP.Requests {
				t.Errorf("kept requests = %d, want %d", got, e.HTTP.Requests)
			}
			methods := map[string]int{}
			for _, r := range a.HTTPRequests() {
				methods[r.Method]++
			}
			if e.HTTP.Requests > 0 {
				if diff := cmp.Diff(e.HTTP.Methods, methods); diff != "" {
					t.Errorf("methods mismatch (-want +got):\n%s", diff)
				}
			}
		})
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d corpus files have an http section", checked)
	}
}

func TestHTTPCorpusBenign(t *testing.T) {
	for _, file := range []string{
		"chrissanders-packets/http_espn.pcapng",
		"chrissanders-packets/http_google.pcapng",
		"zeek/testing/btest/Traces/wikipedia.pcap",
		"zeek/testing/btest/Traces/workshop_2011_browse.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/raw_ip.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/four_ipv6_http_streams.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",
		"chrissanders-packets/http_ip4and6.pcapng",
		"zeek/testing/btest/Traces/http/http-post-large.pcap",
	} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a := analyzeFile(t, corpusFile(t, file), Config{})
			if fs := findingsOf(a.Findings, report.AttackHTTPEnumeration); len(fs) != 0 {
				t.Errorf("benign capture gave %d http findings: %+v", len(fs), fs)
			}
			if httpTotal(a) == 0 {
				t.Error("no requests parsed: the benign check proves nothing")
			}
		})
	}
}

// TestHTTPESPNReferer pins why http_espn stays quiet: one server got 33
// unique paths, above PathThreshold, but nearly every request carried a
// Referer and every answer was 200: a browser loading a page.
func TestHTTPESPNReferer(t *testing.T) {
	a := analyzeFile(t, corpusFile(t, "chrissanders-packets/http_espn.pcapng"), Config{})
	c := a.HTTPClients()[0]
	if c.Server.String() != "205.234.218.129" || c.Requests != 35 || c.UniquePaths != 33 || c.WithReferer != 33 || c.Status[200] != 35 {
		t.Fatalf("top pair %s: requests %d, unique %d, referer %d, 200s %d", c.Server, c.Requests, c.UniquePaths, c.WithReferer, c.Status[200])
	}
}

// httpSynth writes a pcap of hand-made TCP segments.
type httpSynth struct {
	t    *testing.T
	w    *pcapgo.Writer
	f    *os.File
	now  time.Time
	path string
}

func newHTTPSynth(t *testing.T) *httpSynth {
	path := filepath.Join(t.TempDir(), "synth.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return &httpSynth{t: t, w: w, f: f, now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), path: path}
}

func (s *httpSynth) close() string {
	if err := s.f.Close(); err != nil {
		s.t.Fatal(err)
	}
	return s.path
}

// httpTCPConn is one synthetic connection with its sequence numbers.
type httpTCPConn struct {
	s          *httpSynth
	cli, srv   netip.AddrPort
	cseq, sseq uint32
}

func (s *httpSynth) conn(cli, srv string) *httpTCPConn {
	c := &httpTCPConn{s: s, cli: netip.MustParseAddrPort(cli), srv: netip.MustParseAddrPort(srv), cseq: 1000, sseq: 5000}
	c.raw(true, c.cseq, "S", nil)
	c.raw(false, c.sseq, "SA", nil)
	c.cseq++
	c.sseq++
	c.raw(true, c.cseq, "A", nil)
	return c
}

func (c *httpTCPConn) raw(fromClient bool, seq uint32, flags string, payload []byte) {
	s := c.s
	src, dst := c.cli, c.srv
	if !fromClient {
		src, dst = dst, src
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(), Protocol: layers.IPProtocolTCP}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, Window: 1024,
		SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "A"), PSH: strings.Contains(flags, "P"), FIN: strings.Contains(flags, "F")}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		s.t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		s.t.Fatal(err)
	}
	s.now = s.now.Add(10 * time.Millisecond)
	b := buf.Bytes()
	if err := s.w.WritePacket(gopacket.CaptureInfo{Timestamp: s.now, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		s.t.Fatal(err)
	}
}

// send writes the next segment of one direction.
func (c *httpTCPConn) send(fromClient bool, payload string) {
	seq := &c.sseq
	if fromClient {
		seq = &c.cseq
	}
	c.raw(fromClient, *seq, "PA", []byte(payload))
	*seq += uint32(len(payload))
}

func analyzeSynth(t *testing.T, path string, cfg Config) *Analysis {
	t.Helper()
	return analyzeFile(t, path, cfg)
}

const httpUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// TestHTTPParserEdges writes one connection with every case the parser
// must get right and checks the requests it lists.
func TestHTTPParserEdges(t *testing.T) {
	s := newHTTPSynth(t)
	c := s.conn("10.0.0.5:40000", "10.0.0.9:80")
	// A header block split across two segments, mid header line.
	c.send(true, "GET /split?q=1 HTTP/1.1\r\nHost: example.test\r\nUser-Ag")
	c.send(true, "ent: "+httpUA+"\r\nAccept: */*\r\n\r\n")
	c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	// A pipelined pair in one segment, answered by two responses in one segment.
	c.send(true, "GET /a HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/8.5.0\r\n\r\nHEAD /b HTTP/1.1\r\nHost: example.test\r\n\r\n")
	c.send(false, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\nHTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n")
	// A POST whose body, in its own segments, looks like a request.
	body := "GET /x HTTP/1.1\r\nHost: evil\r\n\r\n"
	c.send(true, fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: %d\r\n\r\n", len(body)+10))
	c.send(true, body)
	c.send(true, "0123456789")
	c.send(false, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
	// A retransmitted request: same sequence number twice.
	seq := c.cseq
	c.send(true, "GET /retrans HTTP/1.1\r\nHost: example.test\r\n\r\n")
	c.raw(true, seq, "PA", []byte("GET /retrans HTTP/1.1\r\nHost: example.test\r\n\r\n"))
	c.send(false, "HTTP/1.1 301 Moved\r\nContent-Length: 0\r\n\r\n")
	// A chunked upload: skipped until a segment starts like a request, so a
	// chunk that starts like one is (knowingly) read as a request.
	c.send(true, "PUT /chunk HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1f\r\n")
	c.send(true, "GET /inside-chunk HTTP/1.1\r\n\r\n\r\n0\r\n\r\n")
	c.send(false, "HTTP/1.1 100 Continue\r\n\r\n")
	c.send(false, "HTTP/1.1 204 No Content\r\n\r\n")
	c.send(true, "DELETE /after HTTP/1.1\r\n\r\n")
	a := analyzeSynth(t, s.close(), Config{})

	type row struct {
		Method, URI, Host, UA string
		Status                int
	}
	var got []row
	for _, r := range a.HTTPRequests() {
		got = append(got, row{r.Method, r.URI, r.Host, r.UserAgent, r.Status})
		if r.Source.String() != "10.0.0.5" || r.Destination.String() != "10.0.0.9" || r.Port != 80 || r.Packet == 0 {
			t.Errorf("request %s: source %s destination %s port %d packet %d", r.URI, r.Source, r.Destination, r.Port, r.Packet)
		}
	}
	want := []row{
		{"GET", "/split?q=1", "example.test", httpUA, 200},
		{"GET", "/a", "example.test", "curl/8.5.0", 404},
		{"HEAD", "/b", "example.test", "", 200},
		{"POST", "/upload", "example.test", "", 201},
		{"GET", "/retrans", "example.test", "", 301},
		{"PUT", "/chunk", "", "", 204},
		{"GET", "/inside-chunk", "", "", 0},
		{"DELETE", "/after", "", "", 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	cl := a.HTTPClients()
	if len(cl) != 1 {
		t.Fatalf("%d clients, want 1", len(cl))
	}
	if cl[0].Requests != 8 || cl[0].UniquePaths != 8 || cl[0].Answered != 6 || cl[0].Status[404] != 1 {
		t.Errorf("client stats: requests %d unique %d answered %d 404s %d", cl[0].Requests, cl[0].UniquePaths, cl[0].Answered, cl[0].Status[404])
	}
	if truncated, n := a.HTTPRequestsTruncated(); truncated || n != 0 {
		t.Errorf("truncated = %v, %d", truncated, n)
	}
}

// TestHTTPRetransmittedPartialOverlap sends a segment that repeats the
// tail of the previous one before new data: only the new bytes count.
func TestHTTPRetransmittedPartialOverlap(t *testing.T) {
	s := newHTTPSynth(t)
	c := s.conn("10.0.0.5:40001", "10.0.0.9:80")
	first := "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
	second := "GET /two HTTP/1.1\r\nHost: h\r\n\r\n"
	start := c.cseq
	c.send(true, first)
	// Overlap: the last 10 bytes of the first request again, then the second.
	over := first[len(first)-10:] + second
	c.raw(true, start+uint32(len(first)-10), "PA", []byte(over))
	a := analyzeSynth(t, s.close(), Config{})
	var uris []string
	for _, r := range a.HTTPRequests() {
		uris = append(uris, r.URI)
	}
	if !slices.Equal(uris, []string{"/one", "/two"}) {
		t.Errorf("uris %q, want /one /two", uris)
	}
}

// writeBruteforce writes n requests from one client to distinct paths,
// answered with status, the first few to well-known enumeration paths
// when enum is set.
func writeBruteforce(t *testing.T, n int, ua string, status int, enum bool, referer bool) string {
	s := newHTTPSynth(t)
	c := s.conn("192.0.2.10:50000", "198.51.100.7:8080")
	for i := range n {
		path := fmt.Sprintf("/dir%03d", i)
		if enum && i < 4 {
			path = []string{"/.env", "/.git/config", "/admin/", "/backup.zip"}[i]
		}
		hdr := "GET " + path + " HTTP/1.1\r\nHost: target\r\nUser-Agent: " + ua + "\r\n"
		if referer {
			hdr += "Referer: http://target/\r\n"
		}
		c.send(true, hdr+"\r\n")
		c.send(false, fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", status))
	}
	return s.close()
}

func TestHTTPThresholds(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		ua        string
		status    int
		enum      bool
		referer   bool
		cfg       HTTPConfig
		technique string // "" for no finding
		severity  report.Severity
	}{
		{"below both thresholds", 19, "curl/8.5.0", 404, false, false, HTTPConfig{}, "", ""},
		{"20 unique paths, all 404", 20, "curl/8.5.0", 404, false, false, HTTPConfig{}, "directory_bruteforce", report.SeverityHigh},
		{"20 unique paths, all 200: a crawl", 20, "curl/8.5.0", 200, false, false, HTTPConfig{}, "", ""},
		{"path threshold raised", 20, "curl/8.5.0", 404, false, false, HTTPConfig{PathThreshold: 21}, "", ""},
		{"path threshold lowered", 12, "curl/8.5.0", 404, false, false, HTTPConfig{PathThreshold: 12}, "directory_bruteforce", report.SeverityHigh},
		{"path threshold lowered, one short", 11, "curl/8.5.0", 404, false, false, HTTPConfig{PathThreshold: 12}, "", ""},
		{"browser user agent, all 404", 60, httpUA, 404, false, false, HTTPConfig{}, "directory_bruteforce", report.SeverityHigh},
		{"enumeration paths raise to high", 20, "curl/8.5.0", 403, true, false, HTTPConfig{}, "directory_bruteforce", report.SeverityHigh},
		{"browser with referers, all 200", 30, httpUA, 200, false, true, HTTPConfig{}, "", ""},
		{"scanner user agent, one request", 1, "gobuster/3.6", 404, false, false, HTTPConfig{}, "scanner_user_agent", report.SeverityHigh},
		{"ffuf user agent", 2, "Fuzz Faster U Fool v2.1.0", 404, false, false, HTTPConfig{}, "scanner_user_agent", report.SeverityHigh},
		{"python-requests is no scanner", 5, "python-requests/2.31.0", 404, false, false, HTTPConfig{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyzeSynth(t, writeBruteforce(t, tt.n, tt.ua, tt.status, tt.enum, tt.referer), Config{HTTP: tt.cfg})
			fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
			if tt.technique == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
			}
			f := fs[0]
			if f.Technique != tt.technique || f.Severity != tt.severity || f.Source != "192.0.2.10" || f.Target != "198.51.100.7" {
				t.Errorf("got %s %s %s->%s, want %s %s", f.Technique, f.Severity, f.Source, f.Target, tt.technique, tt.severity)
			}
			if f.Counts["requests"] != int64(tt.n) || f.Counts["answered"] != int64(tt.n) {
				t.Errorf("requests %d answered %d, want %d", f.Counts["requests"], f.Counts["answered"], tt.n)
			}
		})
	}
}

// TestHTTPEvaluate judges the same pass with other thresholds.
func TestHTTPEvaluate(t *testing.T) {
	a := analyzeSynth(t, writeBruteforce(t, 25, "curl/8.5.0", 404, false, false), Config{})
	if fs := findingsOf(a.Findings, report.AttackHTTPEnumeration); len(fs) != 1 || fs[0].Severity != report.SeverityHigh {
		t.Fatalf("default findings %+v", fs)
	}
	fs, err := a.Evaluate(Config{HTTP: HTTPConfig{PathThreshold: 26, RequestThreshold: 26}})
	if err != nil {
		t.Fatal(err)
	}
	if got := findingsOf(fs, report.AttackHTTPEnumeration); len(got) != 0 {
		t.Errorf("raised thresholds still give %+v", got)
	}
}

func TestHTTPExposedPath(t *testing.T) {
	a := analyzeSynth(t, writeBruteforce(t, 20, "curl/8.5.0", 200, true, false), Config{})
	fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	f := fs[0]
	if f.Severity != report.SeverityHigh {
		t.Errorf("severity %s, want high", f.Severity)
	}
	want := []string{"/.env", "/.git/config", "/backup.zip"}
	if diff := cmp.Diff(want, f.Samples["exposed_paths"]); diff != "" {
		t.Errorf("exposed_paths (-want +got):\n%s", diff)
	}
	if !strings.Contains(f.Summary, "/.env, /.git/config, /backup.zip answered 200: something leaked") {
		t.Errorf("summary %q does not call out the leak", f.Summary)
	}
	if f.Counts["enumeration_paths"] != 4 || f.Counts["enumeration_prefixes"] != 4 {
		t.Errorf("enumeration counts %d/%d, want 4/4", f.Counts["enumeration_paths"], f.Counts["enumeration_prefixes"])
	}

	// On its own, one 200 to /.env is a medium finding.
	s := newHTTPSynth(t)
	c := s.conn("192.0.2.11:50001", "198.51.100.7:80")
	c.send(true, "GET /.env HTTP/1.1\r\nHost: t\r\nUser-Agent: curl/8.5.0\r\n\r\n")
	c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nDB_PASS=hunt")
	a = analyzeSynth(t, s.close(), Config{})
	fs = findingsOf(a.Findings, report.AttackHTTPEnumeration)
	if len(fs) != 1 || fs[0].Technique != "sensitive_file_exposure" || fs[0].Severity != report.SeverityMedium {
		t.Fatalf("single /.env: %+v", fs)
	}
}

func TestHTTPTraversalLeak(t *testing.T) {
	s := newHTTPSynth(t)
	c := s.conn("192.0.2.12:50002", "198.51.100.8:80")
	c.send(true, "GET /view.php?file=..%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: t\r\nUser-Agent: "+httpUA+"\r\n\r\n")
	c.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n")
	c.send(false, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n"[:64])
	a := analyzeSynth(t, s.close(), Config{})
	fs := findingsOf(a.Findings, report.AttackHTTPEnumeration)
	if len(fs) != 1 {
		t.Fatalf("%d findings", len(fs))
	}
	if f := fs[0]; f.Technique != "path_traversal" || f.Severity != report.SeverityHigh || f.Counts["passwd_leaks"] != 1 {
		t.Errorf("got %s %s leaks %d, want path_traversal high 1", f.Technique, f.Severity, f.Counts["passwd_leaks"])
	}
}

func TestHTTPMaxRequests(t *testing.T) {
	path := writeBruteforce(t, 30, "curl/8.5.0", 404, false, false)
	a := analyzeSynth(t, path, Config{HTTP: HTTPConfig{MaxRequests: 7}})
	if n := len(a.HTTPRequests()); n != 7 {
		t.Errorf("kept %d requests, want 7", n)
	}
	if truncated, n := a.HTTPRequestsTruncated(); !truncated || n != 23 {
		t.Errorf("truncated = %v, %d, want true, 23", truncated, n)
	}
	if c := a.HTTPClients(); c[0].Requests != 30 || c[0].Status[404] != 30 {
		t.Errorf("counts must cover every request: %d requests, %d 404s", c[0].Requests, c[0].Status[404])
	}
}

func TestScannerTool(t *testing.T) {
	tests := []struct{ ua, tool string }{
		{"gobuster/3.6", "gobuster"},
		{"Fuzz Faster U Fool v2.1.0-dev", "ffuf"},
		{"sqlmap/1.8.2#stable (https://sqlmap.org)", "sqlmap"},
		{"Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)", "Nikto"},
		{"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)", "Nmap Scripting Engine"},
		{"Wfuzz/3.1.0", "wfuzz"},
		{"feroxbuster/2.10.1", "feroxbuster"},
		{"DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)", "DirBuster"},
		{"Nuclei - Open-source project (github.com/projectdiscovery/nuclei)", "nuclei"},
		{"WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", "WPScan"},
		{"Mozilla/4.0 (Hydra)", "Hydra"},
		{"curl/8.5.0", ""},
		{"Wget/1.21.4", ""},
		{"python-requests/2.31.0", ""},
		{"python-httpx/0.27.0", ""},
		{"Go-http-client/1.1", ""},
		{httpUA, ""},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ScannerTool(tt.ua); got != tt.tool {
			t.Errorf("ScannerTool(%q) = %q, want %q", tt.ua, got, tt.tool)
		}
	}
}

func TestInjectionKinds(t *testing.T) {
	tests := []struct {
		uri    string
		kinds  int
		strong bool
	}{
		{"/item?id=1%27+UNION+SELECT+NULL%2C+version%28%29+%23", injSQL, true},
		{"/item?id=1/**/UNION/**/ALL/**/SELECT/**/1", injSQL, true},
		{"/item?id=1'%20or%20'1'='1", injSQL, true},
		{"/item?id=1%20or%201=1", injSQL, true}, // a tautology: no client sends one by accident
		{"/item.php?id=1%20AND%205184=7831", injSQL, true},
		{"/item.php?id=1'%20AND%209503=3550%20AND%20'PQQr'='PQQr", injSQL, true},
		{"/item.php?id=1);SELECT%20PG_SLEEP(5)--", injSQL, true},
		{"/item.php?id=(SELECT%20(CASE%20WHEN%20(5560=3328)%20THEN%201%20ELSE%200%20END))", injSQL, true},
		{"/item.php?id=1%20ORDER%20BY%201--%20FyQb", injSQL, false},
		{"/search?q=rock+and+roll&page=2", 0, false},
		{"/products.php?id=1%27%20AND%20%271%27=%271", injSQL, true},
		{"/p?name=o%27brien+and+%27x", 0, false},
		{"/search?q=salt+and+1=1+pepper", injSQL, true},
		{"/list?brand=10&color=or", 0, false},
		{"/a?x=hand+1=1", 0, false},
		{"/catalog?q=cats+or+dogs&sort=price", 0, false},
		{"/fi/?page=../../../../etc/passwd", injTraversal, true},
		{"/fi/?page=..%2f..%2fconfig", injTraversal, false},
		{"/a?x=%3Cscript%3Ealert(1)%3C/script%3E", injXSS, true},
		{"/file.php?name=x.txt%00.png", injTraversal, false},
		{"/search?q=union+station+select+seats", 0, false},
		{"/css/site.css?v=3", 0, false},
		{"/q?x=1;exec%20xp_cmdshell%20%27dir%27", injSQL, true},
		{"/dir/123", 0, false},
		{"/doc?q=%2527+or+%2527", 0, false}, // decoded once: "%27" stays encoded
	}
	for _, tt := range tests {
		k, s := injectionKinds(decodeURI(nil, []byte(tt.uri)))
		if k != tt.kinds || s != tt.strong {
			t.Errorf("injectionKinds(%q) = %d, %v, want %d, %v", tt.uri, k, s, tt.kinds, tt.strong)
		}
	}
}

func TestURIPath(t *testing.T) {
	for uri, want := range map[string]string{
		"/a/b?c=d":                  "/a/b",
		"/a#frag":                   "/a",
		"http://example.test/x?y=1": "/x",
		"http://example.test":       "/",
		"*":                         "*",
	} {
		if got := string(uriPath([]byte(uri))); got != want {
			t.Errorf("uriPath(%q) = %q, want %q", uri, got, want)
		}
	}
}

func ExampleScannerTool() {
	for _, ua := range []string{"gobuster/3.6", "curl/8.5.0", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"} {
		fmt.Printf("%q\n", ScannerTool(ua))
	}
	// Output:
	// "gobuster"
	// ""
	// "Nmap Scripting Engine"
}

// BenchmarkHTTPDetector compares the bare pass over a synthetic capture
// (HTTP requests with answers, and bulk TCP that is not HTTP) with the
// pass that runs the HTTP detector.
func BenchmarkHTTPDetector(b *testing.B) {
	t := &testing.T{}
	s := &httpSynth{t: t}
	path := filepath.Join(b.TempDir(), "bench.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	s.f, s.path, s.w, s.now = f, path, pcapgo.NewWriter(f), time.Unix(1700000000, 0)
	if err := s.w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	web := s.conn("10.1.0.5:40000", "10.1.0.9:80")
	bulk := s.conn("10.1.0.6:40001", "10.1.0.10:443")
	chunk := strings.Repeat("\x17\x03\x03 opaque ", 140)
	body := strings.Repeat("x", 1200)
	for i := range 20000 {
		web.send(true, fmt.Sprintf("GET /dir/%d?q=%d HTTP/1.1\r\nHost: target\r\nUser-Agent: gobuster/3.6\r\nAccept-Encoding: gzip\r\n\r\n", i, i))
		web.send(false, fmt.Sprintf("HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		for range 4 {
			bulk.send(false, chunk)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			if _, err := capture.Scan(context.Background(), path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := capture.Scan(context.Background(), path, newHTTPDetector(Config{}.Defaults())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
