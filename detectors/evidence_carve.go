package detectors

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
)

// carveSnapLen is the snap length a carved pcap declares: Wireshark's
// largest, so no frame the input held is refused.
const carveSnapLen = 262144

// Carved says what Carve wrote.
type Carved struct {
	// Format is "pcap" or "pcapng": the input's own.
	Format string `json:"format"`
	// Packets and Bytes are the packets written and the file's size.
	Packets int   `json:"packets"`
	Bytes   int64 `json:"bytes"`
	// First and Last are the input frame numbers of the first and last
	// packet written (0 when none was).
	First int `json:"first_frame,omitempty"`
	Last  int `json:"last_frame,omitempty"`
}

// Carve reads the capture at path once and writes to w, as a new capture
// file, every packet f matches, byte for byte, with its timestamps and
// lengths. A pcap input gives a pcap (nanosecond timestamps, which every
// current reader opens); a pcapng input gives a pcapng with one interface
// per link type the packets written came from, so captures mixing link
// types carve whole. With no packet matched, w still receives a valid
// empty file of the input's format (and Ethernet link type for a pcap).
//
// The errors are those of capture.Scan (a file damaged part-way gives the
// packets before the damage and the error) and w's write errors.
func Carve(ctx context.Context, path string, f filter.Expr, w io.Writer) (Carved, error) {
	format, err := capture.CheckCapture(path)
	if err != nil {
		return Carved{}, err
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	cv := &carver{f: f, format: format, w: bw}
	_, scanErr := capture.Scan(ctx, path, cv)
	if cv.err == nil {
		cv.err = cv.finish()
	}
	if cv.err == nil {
		cv.err = bw.Flush()
	}
	res := cv.res
	res.Format = format
	res.Bytes = cw.n
	if cv.err != nil {
		return res, fmt.Errorf("writing the packets of %s: %w", path, cv.err)
	}
	return res, scanErr
}

// carver is the analysis that writes the matched packets; it opens its
// writer at the first one, whose link type a pcap header needs.
type carver struct {
	f      filter.Expr
	format string
	w      io.Writer
	res    Carved
	err    error

	pcap     *pcapgo.Writer
	pcapLink layers.LinkType
	ng       *pcapgo.NgWriter
	ngLink   []layers.LinkType // interface i of ng has link type ngLink[i]
}

func (c *carver) Packet(p *capture.Packet) {
	if c.err != nil || !c.f.Match(p, p.Index) {
		return
	}
	ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: max(p.Length, len(p.Data))}
	if c.err = c.write(p.LinkType, ci, p.Data); c.err != nil {
		return
	}
	if c.res.Packets == 0 {
		c.res.First = p.Index
	}
	c.res.Last = p.Index
	c.res.Packets++
}

func (c *carver) write(lt layers.LinkType, ci gopacket.CaptureInfo, data []byte) error {
	if c.format == "pcapng" {
		if c.ng == nil {
			ng, err := pcapgo.NewNgWriterInterface(c.w, ngInterface(lt), pcapgo.DefaultNgWriterOptions)
			if err != nil {
				return err
			}
			c.ng, c.ngLink = ng, []layers.LinkType{lt}
		}
		i := slices.Index(c.ngLink, lt)
		if i < 0 {
			id, err := c.ng.AddInterface(ngInterface(lt))
			if err != nil {
				return err
			}
			i = id
			c.ngLink = append(c.ngLink, lt)
		}
		ci.InterfaceIndex = i
		return c.ng.WritePacket(ci, data)
	}
	if c.pcap == nil {
		if err := c.pcapHeader(lt); err != nil {
			return err
		}
	} else if lt != c.pcapLink {
		// A pcap input has one link type; this cannot happen, but a
		// pcap file must not lie about it.
		return errors.New("a pcap holds one link type, and the packets have several")
	}
	return c.pcap.WritePacket(ci, data)
}

func (c *carver) pcapHeader(lt layers.LinkType) error {
	c.pcap = pcapgo.NewWriterNanos(c.w)
	c.pcapLink = lt
	return c.pcap.WriteFileHeader(carveSnapLen, lt)
}

// finish writes what an empty result still needs, and flushes.
func (c *carver) finish() error {
	switch {
	case c.format == "pcapng" && c.ng == nil:
		ng, err := pcapgo.NewNgWriterInterface(c.w, ngInterface(layers.LinkTypeEthernet), pcapgo.DefaultNgWriterOptions)
		if err != nil {
			return err
		}
		c.ng = ng
	case c.format != "pcapng" && c.pcap == nil:
		return c.pcapHeader(layers.LinkTypeEthernet)
	}
	if c.ng != nil {
		return c.ng.Flush()
	}
	return nil
}

func ngInterface(lt layers.LinkType) pcapgo.NgInterface {
	intf := pcapgo.DefaultNgInterface
	intf.Name = "carved-" + lt.String()
	intf.LinkType = lt
	intf.SnapLength = carveSnapLen
	return intf
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// CarveSources writes to w, as one pcapng capture, every packet f matches
// in the sources read as one capture (in order, frame numbers running on
// across them, as capture.ScanFiles reads them), byte for byte, with one
// interface per link type. investigate uses it to make one capture of
// several inputs and a filter.
func CarveSources(ctx context.Context, sources []capture.Source, f filter.Expr, w io.Writer) (Carved, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	cv := &carver{f: f, format: "pcapng", w: bw}
	_, scanErr := capture.ScanFiles(ctx, sources, capture.Config{}, cv)
	if cv.err == nil {
		cv.err = cv.finish()
	}
	if cv.err == nil {
		cv.err = bw.Flush()
	}
	res := cv.res
	res.Format = "pcapng"
	res.Bytes = cw.n
	if cv.err != nil {
		return res, fmt.Errorf("writing the selected packets: %w", cv.err)
	}
	return res, scanErr
}
