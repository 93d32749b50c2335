package mcpserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
)

// writesFiles reports whether a tool writes files, and so is refused
// without an output directory: the generic every-tool tests leave it to
// this file.
func writesFiles(tool string) bool { return tool == "export_evidence" }

// TestExportEvidence exports a finding's evidence and a filter's packets
// and reads the files back in tshark.
func TestExportEvidence(t *testing.T) {
	tsharktest.Path(t)
	root := captureDir(t)
	out := t.TempDir()
	_, c := newTestServer(t, Config{Roots: []string{root}, OutDir: out})

	findings := decode[ListFindingsResult](t, c, "list_findings", map[string]any{"pcap_file": "scan_syn.pcap"})
	if len(findings.Findings) != 1 || findings.Findings[0].Index != 1 || findings.Findings[0].Frames == nil {
		t.Fatalf("list_findings: %+v, want one finding, index 1, with frames", findings.Findings)
	}
	f := findings.Findings[0]

	got := decode[ExportEvidenceResult](t, c, "export_evidence", map[string]any{"pcap_file": "scan_syn.pcap", "finding": 1})
	// testdata/ground_truth.json: nmap -sS sent one SYN to each of 1000 ports.
	if got.Packets != 1000 || got.Packets != f.Frames.Packets || got.FirstFrame != f.Frames.First || got.LastFrame != f.Frames.Last ||
		got.DisplayFilter != f.DisplayFilter || got.Format != "pcap" || filepath.Dir(got.Path) != mustReal(t, out) {
		t.Errorf("export_evidence = %+v, want finding 1's %d packets (%+v) under %s", got, f.Frames.Packets, f.Frames, out)
	}
	if n := tsharktest.Count(t, got.Path); n != got.Packets {
		t.Errorf("tshark reads %d packets in %s, export said %d", n, got.Path, got.Packets)
	}
	if st, err := os.Stat(got.Path); err != nil || st.Size() != got.Bytes {
		t.Errorf("%s: %v, size differs from %d bytes", got.Path, err, got.Bytes)
	}

	// Again: a new file, the first untouched.
	before, _ := os.ReadFile(got.Path)
	again := decode[ExportEvidenceResult](t, c, "export_evidence", map[string]any{"pcap_file": "scan_syn.pcap", "finding": 1})
	if again.Path == got.Path {
		t.Errorf("the second export reused %s", got.Path)
	}
	if after, _ := os.ReadFile(got.Path); string(after) != string(before) {
		t.Error("the first export was changed")
	}

	// A filter: the packets the same display filter selects in tshark.
	byFilter := decode[ExportEvidenceResult](t, c, "export_evidence", map[string]any{"pcap_file": "scan_udp.pcap", "filter": "src=10.66.0.20 proto=icmp"})
	want := len(tsharktest.Frames(t, filepath.Join(root, "scan_udp.pcap"), byFilter.DisplayFilter))
	if n := tsharktest.Count(t, byFilter.Path); n != want || n != byFilter.Packets || n == 0 {
		t.Errorf("filter export: %d packets in the file, %d said, tshark -Y %q selects %d", n, byFilter.Packets, byFilter.DisplayFilter, want)
	}

	for _, tt := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"pcap_file": "scan_syn.pcap"}, "give one of finding"},
		{map[string]any{"pcap_file": "scan_syn.pcap", "finding": 1, "filter": "proto=tcp"}, "give one of finding"},
		{map[string]any{"pcap_file": "scan_syn.pcap", "finding": 2}, "the capture has 1 findings"},
		{map[string]any{"pcap_file": "scan_syn.pcap", "filter": "proto=sctp"}, "unknown protocol"},
		{map[string]any{"pcap_file": "../go.mod", "finding": 1}, "resolves outside the allowed roots"},
	} {
		if msg := toolErrorText(t, c, "export_evidence", tt.args); !strings.Contains(msg, tt.want) {
			t.Errorf("export_evidence(%v): %q, want %q", tt.args, msg, tt.want)
		}
	}
}

func TestExportEvidenceRefused(t *testing.T) {
	root := captureDir(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	if msg := toolErrorText(t, c, "export_evidence", map[string]any{"pcap_file": "scan_syn.pcap", "finding": 1}); !strings.Contains(msg, "--out") {
		t.Errorf("without an output directory: %q, want a refusal naming --out", msg)
	}

	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "link-into-root")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, filepath.Join(root, "record"), link, file, filepath.Join(tmp, "missing")} {
		if _, err := New(Config{Roots: []string{root}, OutDir: dir}); !errors.Is(err, ErrOutDir) {
			t.Errorf("New(OutDir %s) = %v, want ErrOutDir", dir, err)
		}
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"traffic": "traffic", "a b/../c": "a_b_.._c", "..": "capture", "": "capture", "é": "_"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustReal(t *testing.T, dir string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
