package detectors

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// fuzzTimeout bounds one fuzz input. Inputs are a few kilobytes: a pass
// that needs more than this is a hang.
const fuzzTimeout = 10 * time.Second

// fuzzSeedMax is the largest file added to the seed corpus: the mutator
// works best on small inputs.
const fuzzSeedMax = 64 << 10

// pcapHeader returns a little-endian microsecond pcap file header.
func pcapHeader(snaplen, link uint32) []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], link)
	return h
}

// pcapRecord returns a record header and data.
func pcapRecord(caplen, length uint32, data []byte) []byte {
	r := make([]byte, 16, 16+len(data))
	binary.LittleEndian.PutUint32(r[0:], 1709283600)
	binary.LittleEndian.PutUint32(r[8:], caplen)
	binary.LittleEndian.PutUint32(r[12:], length)
	return append(r, data...)
}

// ngBlock returns a pcapng block of type t with body b, its total length
// field set to total (the real length when total is 0).
func ngBlock(t uint32, b []byte, total uint32) []byte {
	n := uint32(12 + len(b))
	if total == 0 {
		total = n
	}
	out := binary.LittleEndian.AppendUint32(nil, t)
	out = binary.LittleEndian.AppendUint32(out, total)
	out = append(out, b...)
	return binary.LittleEndian.AppendUint32(out, total)
}

// ngSHB returns a section header block of the given version.
func ngSHB(major, minor uint16) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	b = binary.LittleEndian.AppendUint16(b, major)
	b = binary.LittleEndian.AppendUint16(b, minor)
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
	return ngBlock(0x0a0d0d0a, b, 0)
}

// ngIDB returns an interface description block.
func ngIDB(link uint16, snaplen uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, link)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, snaplen)
	return ngBlock(1, b, 0)
}

// ngEPB returns an enhanced packet block on interface iface.
func ngEPB(iface, caplen, length uint32, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, iface)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint32(b, caplen)
	b = binary.LittleEndian.AppendUint32(b, length)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return ngBlock(6, b, 0)
}

// ethIPv4UDP is a minimal Ethernet/IPv4/UDP frame to DNS port 53 with a
// 12-byte DNS header.
var ethIPv4UDP = []byte{
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
	0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x30, 0x39, 0, 53, 0, 20, 0, 0,
	0x12, 0x34, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
}

// damagedSeeds are hand-made headers and records around every limit the
// reader checks.
func damagedSeeds() map[string][]byte {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	good := append(pcapHeader(65535, 1), pcapRecord(uint32(len(ethIPv4UDP)), uint32(len(ethIPv4UDP)), ethIPv4UDP)...)
	ng := bytes.Join([][]byte{ngSHB(1, 0), ngIDB(1, 65535), ngIDB(101, 0), ngEPB(0, uint32(len(ethIPv4UDP)), uint32(len(ethIPv4UDP)), ethIPv4UDP), ngEPB(1, 28, 28, ethIPv4UDP[14:42])}, nil)
	be := append([]byte{}, good...)
	for i := 0; i < 24; i += 4 { // byte-swap the file header
		if i == 4 {
			be[4], be[5], be[6], be[7] = be[5], be[4], be[7], be[6]
			continue
		}
		be[i], be[i+1], be[i+2], be[i+3] = be[i+3], be[i+2], be[i+1], be[i]
	}
	be = be[:24] // a big-endian header alone
	return map[string][]byte{
		"pcap_one_dns":           good,
		"pcap_cut_in_header":     good[:24+10],
		"pcap_cut_after_header":  good[:24+16],
		"pcap_cut_in_data":       good[:len(good)-5],
		"pcap_huge_caplen":       append(pcapHeader(0xffffffff, 1), pcapRecord(0x7ffffff0, 0x7ffffff0, []byte("xxxx"))...),
		"pcap_negative_caplen":   append(pcapHeader(0xffffffff, 1), pcapRecord(0xfffffff0, 0xfffffff0, nil)...),
		"pcap_caplen_over_len":   append(pcapHeader(65535, 1), pcapRecord(60, 20, ethIPv4UDP)...),
		"pcap_caplen_over_snap":  append(pcapHeader(16, 1), pcapRecord(uint32(len(ethIPv4UDP)), uint32(len(ethIPv4UDP)), ethIPv4UDP)...),
		"pcap_unknown_link":      append(pcapHeader(65535, 0xbeef), pcapRecord(20, 20, ethIPv4UDP[:20])...),
		"pcap_link_raw":          append(pcapHeader(65535, 101), pcapRecord(28, 28, ethIPv4UDP[14:42])...),
		"pcap_link_null":         append(pcapHeader(65535, 0), pcapRecord(32, 32, append([]byte{2, 0, 0, 0}, ethIPv4UDP[14:42]...))...),
		"pcap_link_sll2":         append(pcapHeader(65535, 276), pcapRecord(8, 8, []byte{8, 0, 0, 0, 0, 0, 0, 1})...),
		"pcap_version_9":         append(append(pcapHeader(65535, 1)[:4], 9, 0, 4, 0), pcapHeader(65535, 1)[8:]...),
		"pcap_be_header":         be,
		"pcap_gzip":              gz(good),
		"pcap_gzip_cut":          gz(good)[:30],
		"gzip_empty":             gz(nil),
		"gzip_text":              gz([]byte("hello, not a capture\n")),
		"pcapng_two_ifaces":      ng,
		"pcapng_version_2":       bytes.Join([][]byte{ngSHB(2, 0), ngIDB(1, 0)}, nil),
		"pcapng_bad_iface":       bytes.Join([][]byte{ngSHB(1, 0), ngIDB(1, 0), ngEPB(7, 4, 4, []byte("abcd"))}, nil),
		"pcapng_huge_block":      append(ngSHB(1, 0), ngBlock(6, make([]byte, 20), 0x7ffffff0)...),
		"pcapng_block_len_short": append(ngSHB(1, 0), ngBlock(1, nil, 4)...),
		"pcapng_cut":             ng[:len(ng)-7],
		"pcapng_two_sections":    bytes.Join([][]byte{ng, ngSHB(1, 0), ngIDB(276, 0), ngEPB(0, 8, 8, []byte{8, 0, 0, 0, 0, 0, 0, 1})}, nil),
		"text":                   []byte("GET / HTTP/1.1\r\n\r\n"),
		"three_bytes":            {0xd4, 0xc3, 0xb2},
	}
}

// addSeeds gives the fuzzer the damaged seeds, the generated edge cases
// in ../testdata, and small captures of the public corpus when present.
func addSeeds(f *testing.F) {
	for _, b := range damagedSeeds() {
		f.Add(b)
	}
	var files []string
	gen, _ := filepath.Glob(filepath.Join("..", "testdata", "gen_*"))
	files = append(files, gen...)
	if d := corpusDir(); d != "" {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && (strings.Contains(p, ".pcap") || strings.HasSuffix(p, ".cap")) {
				files = append(files, p)
			}
			return nil
		})
	}
	for _, p := range files {
		if st, err := os.Stat(p); err == nil && st.Size() <= fuzzSeedMax {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// checkErr fails unless err is nil, a *CaptureError of a documented
// kind, or the context's own error.
func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return
	}
	var ce *capture.CaptureError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: error %T is not a *CaptureError: %v", what, err, err)
	}
	for _, k := range []error{capture.ErrNotFound, capture.ErrNotRegular, capture.ErrPermission, capture.ErrEmpty, capture.ErrNotCapture, capture.ErrUnsupportedVersion, capture.ErrCorrupt} {
		if ce.Kind == k {
			return
		}
	}
	t.Fatalf("%s: CaptureError kind %v is not one of the sentinels", what, ce.Kind)
}

// packetCounter is an analysis that only counts.
type packetCounter struct{ n int }

func (c *packetCounter) Packet(*capture.Packet) { c.n++ }

// FuzzAnalyze writes the input to a file and analyses it: no panic, no
// hang, only typed errors, and a result whose numbers agree.
func FuzzAnalyze(f *testing.F) {
	addSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "input")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), fuzzTimeout)
		defer cancel()
		a, err := Analyze(ctx, path, Config{})
		if ctx.Err() != nil {
			t.Fatalf("Analyze of %d bytes did not finish in %v", len(data), fuzzTimeout)
		}
		checkErr(t, "Analyze", err)
		if err == nil && a == nil {
			t.Fatal("Analyze returned neither an analysis nor an error")
		}
		if a != nil {
			s := a.Summary
			if s.TotalPackets < 0 || s.UniqueIPs < 0 || s.TotalBytes < 0 || s.CapturedBytes > s.TotalBytes {
				t.Fatalf("impossible summary: %+v", s)
			}
			if _, err := json.Marshal(a); err != nil {
				t.Fatalf("the analysis does not marshal: %v", err)
			}
			if _, err := a.TimelineAt(time.Second); err != nil {
				t.Fatalf("TimelineAt(1s): %v", err)
			}
		}

		var pc packetCounter
		c, serr := capture.Scan(ctx, path, &pc)
		checkErr(t, "Scan", serr)
		if c != nil && c.Packets != pc.n {
			t.Fatalf("Scan counted %d packets, the analyzer saw %d", c.Packets, pc.n)
		}
		if a != nil && c != nil && a.Summary.TotalPackets != c.Packets {
			t.Fatalf("Analyze counted %d packets, Scan %d", a.Summary.TotalPackets, c.Packets)
		}
		if (err == nil) != (serr == nil) {
			t.Fatalf("Analyze error %v, Scan error %v", err, serr)
		}
	})
}

// errKind returns the sentinel err wraps, or nil.
func errKind(err error) error {
	var ce *capture.CaptureError
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return err
}

// FuzzOpen checks that gzip changes nothing: the input read plain and read
// gzip-compressed gives the same packets, truncation and kind of error.
func FuzzOpen(f *testing.F) {
	addSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || (data[0] == 0x1f && data[1] == 0x8b) {
			return // the reader unwraps one gzip layer only
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		plain, packed := filepath.Join(dir, "plain"), filepath.Join(dir, "packed")
		if err := os.WriteFile(plain, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(packed, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), fuzzTimeout)
		defer cancel()
		c1, err1 := capture.Scan(ctx, plain)
		c2, err2 := capture.Scan(ctx, packed)
		if ctx.Err() != nil {
			t.Fatalf("Scan of %d bytes did not finish in %v", len(data), fuzzTimeout)
		}
		checkErr(t, "Scan plain", err1)
		checkErr(t, "Scan gzip", err2)
		if k1, k2 := errKind(err1), errKind(err2); k1 != k2 {
			t.Fatalf("plain: %v; gzip: %v", err1, err2)
		}
		if (c1 == nil) != (c2 == nil) {
			t.Fatalf("plain capture %v, gzip capture %v", c1 != nil, c2 != nil)
		}
		if c1 != nil && (c1.Packets != c2.Packets || c1.Truncated != c2.Truncated || c1.Bytes != c2.Bytes) {
			t.Fatalf("plain: %d packets, %d bytes, truncated %v; gzip: %d packets, %d bytes, truncated %v",
				c1.Packets, c1.Bytes, c1.Truncated, c2.Packets, c2.Bytes, c2.Truncated)
		}
	})
}

// TestDamagedFileMemory checks that a tiny file whose headers announce
// huge lengths makes the reader allocate little: lengths come from the
// file, and the file is 40 bytes.
func TestDamagedFileMemory(t *testing.T) {
	const limit = 16 << 20
	seeds := damagedSeeds()
	for _, name := range []string{"pcap_huge_caplen", "pcap_negative_caplen", "pcapng_huge_block", "pcap_gzip_cut"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, seeds[name], 0o644); err != nil {
				t.Fatal(err)
			}
			// One pass first, so that lazily built package state is not counted.
			Analyze(context.Background(), path, Config{})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Analyze(context.Background(), path, Config{})
			runtime.ReadMemStats(&after)
			checkErr(t, "Analyze", err)
			if got := after.TotalAlloc - before.TotalAlloc; got > limit {
				t.Errorf("Analyze of a %d-byte file allocated %d MiB, want at most %d MiB", len(seeds[name]), got>>20, limit>>20)
			}
		})
	}
}

// TestDamagedSeeds pins what the reader makes of each hand-made damaged
// input, so a regression shows as a changed kind rather than only in a
// fuzz run.
func TestDamagedSeeds(t *testing.T) {
	seeds := damagedSeeds()
	tests := []struct {
		name      string
		packets   int
		truncated bool
		kind      error
	}{
		{"pcap_one_dns", 1, false, nil},
		{"pcap_cut_in_header", 0, true, nil},
		{"pcap_cut_after_header", 0, true, nil},
		{"pcap_cut_in_data", 0, true, nil},
		// A record over 262,144 bytes is refused, not read as cut short.
		{"pcap_huge_caplen", 0, false, capture.ErrCorrupt},
		{"pcap_caplen_over_snap", 1, false, nil}, // pcapgo, like libpcap, accepts records up to 262144 bytes whatever the snap length
		{"pcapng_cut", 1, true, nil},
		{"pcap_caplen_over_len", 0, false, capture.ErrCorrupt},
		{"pcap_unknown_link", 1, false, nil},
		{"pcap_link_raw", 1, false, nil},
		{"pcap_link_null", 1, false, nil},
		{"pcap_version_9", 0, false, capture.ErrUnsupportedVersion},
		{"pcap_be_header", 0, false, nil},
		{"pcap_gzip", 1, false, nil},
		{"gzip_text", 0, false, capture.ErrNotCapture},
		{"pcapng_two_ifaces", 2, false, nil},
		{"pcapng_version_2", 0, false, capture.ErrUnsupportedVersion},
		{"pcapng_bad_iface", 0, false, capture.ErrCorrupt},
		{"pcapng_two_sections", 3, false, nil},
		{"text", 0, false, capture.ErrNotCapture},
		{"three_bytes", 0, false, capture.ErrNotCapture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name)
			if err := os.WriteFile(path, seeds[tt.name], 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := capture.Scan(context.Background(), path)
			checkErr(t, "Scan", err)
			if tt.kind == nil && err != nil {
				t.Fatalf("Scan: %v, want no error", err)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Fatalf("Scan: %v, want %v", err, tt.kind)
			}
			if c == nil {
				if tt.packets != 0 {
					t.Fatalf("no capture, want %d packets", tt.packets)
				}
				return
			}
			if c.Packets != tt.packets || c.Truncated != tt.truncated {
				t.Errorf("Scan: %d packets, truncated %v; want %d, %v", c.Packets, c.Truncated, tt.packets, tt.truncated)
			}
		})
	}
}
