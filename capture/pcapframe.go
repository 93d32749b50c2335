package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
)

// pcapHeaderLen and pcapRecordHeaderLen are the sizes of a classic pcap
// file header and of each record's header.
const (
	pcapHeaderLen       = 24
	pcapRecordHeaderLen = 16
)

// pcapFramer sits between the file and gopacket's pcap reader and checks
// each record header before handing its bytes on: a record declaring more
// than MaxRecordSize captured bytes is refused before gopacket reads (and
// allocates) it. It hands out bytes only up to the end of the current
// record, so it sees every record header in turn.
type pcapFramer struct {
	in    *bufio.Reader
	order binary.ByteOrder
	left  uint64 // bytes of the current header or record not yet handed out
	err   error  // sticky: returned once the bytes before it are out
}

func newPcapFramer(in *bufio.Reader, order binary.ByteOrder) *pcapFramer {
	return &pcapFramer{in: in, order: order, left: pcapHeaderLen}
}

func (f *pcapFramer) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.left == 0 {
			if f.err != nil {
				break
			}
			if f.err = f.nextRecord(); f.err != nil {
				break
			}
		}
		m, err := f.in.Read(p[n : n+int(min(uint64(len(p)-n), f.left))])
		n += m
		f.left -= uint64(m)
		if err != nil {
			f.err = err
			break
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

// nextRecord checks the header of the record that starts here.
func (f *pcapFramer) nextRecord() error {
	hdr, err := f.in.Peek(pcapRecordHeaderLen)
	if len(hdr) < pcapRecordHeaderLen {
		if len(hdr) == 0 {
			return err
		}
		// A header cut short: hand the fragment on, and gopacket reports
		// the record cut short.
		f.left = uint64(len(hdr))
		return nil
	}
	caplen := f.order.Uint32(hdr[8:12])
	if caplen > MaxRecordSize {
		return &frameError{fmt.Sprintf("record of %d bytes exceeds the %d-byte limit", caplen, MaxRecordSize)}
	}
	f.left = pcapRecordHeaderLen + uint64(caplen)
	return nil
}
