package detectors

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// tlsWire feeds hand-made TCP segments of connections to a tlsAnalyzer.
type tlsWire struct {
	t     *tlsAnalyzer
	frame int
}

type wireConn struct {
	w            *tlsWire
	flow         *capture.Flow
	cli, srv     netip.AddrPort
	cliSeq, srvS uint32
}

func newTLSWire(max int) *tlsWire {
	return &tlsWire{t: newTLSAnalyzer(Config{TLS: TLSConfig{MaxHandshakes: max}}.Defaults())}
}

func (w *tlsWire) conn(n int) *wireConn {
	cli := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.5"), uint16(40000+n))
	srv := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), 443)
	c := &wireConn{w: w, flow: &capture.Flow{Proto: 6, Client: cli, Server: srv}, cli: cli, srv: srv, cliSeq: 1000, srvS: 9000}
	c.send(true, 0, capture.FlagSYN, nil)
	return c
}

// send delivers data at offset off of one direction's stream.
func (c *wireConn) send(fromClient bool, off int, flags uint8, data []byte) {
	c.w.frame++
	p := &capture.Packet{Index: c.w.frame, Time: time.Unix(1700000000, 0).Add(time.Duration(c.w.frame) * time.Millisecond),
		Layers: capture.LayerIPv4 | capture.LayerTCP, Proto: 6, TCPFlags: flags | capture.FlagACK,
		Payload: data, PayloadLen: len(data), Flow: c.flow, FromClient: fromClient}
	if flags&capture.FlagSYN != 0 {
		p.TCPFlags = flags
	}
	src, dst, seq := c.cli, c.srv, c.cliSeq
	if !fromClient {
		src, dst, seq = c.srv, c.cli, c.srvS
	}
	p.Src, p.SrcPort, p.Dst, p.DstPort = src.Addr(), src.Port(), dst.Addr(), dst.Port()
	p.TCPSeq = seq + uint32(off)
	c.w.t.Packet(p)
}

// record wraps a handshake message in one TLS record.
func record(msg []byte) []byte {
	out := []byte{tlsHandshakeRecord, 3, 1, 0, 0}
	binary.BigEndian.PutUint16(out[3:], uint16(len(msg)))
	return append(out, msg...)
}

// bigHello is the specification's example with a 1,200-byte key share,
// as a hello with a post-quantum key share is: about 1.5 KB, more than
// one segment.
func bigHello() []byte {
	h := specExample
	msg := h.build()
	// Append an extension 0x0033 (key_share) body of 1,200 bytes by
	// rebuilding the extensions block's length and the message's.
	ext := binary.BigEndian.AppendUint16(nil, 0x0033)
	ext = binary.BigEndian.AppendUint16(ext, 1200)
	ext = append(ext, make([]byte, 1200)...)
	body := msg[4:]
	extStart := 2 + 32 + 1 + 2 + 2*len(h.suites) + 2
	extLen := int(binary.BigEndian.Uint16(body[extStart:]))
	binary.BigEndian.PutUint16(body[extStart:], uint16(extLen+len(ext)))
	body = append(body, ext...)
	return append([]byte{tlsClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// TestTLSReassembly delivers one ClientHello in three segments, in every
// way a capture shows them, and checks what is read.
func TestTLSReassembly(t *testing.T) {
	hello := record(bigHello())
	a, b := 500, 1000
	seg := [][2]int{{0, a}, {a, b}, {b, len(hello)}}
	wantJA4, _ := ja4(mustParse(t, bigHello()))
	tests := []struct {
		name       string
		order      [][2]int // [from, to) byte ranges sent in this order
		fin        bool
		wantHellos int64
		unreadable int64
		wantFrame  int // frame (counting the SYN as 1) that completed the hello
	}{
		{"in order", seg, false, 1, 0, 4},
		// The hello's start opens the connection to the reader; what
		// follows it may come in any order.
		{"out of order", [][2]int{seg[0], seg[2], seg[1]}, false, 1, 0, 4},
		{"retransmitted and overlapping", [][2]int{seg[0], seg[0], {a - 100, b + 50}, {b - 10, len(hello)}}, false, 1, 0, 5},
		{"middle lost, then closed", [][2]int{seg[0], seg[2]}, true, 0, 1, 0},
		{"middle lost, capture ends", [][2]int{seg[0], seg[2]}, false, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWire(0)
			c := w.conn(0)
			for _, r := range tt.order {
				c.send(true, 1+r[0], capture.FlagPSH, hello[r[0]:r[1]])
			}
			if tt.fin {
				c.send(true, 1+len(hello), capture.FlagFIN, nil)
			}
			st := w.t.final()
			if st.ClientHellos != tt.wantHellos || st.Unreadable != tt.unreadable {
				t.Fatalf("stats %+v, want %d hellos, %d unreadable", st, tt.wantHellos, tt.unreadable)
			}
			if tt.wantHellos == 0 {
				return
			}
			h := w.t.kept[0]
			if h.JA4 != wantJA4 || h.SNI != "example.com" || h.Packet != tt.wantFrame {
				t.Errorf("JA4 %s SNI %q frame %d; want %s, example.com, %d", h.JA4, h.SNI, h.Packet, wantJA4, tt.wantFrame)
			}
			if d := w.t.conns[c.flow].dir[0]; d.buf != nil || d.held != nil || !d.done {
				t.Errorf("the client's buffers are kept after its hello was read")
			}
		})
	}
}

func mustParse(t *testing.T, msg []byte) *clientHello {
	t.Helper()
	h, err := parseClientHello(msg[4:])
	if err != nil {
		t.Fatal(err)
	}
	return &h
}

// TestTLSBounds checks the listing bound (counts stay exact), the size
// bound of a hello and that what is not TLS is left alone.
func TestTLSBounds(t *testing.T) {
	w := newTLSWire(2)
	for i := range 5 {
		w.conn(i).send(true, 1, capture.FlagPSH, record(specExample.build()))
	}
	if st := w.t.stats; st.ClientHellos != 5 || st.Kept != 2 || st.Dropped != 3 || len(w.t.kept) != 2 {
		t.Errorf("stats %+v with %d kept, want 5 hellos, 2 kept, 3 dropped", st, len(w.t.kept))
	}

	// A hello sent again after the server answered is one handshake; the
	// same ports opened again by a new SYN are another.
	w = newTLSWire(0)
	c0 := w.conn(0)
	hello := record(specExample.build())
	c0.send(true, 1, capture.FlagPSH, hello)
	c0.send(false, 1, capture.FlagPSH, record([]byte{tlsServerHelloDone, 0, 0, 0}))
	c0.send(true, 1, capture.FlagPSH, hello)
	c0.send(true, 0, capture.FlagSYN, nil)
	c0.send(true, 1, capture.FlagPSH, hello)
	if st := w.t.stats; st.ClientHellos != 2 || len(w.t.kept) != 2 {
		t.Errorf("stats %+v, want 2 hellos: one per connection, none for the retransmission", st)
	}

	// A hello announcing 20 KB: buffered to 16 KiB, then given up.
	w = newTLSWire(0)
	c := w.conn(0)
	huge := []byte{tlsHandshakeRecord, 3, 1, 0x50, 0x00, tlsClientHello, 0, 0x4f, 0xfc}
	c.send(true, 1, capture.FlagPSH, huge)
	for off := len(huge); off < 20000; off += 1400 {
		c.send(true, 1+off, capture.FlagPSH, make([]byte, 1400))
	}
	if st := w.t.stats; st.Unreadable != 1 || st.ClientHellos != 0 || w.t.open != 0 {
		t.Errorf("stats %+v, %d open; want the hello unreadable and its buffer freed", st, w.t.open)
	}

	// HTTP on port 443, and a stream that starts with a ServerHello (here
	// an empty one): nothing counted, nothing left open. The ServerHello
	// is read only as the answer to a hello another part of the capture
	// may hold (merge_tls.go); an empty one answers nothing.
	w = newTLSWire(0)
	w.conn(0).send(true, 1, capture.FlagPSH, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	w.conn(1).send(true, 1, capture.FlagPSH, record([]byte{tlsServerHello, 0, 0, 0}))
	open := 0
	for _, c := range w.t.conns {
		if c != w.t.closed {
			open++
		}
	}
	if open != 0 || w.t.open != 0 || len(w.t.answers) != 0 || w.t.stats != (TLSStats{}) {
		t.Errorf("%d connections followed (%d open), %d answers, stats %+v; want none", open, w.t.open, len(w.t.answers), w.t.stats)
	}
}

// FuzzTLSHandshake feeds arbitrary bytes after a handshake record header
// through the reader, in two segments, from both sides: it must never
// panic, and a hello it reads must have a JA4 of the right shape.
func FuzzTLSHandshake(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "ja4spec", "hellos.json"))
	if err != nil {
		f.Fatal(err)
	}
	var vectors []struct{ Hello string }
	if err := json.Unmarshal(b, &vectors); err != nil {
		f.Fatal(err)
	}
	for _, v := range vectors[:5] {
		msg, _ := hex.DecodeString(v.Hello)
		f.Add(record(msg), []byte{}, 100)
	}
	f.Add(record(bigHello()), record([]byte{tlsServerHello, 0, 0, 2, 3, 3}), 7)
	f.Fuzz(func(t *testing.T, client, server []byte, cut int) {
		w := newTLSWire(0)
		c := w.conn(0)
		cut = max(0, min(cut, len(client)))
		c.send(true, 1, capture.FlagPSH, client[:cut])
		c.send(true, 1+cut, capture.FlagPSH, client[cut:])
		c.send(false, 1, capture.FlagPSH, server)
		for _, h := range w.t.kept {
			if len(h.JA4) != 36 {
				t.Errorf("JA4 %q", h.JA4)
			}
		}
		parseServerHello(server)
		parseCertificate(server)
	})
}

// TestTLSMaxHandshakes checks the listing bound on a recorded capture:
// the first handshakes are kept, every one is counted.
func TestTLSMaxHandshakes(t *testing.T) {
	path := testdataFile(t, "tls_handshakes.pcap")
	all, _ := analyzeFile(t, path, Config{}).TLSHandshakes()
	hs, st := analyzeFile(t, path, Config{TLS: TLSConfig{MaxHandshakes: 3}}).TLSHandshakes()
	if len(all) != 8 || len(hs) != 3 || st.ClientHellos != 8 || st.Kept != 3 || st.Dropped != 5 {
		t.Fatalf("%d of %d kept, stats %+v; want 3 of 8, 5 dropped", len(hs), len(all), st)
	}
	for i, h := range hs {
		if h.Packet != all[i].Packet || h.JA4 != all[i].JA4 {
			t.Errorf("kept handshake %d is frame %d, want frame %d", i, h.Packet, all[i].Packet)
		}
	}
	if err := (Config{TLS: TLSConfig{MaxHandshakes: -1}}).Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "TLS.MaxHandshakes") {
		t.Errorf("MaxHandshakes -1: %v, want ErrInvalidConfig naming TLS.MaxHandshakes", err)
	}
}

// TestTLSHelloInTwoRecords sends a ClientHello fragmented over two TLS
// records (RFC 8446 5.1 allows it), the second in its own segment.
func TestTLSHelloInTwoRecords(t *testing.T) {
	msg := bigHello()
	first, second := record(msg[:700]), record(msg[700:])
	w := newTLSWire(0)
	c := w.conn(0)
	c.send(true, 1, capture.FlagPSH, first)
	c.send(true, 1+len(first), capture.FlagPSH, second)
	want, _ := ja4(mustParse(t, msg))
	if w.t.stats.ClientHellos != 1 || w.t.kept[0].JA4 != want || w.t.kept[0].Packet != 3 {
		t.Fatalf("stats %+v; want the hello read at frame 3 with JA4 %s", w.t.stats, want)
	}
}

// TestTLSOpenBound checks that only connections with bytes buffered take
// one of the tlsMaxOpen places: hellos nobody answers (a TLS scan) are
// all read; hellos left half-sent fill the places, and the rest are
// counted as skipped.
func TestTLSOpenBound(t *testing.T) {
	w := newTLSWire(0)
	hello := record(specExample.build())
	for i := range 2 * tlsMaxOpen {
		w.conn(i).send(true, 1, capture.FlagPSH, hello)
	}
	if st := w.t.final(); st.ClientHellos != 2*tlsMaxOpen || st.Skipped != 0 || w.t.open != 0 {
		t.Errorf("unanswered hellos: stats %+v, %d open; want all %d read, none open", st, w.t.open, 2*tlsMaxOpen)
	}

	w = newTLSWire(0)
	half := record(bigHello())[:600]
	for i := range tlsMaxOpen + 76 {
		w.conn(i).send(true, 1, capture.FlagPSH, half)
	}
	if st := w.t.final(); st.Skipped != 76 || st.Unreadable != tlsMaxOpen || w.t.open != tlsMaxOpen {
		t.Errorf("half-sent hellos: stats %+v, %d open; want %d skipped, %d unreadable at the end", st, w.t.open, 76, tlsMaxOpen)
	}
}
