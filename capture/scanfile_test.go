package capture_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// copyFile copies a testdata capture into dir.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanFileReadsTheDescriptor checks ScanFile reads the file it was
// given, from its start, whatever became of the name since: another
// capture renamed over it is not read. Packet counts are capinfos' (see
// testdata/ground_truth.json).
func TestScanFileReadsTheDescriptor(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "traffic.pcap")
	copyFile(t, testfiles.Testdata(t, "scan_syn.pcap"), name) // 2005 packets
	other := filepath.Join(dir, "other.pcap")
	copyFile(t, testfiles.Testdata(t, "http_ffuf.pcap"), other) // 520 packets
	f, err := capture.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Rename(other, name); err != nil {
		t.Fatal(err)
	}
	// The descriptor's offset is not where ScanFile starts.
	if _, err := f.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	for range 2 { // and it can be scanned again
		var n counter
		c, err := capture.ScanFile(context.Background(), f, name, capture.Config{}, &n)
		if err != nil {
			t.Fatal(err)
		}
		if c.Packets != 2005 || n.packets != 2005 || c.Path != name {
			t.Errorf("ScanFile: %d packets (analyzer %d) named %q; want 2005 from the file opened, named %q", c.Packets, n.packets, c.Path, name)
		}
	}
	// The path version opens the name now: the other capture.
	c, err := capture.Scan(context.Background(), name)
	if err != nil || c.Packets != 520 {
		t.Fatalf("Scan after the rename: %v packets, %v; want 520", c, err)
	}
}

// TestScanFileRefusesWhatIsNotARegularFile checks the descriptor itself is
// checked, and that a fifo is refused at once rather than read.
func TestScanFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
		detail     string
	}{
		{"fifo", fifo, capture.ErrNotRegular, "a FIFO"},
		{"directory", dir, capture.ErrNotRegular, "a directory"},
		{"empty", empty, capture.ErrEmpty, "0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.OpenFile(tt.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			done := make(chan error, 1)
			go func() { _, err := capture.ScanFile(context.Background(), f, tt.path, capture.Config{}); done <- err }()
			select {
			case err := <-done:
				var ce *capture.CaptureError
				if !errors.Is(err, tt.want) || !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.detail) {
					t.Errorf("ScanFile(%s) = %v; want a *CaptureError for %v saying %q", tt.name, err, tt.want, tt.detail)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("ScanFile(%s) did not return", tt.name)
			}
			// Open (the path version) refuses the same, without
			// opening a fifo for reading.
			if _, err := capture.Open(tt.path); tt.want == capture.ErrNotRegular && !errors.Is(err, tt.want) {
				t.Errorf("Open(%s) = %v; want %v", tt.name, err, tt.want)
			}
		})
	}
}

// sparseCapture writes a pcap file header and makes the file size bytes
// long without writing them: a sparse file of zero records (16-byte
// headers of empty packets) that reads at memory speed.
func sparseCapture(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "huge.pcap")
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	if err := os.WriteFile(path, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Skipf("cannot make a %d-byte sparse file here: %v", size, err)
	}
	return path
}

// TestScanFileDeadline checks a 100 GB capture is answered at the deadline
// with the packets read so far, marked Stopped with a warning and no
// error, while a cancellation stays an error.
func TestScanFileDeadline(t *testing.T) {
	path := sparseCapture(t, 100<<30)
	f, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	var n counter
	c, err := capture.ScanFile(ctx, f, path, capture.Config{}, &n)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("ScanFile at its deadline: %v; want the partial capture and no error", err)
	}
	if took > deadline+2*time.Second {
		t.Errorf("ScanFile took %v with a %v deadline", took, deadline)
	}
	if !c.Stopped || c.Packets == 0 || n.packets != c.Packets {
		t.Errorf("Stopped %v, %d packets (analyzer %d); want stopped after some packets", c.Stopped, c.Packets, n.packets)
	}
	if len(c.Warnings) == 0 || !strings.Contains(c.Warnings[len(c.Warnings)-1], "deadline") || !strings.Contains(c.Warnings[len(c.Warnings)-1], "of 107.37 GB") {
		t.Errorf("warnings %q; want one saying the deadline stopped the read, and how far", c.Warnings)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(deadline, cancel)
	c, err = capture.ScanFile(ctx, f, path, capture.Config{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ScanFile cancelled: %v; want context.Canceled", err)
	}
	if c != nil && c.Stopped {
		t.Error("a cancelled scan is marked Stopped, as if a deadline had cut it")
	}
}

// TestScanFileDeadlineInsideSkippedBlocks checks the deadline also stops
// a read that returns no packet: pcapng blocks of a type the reader skips
// are skipped inside a single read call, so a file of nothing else (4 GiB
// here, sparse) would be read to its end, past any deadline checked only
// between packets.
func TestScanFileDeadlineInsideSkippedBlocks(t *testing.T) {
	const (
		blockSize = 128 << 10
		size      = 4 << 30
	)
	path := filepath.Join(t.TempDir(), "blocks.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	// Section header block (28 bytes) and interface description block
	// (20), then unknown blocks of blockSize, their zeros left sparse.
	head := le.AppendUint32(nil, 0x0a0d0d0a)
	head = le.AppendUint32(head, 28)
	head = le.AppendUint32(head, 0x1a2b3c4d)
	head = le.AppendUint16(head, 1)
	head = le.AppendUint16(head, 0)
	head = le.AppendUint64(head, ^uint64(0))
	head = le.AppendUint32(head, 28)
	head = le.AppendUint32(head, 1)
	head = le.AppendUint32(head, 20)
	head = le.AppendUint16(head, 1)
	head = le.AppendUint16(head, 0)
	head = le.AppendUint32(head, 65535)
	head = le.AppendUint32(head, 20)
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	off := int64(len(head))
	for ; off+blockSize <= size; off += blockSize {
		hdr := le.AppendUint32(nil, 0x0000abcd)
		hdr = le.AppendUint32(hdr, blockSize)
		if _, err := f.WriteAt(hdr, off); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(le.AppendUint32(nil, blockSize), off+blockSize-4); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	in, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	const deadline = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	c, err := capture.ScanFile(ctx, in, path, capture.Config{})
	took := time.Since(start)
	if err != nil || !c.Stopped || c.Packets != 0 {
		t.Fatalf("ScanFile = %+v, %v; want Stopped with 0 packets and no error", c, err)
	}
	if took > deadline+time.Second {
		t.Errorf("ScanFile took %v with a %v deadline", took, deadline)
	}
}
