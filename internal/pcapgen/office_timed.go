package pcapgen

import "fmt"

// Clock-driven normal traffic of the office mix: the monitor's health
// checks, the crawler, the nightly backups. Each timedSource starts a
// session on the capture's clock; the sessions run beside the normal
// slots until done.

// startTimed starts every timed session that is due.
func (g *gen) startTimed() {
	o := g.office
	o.nextDue = -1
	for _, t := range o.timed {
		for t.next <= g.ns {
			if t.bulk {
				g.bg = append(g.bg, t.start(g))
			} else {
				g.prompt = append(g.prompt, t.start(g))
			}
			t.next += t.period
		}
		if o.nextDue < 0 || t.next < o.nextDue {
			o.nextDue = t.next
		}
	}
}

// healthPaths are what a monitor polls: a few paths, always answered 200.
var healthPaths = []string{"/health", "/healthz", "/api/v1/status", "/ready", "/metrics/ping"}

// healthCheck is one poll: a connection, a GET, a small JSON answer.
func (g *gen) healthCheck(app *host, port uint16, path string) session {
	r := g.newRoute(g.office.monitor, app, false)
	body := []byte(`{"status":"ok","checks":{"db":"ok","cache":"ok","disk":"ok"}}`)
	req := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: Blackbox-Exporter/0.24.0\r\nAccept: */*\r\n\r\n", path, app.ip4, port)
	msgs := []message{
		{fromClient: true, hdr: req},
		{hdr: append(httpResponse("200 OK", len(body), "application/json"), body...)},
	}
	// Source ports cycle through eight per server, so the flows stay
	// bounded however long the capture.
	g.office.polls++
	cport := uint16(40000 + g.office.polls%8)
	return g.newConn(nil, &r, cport, port, msgs)
}

// crawlerUA is the crawler's user agent: an internal search indexer.
const crawlerUA = "Mozilla/5.0 (compatible; intranet-search-indexer/2.3; +http://search.corp.example/about)"

// crawlerPages is how many distinct wiki pages exist; the crawler walks
// them in order and starts again.
const crawlerPages = 4000

// crawl is one visit of the crawler: a keep-alive connection with five
// GETs of consecutive existing pages, answered 200, or 301 to the
// canonical URL for one page in ten.
func (g *gen) crawl() session {
	o := g.office
	wiki := g.web[0]
	r := g.newRoute(o.crawler, wiki, false)
	var msgs []message
	for range 5 {
		p := o.pages%crawlerPages + 1
		o.pages++
		path := fmt.Sprintf("/wiki/page/%d", p)
		resp := func() message {
			if p%10 == 0 {
				h := fmt.Appendf(nil, "HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.24.0\r\nLocation: http://%s%s/\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", wiki.ip4, path)
				return message{hdr: h}
			}
			n := 4000 + g.rng.IntN(30000)
			return message{hdr: httpResponse("200 OK", n, "text/html; charset=utf-8"), body: n, filler: g.html}
		}()
		msgs = append(msgs, message{fromClient: true, hdr: g.httpRequest(wiki.ip4.String(), path, crawlerUA)}, resp)
	}
	cport := uint16(50000 + o.pages/5%16)
	return g.newConn(nil, &r, cport, 80, msgs)
}

// nightlyBackup sends the next host's backup, 10 to 40 MB, to the backup
// server: rsync over SSH, to an rsync daemon, or to an SMB share, by host.
func (g *gen) nightlyBackup() session {
	o := g.office
	i := o.nextBak % len(o.backups)
	h := o.backups[i]
	o.nextBak++
	n := 10_000_000 + g.rng.IntN(30_000_000)
	var port uint16
	var msgs []message
	switch i % 3 {
	case 1:
		port = 22
		msgs = []message{
			{fromClient: true, hdr: []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n")},
			{hdr: []byte("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n")},
			{fromClient: true, body: 1500, filler: g.bin},
			{body: 1100, filler: g.bin},
			{fromClient: true, body: n, filler: g.bin},
			{body: 2000 + g.rng.IntN(4000), filler: g.bin},
		}
	case 2:
		port = 873
		msgs = []message{
			{hdr: []byte("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\n")},
			{fromClient: true, hdr: []byte("@RSYNCD: 31.0 sha512 sha256 sha1 md5 md4\nbackups\n")},
			{hdr: []byte("@RSYNCD: OK\n")},
			{fromClient: true, body: n, filler: g.bin},
			{body: 3000, filler: g.bin},
		}
	default:
		port = 445
		msgs = []message{
			{fromClient: true, body: 300, filler: g.bin},
			{body: 250, filler: g.bin},
			{fromClient: true, body: n, filler: g.bin},
			{body: 5000, filler: g.bin},
		}
	}
	r := g.newRoute(h, o.backup, false)
	return g.newConn(nil, &r, uint16(45000+i), port, msgs)
}
