package inspect

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Matcher selects packets; filter.Expr is one. frame is the 1-based frame
// number, as tshark counts.
type Matcher interface {
	Match(p *capture.Packet, frame int) bool
}

// Line is one packet of the list, in tshark's default columns.
type Line struct {
	// Number is the frame number, from 1.
	Number int `json:"number"`
	// Time is the seconds since the capture's first packet, printed with
	// the capture's timestamp precision (6 or 9 decimals) as tshark does.
	Time        string `json:"time"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Protocol    string `json:"protocol"`
	// Length is the frame's length on the wire.
	Length int    `json:"length"`
	Info   string `json:"info"`

	rel time.Duration
}

// String formats the line as tshark prints it.
func (l Line) String() string {
	return fmt.Sprintf("%7d %12s %17s → %-17s %-6s %5d %s", l.Number, l.Time, l.Source, l.Destination, l.Protocol, l.Length, l.Info)
}

// List is one page of the packets a filter selected.
type List struct {
	// Lines is the page, in frame order.
	Lines []Line
	// Matched counts every packet the filter selected in the whole capture.
	Matched int
	// Capture is what the pass learned about the file (nil when it could
	// not be opened).
	Capture *capture.Capture
}

// Find reads the capture and returns the packets m selects, the
// offset-th to the (offset+limit)-th of them, with the count of all. A nil
// m selects every packet. A capture damaged part-way gives the packets
// before the damage with the error.
func Find(ctx context.Context, src Source, m Matcher, offset, limit int) (*List, error) {
	if offset < 0 || limit < 0 {
		return nil, fmt.Errorf("inspect: offset %d and limit %d must not be negative", offset, limit)
	}
	f := &finder{m: m, offset: offset, limit: limit, d: newDescriber()}
	c, err := src.scan(ctx, f)
	if c == nil {
		return nil, err
	}
	prec := precision(c)
	for i := range f.lines {
		f.lines[i].Time = formatRel(f.lines[i].rel, prec)
	}
	return &List{Lines: f.lines, Matched: f.matched, Capture: c}, err
}

type finder struct {
	m             Matcher
	offset, limit int
	matched       int
	lines         []Line
	d             *describer
}

func (f *finder) Packet(p *capture.Packet) {
	f.d.track(p)
	if f.m != nil && !f.m.Match(p, p.Index) {
		return
	}
	f.matched++
	if f.matched <= f.offset || len(f.lines) >= f.limit {
		return
	}
	f.lines = append(f.lines, f.d.describe(p))
}

// precision is how many decimals tshark prints for times: nanoseconds for
// a nanosecond pcap and for pcapng (whose usual interfaces resolve to
// nanoseconds in the captures we meet), microseconds otherwise.
func precision(c *capture.Capture) int {
	if c.Nanosecond || c.Format == "pcapng" {
		return 9
	}
	return 6
}

func formatRel(d time.Duration, prec int) string {
	neg := d < 0
	if neg {
		d = -d
	}
	s := fmt.Sprintf("%d.%09d", d/time.Second, d%time.Second)
	s = s[:len(s)-(9-prec)]
	if neg {
		s = "-" + s
	}
	return s
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
