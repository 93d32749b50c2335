package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// errBlockCutShort is a skipped block cut short by the end of the file. It
// wraps io.ErrUnexpectedEOF, so the capture reads as truncated, but is not
// equal to it: gopacket takes a bare io.ErrUnexpectedEOF at a block's start
// for a clean end of file.
var errBlockCutShort = fmt.Errorf("a block cut short: %w", io.ErrUnexpectedEOF)

// pcapng block types (pcapng specification, section 11.1).
const (
	ngSectionHeader        = 0x0A0D0D0A
	ngInterfaceDescription = 0x00000001
	ngObsoletePacket       = 0x00000002
	ngSimplePacket         = 0x00000003
	ngEnhancedPacket       = 0x00000006
	ngByteOrderMagic       = 0x1A2B3C4D
)

// Fixed parts of the blocks whose contents are read: the 8-byte block
// header plus the block's own fields, before its data and options.
const (
	ngBlockHeaderLen   = 8
	ngSectionFixedLen  = ngBlockHeaderLen + 4 + 2 + 2 + 8 // byte-order magic, version, section length
	ngIfaceFixedLen    = ngBlockHeaderLen + 8             // link type, reserved, snap length
	ngPacketFixedLen   = ngBlockHeaderLen + 20            // interface, timestamp, lengths
	ngSimpleFixedLen   = ngBlockHeaderLen + 4             // original length
	ngBlockTrailerLen  = 4
	ngOptionHeaderLen  = 4
	ngMinBlockLen      = ngBlockHeaderLen + ngBlockTrailerLen
	ngOptionEndOfBlock = 0
)

// ngFramer sits between the file and gopacket's pcapng reader, which
// trusts the lengths it reads (a packet block's captured length is read
// whole, even past the block's end; options may run past it). The framer
// reads each block header first and hands gopacket only blocks whose every
// length is within the limits in limits.go and within the block itself:
// section headers, interface descriptions and packet blocks. Every other
// block is skipped here, unread, so gopacket keeps nothing of it (it would
// keep every name and secret in its section).
//
// Blocks are checked whole (MaxBlockSize fits the buffer beneath), so the
// cost is a Peek and a walk over a block's few options; the bytes are
// handed on in large reads across block boundaries.
type ngFramer struct {
	in   *bufio.Reader
	big  bool   // the current section is big-endian
	left uint64 // bytes of the current block not yet handed out
	err  error  // sticky: returned once the bytes before it are out

	// The current section's interfaces: how many, their bytes, and the
	// first one's snap length, which bounds a simple packet block's data.
	ifaces     int
	ifaceBytes uint64
	snap0      uint32
}

func newNgFramer(in *bufio.Reader) *ngFramer { return &ngFramer{in: in} }

func (f *ngFramer) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.left == 0 {
			if f.err != nil {
				break
			}
			if f.err = f.nextBlock(); f.err != nil {
				break
			}
			if f.left == 0 { // a skipped block
				continue
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

func (f *ngFramer) u16(b []byte) uint16 {
	if f.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *ngFramer) u32(b []byte) uint32 {
	if f.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// nextBlock checks the block that starts here and either sets it up to be
// handed on (f.left) or skips it (f.left stays 0). A block cut short by
// the end of the file is handed on as far as it goes, so gopacket reports
// the capture cut short; nothing in it can make gopacket allocate more
// than the limits, since its lengths were checked or never reached.
func (f *ngFramer) nextBlock() error {
	hdr, err := f.in.Peek(ngBlockHeaderLen + 4)
	if len(hdr) < ngBlockHeaderLen {
		if len(hdr) == 0 {
			return err
		}
		f.left = uint64(len(hdr))
		return nil
	}
	typ := f.u32(hdr)
	if typ == ngSectionHeader {
		if len(hdr) < ngBlockHeaderLen+4 {
			f.left = uint64(len(hdr))
			return nil
		}
		switch {
		case binary.LittleEndian.Uint32(hdr[8:]) == ngByteOrderMagic:
			f.big = false
		case binary.BigEndian.Uint32(hdr[8:]) == ngByteOrderMagic:
			f.big = true
		default:
			return &frameError{fmt.Sprintf("section header has byte-order magic 0x%x, want 0x1a2b3c4d", hdr[8:12])}
		}
		f.ifaces, f.ifaceBytes, f.snap0 = 0, 0, 0
	}
	length := uint64(f.u32(hdr[4:]))
	if length < ngMinBlockLen {
		return &frameError{fmt.Sprintf("block of type 0x%08x declares %d bytes, less than the %d-byte minimum", typ, length, ngMinBlockLen)}
	}
	switch typ {
	case ngSectionHeader, ngInterfaceDescription, ngEnhancedPacket, ngObsoletePacket, ngSimplePacket:
	default:
		if length > MaxSkippedBlockSize {
			return &frameError{fmt.Sprintf("block of type 0x%08x declares %d bytes, more than the %d-byte limit", typ, length, MaxSkippedBlockSize)}
		}
		if _, err := f.in.Discard(int(length)); err != nil {
			if err == io.EOF {
				return errBlockCutShort
			}
			return err
		}
		return nil
	}
	// Peek the whole block, or as much as the limit allows: its fields
	// (a packet's captured length above all) say more about a block too
	// long than its length does.
	block, _ := f.in.Peek(int(min(length, MaxBlockSize)))
	if err := f.check(typ, length, block, uint64(len(block)) == length); err != nil {
		return err
	}
	if length > MaxBlockSize {
		return &frameError{fmt.Sprintf("block of type 0x%08x declares %d bytes, more than the %d-byte limit", typ, length, MaxBlockSize)}
	}
	// A block cut short by the end of the file is handed on as far as
	// it goes, and gopacket reports the capture cut short.
	f.left = uint64(len(block))
	return nil
}

// check reads the fields of a block gopacket will parse. block holds the
// block's first bytes, all length of them when whole is true.
func (f *ngFramer) check(typ uint32, length uint64, block []byte, whole bool) error {
	fixed := ngFixedLen(typ)
	if length < fixed+ngBlockTrailerLen {
		return &frameError{fmt.Sprintf("block of type 0x%08x declares %d bytes, less than the %d its fields take", typ, length, fixed+ngBlockTrailerLen)}
	}
	if uint64(len(block)) < fixed {
		return nil // cut short before the fields: gopacket stops there
	}
	optStart := fixed
	switch typ {
	case ngInterfaceDescription:
		f.ifaces++
		f.ifaceBytes += length
		if f.ifaces > MaxInterfaces {
			return &frameError{fmt.Sprintf("more than %d interfaces in one section", MaxInterfaces)}
		}
		if f.ifaceBytes > MaxInterfaceBytes {
			return &frameError{fmt.Sprintf("interface descriptions of more than %d bytes in one section", MaxInterfaceBytes)}
		}
		if f.ifaces == 1 {
			f.snap0 = f.u32(block[12:16])
		}
	case ngEnhancedPacket, ngObsoletePacket, ngSimplePacket:
		var caplen uint64
		if typ == ngSimplePacket {
			// gopacket takes the original length, cut to the first
			// interface's snap length, as the captured length.
			caplen = uint64(f.u32(block[8:12]))
			if f.snap0 != 0 && caplen > uint64(f.snap0) {
				caplen = uint64(f.snap0)
			}
		} else {
			caplen = uint64(f.u32(block[20:24]))
		}
		if caplen > MaxRecordSize {
			return &frameError{fmt.Sprintf("record of %d bytes exceeds the %d-byte limit", caplen, MaxRecordSize)}
		}
		optStart = fixed + pad4(caplen)
		if optStart+ngBlockTrailerLen > length {
			return &frameError{fmt.Sprintf("packet block of %d bytes cannot hold its %d captured bytes", length, caplen)}
		}
		if typ != ngEnhancedPacket {
			return nil // gopacket reads no options from these
		}
	}
	if !whole {
		return nil
	}
	return f.checkOptions(typ, block[optStart:length-ngBlockTrailerLen])
}

// ngFixedLen is the length of a read block's header and fields before
// its data and options.
func ngFixedLen(typ uint32) uint64 {
	switch typ {
	case ngSectionHeader:
		return ngSectionFixedLen
	case ngInterfaceDescription:
		return ngIfaceFixedLen
	case ngSimplePacket:
		return ngSimpleFixedLen
	}
	return ngPacketFixedLen
}

// checkOptions walks a block's options and checks that each lies inside
// the block, as gopacket reads options until it meets the end-of-options
// code or exactly the block's end, and otherwise on into the next blocks.
func (f *ngFramer) checkOptions(typ uint32, opts []byte) error {
	for len(opts) > 0 {
		if len(opts) < ngOptionHeaderLen {
			return &frameError{fmt.Sprintf("block of type 0x%08x ends inside an option header", typ)}
		}
		code, n := f.u16(opts), uint64(f.u16(opts[2:]))
		if code == ngOptionEndOfBlock {
			return nil
		}
		opts = opts[ngOptionHeaderLen:]
		if pad4(n) > uint64(len(opts)) {
			return &frameError{fmt.Sprintf("an option of %d bytes runs past the end of its block (type 0x%08x)", n, typ)}
		}
		opts = opts[pad4(n):]
	}
	return nil
}
