package detectors

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// FuzzHTTPSegments feeds a client stream and a server stream to the HTTP
// parser as TCP segments cut where the fuzzer chooses (each byte of cuts
// is a segment: its low 7 bits the length less one, its high bit a
// retransmission of it; segments alternate direction), with a line
// budget the fuzzer also chooses. No panic, and the state stays within
// its bounds: partial lines, pending requests, the line budget, and no
// more requests than lines.
func FuzzHTTPSegments(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), []byte{3, 200, 10, 10, 127}, uint16(0))
	f.Add([]byte("POST /login HTTP/1.1\r\nContent-Length: 13\r\nAuthorization: Basic YTpi\r\n\r\nuser=a&pass=b"), []byte("HTTP/1.1 401 No\r\nContent-Length: 0\r\n\r\n"), []byte{0, 0, 1, 129, 5}, uint16(300))
	f.Add([]byte("GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nXFOC / HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 404 N\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 101 Up\r\n\r\n"), []byte{6, 6, 6, 6, 6, 6, 6}, uint16(256))
	f.Add([]byte("PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /../../etc/passwd HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\nroot:x:0:0:root:/root:/bin/sh\n"), []byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, client, server, cuts []byte, budget uint16) {
		h := newHTTPDetector(Config{HTTP: HTTPConfig{MaxBufferedBytes: int(budget), MaxConnections: 2, MaxPairs: 2, MaxDistinct: 8}}.Defaults())
		flow := &capture.Flow{Proto: 6}
		cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		streams := [2][]byte{client, server}
		var seq [2]uint32
		p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerTCP, Flow: flow, Time: time.Unix(1, 0)}
		send := func(di int, seg []byte) {
			p.Index++
			p.FromClient = di == 0
			p.Src, p.Dst, p.SrcPort, p.DstPort = cli, srv, 40000, 80
			if di == 1 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = srv, cli, 80, 40000
			}
			p.Payload, p.PayloadLen, p.TCPSeq, p.TCPFlags = seg, len(seg), seq[di], capture.FlagACK|capture.FlagPSH
			h.Packet(p)
		}
		for i := 0; len(streams[0])+len(streams[1]) > 0; i++ {
			di := i % 2
			if len(streams[di]) == 0 {
				di = 1 - di
			}
			n := len(streams[di])
			retransmit := false
			if i < len(cuts) {
				n = min(n, int(cuts[i]&0x7f)+1)
				retransmit = cuts[i]&0x80 != 0
			}
			seg := streams[di][:n]
			send(di, seg)
			if retransmit {
				send(di, seg)
			}
			seq[di] += uint32(n)
			streams[di] = streams[di][n:]
			checkHTTPBounds(t, h)
		}
		lines := int64(bytes.Count(client, []byte{'\n'}) + bytes.Count(server, []byte{'\n'}))
		var requests int64
		for _, pr := range h.order {
			requests += pr.requests + pr.otherMethods
		}
		if requests+h.bounds.evictedRequests > lines {
			t.Fatalf("%d requests counted from %d lines", requests+h.bounds.evictedRequests, lines)
		}
		_ = h.Findings(Config{}.Defaults(), nil)
		_ = h.warnings()
	})
}

// checkHTTPBounds fails t when the detector's state is past a bound.
func checkHTTPBounds(t *testing.T, h *httpDetector) {
	t.Helper()
	b := &h.bounds
	held := 0
	for _, c := range h.conns {
		for i := range c.dir {
			d := &c.dir[i]
			held += cap(d.line)
			if len(d.line) > httpMaxLine {
				t.Fatalf("partial line of %d bytes, bound %d", len(d.line), httpMaxLine)
			}
		}
		if len(c.pending) > httpMaxPending {
			t.Fatalf("%d pending requests, bound %d", len(c.pending), httpMaxPending)
		}
	}
	if held != b.lineBytes || held > b.maxLineBytes {
		t.Fatalf("line buffers hold %d bytes, counted %d, budget %d", held, b.lineBytes, b.maxLineBytes)
	}
	if len(h.conns) > b.maxConns || len(h.pairs) > b.maxPairs {
		t.Fatalf("%d connections, %d pairs; bounds %d, %d", len(h.conns), len(h.pairs), b.maxConns, b.maxPairs)
	}
	distinct, kept := 0, 0
	for _, pr := range h.order {
		distinct += pr.distinctHeld()
		kept += pr.bytes
	}
	if distinct != b.distinct || kept != b.pairBytes {
		t.Fatalf("sets hold %d hashes, counted %d; pairs keep %d bytes, counted %d", distinct, b.distinct, kept, b.pairBytes)
	}
}
