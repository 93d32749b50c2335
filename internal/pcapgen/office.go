package pcapgen

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// The office mix: what a network of a few hundred hosts does on an
// ordinary day, including everything that looks suspicious to a naive
// rule and is not: uploads of a few megabytes to SaaS services used by
// many hosts, software updates of tens of megabytes, nightly backups of
// tens of megabytes to one internal server (rsync over SSH, rsync
// daemon, SMB), a monitor polling health paths on many servers at fixed
// intervals, a crawler walking thousands of existing wiki pages at a
// steady rate, browsers resolving thousands of long random-looking CDN
// names over hundreds of registered domains, TLS browsing with real
// ClientHello/ServerHello records carrying SNI, NTP to three servers,
// mDNS and LLMNR multicast.

// officeWeights is how often each kind of session starts in the office
// mix. Packets follow weight times length (see basicWeights): about 40%
// of the packets are TLS browsing, 13% SaaS transfers, 10% updates.
var officeWeights = [numKinds]int{
	kindDNS: 6000, kindCDNDNS: 3000, kindHTTP: 1000, kindTLS: 1400, kindCDNTLS: 1000, kindBulk: 80,
	kindSaaS: 20, kindUpdate: 1, kindNTP: 600, kindICMP: 800, kindARP: 600, kindMDNS: 600, kindLLMNR: 400,
}

// office holds the hosts, names and clocks of the office mix.
type office struct {
	siteNames   []string // SNI of g.servers[i]: siteNames[i]
	saas        []*host
	saasNames   []string
	updates     []*host
	updateNames []string
	ntp         []*host
	cdnEdges    []*host
	cdnNames    []string // name i resolves to cdnEdges[i%len(cdnEdges)]
	dnsNames    []string // the names ordinary lookups ask for

	mdns, llmnr *host // the multicast groups
	responders  []*host

	monitor *host
	apps    []*host // internal servers the monitor polls
	crawler *host
	backup  *host
	backups []*host // hosts backed up, in turn

	timed   []*timedSource
	nextDue int64 // the earliest next of timed
	pages   int   // the crawler's next page
	polls   int   // health checks made
	nextBak int   // the next host to back up
}

// timedSource starts a session every period (clock-driven traffic).
type timedSource struct {
	next, period int64
	start        func(g *gen) session
	bulk         bool // runs beside the others (backups, crawls), not as an exchange sent at once (polls)
}

const second = int64(1e9)

func (g *gen) makeOffice() *office {
	o := &office{}
	ext := func(i int, a string) *host {
		return newHost(netip.MustParseAddr(a), netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::%x", 0x1000+i, i+1)), mac(0xff1000+i), 0)
	}
	internal := func(i int, a string) *host {
		ip := netip.MustParseAddr(a)
		b := ip.As4()
		return newHost(ip, netip.MustParseAddr(fmt.Sprintf("fd00::%x:%x", b[2], b[3])), mac(0xfe1000+i), 0)
	}
	sites := []string{"www.example.com", "news.example.org", "mail.example.net", "shop.example.com", "docs.example.org", "video.example.net",
		"social.example.com", "search.example.org", "maps.example.net", "weather.example.com", "bank.example.org", "travel.example.net"}
	for i := range g.servers {
		o.siteNames = append(o.siteNames, sites[i%len(sites)])
	}
	saas := []string{"upload.filesync-cloud.com", "api.docshare.net", "sync.teamdrive.io", "files.crm-suite.com", "content.videoconf.net"}
	for i, n := range saas {
		o.saas = append(o.saas, ext(i, fmt.Sprintf("198.51.100.%d", 30+i)))
		o.saasNames = append(o.saasNames, n)
	}
	upd := []string{"dl.os-updates.net", "download.browser-vendor.com", "packages.linux-mirror.org"}
	for i, n := range upd {
		o.updates = append(o.updates, ext(10+i, fmt.Sprintf("203.0.113.%d", 40+i)))
		o.updateNames = append(o.updateNames, n)
	}
	for i, a := range []string{"192.0.2.123", "198.51.100.123", "203.0.113.123"} {
		o.ntp = append(o.ntp, ext(20+i, a))
	}
	for i := range 48 {
		a := fmt.Sprintf("203.0.113.%d", 128+i/2)
		if i%2 == 1 {
			a = fmt.Sprintf("198.51.100.%d", 128+i/2)
		}
		o.cdnEdges = append(o.cdnEdges, ext(30+i, a))
	}
	o.cdnNames = g.cdnNames()

	o.mdns = newHost(netip.MustParseAddr("224.0.0.251"), netip.Addr{}, net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, 0)
	o.llmnr = newHost(netip.MustParseAddr("224.0.0.252"), netip.Addr{}, net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfc}, 0)
	// Multicast groups are on the link: no gateway in between.
	o.mdns.internal, o.llmnr.internal = true, true
	for range 6 {
		o.responders = append(o.responders, g.clients[g.rng.IntN(len(g.clients))])
	}

	o.monitor = internal(1, "10.0.0.20")
	for i := range 24 {
		o.apps = append(o.apps, internal(10+i, fmt.Sprintf("10.0.5.%d", 1+i)))
	}
	o.crawler = internal(2, "10.0.0.31")
	o.backup = internal(3, "10.0.1.50")
	for i := range 8 {
		if i < 4 {
			o.backups = append(o.backups, o.apps[i*5])
		} else {
			o.backups = append(o.backups, g.clients[g.rng.IntN(len(g.clients))])
		}
	}

	o.dnsNames = append(o.dnsNames, names...)
	o.dnsNames = append(o.dnsNames, sites...)
	o.dnsNames = append(o.dnsNames, saas...)
	o.dnsNames = append(o.dnsNames, upd...)

	// Each app server is polled every 15 s, the polls spread over the
	// period; the crawler asks for a few pages every 2 s; a backup starts
	// every 2 minutes, the first after 20 s.
	for i, app := range o.apps {
		path := healthPaths[i%len(healthPaths)]
		port := uint16(80)
		if i%3 == 2 {
			port = 8080
		}
		o.timed = append(o.timed, &timedSource{next: int64(i) * 15 * second / int64(len(o.apps)), period: 15 * second,
			start: func(g *gen) session { return g.healthCheck(app, port, path) }})
	}
	o.timed = append(o.timed,
		&timedSource{next: second, period: 2 * second, start: (*gen).crawl, bulk: true},
		&timedSource{next: 20 * second, period: 120 * second, start: (*gen).nightlyBackup, bulk: true})
	o.nextDue = 0
	return o
}

// officeHosts returns the hosts of the office mix, for hostFor.
func (o *office) hosts() []*host {
	hs := []*host{o.mdns, o.llmnr, o.monitor, o.crawler, o.backup}
	for _, l := range [][]*host{o.saas, o.updates, o.ntp, o.cdnEdges, o.apps} {
		hs = append(hs, l...)
	}
	return hs
}

// makeOfficePool draws the 5-tuples of the office mix's own kinds.
func (g *gen) makeOfficePool() {
	o := g.office
	share := map[sessionKind]float64{kindCDNTLS: 0.15, kindSaaS: 0.08, kindUpdate: 0.02, kindMDNS: 0.02, kindLLMNR: 0.04}
	for _, k := range []sessionKind{kindCDNTLS, kindSaaS, kindUpdate, kindMDNS, kindLLMNR} {
		for range max(1, int(float64(g.cfg.Flows)*share[k])) {
			c := g.clients[g.rng.IntN(len(g.clients))]
			cport := uint16(32768 + g.rng.IntN(28000))
			var srv *host
			port := uint16(443)
			switch k {
			case kindCDNTLS:
				srv = o.cdnEdges[g.rng.IntN(len(o.cdnEdges))]
			case kindSaaS:
				srv = o.saas[g.rng.IntN(len(o.saas))]
			case kindUpdate:
				i := g.rng.IntN(len(o.updates))
				srv = o.updates[i]
				if i == 2 {
					port = 80 // a Linux mirror over plain HTTP
				}
			case kindMDNS:
				c = o.responders[g.rng.IntN(len(o.responders))]
				if g.rng.IntN(2) == 0 {
					c = g.clients[g.rng.IntN(len(g.clients))]
				}
				srv, cport, port = o.mdns, 5353, 5353
			case kindLLMNR:
				srv, port = o.llmnr, 5355
			}
			r := g.newRoute(c, srv, false)
			switch k {
			case kindMDNS:
				r.ttl = 255
			case kindLLMNR:
				r.ttl = 1
			}
			g.pool[k] = append(g.pool[k], &flowSpec{r: r, cport: cport, sport: port})
		}
	}
}

// cdnNames draws the CDN names browsers resolve: 320 registered domains
// of 4 to 14 names each, the names' first labels long and random-looking
// (hashes and shard ids), as CDNs name their edges and objects.
func (g *gen) cdnNames() []string {
	words := []string{"edge", "static", "media", "img", "cdn", "assets", "content", "cache", "fast", "cloud", "video", "fonts", "ads", "metrics", "pix", "dist"}
	tlds := []string{"com", "net", "io", "org", "co"}
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	label := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alnum[g.rng.IntN(len(alnum))]
		}
		return b
	}
	var out []string
	for d := range 320 {
		dom := fmt.Sprintf("%s%s%d.%s", words[d%len(words)], words[(d/len(words)+3)%len(words)], d, tlds[d%len(tlds)])
		for range 4 + g.rng.IntN(11) {
			var name string
			switch g.rng.IntN(3) {
			case 0: // d1a2b3c4d5e6f7.cloudedge.net
				name = fmt.Sprintf("%s.%s", label(12+g.rng.IntN(10)), dom)
			case 1: // r4---sn-a5m7zu76.mediacdn.com
				name = fmt.Sprintf("r%d---sn-%s.%s", 1+g.rng.IntN(9), label(8), dom)
			default: // a7c2e9f0-3b1d-4c55.img.pixcdn.io
				name = fmt.Sprintf("%s-%s-%s.%s.%s", label(8), label(4), label(4), words[g.rng.IntN(len(words))], dom)
			}
			out = append(out, name)
		}
	}
	return out
}

// officeSession starts a session of one of the office mix's own kinds.
func (g *gen) officeSession(k sessionKind) session {
	o := g.office
	switch k {
	case kindCDNDNS:
		i := g.rng.IntN(len(o.cdnNames))
		f := g.takeFlow(kindDNS)
		edge := o.cdnEdges[i%len(o.cdnEdges)]
		return g.dnsAnswer(f, o.cdnNames[i], edge)
	}
	f := g.takeFlow(k)
	switch k {
	case kindCDNTLS:
		// A name this edge serves.
		e := 0
		for i, h := range o.cdnEdges {
			if h == f.r.b {
				e = i
			}
		}
		n := len(o.cdnNames) / len(o.cdnEdges)
		sni := o.cdnNames[e+len(o.cdnEdges)*g.rng.IntN(n)]
		return g.tlsTransfer(f, sni, 1+g.rng.IntN(6), false, 0)
	case kindSaaS:
		sni := ""
		for i, h := range o.saas {
			if h == f.r.b {
				sni = o.saasNames[i]
			}
		}
		// Uploads and downloads of 1 to 4 MB.
		return g.tlsTransfer(f, sni, 1, g.rng.IntN(2) == 0, 1_000_000+g.rng.IntN(3_000_000))
	case kindUpdate:
		return g.update(f)
	case kindMDNS:
		return g.mdnsQuery(f)
	default:
		return g.llmnrQuery(f)
	}
}

// dnsAnswer is a lookup of name answered NOERROR with the address of srv.
func (g *gen) dnsAnswer(f *flowSpec, name string, srv *host) session {
	qtype := layers.DNSTypeA
	ip := srv.net4
	if f.r.v6 {
		qtype, ip = layers.DNSTypeAAAA, srv.net6
	}
	q := &layers.DNS{ID: uint16(g.rng.IntN(65536)), RD: true, OpCode: layers.DNSOpCodeQuery,
		Questions: []layers.DNSQuestion{{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN}}}
	r := *q
	r.QR, r.RA = true, true
	r.Answers = []layers.DNSResourceRecord{{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN, TTL: 60, IP: ip}}
	return &udpExchange{f: f, dns: [2]*layers.DNS{q, &r}}
}

// browseTLS is a TLS connection to a public web server, named by SNI.
func (g *gen) browseTLS(f *flowSpec) session {
	sni := "www.example.com"
	for i, h := range g.servers {
		if h == f.r.b {
			sni = g.office.siteNames[i]
		}
	}
	if f.r.b.internal {
		sni = "intranet.corp.example"
	}
	return g.tlsTransfer(f, sni, 1+g.rng.IntN(4), false, 0)
}

// tlsTransfer is a TLS 1.3 connection to sni with exchanges request and
// answer pairs. With size > 0 one of them moves size bytes: up from the
// client when upload, else down; otherwise answers are web-sized.
func (g *gen) tlsTransfer(f *flowSpec, sni string, exchanges int, upload bool, size int) session {
	msgs := g.tlsHandshake(sni)
	for range exchanges {
		req := g.tlsRecord(0x17, 200+g.rng.IntN(600))
		req.fromClient = true
		resp := message{body: tlsBody(g.bodySize()), filler: g.tlsRecords}
		switch {
		case size > 0 && upload:
			req = message{fromClient: true, body: tlsBody(size), filler: g.tlsRecords}
			resp = g.tlsRecord(0x17, 100+g.rng.IntN(300))
		case size > 0:
			resp.body = tlsBody(size)
		}
		msgs = append(msgs, req, resp)
	}
	return g.newConn(f, &f.r, f.cport, f.sport, msgs)
}

// update downloads a package of 5 to 40 MB: over TLS, or over plain HTTP
// from a Linux mirror.
func (g *gen) update(f *flowSpec) session {
	o := g.office
	n := 5_000_000 + g.rng.IntN(35_000_000)
	name := o.updateNames[0]
	for i, h := range o.updates {
		if h == f.r.b {
			name = o.updateNames[i]
		}
	}
	if f.sport != 80 {
		return g.tlsTransfer(f, name, 1, false, n)
	}
	pkgs := []string{"linux-image-6.1.0-18-amd64_6.1.76-1_amd64.deb", "firefox-esr_115.8.0esr-1~deb12u1_amd64.deb",
		"libreoffice-core_7.4.7-1+deb12u1_amd64.deb", "openjdk-17-jdk-headless_17.0.10+7-1~deb12u1_amd64.deb"}
	req := fmt.Appendf(nil, "GET /debian/pool/main/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\nAccept: */*\r\n\r\n",
		pkgs[g.rng.IntN(len(pkgs))], name)
	return g.newConn(f, &f.r, f.cport, f.sport, []message{
		{fromClient: true, hdr: req},
		{hdr: httpResponse("200 OK", n, "application/vnd.debian.binary-package"), body: n, filler: g.bin},
	})
}

// ntpExchange is an NTPv4 client request and the server's answer.
func (g *gen) ntpExchange(f *flowSpec) session {
	req := make([]byte, 48)
	req[0] = 0x23 // LI 0, version 4, mode 3 (client)
	copy(req[40:], g.randomBytes(8))
	resp := make([]byte, 48)
	resp[0], resp[1], resp[2], resp[3] = 0x24, 2, 3, 0xe9 // version 4, mode 4 (server), stratum 2
	copy(resp[12:16], []byte{0xc0, 0x00, 0x02, 0x01})     // reference id
	copy(resp[16:40], g.randomBytes(24))
	copy(resp[24:32], req[40:48]) // origin timestamp: the client's transmit time
	copy(resp[40:], g.randomBytes(8))
	return &udpExchange{f: f, req: req, resp: resp}
}

// mdnsServices are what devices browse for over mDNS.
var mdnsServices = []string{"_googlecast._tcp.local", "_airplay._tcp.local", "_ipp._tcp.local", "_spotify-connect._tcp.local",
	"_raop._tcp.local", "_companion-link._tcp.local", "_printer._tcp.local", "_hap._tcp.local"}

// mdnsQuery is a PTR question to 224.0.0.251 and, half the time, a
// responder's multicast answer.
func (g *gen) mdnsQuery(f *flowSpec) session {
	o := g.office
	svc := []byte(mdnsServices[g.rng.IntN(len(mdnsServices))])
	q := &layers.DNS{Questions: []layers.DNSQuestion{{Name: svc, Type: layers.DNSTypePTR, Class: layers.DNSClassIN}}}
	ex := &multicastExchange{f: f, q: q}
	if g.rng.IntN(2) == 0 {
		resp := o.responders[g.rng.IntN(len(o.responders))]
		inst := fmt.Appendf(nil, "device-%s.%s", resp.ip4.String(), svc)
		a := &layers.DNS{QR: true, AA: true, Answers: []layers.DNSResourceRecord{
			{Name: svc, Type: layers.DNSTypePTR, Class: layers.DNSClassIN, TTL: 4500, PTR: inst},
			{Name: fmt.Appendf(nil, "device-%d.local", resp.ip4.As4()[3]), Type: layers.DNSTypeA, Class: 0x8001, TTL: 120, IP: resp.net4},
		}}
		ex.reply = &flowSpec{r: g.newRoute(resp, o.mdns, false), cport: 5353, sport: 5353}
		ex.reply.r.ttl = 255
		ex.a = a
	}
	return ex
}

// llmnrNames are the single-label names Windows hosts ask the link for.
var llmnrNames = []string{"wpad", "fileserver", "printer-2f", "nas01", "desktop-7hq2k", "sccm", "isatap", "laptop-19"}

// llmnrQuery is an LLMNR question to 224.0.0.252, asked twice as Windows
// does, and sometimes a unicast answer from the host of that name.
func (g *gen) llmnrQuery(f *flowSpec) session {
	name := []byte(llmnrNames[g.rng.IntN(len(llmnrNames))])
	id := uint16(g.rng.IntN(65536))
	q := &layers.DNS{ID: id, Questions: []layers.DNSQuestion{{Name: name, Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	ex := &multicastExchange{f: f, q: q, repeat: true}
	if g.rng.IntN(4) == 0 {
		resp := g.office.responders[g.rng.IntN(len(g.office.responders))]
		a := *q
		a.QR = true
		a.Answers = []layers.DNSResourceRecord{{Name: name, Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 30, IP: resp.net4}}
		ex.reply = &flowSpec{r: g.newRoute(resp, f.r.a, false), cport: 5355, sport: f.cport}
		ex.a = &a
	}
	return ex
}

// multicastExchange is a question to a multicast group (sent twice with
// repeat) and an optional answer on its own route.
type multicastExchange struct {
	f, reply *flowSpec
	q, a     *layers.DNS
	repeat   bool
	n        int
}

func (m *multicastExchange) step(g *gen) (bool, error) {
	asks := 1
	if m.repeat {
		asks = 2
	}
	total := asks
	if m.reply != nil {
		total++
	}
	m.n++
	done := m.n == total
	if done {
		m.f.active = false
	}
	if m.n <= asks {
		return done, g.sendUDP(&m.f.r, toServer, m.f.cport, m.f.sport, nil, m.q)
	}
	return done, g.sendUDP(&m.reply.r, toServer, m.reply.cport, m.reply.sport, nil, m.a)
}
