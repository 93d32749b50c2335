//go:build linux

package mcpserver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPathSwapRace swaps a capture for a symbolic link to a file outside
// the root, a fifo and a link to a fifo outside, and a directory on the
// way for a link to a directory outside, all atomically and in a loop,
// while thousands of tool calls read them. No call may answer from an
// outside file, and every call must return promptly: the name is opened
// once and the descriptor is what gets checked and read.
func TestPathSwapRace(t *testing.T) {
	calls := 3000
	if testing.Short() {
		calls = 300
	}
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "d"), filepath.Join(outside, "d")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Inside: 1 source x 12 ports x 2 = 24 packets. Outside: 80 packets,
	// so an answer from an outside file shows in its count.
	const insidePackets, outsidePackets = 24, 80
	writeScanCapture(t, filepath.Join(root, "t.pcap"), 1, 12)
	writeScanCapture(t, filepath.Join(root, "d", "t.pcap"), 1, 12)
	writeScanCapture(t, filepath.Join(outside, "secret.pcap"), 2, 20)
	writeScanCapture(t, filepath.Join(outside, "d", "t.pcap"), 2, 20)
	for _, fifo := range []string{filepath.Join(root, "spare-fifo"), filepath.Join(outside, "fifo")} {
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(t, filepath.Join(outside, "secret.pcap"), filepath.Join(root, "spare-link"))
	mustSymlink(t, filepath.Join(outside, "fifo"), filepath.Join(root, "spare-link-fifo"))
	mustSymlink(t, filepath.Join(outside, "d"), filepath.Join(root, "spare-dir-link"))

	// exchange swaps two names atomically (RENAME_EXCHANGE): each name
	// always exists, as one thing or the other.
	exchange := func(a, b string) {
		if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			t.Skipf("renameat2(RENAME_EXCHANGE) is not supported here: %v", err)
		}
	}
	exchange(filepath.Join(root, "t.pcap"), filepath.Join(root, "spare-link"))
	exchange(filepath.Join(root, "t.pcap"), filepath.Join(root, "spare-link"))

	s, c := newTestServer(t, Config{Roots: []string{root}})
	realRoot := s.Policy().Roots()[0]

	stop := make(chan struct{})
	var swaps atomic.Int64
	var swapper sync.WaitGroup
	swapper.Add(1)
	go func() {
		defer swapper.Done()
		spares := []string{"spare-link", "spare-fifo", "spare-link-fifo"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			target := filepath.Join(root, spares[i%len(spares)])
			exchange(filepath.Join(root, "t.pcap"), target)
			exchange(filepath.Join(root, "d"), filepath.Join(root, "spare-dir-link"))
			time.Sleep(50 * time.Microsecond)
			exchange(filepath.Join(root, "t.pcap"), target)
			exchange(filepath.Join(root, "d"), filepath.Join(root, "spare-dir-link"))
			swaps.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
	}()

	const bound = 15 * time.Second
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
		slowest  time.Duration
	)
	names := []string{"t.pcap", "d/t.pcap"}
	jobs := make(chan int)
	var workers sync.WaitGroup
	for range 6 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := range jobs {
				file := names[i%len(names)]
				// One call in four reads a TCP stream: that tool reads
				// the capture on its own, outside the analysis cache.
				tool, args := "read_pcap_summary", map[string]any{"pcap_file": file}
				if i%4 == 3 {
					tool, args = "extract_tcp_stream", map[string]any{"pcap_file": file, "src": "10.1.0.0", "dst": "192.0.2.10"}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*bound)
				start := time.Now()
				res, err := callErr(ctx, c, tool, args)
				took := time.Since(start)
				cancel()
				outcome := ""
				switch {
				case err != nil:
					outcome = "protocol error: " + err.Error()
				case res.IsError:
					msg := text(t, res)
					switch {
					case strings.Contains(msg, ErrOutsideRoots.Error()):
						outcome = "outside"
					case strings.Contains(msg, ErrNotRegularFile.Error()):
						outcome = "not regular"
					default:
						outcome = "other tool error: " + msg
					}
				case tool == "extract_tcp_stream":
					// 12 connections inside, 20 outside for this source.
					var got StreamResult
					if err := json.Unmarshal([]byte(text(t, res)), &got); err != nil {
						outcome = "undecodable: " + err.Error()
						break
					}
					switch {
					case got.TotalConnections == 20:
						outcome = "ANSWERED FROM AN OUTSIDE FILE"
					case got.TotalConnections != 12:
						outcome = "unexpected connection count"
					case !strings.HasPrefix(got.PcapFile, realRoot+string(filepath.Separator)):
						outcome = "answered for a path outside the root: " + got.PcapFile
					default:
						outcome = "analysed"
					}
				default:
					var got SummaryResult
					if err := json.Unmarshal([]byte(text(t, res)), &got); err != nil {
						outcome = "undecodable: " + err.Error()
						break
					}
					switch {
					case got.TotalPackets == outsidePackets:
						outcome = "ANSWERED FROM AN OUTSIDE FILE"
					case got.TotalPackets != insidePackets:
						outcome = "unexpected packet count"
					case !strings.HasPrefix(got.PcapFile, realRoot+string(filepath.Separator)):
						outcome = "answered for a path outside the root: " + got.PcapFile
					default:
						outcome = "analysed"
					}
				}
				mu.Lock()
				outcomes[outcome]++
				slowest = max(slowest, took)
				mu.Unlock()
			}
		}()
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	workers.Wait()
	close(stop)
	swapper.Wait()

	t.Logf("%d calls, %d swap rounds, slowest call %v: %v", calls, swaps.Load(), slowest, outcomes)
	for outcome, n := range outcomes {
		switch outcome {
		case "analysed", "outside", "not regular":
		default:
			t.Errorf("%d calls: %s", n, outcome)
		}
	}
	if slowest > bound {
		t.Errorf("the slowest call took %v, want at most %v", slowest, bound)
	}
	// The race must have happened for the test to mean anything.
	if outcomes["analysed"] == 0 || outcomes["outside"] == 0 || outcomes["not regular"] == 0 {
		t.Errorf("outcomes %v: want calls analysed, refused as outside and refused as not regular", outcomes)
	}
}
