package detectors

import (
	"bytes"
	"context"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/pcapgen"
)

// tsharkHello is what tshark says of a connection's first ClientHello and
// of the server's answer.
type tsharkHello struct {
	frame       int
	sni         string
	ja3, ja3Raw string
	ja3s        string
	certDER     string // hex of the first certificate, when tshark saw one
}

// tsharkHandshakes runs tshark on path and returns, per TCP stream, the
// first ClientHello with the ServerHello and certificate of that stream,
// in frame order of the hellos.
func tsharkHandshakes(t *testing.T, path string) []tsharkHello {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	out, err := exec.Command(ts, "-r", path, "-Y", "tcp && (tls.handshake.type==1 || tls.handshake.type==2 || tls.handshake.type==11)",
		"-T", "fields", "-E", "separator=/t", "-E", "aggregator=|",
		"-e", "frame.number", "-e", "tcp.stream", "-e", "tls.handshake.type",
		"-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ja3", "-e", "tls.handshake.ja3_full",
		"-e", "tls.handshake.ja3s", "-e", "tls.handshake.certificate").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	byStream := map[string]*tsharkHello{}
	var order []*tsharkHello
	for line := range strings.SplitSeq(string(out), "\n") { // not trimmed: a last line may end in empty fields
		f := strings.Split(line, "\t")
		if len(f) < 8 {
			continue
		}
		for i := range f {
			if i != 2 {
				f[i], _, _ = strings.Cut(f[i], "|") // the first occurrence
			}
		}
		frame, _ := strconv.Atoi(f[0])
		h := byStream[f[1]]
		types := strings.Split(f[2], "|")
		for _, typ := range types {
			switch {
			case typ == "1" && h == nil:
				h = &tsharkHello{frame: frame, sni: f[3], ja3: f[4], ja3Raw: f[5]}
				byStream[f[1]] = h
				order = append(order, h)
			case typ == "2" && h != nil && h.ja3s == "":
				h.ja3s = f[6]
			case typ == "11" && h != nil && h.certDER == "":
				h.certDER = f[7]
			}
		}
	}
	res := make([]tsharkHello, len(order))
	for i, h := range order {
		res[i] = *h
	}
	return res
}

// opensslNames reads a certificate's subject and issuer CN and O with
// openssl, as a check independent of Go's x509.
func opensslNames(t *testing.T, derHex string) TLSCertificate {
	t.Helper()
	der, err := hex.DecodeString(strings.ReplaceAll(derHex, ":", ""))
	if err != nil {
		t.Fatalf("certificate hex: %v", err)
	}
	cmd := exec.Command("openssl", "x509", "-inform", "DER", "-noout", "-subject", "-issuer", "-nameopt", "sep_multiline,sname,utf8")
	cmd.Stdin = bytes.NewReader(der)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("openssl x509: %v", err)
	}
	var names TLSCertificate
	var into *[2]*string
	subj := [2]*string{&names.SubjectCN, &names.SubjectO}
	iss := [2]*string{&names.IssuerCN, &names.IssuerO}
	for line := range strings.SplitSeq(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "subject="):
			into = &subj
		case strings.HasPrefix(line, "issuer="):
			into = &iss
		case into != nil:
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if ok && k == "CN" && *into[0] == "" {
				*into[0] = v
			} else if ok && k == "O" && *into[1] == "" {
				*into[1] = v
			}
		}
	}
	return names
}

// TestTLSMatchesTshark checks, capture by capture, that every TCP
// connection tshark finds a ClientHello in is listed, in the same frame,
// with tshark's server name, JA3 string and JA3 hash, the JA3S of the
// server's answer, and the leaf certificate's names as openssl reads them.
func TestTLSMatchesTshark(t *testing.T) {
	office := filepath.Join(t.TempDir(), "office.pcap")
	if _, err := pcapgen.WriteFile(context.Background(), office, pcapgen.Config{Seed: 7, TargetSize: 3 << 20}); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		path      string
		min       int // hellos the capture is known to hold: the test cannot pass on none
		minCerts  int
		cutHellos bool // the snap length cut the hellos: nothing can be read
	}{
		{testdataFile(t, "tls_handshakes.pcap"), 8, 4, false},
		{testdataFile(t, "benign_tls_browse.pcap"), 4, 4, false},
		{testdataFile(t, "benign_saas_upload.pcap"), 0, 0, true},
		{office, 20, 0, false},
	}
	for _, f := range files {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			want := tsharkHandshakes(t, f.path)
			a := analyzeFile(t, f.path, Config{})
			got, stats := a.TLSHandshakes()
			if len(want) < f.min {
				t.Fatalf("tshark finds %d hellos, the capture holds at least %d", len(want), f.min)
			}
			if len(got) != len(want) || stats.ClientHellos != int64(len(want)) {
				t.Fatalf("%d handshakes (%d counted), tshark %d", len(got), stats.ClientHellos, len(want))
			}
			certs := 0
			for i, w := range want {
				g := got[i]
				if g.Packet != w.frame || g.SNI != w.sni || g.JA3Hash != w.ja3 || g.JA3 != w.ja3Raw {
					t.Errorf("hello %d:\n got frame %d sni %q ja3 %s %s\nwant frame %d sni %q ja3 %s %s",
						i, g.Packet, g.SNI, g.JA3Hash, g.JA3, w.frame, w.sni, w.ja3, w.ja3Raw)
				}
				if g.JA3SHash != w.ja3s || g.ServerHello != (w.ja3s != "") {
					t.Errorf("frame %d: JA3S %q (server hello %v), tshark %q", w.frame, g.JA3SHash, g.ServerHello, w.ja3s)
				}
				if w.certDER == "" {
					if g.Certificate != nil {
						t.Errorf("frame %d: certificate %+v, tshark saw none", w.frame, *g.Certificate)
					}
					continue
				}
				certs++
				wc := opensslNames(t, w.certDER)
				if g.Certificate == nil || *g.Certificate != wc {
					t.Errorf("frame %d: certificate %+v, openssl %+v", w.frame, g.Certificate, wc)
				}
			}
			if certs < f.minCerts || stats.Certificates != int64(certs) {
				t.Errorf("%d certificates (%d counted), want at least %d", certs, stats.Certificates, f.minCerts)
			}
			if f.cutHellos && stats.Unreadable == 0 {
				t.Errorf("hellos cut by the snap length: Unreadable = 0, want them counted")
			}
		})
	}
}
