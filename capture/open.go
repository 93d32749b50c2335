package capture

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Capture file magic numbers, as the first four bytes read little-endian.
const (
	magicPcapMicroLE = 0xa1b2c3d4
	magicPcapMicroBE = 0xd4c3b2a1
	magicPcapNanoLE  = 0xa1b23c4d
	magicPcapNanoBE  = 0x4d3cb2a1
	magicPcapNG      = 0x0a0d0d0a
)

// readBufferSize is large enough that the file is read in few system calls.
const readBufferSize = 1 << 20

// captureReader reads packets from a pcap or pcapng file, gzip-compressed or not.
type captureReader struct {
	path       string
	f          *os.File
	src        io.Reader // what init reads: f behind a byteCounter, and a ctxReader
	counter    *byteCounter
	size       int64  // f's size when opened
	format     string // "pcap" or "pcapng"
	compressed bool
	nanosecond bool // pcap only: the file's timestamps are in nanoseconds
	pcap       *pcapgo.Reader
	ng         *pcapgo.NgReader
	linkTypes  []layers.LinkType // every link type declared, in order of appearance
	order      binary.ByteOrder  // pcap only: the byte order of the headers
	ifaces     int               // interfaces seen (pcapng), 1 for pcap
	lastIfaces int
}

// openCapture opens path and reads its file header. The format comes from
// the magic number, never from the file name. The reader owns the file:
// Close closes it.
func openCapture(path string) (*captureReader, error) {
	f, err := openPath(path)
	if err != nil {
		return nil, err
	}
	r, err := openFile(context.Background(), f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// openPath opens the regular file at path for reading. The Stat before
// the open refuses a fifo or a device without opening it (opening a fifo
// blocks until a writer comes); O_NONBLOCK covers the file being replaced
// by one in between, and openFile checks the open descriptor again.
func openPath(path string) (*os.File, error) {
	fail := func(kind error, detail string, cause error) error {
		return &CaptureError{Op: "open", Path: path, Kind: kind, Detail: detail, Err: cause}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fail(statKind(err), "", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fail(ErrNotRegular, "it is "+DescribeMode(st.Mode()), nil)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fail(statKind(err), "", err)
	}
	return f, nil
}

// openFile reads the file header of the open file f, from its start, and
// returns a reader over f that does not own it: the caller closes f. name
// is what errors and the Capture call the file. The checks are made on the
// descriptor itself, so they hold for the very file that is read, whatever
// happened to the name since it was opened. When ctx can end, every read
// from f first looks at it, so no run of skipped blocks outlasts ctx.
func openFile(ctx context.Context, f *os.File, name string) (*captureReader, error) {
	fail := func(kind error, detail string, cause error) error {
		return &CaptureError{Op: "open", Path: name, Kind: kind, Detail: detail, Err: cause}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fail(statKind(err), "", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fail(ErrNotRegular, "it is "+DescribeMode(st.Mode()), nil)
	}
	if st.Size() == 0 {
		return nil, fail(ErrEmpty, "the file has 0 bytes", nil)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fail(ErrNotRegular, "it cannot be read from its start", err)
	}
	r := &captureReader{path: name, f: f, size: st.Size(), counter: &byteCounter{r: f}}
	r.src = r.counter
	if ctx.Done() != nil {
		r.src = &ctxReader{ctx: ctx, r: r.counter}
	}
	if err := r.init(); err != nil {
		var ce *CaptureError
		if errors.As(err, &ce) {
			ce.Path = name
			return nil, ce
		}
		return nil, fail(ErrCorrupt, err.Error(), err)
	}
	return r, nil
}

// ctxReader is a reader that stops once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// byteCounter counts the bytes read from the file, for progress: it sits
// under the read buffers, so a read costs one addition per megabyte.
type byteCounter struct {
	r io.Reader
	n int64
}

func (b *byteCounter) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// consumed is how many bytes of the file the reader has taken in, read
// ahead included; for a gzip file, compressed bytes.
func (r *captureReader) consumed() int64 { return min(r.counter.n, r.size) }

func statKind(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		return ErrPermission
	}
	return ErrNotFound
}

func (r *captureReader) init() error { return r.initFrom(r.src) }

// ngReadSize is the buffer gopacket's pcapng reader reads the framer
// through: large, so the framer is called once for many blocks.
const ngReadSize = 64 << 10

// initFrom reads the file header from src, gzip-compressed or not, and
// sets up the reader for the format. Both formats are read through a
// framer that checks every record's declared lengths before gopacket
// allocates for them (limits.go).
func (r *captureReader) initFrom(src io.Reader) error {
	in := bufio.NewReaderSize(src, readBufferSize)
	magic, _ := in.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(in)
		if err != nil {
			return &CaptureError{Op: "open", Kind: ErrCorrupt, Detail: "gzip header: " + err.Error(), Err: err}
		}
		r.compressed = true
		in = bufio.NewReaderSize(gz, readBufferSize)
		magic, err = in.Peek(4)
		if err != nil && len(magic) == 0 {
			return &CaptureError{Op: "open", Kind: ErrEmpty, Detail: "the gzip stream holds no data", Err: err}
		}
	}
	// Test the length, not Peek's error: after gzip the error in scope
	// would be the plain file's, and 1 to 3 bytes of content must not
	// reach the magic decoding below.
	if len(magic) < 4 {
		return &CaptureError{Op: "open", Kind: ErrNotCapture, Detail: fmt.Sprintf("only %d bytes, too short for a capture header", len(magic))}
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case magicPcapMicroLE, magicPcapMicroBE, magicPcapNanoLE, magicPcapNanoBE:
		r.format = "pcap"
		r.nanosecond = m == magicPcapNanoLE || m == magicPcapNanoBE
		var order binary.ByteOrder = binary.BigEndian
		if m == magicPcapMicroLE || m == magicPcapNanoLE {
			order = binary.LittleEndian
		}
		r.order = order
		pr, err := pcapgo.NewReader(newPcapFramer(in, order))
		if err != nil {
			return headerError(err)
		}
		r.pcap = pr
		r.linkTypes = []layers.LinkType{pr.LinkType()}
		r.ifaces = 1
	case magicPcapNG:
		r.format = "pcapng"
		nr, err := pcapgo.NewNgReader(bufio.NewReaderSize(newNgFramer(in), ngReadSize), pcapgo.NgReaderOptions{WantMixedLinkType: true, SectionEndCallback: r.sectionEnd})
		if err != nil {
			return headerError(err)
		}
		r.ng = nr
	default:
		return &CaptureError{Op: "open", Kind: ErrNotCapture, Detail: "found magic " + describeMagic(magic) + ", want a pcap (a1b2c3d4, a1b23c4d, either byte order) or pcapng (0a0d0d0a) file, optionally gzip-compressed"}
	}
	return nil
}

func headerError(err error) error {
	var fe *frameError
	switch {
	case errors.As(err, &fe):
		return &CaptureError{Op: "open", Kind: ErrCorrupt, Detail: fe.detail, Err: err}
	case errors.Is(err, pcapgo.ErrNgVersionMismatch):
		return &CaptureError{Op: "open", Kind: ErrUnsupportedVersion, Detail: "pcapng section header version is not 1.0", Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &CaptureError{Op: "open", Kind: ErrCorrupt, Detail: "the file header is cut short", Err: err}
	}
	msg := err.Error()
	if len(msg) > 14 && msg[:14] == "Unknown major " || len(msg) > 14 && msg[:14] == "Unknown minor " {
		return &CaptureError{Op: "open", Kind: ErrUnsupportedVersion, Detail: "pcap " + msg[8:], Err: err}
	}
	return &CaptureError{Op: "open", Kind: ErrCorrupt, Detail: "file header: " + msg, Err: err}
}

// describeMagic shows the first bytes of a file in hex and, where they are
// printable, as text, so a person sees at once what the file really is.
func describeMagic(b []byte) string {
	s := fmt.Sprintf("0x%x", b)
	printable := true
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			printable = false
		}
	}
	if printable {
		s += " (" + strconv.Quote(string(b)) + ")"
	}
	return s
}

// next reads one packet. data is valid until the following call.
func (r *captureReader) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if r.pcap != nil {
		data, ci, err := r.pcap.ZeroCopyReadPacketData()
		if err == io.EOF && ci.CaptureLength > 0 {
			// The record header was read whole and none of its data
			// follows: io.ReadFull says EOF, but the record is cut short.
			err = io.ErrUnexpectedEOF
		}
		return data, ci, r.linkTypes[0], err
	}
	data, ci, err := r.ng.ZeroCopyReadPacketData()
	r.noteInterfaces()
	if err != nil {
		return nil, ci, 0, err
	}
	lt := layers.LinkTypeEthernet
	if len(ci.AncillaryData) > 0 {
		if v, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			lt = v
		}
	}
	return data, ci, lt, nil
}

// noteInterfaces records the link types of interfaces the pcapng reader
// has met since the last call.
func (r *captureReader) noteInterfaces() {
	n := r.ng.NInterfaces()
	if n == r.lastIfaces {
		return
	}
	for i := r.lastIfaces; i < n; i++ {
		if iface, err := r.ng.Interface(i); err == nil {
			r.noteLinkType(iface.LinkType)
		}
	}
	r.ifaces += n - r.lastIfaces
	r.lastIfaces = n
}

// sectionEnd is called by the pcapng reader when a new section header
// ends the current section, with that section's interfaces: the next
// section numbers its interfaces from 0 again, and may declare as many as
// this one did, so counting NInterfaces alone would miss them.
func (r *captureReader) sectionEnd(ifaces []pcapgo.NgInterface, _ pcapgo.NgSectionInfo) {
	for _, iface := range ifaces[min(r.lastIfaces, len(ifaces)):] {
		r.noteLinkType(iface.LinkType)
		r.ifaces++
	}
	r.lastIfaces = 0
}

func (r *captureReader) noteLinkType(t layers.LinkType) {
	if !containsLinkType(r.linkTypes, t) {
		r.linkTypes = append(r.linkTypes, t)
	}
}

func containsLinkType(l []layers.LinkType, t layers.LinkType) bool {
	for _, v := range l {
		if v == t {
			return true
		}
	}
	return false
}

func (r *captureReader) Close() error { return r.f.Close() }

// CheckCapture opens path and reads its file header without reading any
// packet, so a caller can refuse a file that is missing or is not a capture
// before any work starts. It returns the format ("pcap" or "pcapng").
func CheckCapture(path string) (string, error) {
	r, err := openCapture(path)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return r.format, nil
}
