package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The bounds every hostile capture is analysed within, by default.
const (
	hostileMaxRSS  = 1 << 30 // bytes of peak resident memory
	hostileMaxTime = 60 * time.Second
)

// buildReconpcap builds the command into a temporary directory, for tests
// that must watch a real process (its peak memory, its signals).
// RECONPCAP_BIN names a binary to test instead (another build, an older
// version to see the tests fail).
func buildReconpcap(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; not with -short")
	}
	if bin := os.Getenv("RECONPCAP_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "reconpcap")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runMeasured runs bin with args and returns its stdout, stderr, exit
// status and peak resident memory in bytes (from the kernel's rusage of
// the child), failing the test past hostileMaxTime.
func runMeasured(t *testing.T, bin string, args ...string) (string, string, int, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileMaxTime)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "OPENAI_API_KEY=", "OPENAI_BASE_URL=")
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v still running after %v", args, hostileMaxTime)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage for the child")
	}
	rss := ru.Maxrss * 1024 // KiB on Linux
	t.Logf("%s: exit %d in %v, peak RSS %d MiB", args[0], code, time.Since(start).Round(time.Millisecond), rss>>20)
	return stdout.String(), stderr.String(), code, rss
}

// gzipRepeat writes head, then body n times, then tail, gzip-compressed,
// to path. body is compressed once and its gzip member written n times
// (gzip readers read concatenated members as one stream), so gigabytes of
// zeros take a moment and a few megabytes of disk.
func gzipRepeat(t *testing.T, path string, head, body []byte, n int, tail []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		z.Write(b)
		z.Close()
		return buf.Bytes()
	}
	w.Write(member(head))
	m := member(body)
	for range n {
		w.Write(m)
	}
	if len(tail) > 0 {
		w.Write(member(tail))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// le32 appends little-endian 32-bit words.
func le32(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// Pieces of hostile captures, little-endian.
var (
	// An Ethernet frame with an IPv4 header and nothing after it.
	hostileFrame = []byte{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 8, 0, 0x45, 0, 0, 20, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	// A pcapng section header: 28 bytes, version 1.0, length unknown.
	ngSHB = le32(nil, 0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28)
	// An Ethernet interface description without options: 20 bytes.
	ngIDB = le32(nil, 1, 20, 1, 0, 20)
)

// ngEPBHeader is an enhanced packet block's first 28 bytes declaring
// caplen captured bytes in a block of length bytes.
func ngEPBHeader(caplen, length uint32) []byte {
	return le32(nil, 6, length, 0, 0, 1700000000, caplen, caplen)
}

// ngEPB is a whole enhanced packet block holding frame.
func ngEPB(frame []byte) []byte {
	padded := (len(frame) + 3) &^ 3
	length := uint32(32 + padded)
	b := append(ngEPBHeader(uint32(len(frame)), length), frame...)
	b = append(b, make([]byte, padded-len(frame))...)
	return le32(b, length)
}

// TestHostileCaptures: captures made to exhaust memory (records declaring
// gigabytes and holding them, as zeros that compress to megabytes; millions
// of interface blocks) are analysed by `reconpcap analyze`, as a separate
// process, within the default bounds, and refused as corrupt with the
// limit named. Each is generated here, compressed, in a temporary
// directory.
func TestHostileCaptures(t *testing.T) {
	bin := buildReconpcap(t)
	dir := t.TempDir()
	const mib = 1 << 20
	zeros := make([]byte, mib)
	tests := []struct {
		name  string
		write func(path string)
		want  string // in the error on stderr
	}{
		{"pcap record of 4 GiB", func(path string) {
			// Header allowing 4 GiB records, one good packet, then a
			// record declaring 4 GiB - 1 and holding it.
			head := le32(nil, 0xa1b2c3d4, 0x00040002, 0, 0, 0xffffffff, 1)
			head = le32(head, 1700000000, 0, uint32(len(hostileFrame)), uint32(len(hostileFrame)))
			head = append(head, hostileFrame...)
			head = le32(head, 1700000001, 0, 0xffffffff, 0xffffffff)
			gzipRepeat(t, path, head, zeros, 4096, nil)
		}, "capture is corrupt: record of 4294967295 bytes exceeds the 262144-byte limit (after 1 packets)"},
		{"pcapng packet block of 2 GiB", func(path string) {
			head := append(append([]byte{}, ngSHB...), ngIDB...)
			head = append(head, ngEPB(hostileFrame)...)
			head = append(head, ngEPBHeader(1<<31, 1<<31+32)...)
			gzipRepeat(t, path, head, zeros, 2048, le32(nil, 1<<31+32))
		}, "capture is corrupt: record of 2147483648 bytes exceeds the 262144-byte limit (after 1 packets)"},
		{"pcapng 3 million interfaces", func(path string) {
			chunk := bytes.Repeat(ngIDB, 10000)
			gzipRepeat(t, path, ngSHB, chunk, 300, ngEPB(hostileFrame))
		}, "capture is corrupt: more than 65536 interfaces in one section"},
		{"pcapng interfaces of 192 KiB options", func(path string) {
			// Three comments of 65,532 bytes each: every interface is kept
			// with its strings as long as its section lasts.
			idb := le32(nil, 1, 0, 1, 0)
			for range 3 {
				idb = append(le32(idb, 65532<<16|1), make([]byte, 65532)...)
			}
			idb = le32(idb, 0, 0)
			binary.LittleEndian.PutUint32(idb[4:], uint32(len(idb)))
			binary.LittleEndian.PutUint32(idb[len(idb)-4:], uint32(len(idb)))
			gzipRepeat(t, path, ngSHB, idb, 20000, ngEPB(hostileFrame))
		}, "capture is corrupt: interface descriptions of more than 16777216 bytes in one section"},
		{"pcapng option running past its block", func(path string) {
			// A 36-byte packet block whose one option declares 65,532
			// bytes; after it, 2 GiB of comment options, which a reader
			// that trusts the option would keep as that packet's comments.
			head := append(append([]byte{}, ngSHB...), ngIDB...)
			head = append(head, ngEPB(hostileFrame)...)
			head = le32(append(head, ngEPBHeader(0, 36)...), 65532<<16|1, 36)
			comment := le32(nil, 65532<<16|1)
			comment = append(comment, bytes.Repeat([]byte("x"), 65532)...)
			gzipRepeat(t, path, head, bytes.Repeat(comment, 16), 2048, nil)
		}, "capture is corrupt: an option of 65532 bytes runs past the end of its block (type 0x00000006) (after 1 packets)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, string(rune('a'+i))+".pcap.gz")
			tt.write(path)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d KiB on disk", tt.name, st.Size()>>10)
			_, stderr, code, rss := runMeasured(t, bin, "analyze", path)
			if code != 1 {
				t.Errorf("exit status %d, want 1 (the work failed)", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if rss > hostileMaxRSS {
				t.Errorf("peak RSS %d MiB, over the %d MiB bound", rss>>20, hostileMaxRSS>>20)
			}
		})
	}
}

// TestHostileBoundsCanFail: the memory measure is real: a child that
// holds 1.1 GiB (a string perl zero-fills) is measured over the bound.
func TestHostileBoundsCanFail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a process that takes 1.1 GiB")
	}
	perl, err := exec.LookPath("perl")
	if err != nil {
		t.Skip("no perl to allocate with")
	}
	_, _, _, rss := runMeasured(t, perl, "-e", `vec(my $x, (1100 << 23) - 1, 1) = 1;`)
	if rss < hostileMaxRSS {
		t.Errorf("a process holding 1.1 GiB measured %d MiB", rss>>20)
	}
}
