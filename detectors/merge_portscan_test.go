package detectors

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// portscanMergeCase is one capture the merge of the port scan detector
// is checked on: scans says the whole capture has port-scan findings (so
// that a merge that loses them fails), techniques lists some it must
// have, from the capture's ground truth (MANIFEST.md, testdata/README.md).
type portscanMergeCase struct {
	name       string
	path       func(*testing.T) string
	scans      bool
	techniques []string
	// fragmented: every probe came in IP fragments, so a file boundary
	// falls between the fragments of a datagram: the files keep it
	// pending and the merge reassembles it (capture.Config.KeepPending).
	fragmented bool
}

func portscanMergeCases() []portscanMergeCase {
	td := func(name string) func(*testing.T) string {
		return func(t *testing.T) string { return testdataFile(t, name) }
	}
	co := func(rel string) func(*testing.T) string {
		return func(t *testing.T) string { return corpusFile(t, rel) }
	}
	return []portscanMergeCase{
		{"scan_ack", td("scan_ack.pcap"), true, []string{"ack"}, false},
		{"scan_connect", td("scan_connect.pcap"), true, []string{"connect"}, false},
		{"scan_decoy", td("scan_decoy.pcap"), true, nil, false},
		{"scan_fin", td("scan_fin.pcap"), true, []string{"fin"}, false},
		{"scan_frag", td("scan_frag.pcap"), true, []string{"syn_fragmented"}, true},
		{"scan_null", td("scan_null.pcap"), true, []string{"null"}, false},
		{"scan_slow", td("scan_slow.pcap"), true, nil, false},
		{"scan_srcport", td("scan_srcport.pcap"), true, nil, false},
		{"scan_syn", td("scan_syn.pcap"), true, []string{"syn"}, false},
		{"scan_udp", td("scan_udp.pcap"), true, []string{"udp"}, false},
		{"scan_version", td("scan_version.pcap"), true, []string{"service_probe"}, false},
		{"scan_window", td("scan_window.pcap"), true, nil, false},
		{"scan_xmas", td("scan_xmas.pcap"), true, []string{"xmas"}, false},
		{"sweep_syn", td("sweep_syn.pcap"), true, []string{"horizontal_syn"}, false},
		{"gen_traffic", td("gen_traffic.pcap.gz"), false, nil, false},
		{"benign_backup_rsync", td("benign_backup_rsync.pcap"), false, nil, false},
		{"benign_browse", td("benign_browse.pcap"), false, nil, false},
		{"benign_cdn_dns", td("benign_cdn_dns.pcap"), false, nil, false},
		{"benign_crawler", td("benign_crawler.pcap"), false, nil, false},
		{"benign_dns", td("benign_dns.pcapng"), false, nil, false},
		{"benign_healthcheck", td("benign_healthcheck.pcap"), false, nil, false},
		{"benign_saas_upload", td("benign_saas_upload.pcap"), false, nil, false},
		{"benign_tls_browse", td("benign_tls_browse.pcap"), false, nil, false},
		{"benign_udp_noise", td("benign_udp_noise.pcap"), false, nil, false},
		{"connect15", co("austina-portscandetector/connect15.pcap"), true, []string{"connect"}, false},
		{"halfopen15", co("austina-portscandetector/halfopen15.pcap"), true, []string{"syn"}, false},
		{"null15", co("austina-portscandetector/null15.pcap"), true, []string{"null"}, false},
		{"udp15", co("austina-portscandetector/udp15.pcap"), true, []string{"udp"}, false},
		{"xmas15", co("austina-portscandetector/xmas15.pcap"), true, []string{"xmas"}, false},
		{"activeosfingerprinting", co("chrissanders-packets/activeosfingerprinting.pcapng"), true, nil, false},
		{"synscan", co("chrissanders-packets/synscan.pcapng"), true, []string{"syn"}, false},
		{"masscan_tcp", co("esnet-curated-pcaps/attacks/scanners/masscan/tcp_0_1000_20190821.pcap"), true, []string{"syn"}, false},
		{"masscan_udp", co("esnet-curated-pcaps/attacks/scanners/masscan/udp_0_1000_20190821.pcap"), true, []string{"udp"}, false},
		{"nmap_80_vanilla", co("esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_vanilla.pcap"), false, nil, false},
		{"nmap_80_all", co("esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_all.pcap"), false, nil, false},
		{"one_way_all_flags", co("esnet-curated-pcaps/tcp/control/one_way_all_flags.pcap"), false, nil, false},
		{"hs-icmpScan", co("lucaderi-sgr/2022/Favilli/tests/hs-icmpScan.pcap"), true, []string{"icmp_sweep"}, false},
		{"hs-tcp_synPingSweepRand", co("lucaderi-sgr/2022/Favilli/tests/hs-tcp_synPingSweepRand.pcapng"), true, []string{"horizontal_syn"}, false},
		{"ppa_portscan", co("markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/portscan.pcap"), true, []string{"syn"}, false},
		{"tmicomyiza_fin", co("tmicomyiza-incident-alarm/fin.pcap"), true, []string{"fin"}, false},
		{"tmicomyiza_null", co("tmicomyiza-incident-alarm/null.pcap"), true, []string{"null"}, false},
		{"tmicomyiza_xmas", co("tmicomyiza-incident-alarm/xmas.pcap"), true, []string{"xmas"}, false},
		{"nmap-vsn", co("zeek/testing/btest/Traces/nmap-vsn.pcap"), true, []string{"arp_sweep"}, false},
		{"http_espn", co("chrissanders-packets/http_espn.pcapng"), false, nil, false},
		{"http_google", co("chrissanders-packets/http_google.pcapng"), false, nil, false},
		{"wikipedia", co("zeek/testing/btest/Traces/wikipedia.pcap"), false, nil, false},
		{"workshop_2011_browse", co("zeek/testing/btest/Traces/workshop_2011_browse.pcap"), false, nil, false},
	}
}

// scanVerdict is what the port scan detector says of a capture: its
// findings (every field) and its warnings, as JSON.
func scanVerdict(t *testing.T, d *portscanDetector, cfg Config, c *capture.Capture) (string, []report.Finding) {
	t.Helper()
	fs := d.Findings(cfg, c)
	b, err := json.MarshalIndent(struct {
		Findings []report.Finding
		Warnings []string
	}{fs, d.warnings()}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), fs
}

// mergeScanParts merges the parts' port scan states in the order given
// (the first receives), against the capture of all of them, and returns
// the merged detector and capture.
func mergeScanParts(parts []*Analysis) (*portscanDetector, *capture.Capture) {
	c := mergedCapture(parts)
	d := parts[0].dets.scans
	for _, p := range parts[1:] {
		d.merge(p.dets.scans, c)
	}
	// The datagrams whose fragments files shared reach the merged
	// detector, and those never completed are given up.
	c.HandPending(d)
	c.Settle(d)
	return d, c
}

// checkScanCase checks the case's whole-capture findings against its
// ground truth, so that a comparison of two empty verdicts cannot pass a
// capture whose scans were lost.
func checkScanCase(t *testing.T, tc portscanMergeCase, fs []report.Finding) {
	t.Helper()
	if tc.scans && len(fs) == 0 {
		t.Fatalf("%s: the whole capture has no port scan finding", tc.name)
	}
	for _, want := range tc.techniques {
		if !slices.ContainsFunc(fs, func(f report.Finding) bool { return f.Technique == want }) {
			t.Errorf("%s: no %s finding in the whole capture", tc.name, want)
		}
	}
}

// TestPortscanMergeByPair: split by address pair into 2, 3 and 5 parts,
// the merged port scan state judges exactly as one pass over the whole.
func TestPortscanMergeByPair(t *testing.T) {
	for _, tc := range portscanMergeCases() {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			for _, n := range []int{2, 3, 5} {
				whole, parts := splitByPair(t, path, Config{}, n)
				cfg := whole.Config
				want, wfs := scanVerdict(t, whole.dets.scans, cfg, whole.capture)
				checkScanCase(t, tc, wfs)
				d, c := mergeScanParts(parts)
				if got, _ := scanVerdict(t, d, cfg, c); got != want {
					t.Errorf("n=%d: merged port scan verdict differs from the whole:\n%s", n, lineDiff(want, got))
				}
			}
		})
	}
}

// TestPortscanMergeOrder: the parts merged in reverse, and in two groups
// merged with each other, judge as the whole does: neither which part
// receives nor the grouping matters.
func TestPortscanMergeOrder(t *testing.T) {
	for _, tc := range portscanMergeCases() {
		if !tc.scans {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			whole, parts := splitByPair(t, path, Config{}, 4)
			cfg := whole.Config
			want, _ := scanVerdict(t, whole.dets.scans, cfg, whole.capture)

			slices.Reverse(parts)
			d, c := mergeScanParts(parts)
			if got, _ := scanVerdict(t, d, cfg, c); got != want {
				t.Errorf("reverse order differs from the whole:\n%s", lineDiff(want, got))
			}

			// (p3 + p0) + (p1 + p2), the right group received into the left.
			_, parts = splitByPair(t, path, Config{}, 4)
			left, right := []*Analysis{parts[3], parts[0]}, []*Analysis{parts[1], parts[2]}
			dl, cl := mergeScanParts(left)
			dr, cr := mergeScanParts(right)
			c = &capture.Capture{}
			c.Merge(cr)
			c.Merge(cl)
			dr.merge(dl, c)
			if got, _ := scanVerdict(t, dr, cfg, c); got != want {
				t.Errorf("grouped merge differs from the whole:\n%s", lineDiff(want, got))
			}

			// By file: first to last, and last to first.
			if fwd, back := mergeFileParts(t, path, 3, false), mergeFileParts(t, path, 3, true); fwd != back {
				t.Errorf("file parts merged last to first differ from first to last:\n%s", lineDiff(fwd, back))
			}
		})
	}
}

// mergeFileParts splits path into n files, merges their port scan states
// (the last receiving when reverse) and returns the verdict.
func mergeFileParts(t *testing.T, path string, n int, reverse bool) string {
	t.Helper()
	whole, parts := splitByFile(t, path, Config{}, n)
	if reverse {
		slices.Reverse(parts)
	}
	d, c := mergeScanParts(parts)
	v, _ := scanVerdict(t, d, whole.Config, c)
	return v
}

// lineDiff shows the lines of got that differ from want's.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y {
			fmt.Fprintf(&b, "line %d:\n want %s\n  got %s\n", i+1, x, y)
			if b.Len() > 4000 {
				b.WriteString("...\n")
				break
			}
		}
	}
	return b.String()
}

// TestPortscanMergeByFile: cut into 2, 5 and 20 consecutive files (a
// rotated capture), the merged state judges as the whole wherever the
// cut does not change what the flows themselves say. A scan that spans
// the files is one finding with every port and probe counted once.
func TestPortscanMergeByFile(t *testing.T) {
	for _, tc := range portscanMergeCases() {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			for _, n := range []int{2, 5, 20} {
				whole, parts := splitByFile(t, path, Config{}, n)
				cfg := whole.Config
				want, wfs := scanVerdict(t, whole.dets.scans, cfg, whole.capture)
				d, c := mergeScanParts(parts)
				got, gfs := scanVerdict(t, d, cfg, c)
				if tc.fragmented && len(gfs) != len(wfs) {
					t.Errorf("n=%d: %d findings, want %d", n, len(gfs), len(wfs))
				}
				if got != want {
					t.Errorf("n=%d: merged port scan verdict differs from the whole:\n%s", n, lineDiff(want, got))
				}
			}
		})
	}
}

// splitAtPackets analyses the capture at path whole, and again as the
// files editcap -r cuts from it before each packet number of cuts (1 is
// the first packet), each accumulated by its own Analysis.
func splitAtPackets(t *testing.T, path string, cfg Config, cuts ...int) (whole *Analysis, parts []*Analysis) {
	t.Helper()
	if _, err := exec.LookPath("editcap"); err != nil {
		t.Skip("editcap is not installed")
	}
	ctx := context.Background()
	whole = analyzeFile(t, path, cfg)
	cfg = cfg.Defaults()
	from := 1
	for i, to := range append(cuts, whole.Capture().Read+1) {
		out := filepath.Join(t.TempDir(), fmt.Sprintf("cut%d.pcap", i))
		if b, err := exec.Command("editcap", "-r", path, out, fmt.Sprintf("%d-%d", from, to-1)).CombinedOutput(); err != nil {
			t.Fatalf("editcap: %v: %s", err, b)
		}
		from = to
		a := newAnalysis(cfg)
		c, err := capture.ScanFiles(ctx, []capture.Source{{Name: out, Path: out}}, capture.Config{MaxFlows: cfg.Limits.MaxFlows}, a.analyzers()...)
		if c == nil {
			t.Fatalf("%s: %v", out, err)
		}
		a.capture = c
		parts = append(parts, a)
	}
	return whole, parts
}

// TestPortscanMergeCutMidExchange cuts a capture where a rotation hurts
// most: between an echo request and its reply, between a connection's
// handshake and its first payload, and inside a connection whose later
// payload looks like a scanner's probe. The truth is what the test wrote.
func TestPortscanMergeCutMidExchange(t *testing.T) {
	const sweeper, client, prober, server = "10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.1.1"
	s := newSynth(t)
	n := 0 // packets written
	var cuts []int
	cut := func() { cuts = append(cuts, n+1) } // the next packet starts a file
	// A ping sweep of 24 hosts; every fourth answers, right after its request.
	for i := range 24 {
		h := fmt.Sprintf("10.9.2.%d", i+1)
		s.icmp(sweeper, h, 8, 0)
		n++
		if i%4 == 0 {
			if i == 8 {
				cut()
			}
			s.icmp(h, sweeper, 0, 0)
			n++
		}
	}
	// A login whose second line carries nmap's RDP cookie: its first
	// payload was not a probe, whatever the file after the cut sees first.
	s.tcp(client, 40001, server, 3389, capture.FlagSYN, 0)
	s.tcp(server, 3389, client, 40001, capture.FlagSYN|capture.FlagACK, 0)
	s.tcp(client, 40001, server, 3389, capture.FlagACK, 0)
	sendData(s, client, 40001, server, 3389, []byte("USER alice\r\n"))
	n += 4
	cut()
	sendData(s, client, 40001, server, 3389, []byte("\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n"))
	n++
	// A version probe whose handshake and payload fall in two files.
	s.tcp(prober, 50001, server, 8443, capture.FlagSYN, 0)
	s.tcp(server, 8443, prober, 50001, capture.FlagSYN|capture.FlagACK, 0)
	s.tcp(prober, 50001, server, 8443, capture.FlagACK, 0)
	n += 3
	cut()
	sendData(s, prober, 50001, server, 8443, []byte("OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/TCP nm;branch=foo\r\nFrom: <sip:nm@nm>\r\n\r\n"))
	n++
	if err := s.f.Close(); err != nil {
		t.Fatal(err)
	}

	whole, _ := splitAtPackets(t, s.f.Name(), Config{}, cuts...)
	cfg := whole.Config
	want, fs := scanVerdict(t, whole.dets.scans, cfg, whole.capture)
	var sweep, probe *report.Finding
	for i := range fs {
		switch fs[i].Technique {
		case "icmp_sweep":
			sweep = &fs[i]
		case "service_probe":
			if probe != nil {
				t.Errorf("a second service_probe finding: %+v", fs[i])
			}
			probe = &fs[i]
		}
	}
	if sweep == nil || sweep.Counts[report.CountHosts] != 24 || sweep.Counts[report.CountAnswered] != 6 {
		t.Fatalf("whole: icmp_sweep = %+v, want 24 hosts, 6 answered", sweep)
	}
	if probe == nil || probe.Source != prober || probe.Counts[report.CountProbes] != 1 {
		t.Fatalf("whole: service_probe = %+v, want one probe from %s only", probe, prober)
	}
	for _, reverse := range []bool{false, true} {
		_, parts := splitAtPackets(t, s.f.Name(), Config{}, cuts...)
		if len(parts) != 4 {
			t.Fatalf("%d parts, want 4", len(parts))
		}
		if reverse {
			slices.Reverse(parts)
		}
		d, c := mergeScanParts(parts)
		if got, _ := scanVerdict(t, d, cfg, c); got != want {
			t.Errorf("reverse=%v: merged verdict differs from the whole:\n%s", reverse, lineDiff(want, got))
		}
	}
}

// sendData writes one TCP segment with ACK and PSH carrying payload.
func sendData(s *synthCapture, src string, sport uint16, dst string, dport uint16, payload []byte) {
	ip := ip4(src, dst, layers.IPProtocolTCP)
	tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), ACK: true, PSH: true, Window: 1024}
	if err := tc.SetNetworkLayerForChecksum(ip); err != nil {
		s.t.Fatal(err)
	}
	s.write(ip, tc, payload)
}

// TestPortscanMergeEvicted: with a flow table far smaller than the
// captures, most flows are judged when evicted (the live aggregate, the
// first payloads moved per pair) and merge with the parts' other state;
// split by pair, every probe is still counted once.
func TestPortscanMergeEvicted(t *testing.T) {
	cfg := Config{Limits: Limits{MaxFlows: 16}}
	for _, name := range []string{"scan_syn.pcap", "scan_udp.pcap", "scan_decoy.pcap", "scan_version.pcap", "scan_connect.pcap", "sweep_syn.pcap"} {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{2, 3, 5} {
				whole, parts := splitByPair(t, testdataFile(t, name), cfg, n)
				if ev := whole.Capture().FlowStats().Evicted; ev == 0 {
					t.Fatalf("no flow evicted at MaxFlows %d", cfg.Limits.MaxFlows)
				}
				want, fs := scanVerdict(t, whole.dets.scans, whole.Config, whole.capture)
				if len(fs) == 0 {
					t.Fatal("the whole capture has no port scan finding")
				}
				d, c := mergeScanParts(parts)
				if got, _ := scanVerdict(t, d, whole.Config, c); got != want {
					t.Errorf("n=%d: merged verdict differs from the whole:\n%s", n, lineDiff(want, got))
				}
			}
		})
	}
}

// TestPortscanMergeRandomTrees merges the parts of random splits (by pair
// and by file) along random trees: in any order, any grouping and with
// either side receiving, the verdict is the whole's.
func TestPortscanMergeRandomTrees(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	names := map[string]bool{"scan_decoy": true, "scan_version": true, "scan_udp": true, "sweep_syn": true, "hs-tcp_synPingSweepRand": true, "hs-icmpScan": true, "nmap-vsn": true, "tmicomyiza_fin": true}
	for _, tc := range portscanMergeCases() {
		if !names[tc.name] {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			for trial := range 4 {
				split := splitByPair
				if trial%2 == 1 {
					split = splitByFile
				}
				whole, parts := split(t, path, Config{}, 5)
				want, _ := scanVerdict(t, whole.dets.scans, whole.Config, whole.capture)
				rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
				d, c := mergeTree(rng, parts)
				if got, _ := scanVerdict(t, d, whole.Config, c); got != want {
					t.Errorf("trial %d: merged verdict differs from the whole:\n%s", trial, lineDiff(want, got))
				}
			}
		})
	}
}

// mergeTree merges parts along a random binary tree, a random side of
// each node receiving.
func mergeTree(rng *rand.Rand, parts []*Analysis) (*portscanDetector, *capture.Capture) {
	if len(parts) == 1 {
		return parts[0].dets.scans, parts[0].capture
	}
	k := 1 + rng.IntN(len(parts)-1)
	dl, cl := mergeTree(rng, parts[:k])
	dr, cr := mergeTree(rng, parts[k:])
	if rng.IntN(2) == 1 {
		dl, dr, cl, cr = dr, dl, cr, cl
	}
	c := &capture.Capture{}
	c.Merge(cl)
	c.Merge(cr)
	dl.merge(dr, c)
	return dl, c
}

// TestPortscanMergeEvictedTraceroute: a traceroute's UDP probes are no
// scan because routers answered with time exceeded. Those messages come
// from the routers, so split by pair they are in other parts than the
// probes; with the probes' flows evicted during the pass, the merge must
// still judge them against every part's time exceeded messages.
func TestPortscanMergeEvictedTraceroute(t *testing.T) {
	const src, dst = "10.5.0.1", "10.5.9.9"
	s := newSynth(t)
	for i := range 30 {
		s.udp(src, 40000, dst, uint16(33434+i), 32)
		s.icmp("10.5.1.254", src, 11, 0) // one router: its pair with src is in another part than the probes, most splits
	}
	for i := range 120 { // other traffic, to fill the flow table
		s.udp(fmt.Sprintf("10.6.%d.1", i), 5353, fmt.Sprintf("10.7.%d.1", i), 53, 40)
		s.udp(fmt.Sprintf("10.7.%d.1", i), 53, fmt.Sprintf("10.6.%d.1", i), 5353, 80)
	}
	if err := s.f.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Limits: Limits{MaxFlows: 8}}
	for _, n := range []int{2, 3, 5, 2, 3, 5, 2, 3, 5} {
		whole, parts := splitByPair(t, s.f.Name(), cfg, n)
		if whole.Capture().FlowStats().Evicted == 0 {
			t.Fatal("no flow evicted")
		}
		want, fs := scanVerdict(t, whole.dets.scans, whole.Config, whole.capture)
		if len(fs) != 0 {
			t.Fatalf("whole: %d port scan findings, want none (a traceroute): %+v", len(fs), fs)
		}
		d, c := mergeScanParts(parts)
		if got, _ := scanVerdict(t, d, whole.Config, c); got != want {
			t.Errorf("n=%d: merged verdict differs from the whole:\n%s", n, lineDiff(want, got))
		}
	}
}
