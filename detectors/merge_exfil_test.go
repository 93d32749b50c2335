package detectors

import (
	"encoding/json"
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

// exfilFileExact are the captures whose split into files (editcap -c)
// merges exactly; the others are listed in exfilFileInexact with why.
var exfilFileInexact = map[string]string{}

// TestExfilMergeByFile: a capture cut into consecutive files, each
// accumulated alone and merged, judges as the whole does.
func TestExfilMergeByFile(t *testing.T) {
	cfg := Config{}.Defaults()
	for _, path := range exfilMergeCaptures(t) {
		for _, n := range []int{2, 5, 20} {
			name := filepath.Base(path)
			t.Run(name+"/"+strconv.Itoa(n), func(t *testing.T) {
				whole, parts := splitByFile(t, path, cfg, n)
				want := judgeExfil(t, whole.dets.exfil, whole.Config, whole.capture)
				d, c := mergeExfilParts(parts)
				got := judgeExfil(t, d, cfg, c)
				report := t.Errorf
				if why, ok := exfilFileInexact[name+"/"+strconv.Itoa(n)]; ok {
					report = t.Logf
					t.Logf("known to differ: %s", why)
				}
				if got.Findings != want.Findings {
					report("findings differ:\n got %s\nwant %s", got.Findings, want.Findings)
				}
				if got.Transfers != want.Transfers {
					report("transfers differ:\n got %s\nwant %s", got.Transfers, want.Transfers)
				}
			})
		}
	}
}
