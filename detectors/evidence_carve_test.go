package detectors_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
)

// TestCarveReadsBackInTshark carves with a filter and holds the file
// against tshark: it opens without complaint, and holds exactly the frames
// the same display filter selects in the original, with the same times,
// lengths and protocol stacks.
func TestCarveReadsBackInTshark(t *testing.T) {
	tsharktest.Path(t)
	a := netip.MustParseAddr
	tests := []struct {
		name, file, format string
		f                  filter.Expr
	}{
		{"syn probes", "scan_syn.pcap", "pcap", filter.And(filter.Src(a("10.66.0.10")), filter.TCPFlags(capture.FlagSYN, capture.FlagACK))},
		{"icmp errors", "scan_udp.pcap", "pcap", filter.Proto(filter.ICMP)},
		{"gzip input", "gen_traffic.pcap.gz", "pcap", filter.Port(0, filter.Either, 53)},
		{"pcapng of several link types, whole", "gen_edge_pcapng_multi.pcapng", "pcapng", filter.Expr{}},
		{"pcapng, part", "benign_dns.pcapng", "pcapng", filter.Frames(10, 60)},
		{"nothing matches", "scan_syn.pcap", "pcap", filter.Not(filter.Expr{})},
	}
	fields := []string{"frame.time_epoch", "frame.len", "frame.cap_len", "frame.protocols"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join("..", "testdata", tt.file)
			out := filepath.Join(t.TempDir(), "carved."+tt.format)
			var buf bytes.Buffer
			res, err := detectors.Carve(context.Background(), in, tt.f, &buf)
			if err != nil {
				t.Fatalf("Carve: %v", err)
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			if res.Format != tt.format || res.Bytes != int64(buf.Len()) {
				t.Errorf("Carve = %+v, want format %s and %d bytes", res, tt.format, buf.Len())
			}
			want := tsharktest.Fields(t, in, tt.f.String(), fields...)
			got := tsharktest.Fields(t, out, "", fields...)
			if res.Packets != len(want) {
				t.Errorf("Carve wrote %d packets, tshark -Y %q selects %d", res.Packets, tt.f.String(), len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("carved file vs the filter in the original (-original +carved):\n%s", diff)
			}
		})
	}
}
