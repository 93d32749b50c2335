package capture_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// TestRecordLimits reads captures whose records and blocks declare lengths
// within and beyond the limits in limits.go. Each file is also given to
// tshark, where it is installed, as the independent judge of the packets
// before the damage and of whether the file is damaged at all (tshark
// applies the same 262,144-byte limit; it has no limit on interfaces).
func TestRecordLimits(t *testing.T) {
	tests := []struct {
		name    string
		build   func() []byte
		gz      bool
		packets int
		wantErr string // "" for a capture read to its end
		trunc   bool
		tshark  bool // tshark agrees the file is damaged (or not) at the same packet
	}{
		{"pcap at the limit", func() []byte {
			b := newPcap(le, 65535)
			b.record(60, frame(60))
			b.record(capture.MaxRecordSize, frame(capture.MaxRecordSize))
			b.record(100, frame(100))
			return b.Bytes()
		}, false, 3, "", false, true},
		{"pcap record one byte over", func() []byte {
			b := newPcap(le, 0xffffffff)
			b.record(60, frame(60))
			b.record(62, frame(62))
			b.record(capture.MaxRecordSize+1, frame(capture.MaxRecordSize+1))
			return b.Bytes()
		}, false, 2, "record of 262145 bytes exceeds the 262144-byte limit", false, true},
		{"pcap 4 GiB record, big-endian, gzip", func() []byte {
			b := newPcap(be, 0xffffffff)
			// Three good records first: tshark guesses among pcap
			// variants from the first two.
			for range 3 {
				b.record(60, frame(60))
			}
			b.record(0xffffffff, make([]byte, 1<<20))
			return b.Bytes()
		}, true, 3, "record of 4294967295 bytes exceeds the 262144-byte limit", false, true},
		{"pcapng every block type", func() []byte {
			b := newPcapng(le)
			b.idb(0, ngOpt{2, []byte("eth0")}, ngOpt{1, []byte("a comment")})
			b.block(4, []byte{0, 0, 0, 0}, 0)       // name resolution
			b.block(0x0a, make([]byte, 40), 0)      // decryption secrets
			b.block(0x40000bad, make([]byte, 8), 0) // custom
			b.epb(60, frame(60), 0, ngOpt{1, []byte("packet comment")})
			b.block(5, make([]byte, 12), 0) // interface statistics
			b.epb(capture.MaxRecordSize, frame(capture.MaxRecordSize), 0)
			b.spb(100, frame(100))
			b.block(0x1234, make([]byte, 3<<20), 0) // unknown, skipped
			b.epb(61, frame(61), 0)
			return b.Bytes()
		}, false, 4, "", false, true},
		{"pcapng two sections, big-endian second", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			s2 := newPcapng(be)
			s2.idb(0)
			s2.idb(0)
			s2.epb(70, frame(70), 0)
			b.Write(s2.Bytes())
			return b.Bytes()
		}, false, 2, "", false, true},
		{"pcapng packet one byte over", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			b.epb(capture.MaxRecordSize+1, frame(capture.MaxRecordSize+1), 0)
			return b.Bytes()
		}, false, 1, "record of 262145 bytes exceeds the 262144-byte limit", false, true},
		{"pcapng 2 GiB packet block, gzip", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			b.epb(1<<31, make([]byte, 1<<20), 32+1<<31)
			return b.Bytes()
		}, true, 1, "record of 2147483648 bytes exceeds the 262144-byte limit", false, true},
		{"pcapng block longer than any packet block", func() []byte {
			b := newPcapng(be)
			b.idb(0)
			b.epb(60, frame(60), 0)
			// Whole, with comments enough to fill it: tshark 4.0 reads it.
			var opts []ngOpt
			for range 6 {
				opts = append(opts, ngOpt{1, make([]byte, 65532)})
			}
			b.epb(60, frame(60), 0, opts...)
			return b.Bytes()
		}, false, 1, "block of type 0x00000006 declares 393312 bytes, more than the 393248-byte limit", false, false},
		{"pcapng captured length beyond its block", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			// A small block declaring 200,000 captured bytes: gopacket
			// would read them from the blocks that follow.
			b.epb(200000, frame(60), 0)
			b.epb(60, frame(60), 0)
			return b.Bytes()
		}, false, 1, "packet block of 92 bytes cannot hold its 200000 captured bytes", false, true},
		{"pcapng option past its block", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			// An option of 60,000 bytes in a block of 100.
			body := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0x60, 0xea}
			b.block(6, body, 0)
			b.epb(60, frame(60), 0)
			return b.Bytes()
		}, false, 1, "an option of 60000 bytes runs past the end of its block", false, true},
		{"pcapng simple packet beyond its block", func() []byte {
			b := newPcapng(le)
			b.idb(0) // snap length 0: no limit, the original length is captured
			b.spb(60, frame(60))
			b.spb(1<<30, frame(60))
			return b.Bytes()
		}, false, 1, "record of 1073741824 bytes exceeds the 262144-byte limit", false, true},
		{"pcapng simple packet cut to the snap length", func() []byte {
			b := newPcapng(le)
			b.idb(64)
			b.spb(1<<30, frame(64))
			return b.Bytes()
		}, false, 1, "", false, true},
		{"pcapng huge section header", func() []byte {
			b := newPcapng(le)
			b.Reset()
			b.u32(0x0a0d0d0a)
			b.u32(0xfffffff0)
			b.u32(0x1a2b3c4d)
			b.Write(make([]byte, 1<<16))
			return b.Bytes()
		}, true, 0, "declares 4294967280 bytes, more than the 393248-byte limit", false, true},
		{"pcapng unknown block over the skip limit", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			b.block(0x1234, nil, capture.MaxSkippedBlockSize+4)
			return b.Bytes()
		}, false, 1, "more than the 16777216-byte limit", false, false},
		{"pcapng cut inside a skipped block", func() []byte {
			b := newPcapng(le)
			b.idb(0)
			b.epb(60, frame(60), 0)
			b.block(0x1234, make([]byte, 100), 0)
			return b.Bytes()[:b.Len()-50]
		}, false, 1, "", true, true},
		{"pcapng too many interfaces", func() []byte {
			b := newPcapng(le)
			for range capture.MaxInterfaces + 1 {
				b.idb(0)
			}
			b.epb(60, frame(60), 0)
			return b.Bytes()
		}, true, 0, "more than 65536 interfaces in one section", false, false},
		{"pcapng interfaces at the limit, then a new section", func() []byte {
			b := newPcapng(le)
			for range capture.MaxInterfaces {
				b.idb(0)
			}
			b.epb(60, frame(60), 0)
			b.shb()
			b.idb(0)
			b.epb(60, frame(60), 0)
			return b.Bytes()
		}, true, 2, "", false, true},
		{"pcapng interface descriptions over 16 MiB", func() []byte {
			b := newPcapng(le)
			big := bytes.Repeat([]byte("x"), 65000)
			for range 90 {
				b.idb(0, ngOpt{1, big}, ngOpt{1, big}, ngOpt{1, big})
			}
			return b.Bytes()
		}, true, 0, "interface descriptions of more than 16777216 bytes in one section", false, false},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.build()
			if tt.gz {
				var z bytes.Buffer
				w := gzip.NewWriter(&z)
				w.Write(data)
				w.Close()
				data = z.Bytes()
			}
			path := filepath.Join(dir, string(rune('a'+i))+".cap")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := capture.Scan(context.Background(), path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
			} else {
				if !errors.Is(err, capture.ErrCorrupt) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Scan error = %v, want ErrCorrupt saying %q", err, tt.wantErr)
				}
			}
			got := 0
			if c != nil {
				got = c.Packets
				if c.Truncated != tt.trunc {
					t.Errorf("Truncated = %v, want %v", c.Truncated, tt.trunc)
				}
			}
			if got != tt.packets {
				t.Errorf("read %d packets, want %d", got, tt.packets)
			}
			if tt.tshark {
				tsharkAgrees(t, path, tt.packets, tt.wantErr != "")
			}
		})
	}
}

// tsharkAgrees checks that tshark reads the same number of packets from
// path and finds it damaged (or not) as well. It skips when tshark is
// absent.
func tsharkAgrees(t *testing.T, path string, packets int, damaged bool) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark is not installed: no independent check")
		return
	}
	var stderr bytes.Buffer
	// Only Ethernet frames: tshark shows custom blocks as frames too.
	cmd := exec.Command("tshark", "-n", "-r", path, "-Y", "eth", "-T", "fields", "-e", "frame.number")
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	n := strings.Count(string(out), "\n")
	said := strings.Contains(stderr.String(), "damaged or corrupt") || strings.Contains(stderr.String(), "isn't a capture file")
	if n != packets || said != damaged {
		t.Errorf("tshark read %d packets (damaged: %v, %q); we read %d (damaged: %v)", n, said, stderr.String(), packets, damaged)
	}
}
