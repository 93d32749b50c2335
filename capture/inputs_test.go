package capture_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// indexer records every packet's frame number and time.
type indexer struct {
	frames []int
	times  []int64
}

func (x *indexer) Packet(p *capture.Packet) {
	x.frames = append(x.frames, p.Index)
	x.times = append(x.times, p.Time.UnixNano())
}

// TestOpenInputsOrdersByFirstPacket: files are read in the time order of
// their first packets, whatever their names, frames run on across them,
// and a directory's files that are not captures are skipped and told.
func TestOpenInputsOrdersByFirstPacket(t *testing.T) {
	dir := t.TempDir()
	// scan_syn.pcap (2005 packets) starts before http_ffuf.pcap (520
	// packets); the names say the opposite.
	copyFile(t, testfiles.Testdata(t, "scan_syn.pcap"), filepath.Join(dir, "b.pcap"))
	copyFile(t, testfiles.Testdata(t, "http_ffuf.pcap"), filepath.Join(dir, "a.pcap"))
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a capture\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.pcap"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte("x"), 0o644)

	first := func(name string) int64 {
		x := &indexer{}
		if _, err := capture.Scan(context.Background(), filepath.Join(dir, name), x); err != nil {
			t.Fatal(err)
		}
		return x.times[0]
	}
	if first("b.pcap") >= first("a.pcap") {
		t.Fatal("the test wants b.pcap to start before a.pcap")
	}
	in, err := capture.OpenInputs([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var names []string
	for _, s := range in.Sources {
		names = append(names, filepath.Base(s.Name))
	}
	if strings.Join(names, ",") != "b.pcap,a.pcap" || len(in.Skipped) != 2 {
		t.Errorf("sources %v, skipped %v; want b.pcap,a.pcap and 2 skipped", names, in.Skipped)
	}
	x := &indexer{}
	c, err := capture.ScanFiles(context.Background(), in.Sources, capture.Config{}, x)
	if err != nil {
		t.Fatal(err)
	}
	if c.Packets != 2525 || c.Read != 2525 || len(c.Files) != 2 || x.frames[0] != 1 || x.frames[2004] != 2005 || x.frames[2005] != 2006 || x.frames[2524] != 2525 {
		t.Errorf("packets %d, read %d, files %v; frames %d..%d, %d..%d", c.Packets, c.Read, c.Files, x.frames[0], x.frames[2004], x.frames[2005], x.frames[2524])
	}
	if in.Start.UnixNano() != x.times[0] || !c.Start.Equal(in.Start) {
		t.Errorf("inputs start %v, capture start %v, first packet %v", in.Start, c.Start, x.times[0])
	}
}

func TestOpenInputsErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a capture\n"), 0o644)
	tests := []struct {
		paths []string
		stdin []byte
		kind  error
	}{
		{[]string{filepath.Join(dir, "notes.txt")}, nil, capture.ErrNotCapture}, // named: an error, not skipped
		{[]string{dir}, nil, capture.ErrEmpty},                                  // no capture in it
		{[]string{filepath.Join(dir, "missing.pcap")}, nil, capture.ErrNotFound},
		{[]string{"-"}, nil, capture.ErrEmpty},                               // empty standard input
		{[]string{"-"}, []byte("GET / HTTP/1.1\r\n"), capture.ErrNotCapture}, // not a capture
		{[]string{"-", "-"}, []byte("x"), nil},
	}
	for _, tt := range tests {
		_, err := capture.OpenInputs(tt.paths, bytes.NewReader(tt.stdin))
		if err == nil || (tt.kind != nil && !errors.Is(err, tt.kind)) {
			t.Errorf("%v: err %v, want %v", tt.paths, err, tt.kind)
		}
	}
}

// TestProgressReachesTheTotal: the progress hook's bytes grow to the
// files' total size, compressed bytes for a gzip file, and the packets
// are those of the files.
func TestProgressReachesTheTotal(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "scan.pcap")
	copyFile(t, testfiles.Testdata(t, "scan_syn.pcap"), plain)
	data, _ := os.ReadFile(plain)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	gz := filepath.Join(dir, "scan.pcap.gz")
	os.WriteFile(gz, b.Bytes(), 0o644)
	for _, paths := range [][]string{{plain}, {gz}, {plain, gz}} {
		in, err := capture.OpenInputs(paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, p := range paths {
			st, _ := os.Stat(p)
			total += st.Size()
		}
		var calls []int64
		c, err := capture.ScanFiles(context.Background(), in.Sources, capture.Config{Progress: func(done, tot int64) {
			if tot != total {
				t.Errorf("%v: total %d, want %d", paths, tot, total)
			}
			calls = append(calls, done)
		}})
		in.Close()
		if err != nil || c.Packets != 2005*len(paths) {
			t.Fatalf("%v: %v, %d packets", paths, err, c.Packets)
		}
		for i := 1; i < len(calls); i++ {
			if calls[i] < calls[i-1] {
				t.Errorf("%v: progress went back from %d to %d", paths, calls[i-1], calls[i])
			}
		}
		if len(calls) == 0 || calls[len(calls)-1] != total {
			t.Errorf("%v: progress %v, want it to end at %d", paths, calls, total)
		}
	}
}

// TestFilterInThePass: packets the filter refuses keep their frame
// numbers but are not counted nor seen.
func TestFilterInThePass(t *testing.T) {
	x := &indexer{}
	even := filterFunc(func(_ *capture.Packet, frame int) bool { return frame%2 == 0 })
	c, err := capture.ScanConfig(context.Background(), testfiles.Testdata(t, "scan_syn.pcap"), capture.Config{Filter: even}, x)
	if err != nil {
		t.Fatal(err)
	}
	if c.Read != 2005 || c.Packets != 1002 || len(x.frames) != 1002 || x.frames[0] != 2 || x.frames[1001] != 2004 {
		t.Errorf("read %d, kept %d, seen %d", c.Read, c.Packets, len(x.frames))
	}
}

type filterFunc func(*capture.Packet, int) bool

func (f filterFunc) Match(p *capture.Packet, frame int) bool { return f(p, frame) }
