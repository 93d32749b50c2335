package capture_test

import (
	"bytes"
	"encoding/binary"
)

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// capFile builds pcap and pcapng files byte by byte for tests: enough of
// each format to write valid records and records that lie about their
// lengths.
type capFile struct {
	bytes.Buffer
	order byteOrder
}

func (b *capFile) u16(v uint16) { b.Write(b.order.AppendUint16(nil, v)) }
func (b *capFile) u32(v uint32) { b.Write(b.order.AppendUint32(nil, v)) }

// frame is a minimal Ethernet frame of n bytes (n >= 14), an IPv4
// ethertype with nothing after it but zeros.
func frame(n int) []byte {
	f := make([]byte, n)
	copy(f, []byte{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00})
	return f
}

// newPcap starts a microsecond pcap with the given snap length, Ethernet.
func newPcap(order byteOrder, snaplen uint32) *capFile {
	b := &capFile{order: order}
	b.u32(0xa1b2c3d4)
	b.u16(2)
	b.u16(4)
	b.u32(0)
	b.u32(0)
	b.u32(snaplen)
	b.u32(1)
	return b
}

// record adds a pcap record declaring caplen captured bytes, holding data.
func (b *capFile) record(caplen uint32, data []byte) {
	b.u32(1700000000)
	b.u32(0)
	b.u32(caplen)
	b.u32(max(caplen, uint32(len(data))))
	b.Write(data)
}

// ngOpt is one pcapng option.
type ngOpt struct {
	code uint16
	val  []byte
}

func padded(n int) int { return (n + 3) &^ 3 }

// block adds a pcapng block: type, body (padded to 4), and the declared
// total length, or the true one when length is 0.
func (b *capFile) block(typ uint32, body []byte, length uint32) {
	if length == 0 {
		length = uint32(12 + padded(len(body)))
	}
	b.u32(typ)
	b.u32(length)
	b.Write(body)
	b.Write(make([]byte, padded(len(body))-len(body)))
	b.u32(length)
}

func (b *capFile) opts(o []ngOpt) []byte {
	var w capFile
	w.order = b.order
	for _, op := range o {
		w.u16(op.code)
		w.u16(uint16(len(op.val)))
		w.Write(op.val)
		w.Write(make([]byte, padded(len(op.val))-len(op.val)))
	}
	if len(o) > 0 {
		w.u32(0) // end of options
	}
	return w.Bytes()
}

// shb adds a section header block.
func (b *capFile) shb() {
	body := &capFile{order: b.order}
	body.u32(0x1a2b3c4d)
	body.u16(1)
	body.u16(0)
	body.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	b.block(0x0a0d0d0a, body.Bytes(), 0)
}

// idb adds an Ethernet interface description block.
func (b *capFile) idb(snaplen uint32, o ...ngOpt) {
	body := &capFile{order: b.order}
	body.u16(1)
	body.u16(0)
	body.u32(snaplen)
	body.Write(b.opts(o))
	b.block(1, body.Bytes(), 0)
}

// epb adds an enhanced packet block on interface 0 declaring caplen
// captured bytes and holding data, with the declared block length (0: the
// true one).
func (b *capFile) epb(caplen uint32, data []byte, length uint32, o ...ngOpt) {
	body := &capFile{order: b.order}
	body.u32(0)
	body.u32(0)
	body.u32(1700000000)
	body.u32(caplen)
	body.u32(max(caplen, uint32(len(data))))
	body.Write(data)
	body.Write(make([]byte, padded(len(data))-len(data)))
	body.Write(b.opts(o))
	b.block(6, body.Bytes(), length)
}

// spb adds a simple packet block declaring an original length of origlen.
func (b *capFile) spb(origlen uint32, data []byte) {
	body := &capFile{order: b.order}
	body.u32(origlen)
	body.Write(data)
	b.block(3, body.Bytes(), 0)
}

func newPcapng(order byteOrder) *capFile {
	b := &capFile{order: order}
	b.shb()
	return b
}
