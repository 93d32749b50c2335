package pcapgen

import (
	"encoding/base32"
	"fmt"
	"slices"

	"github.com/gopacket/gopacket/layers"
)

// startAttacks adds a session for every attack the Config asks for.
func (g *gen) startAttacks() {
	a := g.cfg.Attacks
	add := func(s session, t *AttackTruth) {
		g.stats.Attacks = append(g.stats.Attacks, t)
		g.attacks = append(g.attacks, &tracked{s: s, t: t})
	}
	if a.PortScan != nil {
		s := a.PortScan.defaults()
		sc := g.portScan(s)
		t := g.stats.PortScan
		add(sc, &AttackTruth{Name: "port_scan", Type: "port_scan", Technique: "syn", Source: s.Source, Target: s.Target, Ports: t.Ports, Open: t.Open})
	}
	if a.Upload != nil {
		u := a.Upload.defaults()
		up := g.upload(u)
		add(up, &AttackTruth{Name: "upload", Type: "data_exfiltration", Technique: "upload", Source: u.Source, Target: u.Dest, Port: u.Port, Connections: 1, Bytes: u.Bytes})
	}
	if a.DNSTunnel != nil {
		d := a.DNSTunnel.defaults()
		add(g.dnsTunnel(d), &AttackTruth{Name: "dns_tunnel", Type: "dns_tunneling", Technique: "dns_txt", Source: d.Client, Target: d.Resolver, Port: 53, Domain: d.Domain, Queries: d.Queries})
	}
	if a.HTTPEnum != nil {
		h := a.HTTPEnum.defaults()
		add(g.httpEnum(h), &AttackTruth{Name: "http_enum", Type: "http_enumeration", Technique: "directory_bruteforce", Source: h.Source, Target: h.Server, Port: h.Port, Requests: h.Requests})
	}
	g.startEvasive()
}

// scanSession is a SYN scan in nmap's shuffled port order, with one fixed
// source port: SYN, then RST-ACK for a closed port, or SYN-ACK and the
// scanner's RST for an open one.
type scanSession struct {
	r     route
	sport uint16
	ports []uint16
	open  map[uint16]bool
	i     int
	phase int
	truth *PortScanTruth
}

func (g *gen) portScan(s PortScan) session {
	src, dst := g.hostFor(s.Source), g.hostFor(s.Target)
	ports := make([]uint16, s.Ports)
	for i := range ports {
		ports[i] = uint16(i + 1)
	}
	g.rng.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
	open := map[uint16]bool{}
	truth := &PortScanTruth{Source: s.Source, Target: s.Target, Ports: s.Ports, Open: []uint16{}}
	for _, p := range s.Open {
		if int(p) >= 1 && int(p) <= s.Ports && !open[p] {
			open[p] = true
			truth.Open = append(truth.Open, p)
		}
	}
	slices.Sort(truth.Open)
	g.stats.PortScan = truth
	return &scanSession{r: g.newRoute(src, dst, s.Source.Is6()), sport: 40000 + uint16(g.rng.IntN(20000)), ports: ports, open: open, truth: truth}
}

func (s *scanSession) step(g *gen) (bool, error) {
	if len(s.ports) == 0 {
		return true, nil
	}
	port := s.ports[s.i]
	seq := uint32(0x5ca9_0000) + uint32(port)
	var err error
	switch s.phase {
	case 0:
		err = g.sendTCP(&s.r, toServer, s.sport, port, flagSYN, seq, 0, nil)
		s.phase = 1
	case 1:
		if s.open[port] {
			err = g.sendTCP(&s.r, toClient, port, s.sport, flagSYN|flagACK, uint32(port)<<16, seq+1, nil)
			s.phase = 2
		} else {
			err = g.sendTCP(&s.r, toClient, port, s.sport, flagRST|flagACK, 0, seq+1, nil)
			s.phase = 3
		}
	case 2:
		err = g.sendTCP(&s.r, toServer, s.sport, port, flagRST, seq+1, 0, nil)
		s.phase = 3
	}
	s.truth.Packets++
	if s.phase == 3 {
		s.phase = 0
		s.i++
	}
	return s.i == len(s.ports), err
}

func (g *gen) upload(u Upload) session {
	src, dst := g.hostFor(u.Source), g.hostFor(u.Dest)
	r := g.newRoute(src, dst, u.Source.Is6())
	truth := &UploadTruth{Source: u.Source, Dest: u.Dest, Port: u.Port, Bytes: u.Bytes}
	g.stats.Upload = truth
	msgs := []message{{fromClient: true, body: int(u.Bytes), filler: g.tlsRecords}, g.tlsRecord(0x17, 64)}
	c := g.newConn(nil, &r, uint16(49152+g.rng.IntN(16000)), u.Port, msgs)
	return &countingSession{s: c, n: &truth.Packets}
}

// countingSession counts the packets of the session it wraps.
type countingSession struct {
	s session
	n *int
}

func (c *countingSession) step(g *gen) (bool, error) {
	*c.n++
	return c.s.step(g)
}

// dnsTunnelSession asks Queries TXT questions for names of long base32
// labels, as dnscat2 and iodine do, each answered with a TXT record.
type dnsTunnelSession struct {
	r      route
	domain string
	truth  *DNSTunnelTruth
	total  int
	i      int
	cur    *udpExchange
	f      flowSpec
	enc    *base32.Encoding
}

func (g *gen) dnsTunnel(t DNSTunnel) session {
	c, s := g.hostFor(t.Client), g.hostFor(t.Resolver)
	truth := &DNSTunnelTruth{Client: t.Client, Resolver: t.Resolver, Domain: t.Domain}
	g.stats.DNSTunnel = truth
	return &dnsTunnelSession{r: g.newRoute(c, s, t.Client.Is6()), domain: t.Domain, truth: truth, total: t.Queries,
		enc: base32.StdEncoding.WithPadding(base32.NoPadding)}
}

func (d *dnsTunnelSession) step(g *gen) (bool, error) {
	if d.total == 0 {
		return true, nil
	}
	if d.cur == nil {
		chunk := make([]byte, 60)
		for i := range chunk {
			chunk[i] = byte(g.rng.Uint32())
		}
		enc := []byte(d.enc.EncodeToString(chunk))
		for i, b := range enc {
			if b >= 'A' && b <= 'Z' {
				enc[i] = b + 'a' - 'A'
			}
		}
		// Two labels of 48 characters and a sequence label make each name distinct.
		name := fmt.Appendf(nil, "%s.%s.%04x.%s", enc[:48], enc[48:96], d.i, d.domain)
		id := uint16(g.rng.IntN(65536))
		q := &layers.DNS{ID: id, RD: true, Questions: []layers.DNSQuestion{{Name: name, Type: layers.DNSTypeTXT, Class: layers.DNSClassIN}}}
		r := *q
		r.QR, r.RA = true, true
		r.Answers = []layers.DNSResourceRecord{{Name: name, Type: layers.DNSTypeTXT, Class: layers.DNSClassIN, TTL: 0, TXTs: [][]byte{enc[:64]}}}
		// A few source ports in turn, as a tunnel client reopens its socket.
		d.f = flowSpec{r: d.r, cport: uint16(45000 + d.i/50), sport: 53}
		d.cur = &udpExchange{f: &d.f, dns: [2]*layers.DNS{q, &r}}
	}
	done, err := d.cur.step(g)
	if done {
		d.cur = nil
		d.i++
		d.truth.Queries = d.i
	}
	return d.i == d.total, err
}

// words make the enumeration's paths: a dirbuster-like list, then numbered
// variants once it runs out.
var words = []string{"admin", "backup", "config", "login", "wp-admin", "phpmyadmin", ".git/HEAD", ".env", "server-status",
	"api", "test", "old", "dev", "uploads", "include", "cgi-bin", "console", "manager/html", "db", "private",
	"secret", "tmp", "logs", "setup", "install", "shell", "robots.txt", "sitemap.xml", "xmlrpc.php", "debug"}

var exts = []string{"", ".php", ".bak", ".zip", ".old", ".txt", ".asp", ".jsp"}

// httpEnumSession requests distinct paths, ten per keep-alive connection.
type httpEnumSession struct {
	h     HTTPEnum
	r     route
	truth *HTTPEnumTruth
	next  int
	cur   *tcpConn
}

func (g *gen) httpEnum(h HTTPEnum) session {
	src, dst := g.hostFor(h.Source), g.hostFor(h.Server)
	truth := &HTTPEnumTruth{Source: h.Source, Server: h.Server, Port: h.Port, UserAgent: h.UserAgent}
	g.stats.HTTPEnum = truth
	return &httpEnumSession{h: h, r: g.newRoute(src, dst, h.Source.Is6()), truth: truth}
}

func enumPath(i int) string {
	w := words[i%len(words)]
	e := exts[(i/len(words))%len(exts)]
	if round := i / (len(words) * len(exts)); round > 0 {
		return fmt.Sprintf("/%s%d%s", w, round, e)
	}
	return "/" + w + e
}

func (s *httpEnumSession) step(g *gen) (bool, error) {
	if s.h.Requests == 0 {
		return true, nil
	}
	if s.cur == nil {
		var msgs []message
		for i := s.next; i < s.h.Requests && i < s.next+10; i++ {
			status, body := "404 Not Found", 153
			switch {
			case i%40 == 39:
				status, body = "403 Forbidden", 162
			case i%25 == 24:
				status, body = "200 OK", 2400
			}
			if status[0] == '4' && status[1] == '0' && status[2] == '4' {
				s.truth.NotFound++
			}
			msgs = append(msgs,
				message{fromClient: true, hdr: g.httpRequest(s.h.Server.String(), enumPath(i), s.h.UserAgent)},
				message{hdr: httpResponse(status, body, "text/html"), body: body, filler: g.html})
		}
		s.truth.Requests += len(msgs) / 2
		s.next += len(msgs) / 2
		s.truth.Connections++
		s.cur = g.newConn(nil, &s.r, uint16(50000+s.truth.Connections), s.h.Port, msgs)
	}
	done, err := s.cur.step(g)
	if !done {
		return false, err
	}
	s.cur = nil
	return s.next == s.h.Requests, err
}
