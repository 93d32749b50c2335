package mcpserver

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCallDeadlineAnswersAHugeCapture checks a 100 GB capture (a sparse
// file with a valid header) is answered at the call's deadline, partial
// and with a warning, and that the partial analysis is not cached as if
// it were whole: the next call reads the file again.
func TestCallDeadlineAnswersAHugeCapture(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.pcap")
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	if err := os.WriteFile(path, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 100<<30); err != nil {
		t.Skipf("cannot make a 100 GB sparse file here: %v", err)
	}
	writeScanCapture(t, filepath.Join(dir, "small.pcap"), 1, 12)

	const timeout = 500 * time.Millisecond
	s, c := newTestServer(t, Config{Roots: []string{dir}, CallTimeout: timeout})
	for i := 1; i <= 2; i++ {
		start := time.Now()
		got := decode[SummaryResult](t, c, "read_pcap_summary", map[string]any{"pcap_file": "huge.pcap"})
		took := time.Since(start)
		if took > timeout+3*time.Second {
			t.Errorf("call %d took %v with a %v deadline", i, took, timeout)
		}
		if !got.Partial || got.TotalPackets == 0 {
			t.Errorf("call %d: partial %v, %d packets; want a partial answer from the packets read", i, got.Partial, got.TotalPackets)
		}
		if len(got.Warnings) == 0 || !strings.Contains(strings.Join(got.Warnings, "\n"), "deadline") {
			t.Errorf("call %d: warnings %q; want one about the deadline", i, got.Warnings)
		}
		if st := s.Stats(); st.Parses != int64(i) || st.Entries != 0 {
			t.Errorf("after call %d: %+v; want %d parses and nothing cached", i, st, i)
		}
	}
	// A capture read whole within the deadline is whole, and cached.
	got := decode[SummaryResult](t, c, "read_pcap_summary", map[string]any{"pcap_file": "small.pcap"})
	if got.Partial || got.TotalPackets != 24 || len(got.Warnings) != 0 {
		t.Errorf("small.pcap: partial %v, %d packets, warnings %q; want whole, 24 packets", got.Partial, got.TotalPackets, got.Warnings)
	}
	if st := s.Stats(); st.Entries != 1 {
		t.Errorf("%+v: want the whole analysis cached", st)
	}
	if _, err := New(Config{Roots: []string{dir}, CallTimeout: -time.Second}); err == nil {
		t.Error("New with a negative CallTimeout: no error")
	}
}
