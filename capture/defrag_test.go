package capture

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestDefragBoundedInFlight checks the bounds during the pass.
func TestDefragBoundedInFlight(t *testing.T) {
	var c Capture
	dec := newDecoder()
	data := make([]byte, 1480)
	for i := range FragMaxDatagrams * 2 {
		p := Packet{Time: time.Unix(int64(i/1000), 0), LinkType: layers.LinkTypeIPv4}
		h := make([]byte, 20, 1500)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], 1500)
		binary.BigEndian.PutUint16(h[4:], uint16(i))
		binary.BigEndian.PutUint16(h[6:], 0x2000)
		h[8], h[9] = 64, 17
		copy(h[12:], []byte{10, 9, 0, 1})
		copy(h[16:], []byte{10, 9, byte(i >> 8), byte(i)})
		dec.decode(&p, append(h, data...))
		if p.Layers&LayerFragment == 0 {
			t.Fatal("not decoded as a fragment")
		}
		c.reassemble(dec, &p, nil)
		if len(c.defrag.m) > FragMaxDatagrams || c.defrag.bytes > fragMaxBytes+ipMaxDatagram {
			t.Fatalf("%d datagrams, %d bytes in flight", len(c.defrag.m), c.defrag.bytes)
		}
	}
}

// FuzzDefrag feeds raw IP packets (each a length byte, then the packet
// with its first bytes forced to look like an IPv4 or IPv6 fragment) to
// the decoder and the reassembly: no panic, bounded memory, and counts
// that add up.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{28, 0x45, 0, 0, 28, 0, 1, 0x20, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8,
		24, 0x45, 0, 0, 24, 0, 1, 0, 1, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 9, 10, 11, 12})
	f.Add([]byte{56, 0x60, 0, 0, 0, 0, 16, 44, 64, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		17, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Half the inputs hold the fragments until their datagram settles.
		c := Capture{hold: len(data)%2 == 1}
		dec := newDecoder()
		at := time.Unix(1e9, 0)
		for len(data) > 1 {
			n := min(int(data[0]), len(data)-1)
			pkt := append([]byte(nil), data[1:1+n]...)
			data = data[1+n:]
			at = at.Add(time.Duration(n) * time.Second / 8)
			p := Packet{Time: at, LinkType: layers.LinkTypeRaw, Length: len(pkt), CaptureLength: len(pkt)}
			dec.decode(&p, pkt)
			if p.Layers&LayerFragment == 0 {
				continue
			}
			c.reassemble(dec, &p, nil)
			c.handOut(nil)
			if df := c.defrag; df.bytes < 0 || len(df.m) > FragMaxDatagrams || df.bytes > fragMaxBytes+ipMaxDatagram {
				t.Fatalf("%d datagrams, %d bytes in flight", len(df.m), df.bytes)
			}
		}
		c.finishDefrag(nil)
		st := c.Fragments
		if c.defrag != nil && (c.defrag.bytes != 0 || st.Reassembled+st.Incomplete+st.Overlapping+st.Oversized > st.Packets) {
			t.Fatalf("after the pass: %d bytes held, stats %+v", c.defrag.bytes, st)
		}
	})
}

// counter counts the packets handed to it.
type counter struct{ n int }

func (c *counter) Packet(*Packet) { c.n++ }

// TestDefragHeldBounded checks the bounds on held fragments: a fragment
// sent over and over, and many datagrams of large fragments, hold at
// most their bounds, and every fragment is still handed once.
func TestDefragHeldBounded(t *testing.T) {
	frag := func(id uint16, offset int, payload int) []byte {
		h := make([]byte, 20, 20+payload)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+payload))
		binary.BigEndian.PutUint16(h[4:], id)
		binary.BigEndian.PutUint16(h[6:], 0x2000|uint16(offset/8))
		h[8], h[9] = 64, 17
		copy(h[12:], []byte{10, 9, 0, 1})
		copy(h[16:], []byte{10, 9, 0, 2})
		return append(h, make([]byte, payload)...)
	}
	cases := []struct {
		name   string
		frames func(i int) []byte
		n      int
		want   FragmentStats
	}{
		// One datagram: its first fragment, then 999 copies.
		{"retransmitted", func(int) []byte { return frag(1, 0, 64) }, 1000, FragmentStats{Packets: 1000, Incomplete: 1}},
		// 3000 datagrams of one 20 KB fragment each: 60 MB offered.
		{"large", func(i int) []byte { return frag(uint16(i), 0, 20000) }, 3000, FragmentStats{Packets: 3000, Incomplete: 3000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Capture{hold: true}
			dec := newDecoder()
			cnt := &counter{}
			for i := range tc.n {
				data := tc.frames(i)
				p := Packet{Index: i + 1, Time: time.Unix(1e9, int64(i)), LinkType: layers.LinkTypeRaw, Length: len(data), CaptureLength: len(data), Data: data}
				c.handle(&p, dec, nil, []Analyzer{cnt})
				for _, dg := range c.defrag.m {
					if len(dg.held) > fragMaxHeld {
						t.Fatalf("%d frames held for one datagram", len(dg.held))
					}
				}
				if c.defrag.bytes > fragMaxBytes+MaxRecordSize {
					t.Fatalf("%d bytes in flight", c.defrag.bytes)
				}
			}
			c.finishDefrag([]Analyzer{cnt})
			if cnt.n != tc.n || c.Packets != tc.n || c.Fragments != tc.want || c.defrag.bytes != 0 {
				t.Errorf("%d handed, %d counted, %+v, %d bytes left; want %d handed, %+v", cnt.n, c.Packets, c.Fragments, c.defrag.bytes, tc.n, tc.want)
			}
		})
	}
}

// TestPendingBoundedAfterMerge: parts that each keep thousands of
// datagrams pending merge into no more than FragMaxDatagrams; the oldest
// beyond are given up, their fragments handed, and Settle hands the rest.
func TestPendingBoundedAfterMerge(t *testing.T) {
	const per = 3000
	part := func(base int) *Capture {
		c := &Capture{hold: true, keep: true}
		dec := newDecoder()
		for i := range per {
			h := make([]byte, 20, 28)
			h[0] = 0x45
			binary.BigEndian.PutUint16(h[2:], 28)
			binary.BigEndian.PutUint16(h[4:], uint16(base+i))
			binary.BigEndian.PutUint16(h[6:], 0x2000)
			h[8], h[9] = 64, 17
			copy(h[12:], []byte{10, 9, 0, 1})
			copy(h[16:], []byte{10, 9, 0, 2})
			data := append(h, make([]byte, 8)...)
			p := Packet{Index: i + 1, Time: time.Unix(1e9, int64(base+i)), LinkType: layers.LinkTypeRaw, Length: len(data), CaptureLength: len(data), Data: data}
			c.handle(&p, dec, nil, nil)
		}
		c.finishDefrag(nil)
		if c.Pending() != per || c.Packets != 0 {
			t.Fatalf("part: %d pending, %d packets handed", c.Pending(), c.Packets)
		}
		return c
	}
	c := part(0)
	c.Merge(part(per))
	cnt := &counter{}
	c.HandPending(cnt)
	if c.Pending() != FragMaxDatagrams || cnt.n != 2*per-FragMaxDatagrams || c.Fragments.Incomplete != cnt.n {
		t.Errorf("after the merge: %d pending, %d handed, %+v", c.Pending(), cnt.n, c.Fragments)
	}
	c.Settle(cnt)
	if c.Pending() != 0 || cnt.n != 2*per || c.Packets != 2*per || c.Fragments.Incomplete != 2*per {
		t.Errorf("settled: %d pending, %d handed, %d packets, %+v", c.Pending(), cnt.n, c.Packets, c.Fragments)
	}
}
