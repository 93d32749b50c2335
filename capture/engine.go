package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Analyzer is one analysis in the single pass: the engine calls Packet once
// for every packet of the capture, in file order, with the decoded view.
// Packet must not keep p or anything it points to past the call.
type Analyzer interface {
	Packet(p *Packet)
}

// ctxCheckEvery is how many packets pass between two looks at ctx.
const ctxCheckEvery = 4096

// Capture is what one pass learned about the file itself, and the
// connections in it.
type Capture struct {
	Path       string
	Format     string // "pcap" or "pcapng"
	Compressed bool   // the file was gzip-compressed
	Nanosecond bool   // pcap timestamps in nanoseconds (pcapng: per interface)
	LinkTypes  []layers.LinkType
	Interfaces int
	Packets    int
	Bytes      int64 // sum of wire lengths
	Captured   int64 // sum of captured lengths
	Start, End time.Time
	Truncated  bool // the file ends in the middle of a record
	Warnings   []string
	Malformed  int // packets with a header the decoder could not read in full
	// Fragments counts IP fragments and what became of their datagrams.
	Fragments FragmentStats
	badTimes  int // packets whose timestamp was out of range
	flows     *flowTable
	defrag    *defragmenter // nil until the first fragment
}

// Flows returns every TCP and UDP connection, in order of first packet.
func (c *Capture) Flows() []*Flow {
	if c.flows == nil {
		return nil
	}
	return c.flows.order
}

// Scan reads the capture at path once, decodes every packet once, and hands
// each to every analyzer. It reads the whole file, whatever its size; ctx
// cancels a long read.
//
// A file cut short in the middle of a record is not an error: Scan returns
// every packet before the damage with Truncated set and a warning. Any other
// problem is a *CaptureError; when it comes after some packets were read
// (a corrupt record, an unsupported section), Scan returns the Capture of
// those packets together with the error, and the analyzers have seen them.
func Scan(ctx context.Context, path string, analyzers ...Analyzer) (*Capture, error) {
	r, err := openCapture(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	c := &Capture{Path: path, Format: r.format, Compressed: r.compressed, Nanosecond: r.nanosecond, flows: newFlowTable()}
	err = c.run(ctx, r, analyzers)
	c.finishDefrag()
	if c.badTimes > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%d packets had a timestamp outside the years 1-9999 (damaged, or a wrong timestamp resolution); each was given the time of the packet before it", c.badTimes))
	}
	c.LinkTypes = r.linkTypes
	c.Interfaces = r.ifaces
	return c, err
}

func (c *Capture) run(ctx context.Context, r *captureReader, analyzers []Analyzer) error {
	dec := newDecoder()
	var p Packet
	var lastTime time.Time
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("reading %s: %w", c.Path, err)
			}
		}
		data, ci, lt, err := r.next()
		if err != nil {
			return c.readError(err)
		}
		p = Packet{Index: c.Packets + 1, Time: ci.Timestamp, Length: ci.Length, CaptureLength: ci.CaptureLength, LinkType: lt, Data: data}
		if p.Time.IsZero() {
			// A pcapng Simple Packet Block has no timestamp: it takes
			// the time of the packet before it.
			p.Time = lastTime
		}
		if y := p.Time.Year(); y < 1 || y > 9999 {
			// A damaged pcapng timestamp (64 bits, in whatever unit the
			// interface declares) can land outside the years time.Time
			// writes as JSON; the packet takes the time before it.
			p.Time = lastTime
			c.badTimes++
		}
		lastTime = p.Time
		if p.Length < p.CaptureLength {
			p.Length = p.CaptureLength
		}
		dec.decode(&p, data)
		if p.Layers&LayerFragment != 0 {
			c.reassemble(dec, &p)
		}
		c.Packets++
		c.Bytes += int64(p.Length)
		c.Captured += int64(p.CaptureLength)
		if !p.Time.IsZero() && (c.Start.IsZero() || p.Time.Before(c.Start)) {
			c.Start = p.Time
		}
		if p.Time.After(c.End) {
			c.End = p.Time
		}
		if p.Layers&LayerMalformed != 0 {
			c.Malformed++
		}
		if p.Layers&(LayerTCP|LayerUDP) != 0 && p.Layers&LayerFragment == 0 {
			p.NewFlow = c.flows.lookup(&p)
			f := p.Flow
			d := 1
			if p.FromClient {
				d = 0
			}
			f.Packets[d]++
			f.Bytes[d] += uint64(p.Length)
			f.Payload[d] += uint64(p.PayloadLen)
			f.Last = p.Time
			if p.Time.Before(f.First) {
				f.First = p.Time
			}
			if p.Fragments > 0 {
				f.Fragmented[d]++
			}
			if d == 0 && p.HasMAC {
				if !f.HasClientMAC {
					f.ClientMAC, f.HasClientMAC = p.SrcMAC, true
				} else if f.ClientMAC != p.SrcMAC {
					f.ClientMACVaries = true
				}
			}
			if p.Layers&LayerTCP != 0 {
				f.Flags[d] |= p.TCPFlags
				if d == 0 && p.TCPFlags&(FlagSYN|FlagACK) == FlagSYN {
					f.SYNs++
				}
			}
		}
		for _, a := range analyzers {
			a.Packet(&p)
		}
	}
}

// readError sorts the error that ended the read: the end of the file, a
// record cut short (not an error), or damage.
func (c *Capture) readError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		if c.Packets == 0 {
			c.Warnings = append(c.Warnings, "the capture holds no packets")
		}
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.Truncated = true
		c.Warnings = append(c.Warnings, fmt.Sprintf("the capture was cut short in the middle of a packet record: the results cover the %d packets before it", c.Packets))
		return nil
	}
	kind := ErrCorrupt
	detail := err.Error()
	var fe *frameError
	if errors.As(err, &fe) {
		detail = fe.detail
	}
	if errors.Is(err, pcapgo.ErrNgVersionMismatch) {
		kind = ErrUnsupportedVersion
		detail = "a pcapng section header declares a version other than 1.0"
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("reading stopped after %d packets: %s", c.Packets, detail))
	return &CaptureError{Op: "read", Path: c.Path, Kind: kind, Packet: c.Packets, Detail: detail, Err: err}
}
