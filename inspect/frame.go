package inspect

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// Bounds on one frame's detail: attacker-controlled packets may carry
// hundreds of options or records.
const (
	// MaxDumpBytes is how much of a frame the hex dump shows.
	MaxDumpBytes = 512
	maxFields    = 64
	maxLayers    = 16
	fieldMax     = 256
)

// ErrNoFrame is returned by Frame when the capture has fewer frames than
// the number asked for.
var ErrNoFrame = errors.New("no such frame")

// Field is one decoded header field.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Layer is one protocol layer of a frame with its fields.
type Layer struct {
	Name   string  `json:"name"`
	Fields []Field `json:"fields"`
	// FieldsTruncated is true when fields were left out.
	FieldsTruncated bool `json:"fields_truncated,omitempty"`
}

// Detail is one frame decoded layer by layer.
type Detail struct {
	Line
	// Captured is how many bytes of the frame the file holds.
	Captured int     `json:"captured"`
	LinkType string  `json:"link_type"`
	Layers   []Layer `json:"layers"`
	// Hex is the first MaxDumpBytes bytes of the frame, in hexdump -C's
	// layout; HexTruncated says there is more.
	Hex          []string `json:"hex"`
	HexTruncated bool     `json:"hex_truncated"`
}

// errFound stops the read once the frame is in hand.
var errFound = errors.New("frame found")

// Frame reads the capture up to frame n (from 1) and decodes it
// layer by layer. It stops reading at that frame. A frame past the end is
// ErrNoFrame.
func Frame(ctx context.Context, src Source, n int) (*Detail, error) {
	if n < 1 {
		return nil, fmt.Errorf("inspect: frame %d: frames are numbered from 1", n)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g := &grabber{n: n, d: newDescriber(), stop: func() { cancel(errFound) }}
	c, err := src.scan(ctx, g)
	if g.data == nil {
		if err == nil {
			return nil, fmt.Errorf("frame %d: the capture has %d frames: %w", n, c.Packets, ErrNoFrame)
		}
		return nil, err
	}
	prec := 6
	if c != nil {
		prec = precision(c)
	}
	g.line.Time = formatRel(g.line.rel, prec)
	det := &Detail{Line: g.line, Captured: len(g.data), LinkType: g.link.String()}
	det.Layers = decodeLayers(g.data, g.link)
	dump := g.data[:min(len(g.data), MaxDumpBytes)]
	det.Hex = strings.Split(strings.TrimRight(hex.Dump(dump), "\n"), "\n")
	det.HexTruncated = len(g.data) > MaxDumpBytes
	return det, nil
}

type grabber struct {
	n    int
	d    *describer
	stop func()
	data []byte
	link layers.LinkType
	line Line
}

func (g *grabber) Packet(p *capture.Packet) {
	if g.data != nil {
		return
	}
	g.d.track(p)
	if p.Index != g.n {
		return
	}
	g.data = append([]byte{}, p.Data...)
	g.link = p.LinkType
	g.line = g.d.describe(p)
	g.stop()
}

// decodeLayers decodes a frame with gopacket's full decoders and lists
// each layer's exported header fields.
func decodeLayers(data []byte, link layers.LinkType) []Layer {
	pkt := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true})
	var out []Layer
	for _, l := range pkt.Layers() {
		if len(out) == maxLayers {
			break
		}
		out = append(out, describeLayer(l))
	}
	if el := pkt.ErrorLayer(); el != nil && len(out) < maxLayers {
		out = append(out, Layer{Name: "DecodeFailure", Fields: []Field{{Name: "error", Value: textsafe.Escape(el.Error().Error(), fieldMax)}}})
	}
	return out
}

func describeLayer(l gopacket.Layer) Layer {
	out := Layer{Name: l.LayerType().String(), Fields: []Field{}}
	v := reflect.ValueOf(l)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return out
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous || f.Name == "Contents" || f.Name == "Payload" {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Func, reflect.Chan, reflect.UnsafePointer:
			continue
		case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
			if fv.IsNil() || (fv.Kind() == reflect.Slice && fv.Len() == 0) {
				continue
			}
		}
		if len(out.Fields) == maxFields {
			out.FieldsTruncated = true
			break
		}
		out.Fields = append(out.Fields, Field{Name: f.Name, Value: fieldValue(fv)})
	}
	return out
}

// fieldValue formats a header field: addresses as addresses, byte strings
// as text when printable and hex otherwise, everything escaped and bounded.
func fieldValue(v reflect.Value) string {
	if v.CanInterface() {
		switch x := v.Interface().(type) {
		case net.IP:
			return x.String()
		case net.HardwareAddr:
			return x.String()
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano)
		case []byte:
			if printableASCII(x) {
				return textsafe.Escape(string(x), fieldMax)
			}
			return hexBounded(x)
		case fmt.Stringer:
			return textsafe.Escape(x.String(), fieldMax)
		}
	}
	s := fmt.Sprintf("%+v", v.Interface())
	return textsafe.Escape(s[:min(len(s), 4*fieldMax)], fieldMax)
}

func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func hexBounded(b []byte) string {
	const max = fieldMax / 2
	if len(b) > max {
		return hex.EncodeToString(b[:max]) + "..."
	}
	return hex.EncodeToString(b)
}
