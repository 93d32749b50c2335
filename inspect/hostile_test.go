package inspect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// layerChecker decodes every frame of a capture layer by layer, as
// get_packet does, and checks the detail stays bounded and clean.
type layerChecker struct {
	t      *testing.T
	frames int
}

func (c *layerChecker) Packet(p *capture.Packet) {
	c.frames++
	ls := decodeLayers(p.Data, p.LinkType)
	if len(ls) > maxLayers+1 {
		c.t.Errorf("frame %d: %d layers", p.Index, len(ls))
	}
	for _, l := range ls {
		if len(l.Fields) > maxFields {
			c.t.Errorf("frame %d %s: %d fields", p.Index, l.Name, len(l.Fields))
		}
		for _, f := range l.Fields {
			if len(f.Value) > 2*fieldMax || !utf8.ValidString(f.Value) {
				c.t.Errorf("frame %d %s.%s: %d bytes, valid UTF-8 %v", p.Index, l.Name, f.Name, len(f.Value), utf8.ValidString(f.Value))
			}
		}
	}
}

// TestViewsOnEveryTestCapture runs every view over every capture of
// testdata, the damaged and the not-a-capture ones included: no panic,
// bounded fields, and errors that say what is wrong.
func TestViewsOnEveryTestCapture(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(filepath.Dir(testfiles.Testdata(t, "scan_syn.pcap")), "*"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, file := range files {
		if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() || filepath.Ext(file) == ".json" || filepath.Ext(file) == ".md" {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			lc := &layerChecker{t: t}
			c, scanErr := capture.Scan(ctx, file, lc)
			var ce *capture.CaptureError
			if scanErr != nil && !errors.As(scanErr, &ce) {
				t.Fatalf("scan: %v", scanErr)
			}
			list, err := Find(ctx, Source{Path: file}, nil, 0, 10)
			if (err == nil) != (scanErr == nil) {
				t.Errorf("Find: %v, Scan: %v", err, scanErr)
			}
			if c == nil {
				if list != nil {
					t.Errorf("Find listed a file Scan could not open")
				}
				return
			}
			if list == nil || list.Matched != c.Packets || len(list.Lines) != min(10, c.Packets) {
				t.Errorf("Find: %+v for %d packets", list, c.Packets)
			}
			if _, err := DNSQueries(ctx, Source{Path: file}, 0, 5); (err == nil) != (scanErr == nil) {
				t.Errorf("DNSQueries: %v", err)
			}
			h, err := ProtocolHierarchy(ctx, Source{Path: file})
			if h == nil {
				t.Fatalf("ProtocolHierarchy: %v", err)
			}
			sum := 0
			for _, r := range h.Roots {
				sum += r.Frames
			}
			if sum != c.Packets {
				t.Errorf("hierarchy roots hold %d frames of %d", sum, c.Packets)
			}
			if c.Packets > 0 {
				if _, err := Frame(ctx, Source{Path: file}, c.Packets); err != nil {
					t.Errorf("last frame %d: %v", c.Packets, err)
				}
			}
			if _, err := Frame(ctx, Source{Path: file}, c.Packets+1); !errors.Is(err, ErrNoFrame) && scanErr == nil {
				t.Errorf("frame past the end: %v", err)
			}
		})
	}
}
