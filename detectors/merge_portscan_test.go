package detectors

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

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
}

func portscanMergeCases() []portscanMergeCase {
	td := func(name string) func(*testing.T) string {
		return func(t *testing.T) string { return testdataFile(t, name) }
	}
	co := func(rel string) func(*testing.T) string {
		return func(t *testing.T) string { return corpusFile(t, rel) }
	}
	return []portscanMergeCase{
		{"scan_ack", td("scan_ack.pcap"), true, []string{"ack"}},
		{"scan_connect", td("scan_connect.pcap"), true, []string{"connect"}},
		{"scan_decoy", td("scan_decoy.pcap"), true, nil},
		{"scan_fin", td("scan_fin.pcap"), true, []string{"fin"}},
		{"scan_frag", td("scan_frag.pcap"), true, nil},
		{"scan_null", td("scan_null.pcap"), true, []string{"null"}},
		{"scan_slow", td("scan_slow.pcap"), true, nil},
		{"scan_srcport", td("scan_srcport.pcap"), true, nil},
		{"scan_syn", td("scan_syn.pcap"), true, []string{"syn"}},
		{"scan_udp", td("scan_udp.pcap"), true, []string{"udp"}},
		{"scan_version", td("scan_version.pcap"), true, []string{"service_probe"}},
		{"scan_window", td("scan_window.pcap"), true, nil},
		{"scan_xmas", td("scan_xmas.pcap"), true, []string{"xmas"}},
		{"sweep_syn", td("sweep_syn.pcap"), true, []string{"horizontal_syn"}},
		{"gen_traffic", td("gen_traffic.pcap.gz"), false, nil},
		{"benign_backup_rsync", td("benign_backup_rsync.pcap"), false, nil},
		{"benign_browse", td("benign_browse.pcap"), false, nil},
		{"benign_cdn_dns", td("benign_cdn_dns.pcap"), false, nil},
		{"benign_crawler", td("benign_crawler.pcap"), false, nil},
		{"benign_dns", td("benign_dns.pcapng"), false, nil},
		{"benign_healthcheck", td("benign_healthcheck.pcap"), false, nil},
		{"benign_saas_upload", td("benign_saas_upload.pcap"), false, nil},
		{"benign_tls_browse", td("benign_tls_browse.pcap"), false, nil},
		{"benign_udp_noise", td("benign_udp_noise.pcap"), false, nil},
		{"connect15", co("austina-portscandetector/connect15.pcap"), true, []string{"connect"}},
		{"halfopen15", co("austina-portscandetector/halfopen15.pcap"), true, []string{"syn"}},
		{"null15", co("austina-portscandetector/null15.pcap"), true, []string{"null"}},
		{"udp15", co("austina-portscandetector/udp15.pcap"), true, []string{"udp"}},
		{"xmas15", co("austina-portscandetector/xmas15.pcap"), true, []string{"xmas"}},
		{"activeosfingerprinting", co("chrissanders-packets/activeosfingerprinting.pcapng"), true, nil},
		{"synscan", co("chrissanders-packets/synscan.pcapng"), true, []string{"syn"}},
		{"masscan_tcp", co("esnet-curated-pcaps/attacks/scanners/masscan/tcp_0_1000_20190821.pcap"), true, []string{"syn"}},
		{"masscan_udp", co("esnet-curated-pcaps/attacks/scanners/masscan/udp_0_1000_20190821.pcap"), true, []string{"udp"}},
		{"nmap_80_vanilla", co("esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_vanilla.pcap"), false, nil},
		{"nmap_80_all", co("esnet-curated-pcaps/attacks/scanners/nmap/nmap_80_all.pcap"), false, nil},
		{"one_way_all_flags", co("esnet-curated-pcaps/tcp/control/one_way_all_flags.pcap"), false, nil},
		{"hs-icmpScan", co("lucaderi-sgr/2022/Favilli/tests/hs-icmpScan.pcap"), true, []string{"icmp_sweep"}},
		{"hs-tcp_synPingSweepRand", co("lucaderi-sgr/2022/Favilli/tests/hs-tcp_synPingSweepRand.pcapng"), true, []string{"horizontal_syn"}},
		{"ppa_portscan", co("markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/portscan.pcap"), true, []string{"syn"}},
		{"tmicomyiza_fin", co("tmicomyiza-incident-alarm/fin.pcap"), true, []string{"fin"}},
		{"tmicomyiza_null", co("tmicomyiza-incident-alarm/null.pcap"), true, []string{"null"}},
		{"tmicomyiza_xmas", co("tmicomyiza-incident-alarm/xmas.pcap"), true, []string{"xmas"}},
		{"nmap-vsn", co("zeek/testing/btest/Traces/nmap-vsn.pcap"), true, []string{"arp_sweep"}},
		{"http_espn", co("chrissanders-packets/http_espn.pcapng"), false, nil},
		{"http_google", co("chrissanders-packets/http_google.pcapng"), false, nil},
		{"wikipedia", co("zeek/testing/btest/Traces/wikipedia.pcap"), false, nil},
		{"workshop_2011_browse", co("zeek/testing/btest/Traces/workshop_2011_browse.pcap"), false, nil},
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
				want, _ := scanVerdict(t, whole.dets.scans, cfg, whole.capture)
				d, c := mergeScanParts(parts)
				if got, _ := scanVerdict(t, d, cfg, c); got != want {
					if os.Getenv("RECONPCAP_SHOW") != "" {
						t.Logf("n=%d: differs:\n%s", n, lineDiff(want, got))
					}
					t.Errorf("n=%d: merged port scan verdict differs from the whole:\n%s", n, lineDiff(want, got))
				}
			}
		})
	}
}
