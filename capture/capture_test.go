package capture_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// TestScanCountsLikeCapinfos reads every capture testdata/ground_truth.json
// describes: the packets Scan counts are capinfos' count.
func TestScanCountsLikeCapinfos(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ground_truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct {
		TotalPackets int `json:"total_packets"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	for name, gt := range truth {
		t.Run(name, func(t *testing.T) {
			var n counter
			c, err := capture.Scan(context.Background(), testfiles.Testdata(t, name), &n)
			if err != nil {
				t.Fatal(err)
			}
			if c.Packets != gt.TotalPackets || n.packets != gt.TotalPackets {
				t.Errorf("Scan counted %d packets (analyzer saw %d), capinfos %d", c.Packets, n.packets, gt.TotalPackets)
			}
		})
	}
}

type counter struct{ packets, syns int }

func (c *counter) Packet(p *capture.Packet) {
	c.packets++
	if p.Layers.Has(capture.LayerTCP) && p.TCPFlags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN {
		c.syns++
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A pcapng whose last block is cut in half.
	ng, err := os.ReadFile(testfiles.Corpus(t, "chrissanders-packets/http_google.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		path        string
		kind        error
		wantInError string
	}{
		{"missing", filepath.Join(dir, "nope.pcap"), capture.ErrNotFound, "nope.pcap"},
		{"directory", dir, capture.ErrNotRegular, "directory"},
		{"fifo", fifo, capture.ErrNotRegular, "it is a FIFO"},
		{"character device", os.DevNull, capture.ErrNotRegular, "it is a character device"},
		{"zero bytes", write("zero.pcap", nil), capture.ErrEmpty, "0 bytes"},
		{"text file", write("notes.pcap", []byte("hello, this is not a capture\n")), capture.ErrNotCapture, `"hell"`},
		{"html", write("page.pcapng", []byte("<html><body>x</body></html>")), capture.ErrNotCapture, "0x3c68746d"},
		{"three bytes", write("tiny.pcap", []byte{0xd4, 0xc3, 0xb2}), capture.ErrNotCapture, "too short"},
		{"pcap header cut", write("cut.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0}), capture.ErrCorrupt, "header"},
		{"pcap version 3", write("v3.pcap", append([]byte{0xd4, 0xc3, 0xb2, 0xa1, 3, 0, 4, 0}, make([]byte, 16)...)), capture.ErrUnsupportedVersion, "version"},
		{"bad gzip", write("bad.gz", []byte{0x1f, 0x8b, 0x08, 0, 1, 2}), capture.ErrCorrupt, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := capture.Scan(context.Background(), tt.path)
			if c != nil {
				t.Errorf("got a Capture for bad input")
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			var ce *capture.CaptureError
			if !errors.As(err, &ce) || ce.Path != tt.path {
				t.Fatalf("err %v is not a *CaptureError with path %s", err, tt.path)
			}
			if !strings.Contains(err.Error(), tt.wantInError) {
				t.Errorf("error %q does not say %q", err, tt.wantInError)
			}
		})
	}
	t.Run("pcapng cut mid-block", func(t *testing.T) {
		p := write("cut.pcapng", ng[:len(ng)-37])
		c, err := capture.Scan(context.Background(), p)
		if err != nil {
			t.Fatalf("err = %v, want a truncated result", err)
		}
		if !c.Truncated || c.Packets != 11 || len(c.Warnings) == 0 {
			t.Errorf("truncated=%v packets=%d warnings=%q, want true, 11 (of 12), a warning", c.Truncated, c.Packets, c.Warnings)
		}
	})
	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: file permissions do not stop root")
		}
		p := write("secret.pcap", ng)
		os.Chmod(p, 0)
		_, err := capture.Scan(context.Background(), p)
		if !errors.Is(err, capture.ErrPermission) {
			t.Errorf("err = %v, want ErrPermission", err)
		}
	})
}

func TestCancelStopsTheRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := capture.Scan(ctx, testfiles.Corpus(t, "chrissanders-packets/synscan.pcapng"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan with a cancelled ctx = %v; want context.Canceled", err)
	}
}
