package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// reconpcapBinary builds this command once per test run: these tests are
// about the process (signals, pipes, exit), not the function.
func reconpcapBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reconpcap-cmd-test-")
		if err != nil {
			buildErr = err
			return
		}
		p := filepath.Join(dir, "reconpcap")
		if out, err := exec.Command("go", "build", "-o", p, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		builtBin = p
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// capturePackets is capinfos's packet count for a capture: the truth the
// server's answer is checked against.
func capturePackets(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("capinfos", "-c", "-M", path).Output()
	if err != nil {
		t.Skipf("capinfos: %v", err)
	}
	m := regexp.MustCompile(`Number of packets:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("capinfos printed no packet count: %s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

const (
	mcpInitialize  = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n"
	mcpInitialized = `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"
)

func summaryRequest(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"read_pcap_summary","arguments":{"pcap_file":"scan_syn.pcap"}}}`+"\n", id)
}

// startMCP starts `reconpcap mcp` over stdio on the repository's captures.
func startMCP(t *testing.T, stdout io.Writer) (*exec.Cmd, io.WriteCloser, chan error) {
	t.Helper()
	root, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(reconpcapBinary(t), "mcp", "--root", root)
	cmd.Stdout = stdout
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		waited <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // harmless once it has exited
		<-exited
	})
	return cmd, stdin, waited
}

// TestMCPBinaryEOFAfterCall closes stdin right after a tools/call: the
// process answers the call with its result (not "context canceled"), then
// exits with status 0.
func TestMCPBinaryEOFAfterCall(t *testing.T) {
	want := capturePackets(t, "../../testdata/scan_syn.pcap")
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	_, stdin, waited := startMCP(t, outW)
	outW.Close() // the child holds its own copy
	if _, err := io.WriteString(stdin, mcpInitialize+mcpInitialized+summaryRequest(2)+summaryRequest(3)); err != nil {
		t.Fatal(err)
	}
	stdin.Close()

	type response struct {
		ID     int `json:"id"`
		Result *struct {
			IsError    bool `json:"isError"`
			Structured struct {
				TotalPackets int `json:"total_packets"`
			} `json:"structuredContent"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	got := map[int]response{}
	sc := bufio.NewScanner(outR)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("stdout line is not JSON-RPC: %q", sc.Text())
		}
		got[r.ID] = r
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit: %v, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the process did not exit after answering")
	}
	if len(got) != 3 {
		t.Errorf("%d replies, want 3 (initialize and two calls)", len(got))
	}
	for _, id := range []int{2, 3} {
		r := got[id]
		if r.Error != nil || r.Result == nil || r.Result.IsError || r.Result.Structured.TotalPackets != want {
			t.Errorf("call %d: error %+v, result %+v; want total_packets %d", id, r.Error, r.Result, want)
		}
	}
}

// TestMCPBinarySIGTERMUnread sends 40 calls and never reads stdout (a pipe
// shrunk to one page, so the server blocks writing), closes stdin, then
// sends SIGTERM: the process must exit within a second.
func TestMCPBinarySIGTERMUnread(t *testing.T) {
	for _, closeStdin := range []bool{true, false} {
		t.Run(fmt.Sprintf("stdin closed %v", closeStdin), func(t *testing.T) {
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer outR.Close()
			// F_SETPIPE_SZ (1031): one page of buffer instead of 64 KiB.
			if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, outW.Fd(), 1031, 4096); errno != 0 {
				t.Logf("F_SETPIPE_SZ: %v (the pipe keeps its default size)", errno)
			}
			cmd, stdin, waited := startMCP(t, outW)
			outW.Close()
			var msgs strings.Builder
			msgs.WriteString(mcpInitialize + mcpInitialized)
			for i := 2; i <= 41; i++ {
				msgs.WriteString(summaryRequest(i))
			}
			if _, err := io.WriteString(stdin, msgs.String()); err != nil {
				t.Fatal(err)
			}
			if closeStdin {
				stdin.Close()
			}
			// Let it answer what it can and block on the full pipe.
			time.Sleep(time.Second)
			select {
			case err := <-waited:
				t.Fatalf("exited (%v) with its replies unread", err)
			default:
			}
			start := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-waited:
				if d := time.Since(start); d > time.Second {
					t.Errorf("exited %v after SIGTERM, want within 1s", d)
				}
				if err != nil {
					t.Errorf("exit after SIGTERM: %v, want status 0", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still running 5s after SIGTERM")
			}
		})
	}
}
