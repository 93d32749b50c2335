package detectors

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// exfilMergeCaptures are the captures the exfiltration detector has
// something to say about (uploads, ICMP channels, drips, internal copies,
// downloads that must stay downloads) and benign ones.
func exfilMergeCaptures(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, pat := range []string{"exfil_*.pcap", "download_*.pcap", "benign_*.pcap*", "gen_traffic.pcap.gz", "dns_tunnel.pcap"} {
		m, err := filepath.Glob(filepath.Join(filepath.Dir(testdataFile(t, "exfil_high.pcap")), pat))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	for _, rel := range []string{
		"401trg-detections/pcaps/20171220_smb_mimikatz_copy.pcap",
		"chrissanders-packets/mail_sender_attachment.pcapng",
		"markofu-pcaps/PracticalPacketAnalysis/ppa-capture-files/ftp-uploadfailed.pcap",
		"suricata-verify/tests/mime/mime-stream-depth/input.pcap",
		"zeek/testing/btest/Traces/http/http-post-large.pcap",
		"lucaderi-sgr/2022/Favilli/tests/hs-icmpScan.pcap",
		"chrissanders-packets/http_espn.pcapng",
		"tmicomyiza-incident-alarm/fin.pcap",
	} {
		paths = append(paths, corpusFile(t, rel))
	}
	return paths
}

// exfilJudged is what the exfiltration detector says of a capture: its
// findings and the transfer list, as JSON.
type exfilJudged struct {
	Findings  string
	Transfers string
}

func judgeExfil(t *testing.T, d *exfilDetector, cfg Config, c *capture.Capture) exfilJudged {
	t.Helper()
	a := &Analysis{Config: cfg, capture: c}
	a.dets.exfil = d
	f, err := json.Marshal(d.Findings(cfg, c))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := json.Marshal(a.Transfers(0))
	if err != nil {
		t.Fatal(err)
	}
	return exfilJudged{string(f), string(tr)}
}

// mergeExfilParts merges the parts' exfiltration state in the order
// given, into the first of them, as mergeState does: the captures first,
// then the detector.
func mergeExfilParts(parts []*Analysis) (*exfilDetector, *capture.Capture) {
	c := mergedCapture(parts)
	d := parts[0].dets.exfil
	for _, p := range parts[1:] {
		d.merge(p.dets.exfil, c)
	}
	return d, c
}

// mergeExfilTree merges the parts as a tree: each half on its own (its
// own merged capture), then the two halves.
func mergeExfilTree(parts []*Analysis) (*exfilDetector, *capture.Capture) {
	if len(parts) == 1 {
		return parts[0].dets.exfil, parts[0].capture
	}
	h := len(parts) / 2
	dl, cl := mergeExfilTree(parts[:h])
	dr, cr := mergeExfilTree(parts[h:])
	c := &capture.Capture{}
	c.Merge(cl)
	c.Merge(cr)
	dr.merge(dl, c) // the right half receives: the receiver must not matter
	return dr, c
}

// TestExfilMergeByPair: parts split by address pair, merged in order, in
// reverse order and as a tree, judge as the whole capture does: every
// finding field for field, and every transfer.
func TestExfilMergeByPair(t *testing.T) {
	cfg := Config{}.Defaults()
	orders := []struct {
		name  string
		merge func([]*Analysis) (*exfilDetector, *capture.Capture)
	}{
		{"in order", mergeExfilParts},
		{"reversed", func(ps []*Analysis) (*exfilDetector, *capture.Capture) {
			ps = slices.Clone(ps)
			slices.Reverse(ps)
			return mergeExfilParts(ps)
		}},
		{"tree", mergeExfilTree},
	}
	found := 0
	for _, path := range exfilMergeCaptures(t) {
		for _, n := range []int{2, 3, 5} {
			for _, o := range orders {
				t.Run(filepath.Base(path)+"/"+o.name+"/"+strconv.Itoa(n), func(t *testing.T) {
					whole, parts := splitByPair(t, path, cfg, n)
					want := judgeExfil(t, whole.dets.exfil, whole.Config, whole.capture)
					if want.Findings != "null" && want.Findings != "[]" {
						found++
					}
					d, c := o.merge(parts)
					got := judgeExfil(t, d, cfg, c)
					if got.Findings != want.Findings {
						t.Errorf("findings differ:\n got %s\nwant %s", got.Findings, want.Findings)
					}
					if got.Transfers != want.Transfers {
						t.Errorf("transfers differ:\n got %s\nwant %s", got.Transfers, want.Transfers)
					}
				})
			}
		}
	}
	if found == 0 {
		t.Error("no capture gave an exfiltration finding: the test compares nothing")
	}
}

// TestExfilMergeByFile: a capture cut into consecutive files, each
// accumulated alone and merged (in order, and as a tree whose later
// halves receive), judges as the whole does: the connections a cut splits
// are one flow again, a drip's seconds past its warm-up count from the
// connection's first packet (exfil_drip.pcap), and an echo reply in the
// file after its request still matches it (exfil_icmp.pcap).
func TestExfilMergeByFile(t *testing.T) {
	cfg := Config{}.Defaults()
	for _, path := range exfilMergeCaptures(t) {
		for _, n := range []int{2, 5, 20} {
			for _, tree := range []bool{false, true} {
				t.Run(filepath.Base(path)+"/"+strconv.Itoa(n)+"/tree="+strconv.FormatBool(tree), func(t *testing.T) {
					whole, parts := splitByFile(t, path, cfg, n)
					want := judgeExfil(t, whole.dets.exfil, whole.Config, whole.capture)
					merge := mergeExfilParts
					if tree {
						merge = mergeExfilTree
					}
					d, c := merge(parts)
					got := judgeExfil(t, d, cfg, c)
					if got.Findings != want.Findings {
						t.Errorf("findings differ:\n got %s\nwant %s", got.Findings, want.Findings)
					}
					if got.Transfers != want.Transfers {
						t.Errorf("transfers differ:\n got %s\nwant %s", got.Transfers, want.Transfers)
					}
				})
			}
		}
	}
}

// TestExfilMergeEvictedOrder: with a flow table so small that the parts
// evict flows (their uploads then merge from what the detector kept of
// them, an approximation above the bound), the merged result still does
// not depend on the order of the merge: the same files merged in order
// and as a tree whose later halves receive judge alike.
func TestExfilMergeEvictedOrder(t *testing.T) {
	cfg := Config{Limits: Limits{MaxFlows: 8}}.Defaults()
	for _, path := range []string{testdataFile(t, "exfil_split.pcap"), testdataFile(t, "benign_healthcheck.pcap"),
		corpusFile(t, "chrissanders-packets/http_espn.pcapng"), corpusFile(t, "tmicomyiza-incident-alarm/fin.pcap")} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, a := splitByFile(t, path, cfg, 5)
			_, b := splitByFile(t, path, cfg, 5)
			evicted := 0
			for _, p := range a {
				evicted += len(p.dets.exfil.live.byPair)
			}
			if evicted == 0 {
				t.Fatal("no part kept an evicted flow: the test merges nothing of them")
			}
			da, ca := mergeExfilParts(a)
			db, cb := mergeExfilTree(b)
			x, y := judgeExfil(t, da, cfg, ca), judgeExfil(t, db, cfg, cb)
			if x != y {
				t.Errorf("merge order changed the result:\n in order %+v\n     tree %+v", x, y)
			}
			if x.Transfers == "null" {
				t.Error("no transfer: the test compares nothing")
			}
		})
	}
}

// TestPortUsersOrderFree: the users a port keeps and what they say do not
// depend on the order the transfers come in.
func TestPortUsersOrderFree(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.7"),
		netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.1"),
	}
	tests := []struct {
		name   string
		n      int // how many of addrs are added
		others map[string]int
	}{
		{"one user", 1, map[string]int{"10.0.0.9": 0, "10.0.0.1": 1}},
		{"two users", 2, map[string]int{"10.0.0.9": 1, "10.0.0.2": 1, "10.0.0.1": 2}},
		{"three users, one twice", 4, map[string]int{"10.0.0.9": 2, "10.0.0.7": 2, "10.0.0.1": 3}},
		{"five users", 6, map[string]int{"10.0.0.9": 3, "10.0.0.1": 2, "10.0.0.4": 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fwd, rev portUsers
			for i := range tc.n {
				fwd.add(addrs[i])
				rev.add(addrs[tc.n-1-i])
			}
			if fwd != rev {
				t.Errorf("order changed the users: %v vs %v", fwd.addrs[:fwd.n], rev.addrs[:rev.n])
			}
			for a, want := range tc.others {
				if got := fwd.others(netip.MustParseAddr(a)); got != want {
					t.Errorf("others(%s) = %d, want %d", a, got, want)
				}
			}
		})
	}
}
