package detectors

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// TLSHandshake is one TCP connection's TLS handshake as the pass read it:
// the client's first ClientHello and, when seen, the server's ServerHello
// and (TLS 1.2 and older, where it is sent in clear) the leaf certificate.
type TLSHandshake struct {
	// Packet is the 1-based number of the frame that completed the
	// ClientHello (the frame tshark shows it in); Time is that frame's.
	Packet     int        `json:"packet"`
	Time       time.Time  `json:"time"`
	Client     netip.Addr `json:"client"`
	ClientPort uint16     `json:"client_port"`
	Server     netip.Addr `json:"server"`
	ServerPort uint16     `json:"server_port"`
	// SNI is the server_name the client asked for, cut at 255 bytes;
	// empty when it sent none.
	SNI string `json:"sni"`
	// Version is the ClientHello's legacy version ("TLS 1.2");
	// SupportedVersions the supported_versions extension, GREASE removed.
	Version           string   `json:"version"`
	SupportedVersions []string `json:"supported_versions"`
	// ALPN lists the protocols the client offered (the first 8).
	ALPN []string `json:"alpn"`
	// CipherSuites names the suites offered in order, GREASE removed (the
	// first 64); CipherSuitesTotal counts them all.
	CipherSuites      []string `json:"cipher_suites"`
	CipherSuitesTotal int      `json:"cipher_suites_total"`
	// Extensions counts the ClientHello's extensions, GREASE removed.
	Extensions int `json:"extensions"`
	// JA3 is the JA3 string (tshark's tls.handshake.ja3_full) and JA3Hash
	// its MD5 (tls.handshake.ja3). JA4 is the JA4 fingerprint and JA4Raw
	// its unhashed form (JA4_r).
	JA3     string `json:"ja3"`
	JA3Hash string `json:"ja3_hash"`
	JA4     string `json:"ja4"`
	JA4Raw  string `json:"ja4_r"`

	// ServerHello is true when the server's answer was read; the fields
	// below it are empty otherwise.
	ServerHello bool `json:"server_hello"`
	// HelloRetry is true when the server first asked for another key
	// share (a HelloRetryRequest).
	HelloRetry bool `json:"hello_retry,omitempty"`
	// ChosenVersion is the version the server chose (supported_versions
	// when it sent one, else its legacy version); ChosenSuite the suite.
	ChosenVersion string `json:"chosen_version,omitempty"`
	ChosenSuite   string `json:"chosen_suite,omitempty"`
	// ServerALPN is the protocol the server selected, if any.
	ServerALPN string `json:"server_alpn,omitempty"`
	JA3S       string `json:"ja3s,omitempty"`
	JA3SHash   string `json:"ja3s_hash,omitempty"`
	// Certificate names the leaf certificate's subject and issuer, when
	// the server sent it in clear and it could be read.
	Certificate *TLSCertificate `json:"certificate,omitempty"`
}

// TLSStats counts every handshake of the capture, whatever was kept.
type TLSStats struct {
	// ClientHellos counts the connections whose ClientHello was read;
	// ServerHellos those whose ServerHello was; Certificates the leaf
	// certificates read.
	ClientHellos int64 `json:"client_hellos"`
	ServerHellos int64 `json:"server_hellos"`
	Certificates int64 `json:"certificates"`
	// Unreadable counts connections that began like a ClientHello but
	// whose hello could not be read whole (cut by the snap length, longer
	// than 16 KiB, malformed, missing segments, or the capture ended
	// first).
	Unreadable int64 `json:"unreadable"`
	// Skipped counts handshakes not read because too many connections were
	// being read at once.
	Skipped int64 `json:"skipped"`
	// Kept is how many handshakes are listed (at most
	// Config.TLS.MaxHandshakes); Dropped how many were counted beyond it.
	Kept    int   `json:"kept"`
	Dropped int64 `json:"dropped"`
}

// tlsConn is what the reader knows of one connection.
type tlsConn struct {
	flow *capture.Flow
	dir  [2]tlsDirection // 0 the client's, 1 the server's
	// clientFromClient is the capture's FromClient value of the
	// direction that sent the ClientHello: the hello, not the port
	// guess, says who the client is.
	clientFromClient bool
	hs               *TLSHandshake // nil until the ClientHello is read
	open             bool          // counted in tlsAnalyzer.open
	// answer is true for a connection first seen with the server's
	// ServerHello: its ClientHello was before the capture, or in the
	// file before this one. Only the server's side is read, into hs,
	// and kept in tlsAnalyzer.answers for a merge to join to its hello.
	answer bool
}

// tlsAnalyzer reads the TLS handshakes of every TCP connection, whatever
// its port.
type tlsAnalyzer struct {
	max   int `partial:"-"`
	conns map[*capture.Flow]*tlsConn
	// closed stands for every connection read to the end (or skipped):
	// a retransmitted hello must not count twice, and a shared value
	// keeps what is left of a connection to its map entry.
	closed *tlsConn
	// kept lists the handshakes in the order of handshakeOrder, at most
	// max: past it, the earliest ones are kept, whatever order the
	// packets (or merged parts) arrived in.
	kept []*TLSHandshake
	// answers holds the server's side of connections whose ServerHello
	// came without their ClientHello (see tlsConn.answer), by flow, at
	// most one per flow the table holds; merge gives each to the
	// handshake another part read the hello of. Not counted in stats.
	answers map[*capture.Flow]*TLSHandshake
	open    int
	stats   TLSStats
	// once makes result, the counts after the pass.
	once   sync.Once `partial:"-"`
	result TLSStats  `partial:"-"`
	// suites names the cipher suites crypto/tls knows, built once:
	// tls.CipherSuiteName builds its lists anew at every call.
	suites map[uint16]string `partial:"-"`
}

func newTLSAnalyzer(cfg Config) *tlsAnalyzer {
	closed := &tlsConn{}
	closed.dir[0].done, closed.dir[1].done = true, true
	suites := map[uint16]string{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		suites[cs.ID] = cs.Name
	}
	return &tlsAnalyzer{max: cfg.TLS.MaxHandshakes, conns: make(map[*capture.Flow]*tlsConn), answers: make(map[*capture.Flow]*TLSHandshake), closed: closed, suites: suites}
}

// suiteName names a cipher suite as tls.CipherSuiteName does: its name
// when crypto/tls knows it, else its value in hex.
func (t *tlsAnalyzer) suiteName(id uint16) string {
	if n, ok := t.suites[id]; ok {
		return n
	}
	return fmt.Sprintf("0x%04X", id)
}

// Packet follows the first bytes of each direction of TCP connections
// that start with a ClientHello.
func (t *tlsAnalyzer) Packet(p *capture.Packet) {
	if p.Flow == nil || p.Layers&capture.LayerTCP == 0 {
		return
	}
	c := t.conns[p.Flow]
	if tlsNewConnection(p) && c != nil {
		t.close(c)
		delete(t.conns, p.Flow)
		c = nil
	}
	if c == t.closed {
		return
	}
	if len(p.Payload) == 0 {
		if c != nil && p.TCPFlags&(capture.FlagFIN|capture.FlagRST) != 0 {
			t.close(c)
		}
		return
	}
	if c == nil {
		if looksLikeHello(p.Payload, tlsServerHello) && t.open < tlsMaxOpen {
			t.answerOf(p)
			return
		}
		if !looksLikeHello(p.Payload, tlsClientHello) {
			return
		}
		if t.open >= tlsMaxOpen {
			t.stats.Skipped++
			t.conns[p.Flow] = t.closed
			return
		}
		c = &tlsConn{flow: p.Flow, clientFromClient: p.FromClient, open: true}
		t.conns[p.Flow] = c
		t.open++
	}
	if c.answer && p.FromClient == c.clientFromClient {
		return // the client's bytes mid-connection: no hello
	}
	di := 0
	if p.FromClient != c.clientFromClient {
		di = 1
		if c.hs == nil {
			return // the server's bytes are read once the hello is
		}
		if !c.dir[1].started {
			if !looksLikeHello(p.Payload, tlsServerHello) || !t.hold(c) {
				t.finish(c, 1)
				return
			}
		}
	}
	d := &c.dir[di]
	if !d.add(p.TCPSeq, p.Payload) {
		return
	}
	if di == 0 {
		t.readClient(c, p)
	} else {
		t.readServer(c)
	}
}

// answerOf starts reading a ServerHello whose ClientHello the pass did
// not see: the connection's sender of p is its server.
func (t *tlsAnalyzer) answerOf(p *capture.Packet) {
	c := &tlsConn{flow: p.Flow, clientFromClient: !p.FromClient, answer: true, hs: &TLSHandshake{Time: p.Time}}
	c.dir[0].done = true
	t.conns[p.Flow] = c
	if !t.hold(c) {
		return
	}
	if c.dir[1].add(p.TCPSeq, p.Payload) {
		t.readServer(c)
	}
}

// readClient reads the ClientHello once its bytes are whole.
func (t *tlsAnalyzer) readClient(c *tlsConn, p *capture.Packet) {
	d := &c.dir[0]
	hs, other := handshakeBytes(d.buf)
	msgs, _ := handshakeMessages(hs)
	if len(msgs) == 0 {
		if other || d.full() || len(p.Payload) < p.PayloadLen {
			t.stats.Unreadable++
			t.finish(c, 0)
			t.finish(c, 1)
		}
		return
	}
	h, err := parseClientHello(msgs[0].body)
	if msgs[0].typ != tlsClientHello || err != nil {
		t.stats.Unreadable++
		t.finish(c, 0)
		t.finish(c, 1)
		return
	}
	t.stats.ClientHellos++
	c.hs = t.handshakeOf(&h, p)
	t.keep(c.hs)
	t.finish(c, 0)
}

// keep lists hs if it is among the max earliest handshakes.
func (t *tlsAnalyzer) keep(hs *TLSHandshake) {
	i, _ := slices.BinarySearchFunc(t.kept, hs, handshakeOrder)
	switch {
	case len(t.kept) < t.max:
		t.kept = slices.Insert(t.kept, i, hs)
	case i < len(t.kept):
		// A handshake earlier than the last kept (its packets came late,
		// or another part of the capture saw it) takes the last's place.
		t.kept = slices.Insert(t.kept[:len(t.kept)-1], i, hs)
		t.stats.Dropped++
	default:
		t.stats.Dropped++
	}
	t.stats.Kept = len(t.kept)
}

// handshakeOrder orders handshakes by the time of their ClientHello, then
// by their addresses and ports, then by frame: capture order when times
// rise, and the same order whichever packets came first.
func handshakeOrder(x, y *TLSHandshake) int {
	return cmp.Or(x.Time.Compare(y.Time),
		x.Client.Compare(y.Client), cmp.Compare(x.ClientPort, y.ClientPort),
		x.Server.Compare(y.Server), cmp.Compare(x.ServerPort, y.ServerPort),
		cmp.Compare(x.Packet, y.Packet))
}

// readServer reads the ServerHello and, before TLS 1.3, the certificate.
func (t *tlsAnalyzer) readServer(c *tlsConn) {
	d := &c.dir[1]
	hs, other := handshakeBytes(d.buf)
	msgs, _ := handshakeMessages(hs)
	for _, m := range msgs {
		switch m.typ {
		case tlsServerHello:
			if c.hs.ServerHello {
				continue
			}
			sh, err := parseServerHello(m.body)
			if err != nil {
				t.finish(c, 1)
				return
			}
			if !c.answer {
				t.stats.ServerHellos++
			}
			t.serverOf(c.hs, &sh)
			// After a HelloRetryRequest the real ServerHello comes
			// after a change_cipher_spec record; the retry's choice
			// of suite and version stands for it. From TLS 1.3 on the
			// certificate is encrypted.
			if sh.helloRetr || sh.selected >= tls.VersionTLS13 {
				t.finish(c, 1)
				return
			}
		case tlsCertificate:
			if names, ok := parseCertificate(m.body); ok {
				if !c.answer {
					t.stats.Certificates++
				}
				c.hs.Certificate = &names
			}
			t.finish(c, 1)
			return
		case tlsServerHelloDone:
			t.finish(c, 1)
			return
		}
	}
	if other || d.full() {
		t.finish(c, 1)
	}
}

// finish stops reading one direction of c.
func (t *tlsAnalyzer) finish(c *tlsConn, di int) {
	c.dir[di].finish()
	if c.dir[0].done && c.dir[1].done {
		t.close(c)
		return
	}
	if c.dir[0].done && !c.dir[1].started {
		// Waiting for an answer buffers nothing: a hello nobody
		// answers (a TLS scan) must not hold a place.
		t.release(c)
	}
}

// hold counts c among the connections being buffered, if there is room.
func (t *tlsAnalyzer) hold(c *tlsConn) bool {
	if c.open {
		return true
	}
	if t.open >= tlsMaxOpen {
		return false
	}
	c.open = true
	t.open++
	return true
}

// release stops counting c among the connections being buffered.
func (t *tlsAnalyzer) release(c *tlsConn) {
	if c.open {
		c.open = false
		t.open--
	}
}

// close stops reading c: its buffers go, what it found stays.
func (t *tlsAnalyzer) close(c *tlsConn) {
	if c == t.closed {
		return
	}
	if c.hs == nil && !c.dir[0].done {
		t.stats.Unreadable++ // the connection ended before its hello was whole
	}
	if c.answer && c.hs.ServerHello {
		t.answers[c.flow] = c.hs
	}
	c.dir[0].finish()
	c.dir[1].finish()
	t.release(c)
	c.hs = nil
	t.conns[c.flow] = t.closed
}

// handshakeOf makes the listing of a ClientHello read from p.
func (t *tlsAnalyzer) handshakeOf(h *clientHello, p *capture.Packet) *TLSHandshake {
	out := &TLSHandshake{
		Packet: p.Index, Time: p.Time,
		Client: p.Src, ClientPort: p.SrcPort, Server: p.Dst, ServerPort: p.DstPort,
		SNI:     h.sni,
		Version: tls.VersionName(h.version),
		ALPN:    h.alpn,
	}
	for _, v := range withoutGREASE(h.versions) {
		out.SupportedVersions = append(out.SupportedVersions, tls.VersionName(v))
	}
	suites := withoutGREASE(h.suites)
	out.CipherSuitesTotal = len(suites)
	for _, s := range suites[:min(len(suites), tlsMaxListed)] {
		out.CipherSuites = append(out.CipherSuites, t.suiteName(s))
	}
	out.Extensions = len(withoutGREASE(h.exts))
	out.JA3, out.JA3Hash = ja3(h)
	out.JA4, out.JA4Raw = ja4(h)
	return out
}

// serverOf adds what a ServerHello says to a handshake.
func (t *tlsAnalyzer) serverOf(hs *TLSHandshake, sh *serverHello) {
	hs.ServerHello = true
	hs.HelloRetry = sh.helloRetr
	v := sh.version
	if sh.selected != 0 {
		v = sh.selected
	}
	hs.ChosenVersion = tls.VersionName(v)
	hs.ChosenSuite = t.suiteName(sh.suite)
	hs.ServerALPN = sh.alpn
	hs.JA3S, hs.JA3SHash = ja3s(sh)
}
