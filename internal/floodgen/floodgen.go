// Package floodgen writes large hostile captures fast, for the tests that
// bound memory: millions of TCP segments (a SYN flood from spoofed
// sources, one source probing millions of address:port pairs) in a
// classic pcap file of Ethernet, IPv4 and TCP headers only.
//
// It is a test tool: what it writes is the tests' independent truth, so it
// writes every byte itself and shares no code with the decoder under test.
package floodgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// TCP flags, as on the wire.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	ACK = 0x10
)

// Segment is one TCP segment without payload.
type Segment struct {
	Time             time.Time
	Src, Dst         netip.Addr // IPv4
	SrcPort, DstPort uint16
	Flags            uint8
}

// FrameLen is the length of every frame written: Ethernet (14), IPv4 (20)
// and TCP (20) headers.
const FrameLen = 54

// Write writes a pcap file of n segments, segment i being next(i), and
// returns the bytes written. An address that is not IPv4 is an error.
func Write(w io.Writer, n int, next func(i int) Segment) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	bw.Write(hdr[:])
	var rec [16 + FrameLen]byte
	frame := rec[16:]
	copy(frame[0:6], []byte{0x02, 0, 0, 0, 0, 2})
	copy(frame[6:12], []byte{0x02, 0, 0, 0, 0, 1})
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	tcp := frame[34:54]
	tcp[12] = 5 << 4
	binary.BigEndian.PutUint16(tcp[14:], 1024)
	for i := range n {
		s := next(i)
		if !s.Src.Is4() || !s.Dst.Is4() {
			return 0, fmt.Errorf("segment %d: %v -> %v: not IPv4", i, s.Src, s.Dst)
		}
		binary.LittleEndian.PutUint32(rec[0:], uint32(s.Time.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(s.Time.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], FrameLen)
		binary.LittleEndian.PutUint32(rec[12:], FrameLen)
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		src, dst := s.Src.As4(), s.Dst.As4()
		copy(ip[12:16], src[:])
		copy(ip[16:20], dst[:])
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], checksum(ip))
		binary.BigEndian.PutUint16(tcp[0:], s.SrcPort)
		binary.BigEndian.PutUint16(tcp[2:], s.DstPort)
		binary.BigEndian.PutUint32(tcp[4:], uint32(i)*7919)
		tcp[13] = s.Flags
		if _, err := bw.Write(rec[:]); err != nil {
			return 0, fmt.Errorf("writing segment %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("writing: %w", err)
	}
	return 24 + int64(n)*int64(len(rec)), nil
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// Spoofed returns the i-th of a sequence of distinct IPv4 sources in
// 1.0.0.0 onwards, as a flood from spoofed sources uses.
func Spoofed(i int) netip.Addr {
	v := uint32(0x01000000 + i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
