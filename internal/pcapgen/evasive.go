package pcapgen

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The evasive attacks besides scans: login brute force, SQL injection
// with a browser user agent, exfiltration over TLS, split over many
// connections, in ICMP echo payloads and in DNS A queries.

// tracked counts the packets, fragments and times of the attack it wraps.
type tracked struct {
	s session
	t *AttackTruth
}

func (t *tracked) due() int64 {
	if p, ok := t.s.(paced); ok {
		return p.due()
	}
	return 0
}

func (t *tracked) step(g *gen) (bool, error) {
	n, f := g.stats.Packets, g.stats.Fragments
	done, err := t.s.step(g)
	if g.stats.Packets > n {
		if t.t.Packets == 0 {
			t.t.Start = g.stats.End
		}
		t.t.Packets += g.stats.Packets - n
		t.t.Fragments += g.stats.Fragments - f
		t.t.End = g.stats.End
	}
	return done, err
}

// connChain runs the connections next returns, one after another, until
// it returns nil.
type connChain struct {
	next func(g *gen) *tcpConn
	cur  *tcpConn
}

func (c *connChain) step(g *gen) (bool, error) {
	if c.cur == nil {
		if c.cur = c.next(g); c.cur == nil {
			return true, nil
		}
	}
	done, err := c.cur.step(g)
	if done {
		c.cur = nil
	}
	return false, err
}

// loginPasswords are the guesses, numbered once they run out.
var loginPasswords = []string{"123456", "password", "admin", "welcome1", "qwerty", "letmein", "Passw0rd", "changeme", "summer2024", "root"}

// loginBrute POSTs h.Requests guesses to /login, five per connection,
// each answered 401.
func (g *gen) loginBrute(h HTTPAttack) session {
	src, dst := g.hostFor(h.Source), g.hostFor(h.Server)
	r := g.newRoute(src, dst, false)
	t := &AttackTruth{Name: "login_brute", Type: "http_enumeration", Technique: "credential_bruteforce", Source: h.Source, Target: h.Server,
		Port: h.Port, Statuses: map[string]int{}}
	sent := 0
	body := []byte(`<html><body><h1>Login failed</h1><p>Invalid user name or password.</p></body></html>`)
	return &tracked{t: t, s: &connChain{next: func(g *gen) *tcpConn {
		if sent == h.Requests {
			return nil
		}
		var msgs []message
		for ; sent < h.Requests && len(msgs) < 10; sent++ {
			pw := loginPasswords[sent%len(loginPasswords)]
			if round := sent / len(loginPasswords); round > 0 {
				pw = fmt.Sprintf("%s%d", pw, round)
			}
			form := "username=admin&password=" + url.QueryEscape(pw) + "&submit=Login"
			req := fmt.Appendf(nil, "POST /login HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n%s",
				h.Server, h.UserAgent, len(form), form)
			resp := append(fmt.Appendf(nil, "HTTP/1.1 401 Unauthorized\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n", len(body)), body...)
			msgs = append(msgs, message{fromClient: true, hdr: req}, message{hdr: resp})
			t.Requests++
			t.Statuses["401"]++
		}
		t.Connections++
		return g.newConn(nil, &r, uint16(51000+t.Connections), h.Port, msgs)
	}}}
}

// sqlPayloads are sqlmap's kinds of probes: boolean, error, time, union
// and stacked queries.
var sqlPayloads = []string{
	"1 AND 1=1", "1 AND 1=2", "1' AND '1'='1", "1' AND '1'='2", "1 AND SLEEP(5)", "1' AND SLEEP(5)-- -",
	"1 UNION ALL SELECT NULL,NULL,NULL-- -", "1 UNION ALL SELECT NULL,CONCAT(0x716a767a71,0x4a6b),NULL-- -",
	"1) AND 5678=5678 AND (1=1", "1' ORDER BY 1-- -", "1' ORDER BY 10-- -",
	"1 AND (SELECT 4523 FROM(SELECT COUNT(*),CONCAT(0x71,(SELECT (ELT(4523=4523,1))),0x71,FLOOR(RAND(0)*2))x FROM INFORMATION_SCHEMA.PLUGINS GROUP BY x)a)",
	"1;SELECT PG_SLEEP(5)--", "-1 UNION SELECT username,password,3 FROM users-- -", "1 AND EXTRACTVALUE(1,CONCAT(0x5c,(SELECT version())))",
	"1' OR '1'='1",
}

// sqlInjection asks two pages for h.Requests payloads, ten per
// connection; most answers are 200, error-based ones 500.
func (g *gen) sqlInjection(h HTTPAttack) session {
	src, dst := g.hostFor(h.Source), g.hostFor(h.Server)
	r := g.newRoute(src, dst, false)
	t := &AttackTruth{Name: "sql_injection", Type: "http_enumeration", Technique: "sql_injection", Source: h.Source, Target: h.Server,
		Port: h.Port, Statuses: map[string]int{}}
	pages := []string{"/products.php?id=", "/catalog/item.php?cat=2&id="}
	sent := 0
	return &tracked{t: t, s: &connChain{next: func(g *gen) *tcpConn {
		if sent == h.Requests {
			return nil
		}
		var msgs []message
		for ; sent < h.Requests && len(msgs) < 20; sent++ {
			p := sqlPayloads[sent%len(sqlPayloads)]
			q := strings.ReplaceAll(url.QueryEscape(p), "+", "%20")
			path := pages[(sent/len(sqlPayloads))%len(pages)] + q
			status, n := "200 OK", 3000+g.rng.IntN(2000)
			if strings.Contains(p, "EXTRACTVALUE") || strings.Contains(p, "FLOOR(RAND") || strings.Contains(p, "ORDER BY 10") {
				status, n = "500 Internal Server Error", 420
			}
			msgs = append(msgs,
				message{fromClient: true, hdr: g.httpRequest(h.Server.String(), path, h.UserAgent)},
				message{hdr: httpResponse(status, n, "text/html; charset=utf-8"), body: n, filler: g.html})
			t.Requests++
			t.Statuses[status[:3]]++
		}
		t.Connections++
		return g.newConn(nil, &r, uint16(52000+t.Connections), h.Port, msgs)
	}}}
}

// clientBytes is the TCP payload a connection's client sends.
func clientBytes(msgs []message) int64 {
	var n int64
	for _, m := range msgs {
		if m.fromClient {
			n += int64(m.size())
		}
	}
	return n
}

// exfilSNI is the name the exfiltration's TLS sessions ask for: a
// storage service few hosts use.
const exfilSNI = "sync.storage-drop.net"

// tlsExfil is one TLS session uploading u.Bytes (rounded up to whole
// records) after a real handshake.
func (g *gen) tlsExfil(u Upload) session {
	src, dst := g.hostFor(u.Source), g.hostFor(u.Dest)
	r := g.newRoute(src, dst, false)
	msgs := g.tlsHandshake(exfilSNI)
	msgs = append(msgs, message{fromClient: true, body: tlsBody(int(u.Bytes)), filler: g.tlsRecords}, g.tlsRecord(0x17, 64))
	t := &AttackTruth{Name: "tls_exfil", Type: "data_exfiltration", Technique: "tls_upload", Source: u.Source, Target: u.Dest, Port: u.Port,
		Connections: 1, Bytes: clientBytes(msgs)}
	return &tracked{t: t, s: g.newConn(nil, &r, uint16(49152+g.rng.IntN(16000)), u.Port, msgs)}
}

// splitExfil uploads in u.Connections TLS connections of u.BytesPer bytes.
func (g *gen) splitExfil(u SplitUpload) session {
	src, dst := g.hostFor(u.Source), g.hostFor(u.Dest)
	r := g.newRoute(src, dst, false)
	t := &AttackTruth{Name: "split_exfil", Type: "data_exfiltration", Technique: "split_upload", Source: u.Source, Target: u.Dest, Port: u.Port}
	return &tracked{t: t, s: &connChain{next: func(g *gen) *tcpConn {
		if t.Connections == u.Connections {
			return nil
		}
		t.Connections++
		msgs := g.tlsHandshake(exfilSNI)
		msgs = append(msgs, message{fromClient: true, body: tlsBody(u.BytesPer), filler: g.tlsRecords}, g.tlsRecord(0x17, 64))
		t.Bytes += clientBytes(msgs)
		return g.newConn(nil, &r, uint16(33000+t.Connections), u.Port, msgs)
	}}}
}

// icmpExfil sends x.Packets echo requests whose payloads are base64 text
// of the data; the destination's echo replies return them.
type icmpExfil struct {
	r    route
	x    ICMPExfil
	data []byte
	n    int
	t    *AttackTruth
}

func (g *gen) icmpExfil(x ICMPExfil) session {
	src, dst := g.hostFor(x.Source), g.hostFor(x.Dest)
	t := &AttackTruth{Name: "icmp_exfil", Type: "data_exfiltration", Technique: "icmp_echo", Source: x.Source, Target: x.Dest}
	data := []byte(base64.StdEncoding.EncodeToString(g.bin))
	return &tracked{t: t, s: &icmpExfil{r: g.newRoute(src, dst, false), x: x, data: data, t: t}}
}

func (e *icmpExfil) step(g *gen) (bool, error) {
	if e.x.Packets == 0 {
		return true, nil
	}
	i := e.n / 2
	off := i * e.x.Size % (len(e.data) - e.x.Size)
	payload := e.data[off : off+e.x.Size]
	d := toServer
	if e.n%2 == 1 {
		d = toClient
	} else {
		e.t.Bytes += int64(len(payload))
	}
	data, err := g.b.echo(&e.r, d, 0x1f2e, uint16(i+1), payload)
	e.n++
	return e.n == 2*e.x.Packets, g.emit(&e.r, d, layers.IPProtocolICMPv4, 0, 0, data, err)
}

// dnsExfil asks t.Queries A questions whose names carry hex-encoded data
// in two labels under t.Domain; the attacker's server answers NXDOMAIN.
type dnsExfil struct {
	r     route
	d     DNSTunnel
	i     int
	cur   *udpExchange
	f     flowSpec
	truth *AttackTruth
}

func (g *gen) dnsExfil(d DNSTunnel) session {
	c, s := g.hostFor(d.Client), g.hostFor(d.Resolver)
	t := &AttackTruth{Name: "dns_exfil", Type: "dns_tunneling", Technique: "dns_a", Source: d.Client, Target: d.Resolver, Port: 53, Domain: d.Domain}
	return &tracked{t: t, s: &dnsExfil{r: g.newRoute(c, s, false), d: d, truth: t}}
}

func (e *dnsExfil) step(g *gen) (bool, error) {
	if e.d.Queries == 0 {
		return true, nil
	}
	if e.cur == nil {
		chunk := g.randomBytes(50)
		h := hex.EncodeToString(chunk)
		name := fmt.Appendf(nil, "%s.%s.%x.%s", h[:60], h[60:], e.i, e.d.Domain)
		q := &layers.DNS{ID: uint16(g.rng.IntN(65536)), RD: true, Questions: []layers.DNSQuestion{{Name: name, Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		r := *q
		r.QR, r.RA, r.ResponseCode = true, true, layers.DNSResponseCodeNXDomain
		e.f = flowSpec{r: e.r, cport: uint16(47000 + e.i/40), sport: 53}
		e.cur = &udpExchange{f: &e.f, dns: [2]*layers.DNS{q, &r}}
		e.truth.Bytes += int64(len(chunk))
	}
	done, err := e.cur.step(g)
	if done {
		e.cur = nil
		e.i++
		e.truth.Queries = e.i
	}
	return e.i == e.d.Queries, err
}

// sqlmapUA is one of the user agents sqlmap --random-agent draws: a browser's.
const sqlmapUA = "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US) AppleWebKit/534.16 (KHTML, like Gecko) Chrome/10.0.648.133 Safari/534.16"

// chromeUA is the browser user agent a login brute forcer sends (Burp
// Intruder, hydra with a User-Agent header): nothing in it says tool.
const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"

// addTracked adds an attack session and its ground truth.
func (g *gen) addTracked(t *tracked) {
	g.stats.Attacks = append(g.stats.Attacks, t.t)
	g.attacks = append(g.attacks, t)
}

// startSlowScan starts the slow scan with the capture, so that its
// probes spread over the capture rather than trail after it.
func (g *gen) startSlowScan() {
	if g.cfg.Attacks.SlowScan == nil {
		return
	}
	s := scanDefaults(*g.cfg.Attacks.SlowScan, "10.66.6.14", "10.0.1.10", 100)
	if s.Interval == 0 {
		s.Interval = 1500 * time.Millisecond
	}
	sc := g.evasiveScan("slow_scan", s, scanStyle{technique: "slow", interval: s.Interval}).(*scanner)
	g.addTracked(&tracked{s: sc, t: sc.truth})
}

// startEvasive adds a session for every other evasive attack the Config asks for.
func (g *gen) startEvasive() {
	a := g.cfg.Attacks
	add := func(s session) { g.addTracked(s.(*tracked)) }
	scan := func(name string, s PortScan, st scanStyle) {
		sc := g.evasiveScan(name, s, st)
		add(&tracked{s: sc, t: sc.(*scanner).truth})
	}
	if a.FragScan != nil {
		scan("frag_scan", scanDefaults(*a.FragScan, "10.66.6.11", "10.0.1.30", 1000), scanStyle{technique: "syn_fragmented", frag: 8})
	}
	if a.DecoyScan != nil {
		s := scanDefaults(*a.DecoyScan, "10.66.6.12", "10.0.1.40", 500)
		if s.Decoys == nil {
			s.Decoys = addrs(defaultDecoys)
		}
		scan("decoy_scan", s, scanStyle{technique: "decoy", decoys: true})
	}
	if a.ACKScan != nil {
		scan("ack_scan", scanDefaults(*a.ACKScan, "10.66.6.13", "10.0.1.20", 1000), scanStyle{technique: "ack", ack: true})
	}
	if h := a.LoginBrute; h != nil {
		add(g.loginBrute(httpDefaults(*h, "10.66.6.21", "10.0.1.20", 300, chromeUA)))
	}
	if h := a.SQLInjection; h != nil {
		add(g.sqlInjection(httpDefaults(*h, "10.66.6.22", "10.0.1.10", 40, sqlmapUA)))
	}
	if u := a.TLSExfil; u != nil {
		v := *u
		v.Source, v.Dest = orAddr(v.Source, "10.0.3.21"), orAddr(v.Dest, "198.51.100.77")
		v.Port = cmp.Or(v.Port, 443)
		v.Bytes = cmp.Or(v.Bytes, 40_000_000)
		add(g.tlsExfil(v))
	}
	if u := a.SplitExfil; u != nil {
		v := *u
		v.Source, v.Dest = orAddr(v.Source, "10.0.3.22"), orAddr(v.Dest, "203.0.113.99")
		v.Port = cmp.Or(v.Port, 443)
		v.Connections = cmp.Or(v.Connections, 200)
		v.BytesPer = cmp.Or(v.BytesPer, 150_000)
		add(g.splitExfil(v))
	}
	if x := a.ICMPExfil; x != nil {
		v := *x
		v.Source, v.Dest = orAddr(v.Source, "10.0.3.23"), orAddr(v.Dest, "198.51.100.88")
		v.Packets = cmp.Or(v.Packets, 600)
		v.Size = cmp.Or(v.Size, 1000)
		add(g.icmpExfil(v))
	}
	if d := a.DNSExfil; d != nil {
		v := *d
		v.Client, v.Resolver = orAddr(v.Client, "10.0.3.24"), orAddr(v.Resolver, "10.0.0.53")
		v.Domain = cmp.Or(v.Domain, "x.telemetry-cache.net")
		v.Queries = cmp.Or(v.Queries, 400)
		add(g.dnsExfil(v))
	}
}

func httpDefaults(h HTTPAttack, source, server string, requests int, ua string) HTTPAttack {
	h.Source, h.Server = orAddr(h.Source, source), orAddr(h.Server, server)
	if h.Port == 0 {
		h.Port = 80
	}
	if h.Requests == 0 {
		h.Requests = requests
	}
	if h.UserAgent == "" {
		h.UserAgent = ua
	}
	return h
}
