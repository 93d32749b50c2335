package detectors

import (
	"fmt"
	"testing"
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
// ClientHello; at most one per boundary is missing; the counts are never
// above the whole's; and it logs the server sides that differ.
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
