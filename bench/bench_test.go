package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/agents-of-shield/reconpcap/internal/pcapgen"
)

// The goals of issue 2: against `tshark -r FILE -q -z io,phs` on the same
// file, analyze is at least 15 times faster, and its peak RSS stays under
// 150 MiB and flat from 100 MB to 1 GB.
const (
	goalSpeedup = 15.0
	goalRSSMiB  = 150.0
	// goalFlatMiB is how much more memory the largest file may take than
	// the smallest: hosts and flows are bounded, so only noise remains.
	goalFlatMiB = 24.0
	// goalSpeedupSize is the smallest file the speed goal applies to.
	goalSpeedupSize = 1_000_000_000
)

// runs reads RECONPCAP_BENCH_RUNS, default 3: every tool runs that many
// times on each file and the median wall time counts (a small VM's timings
// vary by tens of percent from one run to the next).
func runs(t *testing.T) int {
	s := os.Getenv("RECONPCAP_BENCH_RUNS")
	if s == "" {
		return 3
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("RECONPCAP_BENCH_RUNS=%q: want a positive number", s)
	}
	return n
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// run is one measured process (or the in-process decoding loop).
type run struct {
	tool    string
	wall    time.Duration
	rssKiB  int64 // 0 when not measured
	packets int
}

// sizes reads RECONPCAP_BENCH_SIZES, default 100MB,1GB (decimal units).
func sizes(t *testing.T) []int64 {
	s := os.Getenv("RECONPCAP_BENCH_SIZES")
	if s == "" {
		s = "100MB,1GB"
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		mult := int64(1)
		for suf, m := range map[string]int64{"GB": 1e9, "MB": 1e6, "KB": 1e3} {
			if strings.HasSuffix(f, suf) {
				f, mult = strings.TrimSuffix(f, suf), m
			}
		}
		n, err := strconv.ParseFloat(f, 64)
		if err != nil || n <= 0 {
			t.Fatalf("RECONPCAP_BENCH_SIZES: bad size %q", f)
		}
		out = append(out, int64(n*float64(mult)))
	}
	return out
}

func sizeName(n int64) string {
	if n >= 1e9 && n%1e9 == 0 {
		return fmt.Sprintf("%dGB", n/1e9)
	}
	return fmt.Sprintf("%dMB", n/1e6)
}

// capture returns a generated capture of about size bytes under
// testdata/big/, made once and reused while its size matches its truth.
func capture(t *testing.T, size int64) (string, *pcapgen.Stats) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "big")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gen_"+sizeName(size)+"_seed1.pcap")
	truth := path + ".json"
	var st pcapgen.Stats
	if b, err := os.ReadFile(truth); err == nil && json.Unmarshal(b, &st) == nil {
		if fi, err := os.Stat(path); err == nil && fi.Size() == st.FileBytes {
			return path, &st
		}
	}
	cfg := pcapgen.Config{Seed: 1, TargetSize: size, Basic: true, Attacks: pcapgen.Attacks{
		PortScan: &pcapgen.PortScan{Ports: 1000}, Upload: &pcapgen.Upload{Bytes: 5_000_000},
		DNSTunnel: &pcapgen.DNSTunnel{Queries: 300}, HTTPEnum: &pcapgen.HTTPEnum{Requests: 400},
	}}
	start := time.Now()
	s, err := pcapgen.WriteFile(context.Background(), path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %s (%d packets) in %v", path, s.Packets, time.Since(start).Round(time.Millisecond))
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(truth, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, s
}

// measure runs a command with stdout to a file and returns its wall time,
// peak RSS and what it printed.
func measure(t *testing.T, stdout string, name string, args ...string) (time.Duration, int64, []byte) {
	t.Helper()
	out, err := os.Create(stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	// Maxrss is in KiB on Linux.
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	b, err := os.ReadFile(stdout)
	if err != nil {
		t.Fatal(err)
	}
	return wall, rss, b
}

// decodeLoop is the floor: gopacket's reader and DecodingLayerParser with
// zero copy over the file, no analysis.
func decodeLoop(path string) (int, time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, 0, err
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
			return n, time.Since(start), nil
		}
		if err != nil {
			return n, time.Since(start), err
		}
		p.DecodeLayers(data, &decoded)
		n++
	}
}

var phsFrames = regexp.MustCompile(`(?m)^eth\s+frames:(\d+)`)

// TestCompare measures reconpcap analyze, tshark and the decoding loop on
// each generated capture and checks the goals.
func TestCompare(t *testing.T) {
	if os.Getenv("RECONPCAP_BENCH") != "1" {
		t.Skip("set RECONPCAP_BENCH=1 to compare reconpcap analyze with tshark on generated 100 MB and 1 GB captures (bench/run.sh)")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal("tshark is not installed: the comparison needs it (apt-get install tshark)")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "reconpcap")
	build := exec.Command("go", "build", "-o", bin, "../cmd/reconpcap")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/reconpcap: %v\n%s", err, out)
	}

	type result struct {
		size     int64
		path     string
		st       *pcapgen.Stats
		decode   run
		analyze  run
		noFrames run
		tshark   run
	}
	var results []result
	for _, size := range sizes(t) {
		path, st := capture(t, size)
		r := result{size: size, path: path, st: st}
		// Read the file once so every tool finds it in the page cache.
		if _, _, err := decodeLoop(path); err != nil {
			t.Fatal(err)
		}
		var decodeWalls, analyzeWalls, noFramesWalls, tsharkWalls []time.Duration
		var analyzeRSS, noFramesRSS, tsharkRSS int64
		for range runs(t) {
			n, wall, err := decodeLoop(path)
			if err != nil || n != st.Packets {
				t.Fatalf("decoding loop: %d packets, %v; the file has %d", n, err, st.Packets)
			}
			decodeWalls = append(decodeWalls, wall)

			wall, rss, out := measure(t, filepath.Join(tmp, "analyze.json"), bin, "analyze", "--format", "json", path)
			var a struct {
				Summary struct {
					TotalPackets int `json:"total_packets"`
				} `json:"summary"`
			}
			if err := json.Unmarshal(out, &a); err != nil || a.Summary.TotalPackets != st.Packets {
				t.Fatalf("reconpcap analyze: %d packets (%v); the file has %d", a.Summary.TotalPackets, err, st.Packets)
			}
			analyzeWalls = append(analyzeWalls, wall)
			analyzeRSS = max(analyzeRSS, rss)

			// The same without the second pass that locates the findings'
			// evidence frames: the cost of the analysis itself.
			wall, rss, _ = measure(t, filepath.Join(tmp, "analyze-nf.json"), bin, "analyze", "--no-frames", "--format", "json", path)
			noFramesWalls = append(noFramesWalls, wall)
			noFramesRSS = max(noFramesRSS, rss)

			wall, rss, out = measure(t, filepath.Join(tmp, "phs.txt"), tshark, "-r", path, "-q", "-z", "io,phs")
			frames := 0
			if m := phsFrames.FindSubmatch(out); m != nil {
				frames, _ = strconv.Atoi(string(m[1]))
			}
			if frames != st.Packets {
				t.Errorf("tshark counted %d frames; the file has %d", frames, st.Packets)
			}
			tsharkWalls = append(tsharkWalls, wall)
			tsharkRSS = max(tsharkRSS, rss)
		}
		t.Logf("%s: analyze %v, tshark %v, decode loop %v", sizeName(size), analyzeWalls, tsharkWalls, decodeWalls)
		r.decode = run{tool: "gopacket decode loop", wall: median(decodeWalls), packets: st.Packets}
		r.analyze = run{tool: "reconpcap analyze --format json", wall: median(analyzeWalls), rssKiB: analyzeRSS, packets: st.Packets}
		r.noFrames = run{tool: "reconpcap analyze --no-frames --format json", wall: median(noFramesWalls), rssKiB: noFramesRSS, packets: st.Packets}
		r.tshark = run{tool: "tshark -r FILE -q -z io,phs", wall: median(tsharkWalls), rssKiB: tsharkRSS, packets: st.Packets}
		results = append(results, r)
	}

	var tb strings.Builder
	fmt.Fprintf(&tb, "Median of %d runs each; peak RSS is the largest of the runs.\n\n", runs(t))
	fmt.Fprintf(&tb, "| file | size | packets | tool | wall | MB/s | packets/s | peak RSS | tshark time / this |\n")
	fmt.Fprintf(&tb, "|---|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		for _, x := range []run{r.analyze, r.noFrames, r.tshark, r.decode} {
			rss := "n/a (in-process)"
			if x.rssKiB > 0 {
				rss = fmt.Sprintf("%.0f MiB", float64(x.rssKiB)/1024)
			}
			secs := x.wall.Seconds()
			fmt.Fprintf(&tb, "| %s | %.0f MB | %d | `%s` | %.2f s | %.0f | %.0f | %s | %.1fx |\n",
				filepath.Base(r.path), float64(r.st.FileBytes)/1e6, r.st.Packets, x.tool, secs,
				float64(r.st.FileBytes)/1e6/secs, float64(r.st.Packets)/secs, rss, r.tshark.wall.Seconds()/secs)
		}
	}
	t.Logf("\n%s", tb.String())
	if err := os.MkdirAll("out", 0o755); err == nil {
		os.WriteFile(filepath.Join("out", "results.md"), []byte(tb.String()), 0o644)
	}

	// The goals.
	for _, r := range results {
		speedup := r.tshark.wall.Seconds() / r.analyze.wall.Seconds()
		rss := float64(r.analyze.rssKiB) / 1024
		t.Logf("%s: analyze %.1fx faster than tshark (goal %.0fx), peak RSS %.0f MiB (goal < %.0f MiB)", sizeName(r.size), speedup, goalSpeedup, rss, goalRSSMiB)
		// The speed goal is the issue's, stated for the 1 GB file: on
		// smaller files fixed costs (process start, the findings, the
		// injected attacks) weigh more and are only reported.
		if speedup < goalSpeedup && r.size >= goalSpeedupSize {
			t.Errorf("%s: analyze is %.1fx faster than tshark, goal %.0fx", sizeName(r.size), speedup, goalSpeedup)
		}
		if rss >= goalRSSMiB {
			t.Errorf("%s: analyze peak RSS %.0f MiB, goal under %.0f MiB", sizeName(r.size), rss, goalRSSMiB)
		}
	}
	if len(results) > 1 {
		first, last := results[0], results[len(results)-1]
		grow := float64(last.analyze.rssKiB-first.analyze.rssKiB) / 1024
		t.Logf("peak RSS from %s to %s: %+.0f MiB (goal flat, within %.0f MiB)", sizeName(first.size), sizeName(last.size), grow, goalFlatMiB)
		if grow > goalFlatMiB {
			t.Errorf("peak RSS grew by %.0f MiB from %s to %s, goal flat (within %.0f MiB)", grow, sizeName(first.size), sizeName(last.size), goalFlatMiB)
		}
	}
}
