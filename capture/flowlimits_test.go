package capture

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/floodgen"
)

// evictRecorder is a FlowEvictor that keeps a copy of what it is given.
type evictRecorder struct {
	seen    map[*Flow]int
	clients []string
	packets uint64
}

func (r *evictRecorder) Packet(*Packet) {}

func (r *evictRecorder) FlowEvicted(f *Flow) {
	r.seen[f]++
	r.clients = append(r.clients, f.Client.String())
	r.packets += f.Packets[0] + f.Packets[1]
}

func writeSegments(t *testing.T, segs []floodgen.Segment) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flows.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := floodgen.Write(f, len(segs), func(i int) floodgen.Segment {
		s := segs[i]
		s.Time = t0.Add(time.Duration(i) * time.Second)
		return s
	}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFlowTableEvictsUnansweredThenClosedThenIdle(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	server := a("10.0.0.1")
	// open connection i: SYN and SYN-ACK from 192.168.0.i to port 443.
	open := func(i int, flags ...uint8) []floodgen.Segment {
		c := netip.AddrFrom4([4]byte{192, 168, 0, byte(i)})
		segs := []floodgen.Segment{
			{Src: c, Dst: server, SrcPort: 50000, DstPort: 443, Flags: floodgen.SYN},
			{Src: server, Dst: c, SrcPort: 443, DstPort: 50000, Flags: floodgen.SYN | floodgen.ACK},
		}
		for _, fl := range flags {
			segs = append(segs, floodgen.Segment{Src: c, Dst: server, SrcPort: 50000, DstPort: 443, Flags: fl})
		}
		return segs
	}
	spoofed := func(from, n int) []floodgen.Segment {
		var segs []floodgen.Segment
		for i := from; i < from+n; i++ {
			segs = append(segs, floodgen.Segment{Src: floodgen.Spoofed(i), Dst: server, SrcPort: 1024, DstPort: 80, Flags: floodgen.SYN})
		}
		return segs
	}
	tests := []struct {
		name     string
		max      int
		segs     []floodgen.Segment
		kept     []string // clients of the flows left, in order of first packet
		evicted  int
		unanswer int
	}{
		{
			name:     "half-open flood evicted before answered connections",
			max:      8,
			segs:     slices.Concat(open(1), open(2), open(3), open(4), spoofed(0, 20)),
			kept:     []string{"192.168.0.1:50000", "192.168.0.2:50000", "192.168.0.3:50000", "192.168.0.4:50000", "1.0.0.16:1024", "1.0.0.17:1024", "1.0.0.18:1024", "1.0.0.19:1024"},
			evicted:  16,
			unanswer: 16,
		},
		{
			name: "closed before open",
			max:  8,
			// 1 and 3 reset, the others open; 9 and 10 arrive on a full table.
			segs:    slices.Concat(open(1, floodgen.RST), open(2), open(3, floodgen.RST), open(4), open(5), open(6), open(7), open(8), open(9), open(10)),
			kept:    []string{"192.168.0.2:50000", "192.168.0.4:50000", "192.168.0.5:50000", "192.168.0.6:50000", "192.168.0.7:50000", "192.168.0.8:50000", "192.168.0.9:50000", "192.168.0.10:50000"},
			evicted: 2,
		},
		{
			name: "least recently active first",
			max:  8,
			// All open; 1 speaks again after 8 opened, so 2 is the idlest when 9 arrives.
			segs:    slices.Concat(open(1), open(2), open(3), open(4), open(5), open(6), open(7), open(8), open(1, floodgen.ACK)[2:], open(9)),
			kept:    []string{"192.168.0.1:50000", "192.168.0.3:50000", "192.168.0.4:50000", "192.168.0.5:50000", "192.168.0.6:50000", "192.168.0.7:50000", "192.168.0.8:50000", "192.168.0.9:50000"},
			evicted: 1,
		},
		{
			name: "under the bound nothing is evicted",
			max:  100,
			segs: slices.Concat(open(1), spoofed(0, 3)),
			kept: []string{"192.168.0.1:50000", "1.0.0.0:1024", "1.0.0.1:1024", "1.0.0.2:1024"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &evictRecorder{seen: map[*Flow]int{}}
			c, err := ScanConfig(context.Background(), writeSegments(t, tt.segs), Config{MaxFlows: tt.max}, rec)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			var keptPackets uint64
			for _, f := range c.Flows() {
				kept = append(kept, f.Client.String())
				keptPackets += f.Packets[0] + f.Packets[1]
			}
			if !slices.Equal(kept, tt.kept) {
				t.Errorf("kept %v\nwant %v", kept, tt.kept)
			}
			st := c.FlowStats()
			if st.Total != len(tt.kept)+tt.evicted || st.Evicted != tt.evicted || st.Unanswered != tt.unanswer || st.Limit != tt.max {
				t.Errorf("stats %+v, want total %d, evicted %d, unanswered %d, limit %d", st, len(tt.kept)+tt.evicted, tt.evicted, tt.unanswer, tt.max)
			}
			if len(rec.seen) != tt.evicted || len(rec.clients) != tt.evicted {
				t.Errorf("evictor saw %d flows in %d calls, want %d", len(rec.seen), len(rec.clients), tt.evicted)
			}
			if keptPackets+rec.packets != uint64(len(tt.segs)) || c.Packets != len(tt.segs) {
				t.Errorf("packets: %d kept + %d evicted, capture %d; want %d", keptPackets, rec.packets, c.Packets, len(tt.segs))
			}
			hasWarning := slices.ContainsFunc(c.Warnings, func(w string) bool { return len(w) > 15 && w[:15] == "flow table full" })
			if hasWarning != (tt.evicted > 0) {
				t.Errorf("warnings %q", c.Warnings)
			}
		})
	}
}
