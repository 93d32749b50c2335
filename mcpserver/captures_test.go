package mcpserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListCaptures(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	copyFile := func(src, dst string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("../testdata/scan_syn.pcap", filepath.Join(root, "a", "scan.cap"))           // a capture whatever its name
	copyFile("../testdata/benign_dns.pcapng", filepath.Join(root, "dns.pcapng"))          // pcapng
	copyFile("../testdata/gen_traffic.pcap.gz", filepath.Join(root, "b", "c", "t.gz"))    // gzip-compressed
	copyFile("../testdata/gen_not_a_capture.txt", filepath.Join(root, "notes.pcap"))      // not a capture, whatever its name
	copyFile("../testdata/sweep_syn.pcap", filepath.Join(outside, "secret.pcap"))         // outside the roots
	copyFile("../testdata/scan_udp.pcap", filepath.Join(root, "1/2/3/4/5/6/7/deep.pcap")) // below the depth bound
	if err := os.Symlink(filepath.Join(outside, "secret.pcap"), filepath.Join(root, "link.pcap")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "outdir")); err != nil {
		t.Fatal(err)
	}
	_, c := newTestServer(t, Config{Roots: []string{root}})
	// Analyse one file first: its packet count then shows.
	decode[SummaryResult](t, c, "read_pcap_summary", map[string]any{"pcap_file": "dns.pcapng"})
	got := decode[ListCapturesResult](t, c, "list_captures", nil)
	byName := map[string]CaptureFile{}
	for _, f := range got.Captures {
		byName[f.Name] = f
	}
	want := map[string]string{"a/scan.cap": "pcap", "dns.pcapng": "pcapng", "b/c/t.gz": "pcap"}
	if len(byName) != len(want) || got.Total != len(want) {
		t.Errorf("listed %v, want %v", got.Captures, want)
	}
	for name, format := range want {
		f, ok := byName[name]
		if !ok || f.Format != format || f.Size == 0 || f.Modified.IsZero() || !strings.HasSuffix(f.PcapFile, name) {
			t.Errorf("%s: %+v, want format %s", name, f, format)
		}
	}
	if !byName["b/c/t.gz"].Compressed || byName["dns.pcapng"].Compressed {
		t.Errorf("compressed flags wrong: %+v", got.Captures)
	}
	if p := byName["dns.pcapng"].Packets; p == nil || *p != 188 {
		t.Errorf("dns.pcapng packets %v, want 188 (capinfos) once analysed", p)
	}
	if byName["a/scan.cap"].Packets != nil {
		t.Errorf("a/scan.cap has a packet count before any analysis")
	}
	if !got.Incomplete {
		t.Errorf("the walk past depth %d is not reported incomplete", listMaxDepth)
	}
	sub := decode[ListCapturesResult](t, c, "list_captures", map[string]any{"working_dir": "a"})
	if sub.Total != 1 || sub.Captures[0].Name != "scan.cap" {
		t.Errorf("working_dir a: %+v", sub.Captures)
	}
	if msg := toolErrorText(t, c, "list_captures", map[string]any{"working_dir": outside}); !strings.Contains(msg, "outside the allowed roots") {
		t.Errorf("working_dir outside: %q", msg)
	}
}
