package capture

import (
	"bytes"
	"runtime"
	"testing"
)

// FuzzPcapngBlocks reads arbitrary bytes as a capture through the framers
// and gopacket's readers, as Scan does. Whatever the blocks, options and
// lengths declare, reading must not panic, must never hand out a packet
// longer than MaxRecordSize, and must allocate in proportion to the input
// (plus the fixed read buffers), never to what the input declares. The
// seed corpus is in testdata/fuzz/FuzzPcapngBlocks.
func FuzzPcapngBlocks(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := &captureReader{path: "fuzz"}
		if err := r.initFrom(bytes.NewReader(data)); err != nil {
			return
		}
		for {
			pkt, ci, _, err := r.next()
			if err != nil {
				break
			}
			if len(pkt) > MaxRecordSize || ci.CaptureLength > MaxRecordSize {
				t.Fatalf("a packet of %d bytes (captured length %d), over the %d-byte limit", len(pkt), ci.CaptureLength, MaxRecordSize)
			}
		}
		runtime.ReadMemStats(&after)
		// The read buffers, a packet buffer, and per input byte a bounded
		// number of copies (option strings, interface records).
		limit := uint64(2*readBufferSize+ngReadSize+2*MaxRecordSize) + 256*uint64(len(data))
		if got := after.TotalAlloc - before.TotalAlloc; got > limit {
			t.Fatalf("reading %d bytes allocated %d bytes, more than %d", len(data), got, limit)
		}
	})
}
