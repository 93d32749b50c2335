package detectors

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/pcapgen"
)

// benchSize is the size of the generated benchmark capture.
const benchSize = 100_000_000

var (
	benchOnce  sync.Once
	benchPath  string
	benchStats *pcapgen.Stats
	benchErr   error
)

// benchCapture returns a generated ~100 MB capture with attacks injected,
// made once per machine under the user cache directory (or
// $RECONPCAP_BENCH_DIR) and reused while it has the expected size.
func benchCapture(b *testing.B) (string, *pcapgen.Stats) {
	b.Helper()
	benchOnce.Do(func() {
		dir := os.Getenv("RECONPCAP_BENCH_DIR")
		if dir == "" {
			c, err := os.UserCacheDir()
			if err != nil {
				c = os.TempDir()
			}
			dir = filepath.Join(c, "reconpcap-bench")
		}
		if benchErr = os.MkdirAll(dir, 0o755); benchErr != nil {
			return
		}
		cfg := pcapgen.Config{Seed: 1, TargetSize: benchSize, Basic: true, Attacks: pcapgen.Attacks{
			PortScan: &pcapgen.PortScan{Ports: 1000}, Upload: &pcapgen.Upload{Bytes: 5_000_000},
			DNSTunnel: &pcapgen.DNSTunnel{Queries: 300}, HTTPEnum: &pcapgen.HTTPEnum{Requests: 400},
		}}
		benchPath = filepath.Join(dir, fmt.Sprintf("gen_%dMB_seed1.pcap", benchSize/1_000_000))
		// The generator is deterministic, so writing to io.Discard gives
		// the truth of the file without keeping a second copy.
		if benchStats, benchErr = pcapgen.Generate(context.Background(), io.Discard, cfg); benchErr != nil {
			return
		}
		if st, err := os.Stat(benchPath); err == nil && st.Size() == benchStats.FileBytes {
			return
		}
		tmp := benchPath + ".tmp"
		if _, benchErr = pcapgen.WriteFile(context.Background(), tmp, cfg); benchErr == nil {
			benchErr = os.Rename(tmp, benchPath)
		}
	})
	if benchErr != nil {
		b.Fatalf("generating the benchmark capture: %v", benchErr)
	}
	return benchPath, benchStats
}

// benchPackets runs pass on the benchmark capture b.N times, checks it
// read every packet, and reports MB/s and packets/s.
func benchPackets(b *testing.B, pass func(path string) (int, error)) {
	path, st := benchCapture(b)
	b.SetBytes(st.FileBytes)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		got, err := pass(path)
		if err != nil {
			b.Fatal(err)
		}
		if got != st.Packets {
			b.Fatalf("read %d packets, the file has %d", got, st.Packets)
		}
		n++
	}
	b.ReportMetric(float64(n*st.Packets)/time.Since(start).Seconds(), "packets/s")
}

// BenchmarkAnalyze is the whole pass: read, decode, every analysis, and
// the summary, timeline and findings.
func BenchmarkAnalyze(b *testing.B) {
	benchPackets(b, func(path string) (int, error) {
		a, err := Analyze(context.Background(), path, Config{})
		if err != nil {
			return 0, err
		}
		return a.Summary.TotalPackets, nil
	})
}

// BenchmarkAnalyzeNoDetectors is the capture engine's own analysis (summary
// and timeline, as issue 2 built it) without any detector: the ratio to
// BenchmarkAnalyze is what the detectors cost in the single pass.
func BenchmarkAnalyzeNoDetectors(b *testing.B) {
	benchPackets(b, func(path string) (int, error) {
		sum, tl := newSummaryAnalyzer(Limits{}.defaults(), newSampleHash("")), newTimelineAnalyzer(time.Second)
		c, err := capture.Scan(context.Background(), path, sum, tl)
		if err != nil {
			return 0, err
		}
		s := sum.summary(c, sum.conversations(c), 10)
		_, err = tl.cut(c, time.Minute)
		return s.TotalPackets, err
	})
}

// BenchmarkScan is the engine alone: read, decode once, flows; no analysis.
func BenchmarkScan(b *testing.B) {
	benchPackets(b, func(path string) (int, error) {
		c, err := capture.Scan(context.Background(), path)
		if err != nil {
			return 0, err
		}
		return c.Packets, nil
	})
}

// BenchmarkDecodeOnly is the floor: a bare gopacket loop over the same
// file (pcapgo reader, DecodingLayerParser, zero copy) with no analysis,
// so the ratio to BenchmarkAnalyze is the cost of the analyses.
func BenchmarkDecodeOnly(b *testing.B) {
	benchPackets(b, decodeOnly)
}

// decodeOnly reads and decodes every packet of an Ethernet pcap file the
// way gopacket's documentation recommends, and counts them.
func decodeOnly(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, err
	}
	var (
		eth   layers.Ethernet
		dot1q layers.Dot1Q
		ip4   layers.IPv4
		ip6   layers.IPv6
		tcp   layers.TCP
		udp   layers.UDP
		arp   layers.ARP
		icmp4 layers.ICMPv4
		icmp6 layers.ICMPv6
	)
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp, &arp, &icmp4, &icmp6)
	p.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	n := 0
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		p.DecodeLayers(data, &decoded)
		n++
	}
}
