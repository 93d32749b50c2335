package detectors

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestICMPJoinAnyCut: one pair's echoes, cut at any point into two or
// three parts (as the files of a rotated capture are) and merged in
// either order, count as one pass over them does: replies that lag
// several requests behind, replies before a part's first request,
// replies of data of their own and empty ones.
func TestICMPJoinAnyCut(t *testing.T) {
	req, rsp := netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("198.51.100.9")
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	payload := func(i int) []byte { return []byte(fmt.Sprintf("%016d%064d", i, i*7919)) }
	tests := []struct {
		name string
		seed uint64
		n    int
	}{
		{"lagging echoes", 1, 120},
		{"a tunnel answering with its own data", 2, 90},
		{"mixed and empty replies", 3, 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tc.seed, 7))
			var pkts []*capture.Packet
			sent := 0
			for i := range tc.n {
				p := &capture.Packet{Time: t0.Add(time.Duration(i) * time.Second), Layers: capture.LayerICMPv4}
				switch r := rng.IntN(10); {
				case r < 4 || sent == 0 && r < 6:
					sent++
					p.Src, p.Dst, p.ICMPType, p.ICMPPayload = req, rsp, 8, payload(sent)
				case r < 7 && sent > 0:
					// An echo of one of the last 20 requests: some fall
					// out of the window a reply is compared with.
					p.Src, p.Dst, p.ICMPPayload = rsp, req, payload(max(1, sent-rng.IntN(20)))
				case r < 9:
					p.Src, p.Dst, p.ICMPPayload = rsp, req, []byte(fmt.Sprintf("own data %d", rng.IntN(1000)))
				default:
					p.Src, p.Dst = rsp, req
				}
				p.Length = 42 + len(p.ICMPPayload)
				p.CaptureLength = p.Length
				pkts = append(pkts, p)
			}
			run := func(ps []*capture.Packet) *icmpEcho {
				e := &icmpEcho{}
				for _, p := range ps {
					e.packet(p)
				}
				return e
			}
			want := icmpCounts(run(pkts), addrPair{req, rsp})
			if want.Replies == 0 || want.Echoed == 0 {
				t.Fatalf("the sequence has no echoed replies: %+v", want)
			}
			for i := 0; i <= len(pkts); i++ {
				j := min(len(pkts), i+rng.IntN(30))
				for _, reversed := range []bool{false, true} {
					parts := []*icmpEcho{run(pkts[:i]), run(pkts[i:j]), run(pkts[j:])}
					if reversed {
						slices.Reverse(parts)
					}
					for _, o := range parts[1:] {
						parts[0].merge(o)
					}
					if got := icmpCounts(parts[0], addrPair{req, rsp}); got != want {
						t.Fatalf("cut at %d and %d (reversed %v):\n got %+v\nwant %+v", i, j, reversed, got, want)
					}
				}
			}
		})
	}
}

// icmpTally is what the judging reads of a pair.
type icmpTally struct {
	Requests, Replies, ReqBytes, ReplyBytes, Echoed, OwnData int64
	MinSize, MaxSize, Distinct                               int
	First, Last                                              time.Time
	Recent                                                   string
}

func icmpCounts(e *icmpEcho, k addrPair) icmpTally {
	ip := e.pairs[k]
	if ip == nil {
		return icmpTally{}
	}
	return icmpTally{ip.requests, ip.replies, ip.reqBytes, ip.replyBytes, ip.echoed, ip.ownData,
		ip.minSize, ip.maxSize, len(ip.distinct), ip.first, ip.last, fmt.Sprint(ip.recentOrder())}
}

// TestDripMergeByFile: slow drips cut into files anywhere (the later
// files see the connections from their middle, without a SYN) count the
// same seconds past the warm-up as one pass: a file boundary inside the
// warm-up, inside a second, or between two seconds, and a connection
// the capture itself sees only from its middle.
func TestDripMergeByFile(t *testing.T) {
	const client = "10.0.9.3"
	tests := []struct {
		name string
		seed uint64
		syn  bool // the capture holds the connections' opening
	}{
		{"from the opening", 1, true},
		{"seen from the middle", 2, false},
		{"two connections, irregular", 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tc.seed, 11))
			s := newSynth(t)
			servers := []uint16{8080}
			if tc.name == "two connections, irregular" {
				servers = append(servers, 8443)
			}
			if tc.syn {
				for i, sp := range servers {
					s.tcp(client, 41000+uint16(i), "203.0.113.70", sp, capture.FlagSYN, 0)
					s.tcp("203.0.113.70", sp, client, 41000+uint16(i), capture.FlagSYN|capture.FlagACK, 0)
				}
			}
			for range 400 {
				// Gaps of 0.2 to 1.4 s: some seconds with two packets,
				// some with none.
				s.at = s.at.Add(time.Duration(200+rng.IntN(1200)) * time.Millisecond)
				i := rng.IntN(len(servers))
				s.tcp(client, 41000+uint16(i), "203.0.113.70", servers[i], capture.FlagACK|capture.FlagPSH, 300+rng.IntN(400))
				if rng.IntN(4) == 0 {
					s.tcp("203.0.113.70", servers[i], client, 41000+uint16(i), capture.FlagACK, 0)
				}
			}
			if err := s.f.Close(); err != nil {
				t.Fatal(err)
			}
			cfg := Config{}.Defaults()
			for _, n := range []int{2, 3, 5, 7, 11, 20, 40} {
				whole, parts := splitByFile(t, s.f.Name(), cfg, n)
				want := judgeExfil(t, whole.dets.exfil, whole.Config, whole.capture)
				if !strings.Contains(want.Findings, `"slow_drip"`) {
					t.Fatalf("the capture holds no drip: %s", want.Findings)
				}
				d, c := mergeExfilTree(parts)
				if got := judgeExfil(t, d, cfg, c); got != want {
					t.Errorf("%d files:\n got %s\nwant %s", n, got.Findings, want.Findings)
				}
			}
		})
	}
}

// TestExfilPortsOrderFree: a pair's port sample is the ports first used,
// whatever order its connections are counted in (a merge counts another
// part's after its own).
func TestExfilPortsOrderFree(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	type conn struct {
		port uint16
		at   time.Duration
	}
	var conns []conn
	for i := range 30 {
		// Ports 1000..1029 first used at second 29-i: the highest
		// numbers came first.
		conns = append(conns, conn{uint16(1000 + i), time.Duration(29-i) * time.Second})
	}
	// Port 1005 again at second 0 (with 1029), 1001 at second 1 (with
	// 1028): the first twenty are these four and 1027 (second 2) down to
	// 1012 (second 17).
	conns = append(conns, conn{1005, 0}, conn{1001, time.Second})
	want := []uint16{1001, 1005}
	for p := uint16(1012); p <= 1029; p++ {
		want = append(want, p)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for round := range 20 {
		order := slices.Clone(conns)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var p exfilPair
		for _, c := range order {
			p.addPort(c.port, t0.Add(c.at))
		}
		if got := p.portList(); !slices.Equal(got, want) {
			t.Fatalf("round %d: ports %v, want %v", round, got, want)
		}
	}
}
