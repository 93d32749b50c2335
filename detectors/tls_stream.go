package detectors

import (
	"encoding/binary"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Bounds of the TLS handshake reader.
const (
	// tlsMaxHelloBytes bounds what is buffered of one direction before
	// its hello (and, from the server, its certificate) is read: a
	// ClientHello with a post-quantum key share is about 1.8 KB and spans
	// two segments, a certificate chain a few KB.
	tlsMaxHelloBytes = 16 << 10
	// tlsMaxHeldSegments bounds the segments held while an earlier one is
	// missing.
	tlsMaxHeldSegments = 8
	// tlsMaxOpen bounds the connections whose handshake is being
	// buffered at once; a connection beyond it is counted, not read.
	tlsMaxOpen = 1024
)

// tlsSegment is a segment held until the bytes before it arrive.
type tlsSegment struct {
	seq  uint32
	data []byte
}

// tlsDirection puts one direction's first bytes back in order, bounded.
type tlsDirection struct {
	started bool
	done    bool
	next    uint32 // sequence number of the byte after buf
	buf     []byte
	held    []tlsSegment
}

// add places a segment's payload; it reports whether buf grew.
func (d *tlsDirection) add(seq uint32, data []byte) bool {
	if d.done || len(data) == 0 {
		return false
	}
	if !d.started {
		d.started, d.next = true, seq
	}
	grew := d.place(seq, data)
	for grew && len(d.held) > 0 {
		progress := false
		for i := 0; i < len(d.held); i++ {
			s := d.held[i]
			if int32(s.seq-d.next) <= 0 {
				d.held = append(d.held[:i], d.held[i+1:]...)
				d.place(s.seq, s.data)
				progress = true
				i--
			}
		}
		if !progress {
			break
		}
	}
	return grew
}

// place appends the part of data that follows buf, or holds data that
// lies ahead of it.
func (d *tlsDirection) place(seq uint32, data []byte) bool {
	off := int32(seq - d.next)
	switch {
	case off > 0:
		if len(d.held) < tlsMaxHeldSegments && int(off) < tlsMaxHelloBytes {
			d.held = append(d.held, tlsSegment{seq: seq, data: append([]byte(nil), data...)})
		}
		return false
	case int(-off) >= len(data):
		return false // a retransmission of bytes already placed
	}
	data = data[-off:]
	room := tlsMaxHelloBytes - len(d.buf)
	if room <= 0 {
		return false
	}
	data = data[:min(len(data), room)]
	d.buf = append(d.buf, data...)
	d.next += uint32(len(data))
	return true
}

// full reports whether the direction has buffered all it may.
func (d *tlsDirection) full() bool { return len(d.buf) >= tlsMaxHelloBytes }

// finish frees the direction's buffers.
func (d *tlsDirection) finish() {
	d.done = true
	d.buf, d.held = nil, nil
}

// handshakeBytes joins the bodies of the leading handshake records of
// buf. other is true when a record of another type follows them (so no
// more handshake bytes can come before it). A hello in one record, the
// common case, is returned in place, without a copy.
func handshakeBytes(buf []byte) (hs []byte, other bool) {
	records := 0
	for len(buf) >= 5 {
		if buf[0] != tlsHandshakeRecord {
			return hs, true
		}
		n := int(binary.BigEndian.Uint16(buf[3:5]))
		body := buf[5:min(len(buf), 5+n)] // a record's start: messages in it may be whole
		if records++; records == 1 {
			hs = body
		} else {
			if records == 2 {
				hs = append([]byte(nil), hs...)
			}
			hs = append(hs, body...)
		}
		if len(buf) < 5+n {
			return hs, false
		}
		buf = buf[5+n:]
	}
	return hs, false
}

// handshakeMessage is one whole handshake message: its type and body.
type handshakeMessage struct {
	typ  byte
	body []byte
}

// handshakeMessages splits hs into whole messages; rest is true when an
// incomplete one follows them.
func handshakeMessages(hs []byte) (msgs []handshakeMessage, rest bool) {
	for len(hs) >= 4 {
		n := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if len(hs) < 4+n {
			return msgs, true
		}
		msgs = append(msgs, handshakeMessage{typ: hs[0], body: hs[4 : 4+n]})
		hs = hs[4+n:]
	}
	return msgs, len(hs) > 0
}

// looksLikeHello reports whether a direction's first payload starts a
// TLS handshake record holding a ClientHello (typ 1) or a ServerHello (2).
func looksLikeHello(pl []byte, typ byte) bool {
	return len(pl) >= 6 && pl[0] == tlsHandshakeRecord && pl[1] == 3 && pl[2] <= 4 && pl[5] == typ
}

// tlsNewConnection reports whether a TCP packet opens a connection: a
// 5-tuple used again starts a new handshake.
func tlsNewConnection(p *capture.Packet) bool {
	return p.TCPFlags&capture.FlagSYN != 0 && p.TCPFlags&capture.FlagACK == 0
}
