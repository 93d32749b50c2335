package pcapgen

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// message is what one side sends in one go: a header and a body drawn
// from a filler, so a megabyte body costs no megabyte of memory.
type message struct {
	fromClient bool
	hdr        []byte
	body       int
	filler     []byte
}

func (m *message) size() int { return len(m.hdr) + m.body }

// segment returns bytes [off, off+n) of the message, using scratch when
// they are not one slice already.
func (m *message) segment(off, n int, scratch []byte) []byte {
	if off+n <= len(m.hdr) {
		return m.hdr[off : off+n]
	}
	out := scratch[:0]
	if off < len(m.hdr) {
		out = append(out, m.hdr[off:]...)
		n -= len(m.hdr) - off
		off = len(m.hdr)
	}
	for b := off - len(m.hdr); n > 0; {
		i := b % len(m.filler)
		k := min(n, len(m.filler)-i)
		out = append(out, m.filler[i:i+k]...)
		b += k
		n -= k
	}
	return out
}

// tcpConn is a TCP connection: three-way handshake, the messages in turn
// (cut into MSS-sized segments, acknowledged every second segment and at
// the end of each message), then FIN, FIN-ACK, ACK.
type tcpConn struct {
	f          *flowSpec // the pool entry, released when done; nil for attacks
	r          *route
	cport      uint16
	sport      uint16
	cseq, sseq uint32
	msgs       []message
	state      int
	mi, off    int
	unacked    int
	pendingAck bool
	ackDir     dir
	// onDone runs after the last packet (attacks chain connections).
	onDone func()
}

const (
	tcpSYN = iota
	tcpSYNACK
	tcpACK
	tcpData
	tcpFIN
	tcpFINACK
	tcpLastACK
)

func (g *gen) newConn(f *flowSpec, r *route, cport, sport uint16, msgs []message) *tcpConn {
	return &tcpConn{f: f, r: r, cport: cport, sport: sport, cseq: g.rng.Uint32(), sseq: g.rng.Uint32(), msgs: msgs}
}

func (c *tcpConn) send(g *gen, d dir, flags uint8, payload []byte) error {
	if d == toServer {
		err := g.sendTCP(c.r, d, c.cport, c.sport, flags, c.cseq, c.sseq, payload)
		c.cseq += uint32(len(payload))
		return err
	}
	err := g.sendTCP(c.r, d, c.sport, c.cport, flags, c.sseq, c.cseq, payload)
	c.sseq += uint32(len(payload))
	return err
}

func (c *tcpConn) mss() int {
	if c.r.v6 {
		return 1428
	}
	return 1448
}

func (c *tcpConn) step(g *gen) (bool, error) {
	switch c.state {
	case tcpSYN:
		c.state = tcpSYNACK
		err := g.sendTCP(c.r, toServer, c.cport, c.sport, flagSYN, c.cseq, 0, nil)
		c.cseq++
		return false, err
	case tcpSYNACK:
		c.state = tcpACK
		err := g.sendTCP(c.r, toClient, c.sport, c.cport, flagSYN|flagACK, c.sseq, c.cseq, nil)
		c.sseq++
		return false, err
	case tcpACK:
		c.state = tcpData
		return false, c.send(g, toServer, flagACK, nil)
	case tcpData:
		if c.pendingAck {
			c.pendingAck = false
			return false, c.send(g, c.ackDir, flagACK, nil)
		}
		if c.mi == len(c.msgs) {
			c.state = tcpFINACK
			err := c.send(g, toServer, flagFIN|flagACK, nil)
			c.cseq++
			return false, err
		}
		m := &c.msgs[c.mi]
		n := min(c.mss(), m.size()-c.off)
		d, ack := toClient, toServer
		if m.fromClient {
			d, ack = toServer, toClient
		}
		flags := flagACK
		payload := m.segment(c.off, n, g.scratch)
		c.off += n
		c.unacked++
		if c.off == m.size() {
			flags |= flagPSH
			c.mi++
			c.off = 0
			c.unacked = 0
			c.pendingAck, c.ackDir = true, ack
		} else if c.unacked == 2 {
			c.unacked = 0
			c.pendingAck, c.ackDir = true, ack
		}
		return false, c.send(g, d, flags, payload)
	case tcpFINACK:
		c.state = tcpLastACK
		err := c.send(g, toClient, flagFIN|flagACK, nil)
		c.sseq++
		return false, err
	default:
		if c.f != nil {
			c.f.active = false
		}
		if err := c.send(g, toServer, flagACK, nil); err != nil {
			return true, err
		}
		if c.onDone != nil {
			c.onDone()
		}
		return true, nil
	}
}

// udpExchange is one request and one answer (NTP and the like).
type udpExchange struct {
	f         *flowSpec
	req, resp []byte
	dns       [2]*layers.DNS
	sent      bool
}

func (u *udpExchange) step(g *gen) (bool, error) {
	f := u.f
	if !u.sent {
		u.sent = true
		return false, g.sendUDP(&f.r, toServer, f.cport, f.sport, u.req, u.dns[0])
	}
	f.active = false
	return true, g.sendUDP(&f.r, toClient, f.sport, f.cport, u.resp, u.dns[1])
}

// pingSession is a few ICMP echo requests, each answered.
type pingSession struct {
	r     route
	id    uint16
	count int
	n     int
}

func (p *pingSession) step(g *gen) (bool, error) {
	d := toServer
	if p.n%2 == 1 {
		d = toClient
	}
	seq := uint16(p.n/2 + 1)
	data, err := g.b.echo(&p.r, d, p.id, seq, g.html[:56])
	proto := layers.IPProtocolICMPv4
	if p.r.v6 {
		proto = layers.IPProtocolICMPv6
	}
	p.n++
	return p.n == 2*p.count, g.emit(&p.r, d, proto, 0, 0, data, err)
}

// arpSession is a who-has for the gateway and its reply.
type arpSession struct {
	r    route
	sent bool
}

func (a *arpSession) step(g *gen) (bool, error) {
	d := toServer
	if a.sent {
		d = toClient
	}
	data, err := g.b.arpFrame(&a.r, d)
	done := a.sent
	a.sent = true
	return done, g.emit(&a.r, d, 0, 0, 0, data, err)
}

// names are the DNS names normal clients look up: a bounded list, a few
// names under each domain, so nothing looks like a tunnel.
var names = []string{
	"www.example.com", "api.example.com", "cdn.example.com", "mail.example.org", "www.example.org",
	"updates.example.net", "time.example.net", "login.example.net", "intranet.corp.example", "wiki.corp.example",
	"git.corp.example", "files.corp.example", "static.example.com", "images.example.org", "telemetry.example.net",
	"ocsp.example.com", "crl.example.org", "news.example.net", "portal.corp.example", "vpn.corp.example",
}

func (g *gen) dnsLookup(f *flowSpec) session {
	name := []byte(names[g.rng.IntN(len(names))])
	qtype := layers.DNSTypeA
	if f.r.v6 {
		qtype = layers.DNSTypeAAAA
	}
	id := uint16(g.rng.IntN(65536))
	q := &layers.DNS{ID: id, RD: true, OpCode: layers.DNSOpCodeQuery,
		Questions: []layers.DNSQuestion{{Name: name, Type: qtype, Class: layers.DNSClassIN}}}
	r := *q
	r.QR, r.RA = true, true
	srv := g.servers[g.rng.IntN(len(g.servers))]
	ans := layers.DNSResourceRecord{Name: name, Type: qtype, Class: layers.DNSClassIN, TTL: 300, IP: srv.net4}
	if qtype == layers.DNSTypeAAAA {
		ans.IP = srv.net6
	}
	r.Answers = []layers.DNSResourceRecord{ans}
	return &udpExchange{f: f, dns: [2]*layers.DNS{q, &r}}
}

// paths are the pages normal clients ask for: fewer than any enumeration
// threshold.
var paths = []string{"/", "/index.html", "/api/v1/items", "/api/v1/status", "/static/app.js", "/static/style.css",
	"/images/logo.png", "/news", "/login", "/search?q=report", "/docs/guide", "/favicon.ico"}

func (g *gen) httpRequest(host, path, ua string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n", path, host, ua)
}

func httpResponse(status string, n int, ctype string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 %s\r\nServer: nginx/1.24.0\r\nDate: Fri, 01 Mar 2024 09:00:00 GMT\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n", status, ctype, n)
}

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0"

// bodySize draws a response size: mostly small pages, some larger
// resources, a few big downloads.
func (g *gen) bodySize() int {
	switch x := g.rng.IntN(20); {
	case x < 13:
		return 300 + g.rng.IntN(6000)
	case x < 19:
		return 6000 + g.rng.IntN(34000)
	default:
		return 40000 + g.rng.IntN(160000)
	}
}

func (g *gen) httpConn(f *flowSpec) session {
	var msgs []message
	host := f.r.b.ip4.String()
	for range 1 + g.rng.IntN(3) {
		n := g.bodySize()
		msgs = append(msgs,
			message{fromClient: true, hdr: g.httpRequest(host, paths[g.rng.IntN(len(paths))], browserUA)},
			message{hdr: httpResponse("200 OK", n, "text/html; charset=utf-8"), body: n, filler: g.html})
	}
	return g.newConn(f, &f.r, f.cport, f.sport, msgs)
}

// tlsRecord returns a TLS record header of type t and length n followed
// by n filler bytes.
func (g *gen) tlsRecord(t byte, n int) message {
	return message{hdr: []byte{t, 0x03, 0x03, byte(n >> 8), byte(n)}, body: n, filler: g.bin}
}

func (g *gen) tlsConn(f *flowSpec) session {
	hello := g.tlsRecord(0x16, 512)
	hello.hdr[2] = 0x01 // a ClientHello record says TLS 1.0 for compatibility
	hello.fromClient = true
	kx := g.tlsRecord(0x16, 126)
	kx.fromClient = true
	msgs := []message{hello, g.tlsRecord(0x16, 2800+g.rng.IntN(1500)), kx, g.tlsRecord(0x14, 1)}
	for range 1 + g.rng.IntN(4) {
		req := g.tlsRecord(0x17, 200+g.rng.IntN(600))
		req.fromClient = true
		msgs = append(msgs, req, message{body: tlsBody(g.bodySize()), filler: g.tlsRecords})
	}
	return g.newConn(f, &f.r, f.cport, f.sport, msgs)
}

func (g *gen) bulkConn(f *flowSpec) session {
	n := 50_000 + g.rng.IntN(500_000)
	var msgs []message
	switch f.sport {
	case 22:
		msgs = []message{
			{fromClient: true, hdr: []byte("SSH-2.0-OpenSSH_9.6\r\n")},
			{hdr: []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n")},
			{fromClient: g.rng.IntN(2) == 0, body: n, filler: g.bin},
		}
	case 445:
		// Internal file copies go both ways.
		msgs = []message{{fromClient: true, body: 200, filler: g.bin}, {fromClient: g.rng.IntN(2) == 0, body: n, filler: g.bin}}
	default:
		// A download from a public server: a small request, a big answer.
		req := g.tlsRecord(0x17, 300)
		req.fromClient = true
		msgs = []message{req, {body: tlsBody(n), filler: g.tlsRecords}}
	}
	return g.newConn(f, &f.r, f.cport, f.sport, msgs)
}
