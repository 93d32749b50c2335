package detectors

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// tlsView is what the TLS reader answers: the kept handshakes and the
// counts (Analysis.TLSHandshakes).
type tlsView struct {
	Handshakes []*TLSHandshake
	Stats      TLSStats
}

func wholeTLS(a *Analysis) tlsView {
	hs, st := a.TLSHandshakes()
	return tlsView{hs, st}
}

func judgeTLS(t *tlsAnalyzer) tlsView { return tlsView{t.kept, t.final()} }

// TestMergeTLSBounded splits the TLS captures by pair with fewer
// handshakes kept than they hold: the merged list is the earliest ones,
// exactly as one pass keeps them, and the counts say how many were
// dropped.
func TestMergeTLSBounded(t *testing.T) {
	for _, name := range []string{"benign_tls_browse.pcap", "tls_handshakes.pcap"} {
		path := testdataFile(t, name)
		for _, max := range []int{1, 2, 3} {
			for _, n := range []int{2, 3, 5} {
				cfg := Config{NoFrames: true, TLS: TLSConfig{MaxHandshakes: max}}
				whole, parts := splitByPair(t, path, cfg, n)
				want := wholeTLS(whole)
				if want.Stats.ClientHellos <= int64(max) {
					t.Fatalf("%s: %d handshakes, the test needs more than %d", name, want.Stats.ClientHellos, max)
				}
				d, _ := mergeInOrder(parts)
				got := judgeTLS(d.tls)
				if diff := jsonDiff(want, got); diff != "" {
					t.Errorf("%s, keeping %d, %d parts: %s", name, max, n, diff)
				}
				if len(got.Handshakes) != max || got.Stats.Kept != max || got.Stats.Dropped != got.Stats.ClientHellos-int64(max) {
					t.Errorf("%s, keeping %d, %d parts: %d kept (stats %d), %d dropped of %d", name, max, n, len(got.Handshakes), got.Stats.Kept, got.Stats.Dropped, got.Stats.ClientHellos)
				}
			}
		}
	}
}

// TestMergeTLSByFile cuts every capture into 2, 5 and 20 files. Frame
// numbers restart in each file, and a connection cut by a file boundary
// is read by each file from its own first packets (see merge_tls.go): a
// ClientHello cut in two is lost, a ServerHello in the file after its
// ClientHello is not read. So the test checks what must still hold:
// every listed handshake is one the whole lists, with the same
// ClientHello; at most one per boundary is missing or differs on the
// server's side; the counts are never above the whole's; and it logs
// what differs. TestMergeTLSAnswerInNextFile checks the common cut, a
// ServerHello in the file after its ClientHello, exactly.
func TestMergeTLSByFile(t *testing.T) {
	for _, path := range msumCaptures(t) {
		t.Run(msumName(path), func(t *testing.T) {
			splittable(t, path)
			for _, n := range []int{2, 5, 20} {
				whole, parts := splitByFile(t, path, Config{NoFrames: true}, n)
				want := wholeTLS(whole)
				d, _ := mergeInOrder(parts)
				got := judgeTLS(d.tls)
				byConn := make(map[string]*TLSHandshake, len(want.Handshakes))
				for _, h := range want.Handshakes {
					byConn[connOf(h)] = h
				}
				serverDiffers := 0
				for _, g := range got.Handshakes {
					w := byConn[connOf(g)]
					if w == nil {
						t.Errorf("%d files: handshake %s is not the whole's", n, connOf(g))
						continue
					}
					if diff := jsonDiff(clientSide(w), clientSide(g)); diff != "" {
						t.Errorf("%d files: ClientHello of %s: %s", n, connOf(g), diff)
					}
					wc, gc := *w, *g
					wc.Packet, gc.Packet = 0, 0
					if jsonDiff(&wc, &gc) != "" {
						serverDiffers++
					}
				}
				if missing := len(want.Handshakes) - len(got.Handshakes); missing < 0 || missing > n-1 {
					t.Errorf("%d files: %d handshakes, the whole %d", n, len(got.Handshakes), len(want.Handshakes))
				}
				ws, gs := want.Stats, got.Stats
				if gs.ClientHellos > ws.ClientHellos || gs.ServerHellos > ws.ServerHellos || gs.Certificates > ws.Certificates {
					t.Errorf("%d files: stats %+v above the whole's %+v", n, gs, ws)
				}
				if serverDiffers > n-1 {
					t.Errorf("%d files: %d handshakes differ on the server's side, more than the %d boundaries", n, serverDiffers, n-1)
				}
				if serverDiffers > 0 || ws != gs {
					t.Logf("%d files: %d of %d handshakes differ on the server's side; stats %+v, whole %+v", n, serverDiffers, len(got.Handshakes), gs, ws)
				}
			}
		})
	}
}

// connOf names a handshake's connection and the time of its hello.
func connOf(h *TLSHandshake) string {
	return fmt.Sprintf("%v:%d-%v:%d@%v", h.Client, h.ClientPort, h.Server, h.ServerPort, h.Time.UnixNano())
}

// clientSide is what the ClientHello says of a handshake.
func clientSide(h *TLSHandshake) TLSHandshake {
	return TLSHandshake{Time: h.Time, Client: h.Client, ClientPort: h.ClientPort, Server: h.Server, ServerPort: h.ServerPort,
		SNI: h.SNI, Version: h.Version, SupportedVersions: h.SupportedVersions, ALPN: h.ALPN, CipherSuites: h.CipherSuites,
		CipherSuitesTotal: h.CipherSuitesTotal, Extensions: h.Extensions, JA3: h.JA3, JA3Hash: h.JA3Hash, JA4: h.JA4, JA4Raw: h.JA4Raw}
}

// TestMergeTLSAnswerInNextFile cuts a capture of TLS handshakes in two
// files between a connection's ClientHello and its ServerHello (the
// frames tshark finds), so the hello is in one file and the answer in
// the next, and checks that the merged listing and counts are the
// whole's, frame numbers aside, whichever file is merged into which.
func TestMergeTLSAnswerInNextFile(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed")
	}
	path := testdataFile(t, "tls_handshakes.pcap")
	out, err := exec.Command("tshark", "-n", "-r", path, "-Y", "tls.handshake.type==1 || tls.handshake.type==2", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tls.handshake.type").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	hello := map[string]int{} // stream -> frame of its ClientHello
	var cuts []int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		frame, _ := strconv.Atoi(f[0])
		switch {
		case f[2] == "1":
			hello[f[1]] = frame
		case strings.HasPrefix(f[2], "2") && hello[f[1]] > 0:
			cuts = append(cuts, frame-1) // the last frame before the ServerHello
		}
	}
	if len(cuts) < 5 {
		t.Fatalf("tshark found %d answered hellos, want at least 5", len(cuts))
	}
	cfg := Config{NoFrames: true}
	whole := analyzeFile(t, path, cfg)
	want := wholeTLS(whole)
	for _, cut := range cuts {
		for _, reverse := range []bool{false, true} {
			dir := t.TempDir()
			var parts []*Analysis
			for i, r := range []string{fmt.Sprintf("1-%d", cut), fmt.Sprintf("%d-%d", cut+1, whole.Capture().Read)} {
				f := filepath.Join(dir, fmt.Sprintf("part%d.pcap", i))
				if b, err := exec.Command("editcap", "-r", path, f, r).CombinedOutput(); err != nil {
					t.Fatalf("editcap: %v: %s", err, b)
				}
				a := newAnalysis(cfg.Defaults())
				c, err := capture.ScanFiles(context.Background(), []capture.Source{{Name: f, Path: f}}, capture.Config{}, a.analyzers()...)
				if err != nil {
					t.Fatal(err)
				}
				a.capture = c
				parts = append(parts, a)
			}
			if reverse {
				slices.Reverse(parts)
			}
			d, _ := mergeInOrder(parts)
			got := judgeTLS(d.tls)
			if got.Stats != want.Stats || len(got.Handshakes) != len(want.Handshakes) {
				t.Errorf("cut after frame %d (reverse %v): stats %+v, whole %+v", cut, reverse, got.Stats, want.Stats)
				continue
			}
			for i, w := range want.Handshakes {
				wc, gc := *w, *got.Handshakes[i]
				wc.Packet, gc.Packet = 0, 0
				if diff := jsonDiff(&wc, &gc); diff != "" {
					t.Errorf("cut after frame %d (reverse %v): handshake %d: %s", cut, reverse, i, diff)
				}
			}
		}
	}
}
