package detectors

import (
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// expectedFile is the part of ../shared/corpus/expected.json these tests read.
type expectedFile struct {
	TotalPackets       int            `json:"total_packets"`
	UniqueIPs          int            `json:"unique_ips"`
	LinkType           string         `json:"link_type"`
	InterfaceLinkTypes map[string]int `json:"interface_link_types"`
	Container          string         `json:"container"`
	IPv4Packets        int64          `json:"ipv4_packets"`
	IPv6Packets        int64          `json:"ipv6_packets"`
	TimestampPrecision string         `json:"timestamp_precision"`
	FirstTS            string         `json:"first_ts_epoch"`
	LastTS             string         `json:"last_ts_epoch"`
	ReadError          *struct {
		PacketsBeforeError int    `json:"packets_before_error"`
		Message            string `json:"message"`
	} `json:"read_error"`
}

func loadExpected(t *testing.T) map[string]expectedFile {
	t.Helper()
	path := corpusFile(t, "expected.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Files map[string]expectedFile `json:"files"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e.Files
}

// corpusDivergences are files where our reader and tshark part ways on
// purpose, with the reason.
var corpusDivergences = map[string]string{
	// tshark guesses that this fuzzed file is a "modified pcap" variant
	// with 24-byte record headers and then reads a second, nonsensical
	// record; we read the standard pcap format its magic number declares,
	// return the one valid record and report the impossible length of the
	// next as corruption.
	"suricata-verify/tests/bug-6875-01/fuzz.pcap": "tshark reads a modified-pcap variant",
}

// linkTypeNames maps capinfos' interface link type labels to our names.
func capinfosLinkName(label string) string {
	switch {
	case strings.Contains(label, "- ether)"):
		return "ether"
	case strings.Contains(label, "- null)"):
		return "null"
	case strings.Contains(label, "- rawip)"):
		return "rawip"
	case strings.Contains(label, "- linux-sll2)"):
		return "linux-sll2"
	case strings.Contains(label, "- linux-sll)"):
		return "linux-sll"
	case strings.Contains(label, "- netlink)"):
		return "netlink"
	}
	return label
}

func TestCorpusMatchesTshark(t *testing.T) {
	files := loadExpected(t)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		e := files[name]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(corpusDir(), name)
			a, err := Analyze(context.Background(), path, Config{})
			if reason, ok := corpusDivergences[name]; ok {
				if !errors.Is(err, capture.ErrCorrupt) || a == nil || a.Summary.TotalPackets != 1 {
					t.Fatalf("want 1 packet then ErrCorrupt (%s), got %v, %v", reason, a != nil, err)
				}
				return
			}
			if a == nil {
				t.Fatalf("Analyze: %v", err)
			}
			if got := a.Summary.TotalPackets; got != e.TotalPackets {
				t.Errorf("total_packets = %d, want %d", got, e.TotalPackets)
			}
			if got := a.Summary.UniqueIPs; got != e.UniqueIPs {
				t.Errorf("unique_ips = %d, want %d", got, e.UniqueIPs)
			}
			if got := a.Summary.IPv6Packets; got != e.IPv6Packets {
				t.Errorf("ipv6 packets = %d, want %d", got, e.IPv6Packets)
			}
			var want []string
			if e.LinkType == "per-packet" {
				for label := range e.InterfaceLinkTypes {
					want = append(want, capinfosLinkName(label))
				}
			} else {
				want = []string{e.LinkType}
			}
			got := slices.Clone(a.Summary.LinkTypes)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, slices.Compact(want)) {
				t.Errorf("link_types = %v, want %v", got, want)
			}
			wantFormat := "pcap"
			if strings.HasPrefix(e.Container, "pcapng") {
				wantFormat = "pcapng"
			}
			if a.Format != wantFormat {
				t.Errorf("format = %q, want %q (container %s)", a.Format, wantFormat, e.Container)
			}
			// Start and End are the earliest and latest timestamps; tshark's
			// first and last frames lie between them.
			if e.TotalPackets > 0 && e.FirstTS != "" && a.Summary.Start != nil {
				start, end := epoch(*a.Summary.Start), epoch(*a.Summary.End)
				if cmpEpoch(start, e.FirstTS) > 0 || cmpEpoch(end, e.LastTS) < 0 {
					t.Errorf("time span %s..%s does not cover tshark's first %s and last %s", start, end, e.FirstTS, e.LastTS)
				}
			}
			switch {
			case e.ReadError == nil:
				if err != nil || a.Truncated {
					t.Errorf("clean file: err = %v, truncated = %v", err, a.Truncated)
				}
			case strings.Contains(e.ReadError.Message, "cut short"):
				if err != nil || !a.Truncated || len(a.Warnings) == 0 {
					t.Errorf("cut-short file: want truncated with a warning and no error, got err %v, truncated %v, warnings %q", err, a.Truncated, a.Warnings)
				}
			case strings.Contains(e.ReadError.Message, "version"):
				if !errors.Is(err, capture.ErrUnsupportedVersion) {
					t.Errorf("err = %v, want ErrUnsupportedVersion", err)
				}
			default:
				if !errors.Is(err, capture.ErrCorrupt) {
					t.Errorf("err = %v, want ErrCorrupt", err)
				}
			}
			if e.ReadError != nil && a.Summary.TotalPackets != e.ReadError.PacketsBeforeError {
				t.Errorf("packets before the damage = %d, want %d", a.Summary.TotalPackets, e.ReadError.PacketsBeforeError)
			}
		})
	}
}

// epoch prints t as tshark's frame.time_epoch does, with nanoseconds.
func epoch(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

func TestNanosecondTimestamps(t *testing.T) {
	// Two frames at 1.000002000 and 1.000001234: only a reader that keeps
	// nanoseconds sees that the second is earlier.
	a := analyzeFile(t, corpusFile(t, "pcapplusplus/Tests/Pcap++Test/PcapExamples/nanosecs.pcap"), Config{})
	if got := a.Summary.Start.UnixNano(); got != 1_000_001_234 {
		t.Errorf("start = %d ns, want 1000001234", got)
	}
	if got := a.Summary.End.UnixNano(); got != 1_000_002_000 {
		t.Errorf("end = %d ns, want 1000002000", got)
	}
	if !a.Capture().Nanosecond {
		t.Error("Nanosecond = false for a nanosecond pcap")
	}
}

func TestGzipCaptureReadsTheSame(t *testing.T) {
	for _, name := range []string{"chrissanders-packets/http_espn.pcapng", "austina-portscandetector/xmas15.pcap"} {
		src := corpusFile(t, name)
		plain := analyzeFile(t, src, Config{})
		gzPath := filepath.Join(t.TempDir(), "capture.bin") // the name says nothing: the magic does
		in, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(gzPath)
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		zw.Write(in)
		zw.Close()
		f.Close()
		gz := analyzeFile(t, gzPath, Config{})
		if !gz.Compressed {
			t.Errorf("%s: Compressed = false", name)
		}
		if gz.Summary.TotalPackets != plain.Summary.TotalPackets || gz.Summary.UniqueIPs != plain.Summary.UniqueIPs || gz.Summary.TotalBytes != plain.Summary.TotalBytes {
			t.Errorf("%s: gzip read %d packets/%d IPs/%d bytes, plain %d/%d/%d", name, gz.Summary.TotalPackets, gz.Summary.UniqueIPs, gz.Summary.TotalBytes, plain.Summary.TotalPackets, plain.Summary.UniqueIPs, plain.Summary.TotalBytes)
		}
	}
}

func TestSummaryValues(t *testing.T) {
	a := analyzeFile(t, corpusFile(t, "chrissanders-packets/http_espn.pcapng"), Config{})
	s := a.Summary
	if s.TotalPackets != 956 || s.UniqueIPs != 15 {
		t.Fatalf("packets %d, ips %d; want 956, 15", s.TotalPackets, s.UniqueIPs)
	}
	if s.TopTalkers[0].IP != "172.16.0.122" || s.TopTalkers[0].Packets != 956 {
		t.Errorf("top talker %+v, want 172.16.0.122 with all 956 packets", s.TopTalkers[0])
	}
	if p := s.TopPorts[0]; p.Port != 80 || p.Proto != "tcp" || p.Flows != 25 {
		t.Errorf("top port %+v, want 80/tcp with 25 connections", p)
	}
	if s.Protocols["dns"] != 28 || s.Protocols["tcp"] != 928 {
		t.Errorf("protocols %v, want dns 28 and tcp 928", s.Protocols)
	}
	if s.DNSNamesDistinct != 14 {
		t.Errorf("distinct DNS names %d, want 14 (expected.json: 14 queries, 14 names)", s.DNSNamesDistinct)
	}
	// The largest conversation: 172.16.0.122 <-> 205.234.218.129, which
	// expected.json measures as the largest TCP stream (186358 bytes) plus
	// the client's other connections to the same server.
	c := s.TopConversations[0]
	if c.A != "172.16.0.122" || c.B != "205.234.218.129" || c.Packets != 588 {
		t.Errorf("top conversation %+v", c)
	}
	if c.BytesAToB+c.BytesBToA != c.Bytes || c.BytesBToA <= c.BytesAToB {
		t.Errorf("conversation bytes %d+%d != %d or not mostly downloaded", c.BytesAToB, c.BytesBToA, c.Bytes)
	}
}

func TestLargestConversationPayload(t *testing.T) {
	// expected.json: the SMTP upload carries 1793113 payload bytes from
	// the client and 579 back, in one connection.
	a := analyzeFile(t, corpusFile(t, "suricata-verify/tests/mime/mime-stream-depth/input.pcap"), Config{})
	flows := a.Capture().Flows()
	var best *capture.Flow
	for _, f := range flows {
		if best == nil || f.Payload[0]+f.Payload[1] > best.Payload[0]+best.Payload[1] {
			best = f
		}
	}
	if best.Client.String() != "10.9.18.101:49277" || best.Server.String() != "207.246.115.231:2525" {
		t.Fatalf("largest flow %v -> %v", best.Client, best.Server)
	}
	if best.Payload[0] != 1793113 || best.Payload[1] != 579 {
		t.Errorf("payload %d / %d, want 1793113 / 579", best.Payload[0], best.Payload[1])
	}
}

func TestTimelineRecutWithoutReread(t *testing.T) {
	path := corpusFile(t, "chrissanders-packets/synscan.pcapng")
	a := analyzeFile(t, path, Config{TimelineInterval: time.Second})
	if a.Timeline.IntervalSeconds != 1 || a.Timeline.TotalIntervals != 24 {
		t.Fatalf("1s timeline: %d intervals of %ds, want 24 of 1s", a.Timeline.TotalIntervals, a.Timeline.IntervalSeconds)
	}
	// Move the file away: a re-cut must not need it.
	moved := filepath.Join(t.TempDir(), "gone")
	data, _ := os.ReadFile(path)
	os.WriteFile(moved, data, 0o644)
	b := analyzeFile(t, moved, Config{TimelineInterval: time.Second})
	os.Remove(moved)
	for _, iv := range []time.Duration{time.Second, 5 * time.Second, time.Minute, time.Hour} {
		tl, err := b.TimelineAt(iv)
		if err != nil {
			t.Fatal(err)
		}
		var packets, flows uint64
		for _, x := range tl.Intervals {
			packets += x.Packets
			flows += x.NewFlows
		}
		if packets != 2011 || int(flows) != b.Summary.Flows {
			t.Errorf("%v: %d packets and %d new flows across intervals, want 2011 and %d", iv, packets, flows, b.Summary.Flows)
		}
	}
	tl, _ := b.TimelineAt(time.Minute)
	if len(tl.Intervals) != 1 || tl.TotalIntervals != 1 {
		t.Errorf("1m timeline of a 23 s capture: %d intervals", len(tl.Intervals))
	}
	if _, err := b.TimelineAt(1500 * time.Millisecond); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("1.5s interval: err = %v, want ErrInvalidConfig", err)
	}
}

func TestTimelineBurst(t *testing.T) {
	// The scan fills 2 of 24 seconds with most of its 2011 packets.
	a := analyzeFile(t, corpusFile(t, "chrissanders-packets/synscan.pcapng"), Config{TimelineInterval: time.Second})
	if len(a.Timeline.Bursts) == 0 {
		t.Fatalf("no burst in %+v", a.Timeline.Intervals)
	}
	for _, iv := range a.Timeline.Intervals {
		if iv.Burst && float64(iv.Packets) < 2*a.Timeline.MeanPackets {
			t.Errorf("burst at %v with %d packets, mean %.1f", iv.Start, iv.Packets, a.Timeline.MeanPackets)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"zero is valid", Config{}, ""},
		{"negative top", Config{TopN: -1}, "TopN"},
		{"half a millisecond", Config{TimelineInterval: 500 * time.Microsecond}, "TimelineInterval"},
		{"1.5 s", Config{TimelineInterval: 1500 * time.Millisecond}, "TimelineInterval"},
		{"high below threshold", Config{PortScan: PortScanConfig{Threshold: 60}}, "HighThreshold"},
		{"bytes", Config{Exfil: ExfilConfig{ThresholdBytes: -5}}, "ThresholdBytes"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming %s", tt.name, err, tt.field)
		}
	}
	if _, err := Analyze(context.Background(), "x", Config{TopN: -3}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Analyze with a bad config: %v", err)
	}
}

// cmpEpoch compares two "seconds.nanoseconds" strings numerically.
func cmpEpoch(a, b string) int {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	ia, _ := strconv.ParseInt(pa[0], 10, 64)
	ib, _ := strconv.ParseInt(pb[0], 10, 64)
	if ia != ib {
		return cmp.Compare(ia, ib)
	}
	return strings.Compare(pa[1], pb[1])
}
