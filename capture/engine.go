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
	Format     string            // "pcap" or "pcapng"
	Compressed bool              // the file was gzip-compressed
	Nanosecond bool              // pcap timestamps in nanoseconds (pcapng: per interface)
	LinkTypes  []layers.LinkType // in numeric order
	Interfaces int
	// Files names every file read, in the order read, when the scan read
	// more than one (ScanFiles); nil for one file.
	Files []string
	// Read counts every packet read; Packets, Bytes and Captured count
	// those the Config's Filter kept (all of them without one).
	Read       int
	Packets    int
	Bytes      int64 // sum of wire lengths
	Captured   int64 // sum of captured lengths
	Start, End time.Time
	Truncated  bool // the file ends in the middle of a record
	// Stopped is true when ctx's deadline ended the read before the end
	// of the file: the Capture covers the packets read until then, and
	// Warnings says how far the read went.
	Stopped   bool
	Warnings  []string
	Malformed int // packets with a header the decoder could not read in full
	// Fragments counts IP fragments and what became of their datagrams.
	Fragments FragmentStats
	badTimes  int // packets whose timestamp was out of range
	derived   int // the last Warnings, written by settle from the counters
	lastTime  time.Time
	flows     *flowTable
	defrag    *defragmenter // nil until the first fragment
	// hold and keep are Config.HoldFragments and KeepPending.
	hold, keep bool
	// filter is the scan's Filter, for datagrams a merge completes;
	// hdec decodes held fragments when they are handed.
	filter Filter   `partial:"-"`
	hdec   *decoder `partial:"-"`
}

// Flows returns the TCP and UDP connections the flow table holds at the
// end of the pass, in order of first packet: every connection, unless
// FlowStats says some were evicted.
func (c *Capture) Flows() []*Flow {
	if c.flows == nil {
		return nil
	}
	return c.flows.order
}

// FlowStats says how many flows the pass opened and evicted.
func (c *Capture) FlowStats() FlowStats {
	if c.flows == nil {
		return FlowStats{}
	}
	return c.flows.stats
}

// Scan reads the capture at path once, decodes every packet once, and hands
// each to every analyzer. It is ScanFile on the file opened at path (a
// fifo or a device is refused before it is opened).
func Scan(ctx context.Context, path string, analyzers ...Analyzer) (*Capture, error) {
	return ScanConfig(ctx, path, Config{}, analyzers...)
}

// ScanConfig is Scan with the bounds of cfg.
func ScanConfig(ctx context.Context, path string, cfg Config, analyzers ...Analyzer) (*Capture, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ScanFile(ctx, f, path, cfg, analyzers...)
}

// evictTo returns the function that hands an evicted flow to every
// analyzer that wants it, or nil when none does.
func evictTo(analyzers []Analyzer) func(*Flow) {
	var evs []FlowEvictor
	for _, a := range analyzers {
		if e, ok := a.(FlowEvictor); ok {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	return func(f *Flow) {
		for _, e := range evs {
			e.FlowEvicted(f)
		}
	}
}

// pass is what one scan carries from file to file, so that files read
// one after another are one capture: the decoder, the filter and the
// progress report.
type pass struct {
	dec      *decoder
	filter   Filter
	progress func(done, total int64)
	done     int64    // bytes of the files already read whole
	total    int64    // bytes of every file
	shards   *sharder // nil unless the scan is sharded (ScanSharded)
}

func (ps *pass) report(r *captureReader) {
	if ps.progress != nil {
		ps.progress(ps.done+r.consumed(), ps.total)
	}
}

// run reads r to its end and handles each packet, or, for a sharded scan,
// hands it to its worker (a plain pcap file there is read in chunks,
// chunked.go).
func (c *Capture) run(ctx context.Context, r *captureReader, ps *pass, analyzers []Analyzer) error {
	sh := ps.shards
	if sh != nil && r.format == "pcap" && !r.compressed {
		return c.runChunked(ctx, r, ps)
	}
	var p Packet
	for n := 0; ; n++ {
		if n%ctxCheckEvery == 0 {
			if ctx.Err() != nil {
				return c.stop(ctx, r)
			}
			ps.report(r)
		}
		data, ci, lt, err := r.next()
		if err != nil {
			if ctx.Err() != nil {
				// The reader gave up because ctx ended (ctxReader), not
				// because the file is damaged.
				return c.stop(ctx, r)
			}
			return c.readError(r, err)
		}
		c.Read++
		if sh != nil {
			rec := shardRec{index: c.Read, time: c.timestamp(ci.Timestamp), length: ci.Length, caplen: ci.CaptureLength, lt: lt}
			sh.add(sh.route(lt, data), rec, data)
			continue
		}
		p = Packet{Index: c.Read, Time: c.timestamp(ci.Timestamp), Length: ci.Length, CaptureLength: ci.CaptureLength, LinkType: lt, Data: data}
		c.handle(&p, ps.dec, ps.filter, analyzers)
	}
}

// timestamp returns the time a packet read now takes: its own, or the
// previous packet's when it has none or one out of range.
func (c *Capture) timestamp(t time.Time) time.Time {
	if t.IsZero() {
		// A pcapng Simple Packet Block has no timestamp: it takes
		// the time of the packet before it.
		t = c.lastTime
	}
	if y := t.Year(); y < 1 || y > 9999 {
		// A damaged pcapng timestamp (64 bits, in whatever unit the
		// interface declares) can land outside the years time.Time
		// writes as JSON; the packet takes the time before it.
		t = c.lastTime
		c.badTimes++
	}
	c.lastTime = t
	return t
}

// handle decodes the packet p (Index, Time, lengths, LinkType and Data
// set), reassembles fragments, applies the filter, counts it, puts it in
// its flow and hands it to every analyzer. A fragment held until its
// datagram settles is handed later (Config.HoldFragments), and the held
// fragments a packet settles are handed before it.
func (c *Capture) handle(p *Packet, dec *decoder, filter Filter, analyzers []Analyzer) {
	if p.Length < p.CaptureLength {
		p.Length = p.CaptureLength
	}
	dec.decode(p, p.Data)
	if p.Layers&LayerFragment != 0 {
		held := c.reassemble(dec, p, filter)
		c.handOut(analyzers)
		if held {
			return
		}
	}
	if filter != nil && !filter.Match(p, p.Index) {
		return
	}
	c.deliver(p, analyzers, false)
}

// deliver counts p, a packet the filter kept, puts it in its flow and
// hands it to every analyzer. late says p comes after packets that
// followed it in the capture (a datagram a merge completed).
func (c *Capture) deliver(p *Packet, analyzers []Analyzer, late bool) {
	c.Packets++
	c.Bytes += int64(p.Length)
	c.Captured += int64(p.CaptureLength)
	c.widen(p.Time)
	if p.Layers&LayerMalformed != 0 {
		c.Malformed++
	}
	if p.Layers&(LayerTCP|LayerUDP) != 0 && p.Layers&LayerFragment == 0 {
		if late {
			c.lateFlow(p)
		} else {
			p.NewFlow = c.flows.lookup(p)
			countFlow(p)
		}
	}
	for _, a := range analyzers {
		a.Packet(p)
	}
}

// countFlow counts p in its flow, p.Flow.
func countFlow(p *Packet) {
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

// widen extends the capture's time range to t.
func (c *Capture) widen(t time.Time) {
	if !t.IsZero() && (c.Start.IsZero() || t.Before(c.Start)) {
		c.Start = t
	}
	if t.After(c.End) {
		c.End = t
	}
}

// readError sorts the error that ended the read of r: the end of the
// file, a record cut short (not an error: the next file, if any, is read
// on), or damage.
func (c *Capture) readError(r *captureReader, err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.Truncated = true
		if c.Files == nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("the capture was cut short in the middle of a packet record: the results cover the %d packets before it", c.Read))
		} else {
			// A rotated capture's last file is often cut where the
			// writer stopped; the files after it are still read.
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s was cut short in the middle of a packet record after frame %d; reading went on with the next file", r.path, c.Read))
		}
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
	where := ""
	if c.Files != nil {
		where = " (in " + r.path + ")"
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("reading stopped after %d packets%s: %s", c.Read, where, detail))
	return &CaptureError{Op: "read", Path: r.path, Kind: kind, Packet: c.Read, Detail: detail, Err: err}
}
