package pcapgen

import (
	"bufio"
	"encoding/binary"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// snapLen is the snap length declared in file headers: tcpdump's default.
const snapLen = 262144

// packetWriter is what pcapgo's pcap and pcapng writers, and ours, share.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// countingWriter counts the bytes of the capture before any compression.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// sink writes packets in the configured format and counts the file bytes.
type sink struct {
	buf   *bufio.Writer
	count *countingWriter
	pw    packetWriter
	ng    *pcapgo.NgWriter
	iface int // pcapng interface the packets belong to
}

// newSink writes the file header for cfg to w.
func newSink(w io.Writer, format Format, bigEndian bool, link layers.LinkType) (*sink, error) {
	s := &sink{}
	s.buf = bufio.NewWriterSize(w, 1<<20)
	s.count = &countingWriter{w: s.buf}
	switch {
	case format == FormatPcapNG:
		ng, err := pcapgo.NewNgWriterInterface(s.count, pcapgo.NgInterface{Name: "eth0", LinkType: link, SnapLength: snapLen},
			pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "reconpcap pcapgen"}})
		if err != nil {
			return nil, err
		}
		s.pw, s.ng = ng, ng
	case bigEndian:
		bw := &pcapWriterBE{w: s.count, nano: format == FormatPcapNano}
		if err := bw.writeHeader(snapLen, link); err != nil {
			return nil, err
		}
		s.pw = bw
	default:
		pw := pcapgo.NewWriter(s.count)
		if format == FormatPcapNano {
			pw = pcapgo.NewWriterNanos(s.count)
		}
		if err := pw.WriteFileHeader(snapLen, link); err != nil {
			return nil, err
		}
		s.pw = pw
	}
	return s, nil
}

func (s *sink) write(ts time.Time, data []byte) error {
	return s.pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data), InterfaceIndex: s.iface}, data)
}

// flush pushes everything buffered to the underlying writer.
func (s *sink) flush() error {
	if s.ng != nil {
		if err := s.ng.Flush(); err != nil {
			return err
		}
	}
	return s.buf.Flush()
}

// pcapWriterBE writes classic pcap in big-endian byte order, which
// pcapgo's writer does not offer.
type pcapWriterBE struct {
	w    io.Writer
	nano bool
	hdr  [16]byte
}

func (p *pcapWriterBE) writeHeader(snaplen uint32, link layers.LinkType) error {
	var h [24]byte
	magic := uint32(0xa1b2c3d4)
	if p.nano {
		magic = 0xa1b23c4d
	}
	binary.BigEndian.PutUint32(h[0:], magic)
	binary.BigEndian.PutUint16(h[4:], 2)
	binary.BigEndian.PutUint16(h[6:], 4)
	binary.BigEndian.PutUint32(h[16:], snaplen)
	binary.BigEndian.PutUint32(h[20:], uint32(link))
	_, err := p.w.Write(h[:])
	return err
}

func (p *pcapWriterBE) WritePacket(ci gopacket.CaptureInfo, data []byte) error {
	sub := ci.Timestamp.Nanosecond()
	if !p.nano {
		sub /= 1000
	}
	binary.BigEndian.PutUint32(p.hdr[0:], uint32(ci.Timestamp.Unix()))
	binary.BigEndian.PutUint32(p.hdr[4:], uint32(sub))
	binary.BigEndian.PutUint32(p.hdr[8:], uint32(ci.CaptureLength))
	binary.BigEndian.PutUint32(p.hdr[12:], uint32(ci.Length))
	if _, err := p.w.Write(p.hdr[:]); err != nil {
		return err
	}
	_, err := p.w.Write(data)
	return err
}
