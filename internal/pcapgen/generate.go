package pcapgen

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Generate writes the capture cfg describes to w and returns its ground
// truth. The same cfg always writes the same bytes. ctx cancels a long write.
func Generate(ctx context.Context, w io.Writer, cfg Config) (*Stats, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Defaults()
	var gz *gzip.Writer
	if cfg.Gzip {
		gz = gzip.NewWriter(w)
		w = gz
	}
	lt, _ := cfg.Link.LinkType()
	s, err := newSink(w, cfg.Format, cfg.BigEndian, lt)
	if err != nil {
		return nil, fmt.Errorf("pcapgen: file header: %w", err)
	}
	g := newGen(cfg, s)
	if err := g.run(ctx); err != nil {
		return nil, err
	}
	if err := s.flush(); err != nil {
		return nil, fmt.Errorf("pcapgen: %w", err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return nil, fmt.Errorf("pcapgen: gzip: %w", err)
		}
	}
	g.stats.FileBytes = s.count.n
	g.stats.UniqueIPs = len(g.ips)
	g.stats.Flows = len(g.flows)
	g.stats.LinkType = g.lt.String()
	return &g.stats, nil
}

// WriteFile writes the capture cfg describes to a new file at path.
func WriteFile(ctx context.Context, path string, cfg Config) (*Stats, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcapgen: %w", err)
	}
	st, err := Generate(ctx, f, cfg)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("pcapgen: %w", cerr)
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return st, nil
}

// session is one conversation that emits its packets one at a time, so
// that many can be interleaved.
type session interface {
	// step emits the session's next packet and reports whether it was the last.
	step(g *gen) (done bool, err error)
}

// sessionKind is a kind of normal traffic.
type sessionKind int

const (
	kindDNS sessionKind = iota
	kindHTTP
	kindTLS
	kindBulk
	kindNTP
	kindICMP
	kindARP
	// The office mix's own kinds (see office.go).
	kindCDNDNS
	kindCDNTLS
	kindSaaS
	kindUpdate
	kindMDNS
	kindLLMNR
	numKinds
)

// basicWeights is how often each kind of session starts in the basic mix.
// A slot busy with a long transfer starts nothing new, so packets follow
// weight times length: with these, about 95% of the bytes are TCP and
// frames average about 750 bytes, as on an office uplink.
var basicWeights = [numKinds]int{kindDNS: 80, kindHTTP: 14, kindTLS: 22, kindBulk: 1, kindNTP: 6, kindICMP: 10, kindARP: 6}

// flowSpec is one 5-tuple of the bounded pool normal traffic draws from.
type flowSpec struct {
	r      route
	cport  uint16
	sport  uint16
	active bool
}

type flowKey struct {
	a, b   netip.Addr
	pa, pb uint16
	proto  layers.IPProtocol
}

type gen struct {
	cfg   Config
	lt    layers.LinkType
	rng   *rand.Rand
	b     *builder
	s     *sink
	ns    int64 // time since cfg.Start
	stats Stats
	ips   map[netip.Addr]struct{}
	flows map[flowKey]struct{}

	clients  []*host
	servers  []*host // public
	web      []*host // internal web servers
	files    *host   // internal file server (SMB)
	ssh      *host   // internal SSH server
	resolver *host   // internal DNS resolver
	public   *host   // a public resolver
	gateway  *host
	pool     [numKinds][]*flowSpec
	extra    map[netip.Addr]*host // hosts made for attacks
	weights  *[numKinds]int
	office   *office // nil in the basic mix

	normal     []session
	bg         []session // clock-driven traffic beside the rest (office mix): backups, crawls
	prompt     []session // clock-driven exchanges sent at once (office mix): health checks
	attacks    []session
	attacking  bool
	stopped    bool
	totalW     int
	html, bin  []byte // payload fillers
	tlsRecords []byte
	scratch    []byte
}

func newGen(cfg Config, s *sink) *gen {
	lt, _ := cfg.Link.LinkType()
	g := &gen{
		cfg:     cfg,
		lt:      lt,
		rng:     rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		b:       newBuilder(lt),
		s:       s,
		ips:     make(map[netip.Addr]struct{}),
		flows:   make(map[flowKey]struct{}),
		extra:   make(map[netip.Addr]*host),
		scratch: make([]byte, 2048),
	}
	g.makeFillers()
	g.makeHosts()
	g.weights = &basicWeights
	if !cfg.Basic {
		g.weights = &officeWeights
		g.office = g.makeOffice()
	}
	g.makePool()
	if g.office != nil {
		g.makeOfficePool()
	}
	for _, w := range g.weights {
		g.totalW += w
	}
	return g
}

func mac(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0x42, 0x0a, byte(i >> 16), byte(i >> 8), byte(i)}
}

func (g *gen) makeHosts() {
	ext := func(i int, a string) *host {
		h := newHost(netip.MustParseAddr(a), netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::%x", 100+i, i+1)), mac(0xff0000+i), 0)
		return h
	}
	g.gateway = newHost(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1"), mac(0xfe0001), 0)
	g.resolver = newHost(netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("fd00::53"), mac(0xfe0053), 0)
	g.web = []*host{
		newHost(netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("fd00::1:10"), mac(0xfe0110), 0),
		newHost(netip.MustParseAddr("10.0.1.20"), netip.MustParseAddr("fd00::1:20"), mac(0xfe0120), 0),
	}
	g.files = newHost(netip.MustParseAddr("10.0.1.30"), netip.MustParseAddr("fd00::1:30"), mac(0xfe0130), 0)
	g.ssh = newHost(netip.MustParseAddr("10.0.1.40"), netip.MustParseAddr("fd00::1:40"), mac(0xfe0140), 0)
	g.public = ext(999, "8.8.8.8")
	g.public.ip6 = netip.MustParseAddr("2001:4860:4860::8888")
	g.public.net6 = net.IP(g.public.ip6.AsSlice())
	// Public servers sit in the documentation ranges, which are not private.
	nets := []string{"192.0.2.%d", "198.51.100.%d", "203.0.113.%d"}
	for i := 0; i < g.cfg.Servers; i++ {
		g.servers = append(g.servers, ext(i, fmt.Sprintf(nets[i%3], 10+i/3)))
	}
	for i := 0; i < g.cfg.Hosts; i++ {
		ip4 := netip.AddrFrom4([4]byte{10, 0, byte(2 + i/250), byte(1 + i%250)})
		var ip6 netip.Addr
		if i%4 == 0 {
			ip6 = netip.MustParseAddr(fmt.Sprintf("fd00::%x:%x", 2+i/250, 1+i%250))
		}
		var vlan uint16
		if g.lt == layers.LinkTypeEthernet && g.cfg.VLANShare > 0 && g.rng.Float64() < g.cfg.VLANShare {
			vlan = 10 + 10*uint16(g.rng.IntN(2))
		}
		g.clients = append(g.clients, newHost(ip4, ip6, mac(i+1), vlan))
	}
}

// hostFor returns the host of an address an attack names: one of the
// network's if it exists, a new one otherwise.
func (g *gen) hostFor(a netip.Addr) *host {
	all := [][]*host{g.clients, g.servers, g.web, {g.files, g.ssh, g.resolver, g.public, g.gateway}}
	if g.office != nil {
		all = append(all, g.office.hosts())
	}
	for _, hs := range all {
		for _, h := range hs {
			if h.ip4 == a || h.ip6 == a {
				return h
			}
		}
	}
	if h, ok := g.extra[a]; ok {
		return h
	}
	var h *host
	if a.Is4() {
		h = newHost(a, netip.Addr{}, mac(0xfd0000+len(g.extra)), 0)
	} else {
		h = newHost(netip.Addr{}, a, mac(0xfd0000+len(g.extra)), 0)
	}
	h.internal = a.IsPrivate()
	g.extra[a] = h
	return h
}

// newRoute returns the route from client a to server b.
func (g *gen) newRoute(a, b *host, v6 bool) route {
	r := route{a: a, b: b, v6: v6, vlan: a.vlan, amac: a.mac, bmac: b.mac}
	if !a.internal {
		r.amac = g.gateway.mac
	}
	if !b.internal {
		r.bmac = g.gateway.mac
	}
	return r
}

// makePool draws the bounded set of 5-tuples normal traffic uses.
func (g *gen) makePool() {
	share := [numKinds]float64{kindDNS: 0.25, kindHTTP: 0.25, kindTLS: 0.35, kindBulk: 0.05, kindNTP: 0.1}
	v6clients := []*host{}
	for _, c := range g.clients {
		if c.ip6.IsValid() {
			v6clients = append(v6clients, c)
		}
	}
	for k := kindDNS; k <= kindNTP; k++ {
		n := max(1, int(float64(g.cfg.Flows)*share[k]))
		for range n {
			v6 := g.cfg.IPv6Share > 0 && len(v6clients) > 0 && g.rng.Float64() < g.cfg.IPv6Share
			c := g.clients[g.rng.IntN(len(g.clients))]
			if v6 {
				c = v6clients[g.rng.IntN(len(v6clients))]
			}
			var srv *host
			var port uint16
			switch k {
			case kindDNS:
				srv, port = g.resolver, 53
				if g.rng.IntN(8) == 0 {
					srv = g.public
				}
			case kindHTTP:
				port = 80
				if g.rng.IntN(2) == 0 {
					srv = g.web[g.rng.IntN(len(g.web))]
					if g.rng.IntN(4) == 0 {
						port = 8080
					}
				} else {
					srv = g.servers[g.rng.IntN(len(g.servers))]
				}
			case kindTLS:
				srv, port = g.servers[g.rng.IntN(len(g.servers))], 443
				if g.rng.IntN(5) == 0 {
					srv = g.web[0]
				}
			case kindBulk:
				switch g.rng.IntN(3) {
				case 0:
					srv, port = g.files, 445
				case 1:
					srv, port = g.ssh, 22
				default:
					srv, port = g.servers[g.rng.IntN(len(g.servers))], 443
				}
			case kindNTP:
				srv, port = g.servers[g.rng.IntN(len(g.servers))], 123
				if g.office != nil {
					srv = g.office.ntp[g.rng.IntN(len(g.office.ntp))]
				}
			}
			g.pool[k] = append(g.pool[k], &flowSpec{r: g.newRoute(c, srv, v6), cport: uint16(32768 + g.rng.IntN(28000)), sport: port})
		}
	}
}

func (g *gen) makeFillers() {
	fr := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 7))
	g.bin = make([]byte, 64<<10)
	for i := range g.bin {
		g.bin[i] = byte(fr.Uint32())
	}
	words := []string{"<div class=\"item\">", "<p>", "network", "report", "</p>", "<a href=\"/docs/", "\">", "</a>", "status", "update", "</div>\n", "service", "the", "and", "data", "<span>", "</span>"}
	for len(g.html) < 64<<10 {
		g.html = append(g.html, words[fr.IntN(len(words))]...)
		g.html = append(g.html, ' ')
	}
	for len(g.tlsRecords) < 64<<10 {
		g.tlsRecords = append(g.tlsRecords, 0x17, 0x03, 0x03, byte((tlsRecordSize-5)>>8), byte((tlsRecordSize-5)&0xff))
		g.tlsRecords = append(g.tlsRecords, g.bin[len(g.tlsRecords):][:tlsRecordSize-5]...)
	}
}

// tlsRecordSize is the size of the application data records in
// g.tlsRecords, header included.
const tlsRecordSize = 4096

// tlsBody rounds n up to whole records, so that the next message starts
// with a record header as a TLS stream does.
func tlsBody(n int) int { return (n + tlsRecordSize - 1) / tlsRecordSize * tlsRecordSize }

// progress is how far the capture is towards its size or packet limit.
func (g *gen) progress() float64 {
	p := 0.0
	if g.cfg.TargetSize > 0 {
		p = float64(g.s.count.n) / float64(g.cfg.TargetSize)
	}
	if g.cfg.Packets > 0 {
		p = max(p, float64(g.stats.Packets)/float64(g.cfg.Packets))
	}
	return p
}

func (g *gen) run(ctx context.Context) error {
	for range g.cfg.Concurrent {
		g.normal = append(g.normal, g.newSession())
	}
	g.startSlowScan()
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("pcapgen: %w", err)
			}
		}
		p := g.progress()
		if !g.attacking && (p >= g.cfg.Attacks.At || p >= 1) {
			g.attacking = true
			g.startAttacks()
		}
		if p >= 1 && !g.stopped {
			// Normal traffic ends here, mid-connection as a capture
			// stopped by hand does; attacks run to their end so their
			// ground truth is exact.
			g.stopped = true
			g.normal, g.bg, g.prompt = nil, nil, nil
		}
		if g.office != nil && !g.stopped && g.ns >= g.office.nextDue {
			g.startTimed()
		}
		if len(g.prompt) > 0 {
			// A health check runs to its end before anything else, as a
			// LAN exchange of a few milliseconds does.
			done, err := g.prompt[0].step(g)
			if err != nil {
				return err
			}
			if done {
				g.prompt = g.prompt[1:]
			}
			continue
		}
		// A backup or a crawl gets bgShare slots' worth of packets: a
		// LAN transfer runs faster than a connection to the outside.
		total := len(g.normal) + bgShare*len(g.bg) + len(g.attacks)
		if total == 0 {
			return nil
		}
		if len(g.normal)+len(g.bg) == 0 {
			g.waitForAttacks()
		}
		i := g.rng.IntN(total)
		if i < len(g.normal) {
			done, err := g.normal[i].step(g)
			if err != nil {
				return err
			}
			if done {
				g.normal[i] = g.newSession()
			}
			continue
		}
		i -= len(g.normal)
		if i < bgShare*len(g.bg) {
			i /= bgShare
			done, err := g.bg[i].step(g)
			if err != nil {
				return err
			}
			if done {
				g.bg = slices.Delete(g.bg, i, i+1)
			}
			continue
		}
		i -= bgShare * len(g.bg)
		if p, ok := g.attacks[i].(paced); ok && p.due() > g.ns {
			continue // not yet: other traffic goes first
		}
		done, err := g.attacks[i].step(g)
		if err != nil {
			return err
		}
		if done {
			g.attacks = append(g.attacks[:i], g.attacks[i+1:]...)
		}
	}
}

// bgShare is how many normal slots' packets a backup gets.
const bgShare = 8

// paced is a session that sends its next packet no earlier than due (a
// slow scan), on the capture's clock.
type paced interface {
	due() int64
}

// waitForAttacks moves the clock to the first paced attack's time when
// nothing else is left to send before it.
func (g *gen) waitForAttacks() {
	next := int64(-1)
	for _, a := range g.attacks {
		p, ok := a.(paced)
		if !ok || p.due() <= g.ns {
			return
		}
		if next < 0 || p.due() < next {
			next = p.due()
		}
	}
	if next > g.ns {
		g.ns = next
	}
}

// newSession starts a normal session of a kind drawn by weight.
func (g *gen) newSession() session {
	w := g.rng.IntN(g.totalW)
	k := kindDNS
	for ; k < numKinds-1; k++ {
		if w < g.weights[k] {
			break
		}
		w -= g.weights[k]
	}
	if k == kindARP && !(g.lt == layers.LinkTypeEthernet || g.lt == layers.LinkTypeLinuxSLL || g.lt == layers.LinkTypeLinuxSLL2) {
		k = kindICMP
	}
	switch k {
	case kindICMP:
		c := g.clients[g.rng.IntN(len(g.clients))]
		dst := g.gateway
		if g.rng.IntN(2) == 0 {
			dst = g.servers[g.rng.IntN(len(g.servers))]
		}
		v6 := c.ip6.IsValid() && g.rng.IntN(2) == 0
		r := g.newRoute(c, dst, v6)
		return &pingSession{r: r, id: uint16(g.rng.IntN(65536)), count: 1 + g.rng.IntN(4)}
	case kindARP:
		c := g.clients[g.rng.IntN(len(g.clients))]
		return &arpSession{r: g.newRoute(c, g.gateway, false)}
	}
	if k >= kindCDNDNS {
		return g.officeSession(k)
	}
	f := g.takeFlow(k)
	switch k {
	case kindDNS:
		return g.dnsLookup(f)
	case kindNTP:
		if g.office != nil {
			return g.ntpExchange(f)
		}
		return &udpExchange{f: f, req: g.bin[:48], resp: g.bin[48:96]}
	case kindHTTP:
		return g.httpConn(f)
	case kindTLS:
		if g.office != nil {
			return g.browseTLS(f)
		}
		return g.tlsConn(f)
	default:
		return g.bulkConn(f)
	}
}

// takeFlow picks an idle 5-tuple of kind k from the pool.
func (g *gen) takeFlow(k sessionKind) *flowSpec {
	p := g.pool[k]
	f := p[g.rng.IntN(len(p))]
	for try := 0; f.active && try < 8; try++ {
		f = p[g.rng.IntN(len(p))]
	}
	f.active = true
	return f
}

// fragment says whether a packet is an IPv4 fragment, and which.
type fragment int

const (
	notFragment  fragment = iota
	fragmentMore          // a fragment with more to come: no transport header counted
	fragmentLast          // the last fragment, where the datagram is whole
)

// emit writes one packet and keeps the ground truth.
func (g *gen) emit(r *route, d dir, proto layers.IPProtocol, sport, dport uint16, data []byte, err error) error {
	return g.emitFrag(r, d, proto, sport, dport, data, err, notFragment)
}

// emitFrag writes one packet, possibly a fragment, and keeps the ground truth.
func (g *gen) emitFrag(r *route, d dir, proto layers.IPProtocol, sport, dport uint16, data []byte, err error, frag fragment) error {
	if err != nil {
		return fmt.Errorf("pcapgen: serialising packet %d: %w", g.stats.Packets+1, err)
	}
	// Gaps are exponential around the mean rate, at least a microsecond
	// so that microsecond files keep packets in order.
	gap := int64(g.rng.ExpFloat64() * 1e9 / g.cfg.PacketRate)
	g.ns += max(gap, 1000)
	ts := g.cfg.Start.Add(time.Duration(g.ns))
	if g.cfg.Format == FormatPcap {
		ts = ts.Truncate(time.Microsecond) // what the file can hold
	}
	if err := g.s.write(ts, data); err != nil {
		return fmt.Errorf("pcapgen: writing packet %d: %w", g.stats.Packets+1, err)
	}
	st := &g.stats
	if st.Packets == 0 {
		st.Start = ts
	}
	st.Packets++
	st.WireBytes += int64(len(data))
	st.End = ts
	if r.vlan != 0 && g.lt == layers.LinkTypeEthernet {
		st.VLAN++
	}
	if proto == 0 { // ARP
		st.ARP++
		return nil
	}
	a, b := r.addrs()
	g.ips[a] = struct{}{}
	g.ips[b] = struct{}{}
	if r.v6 {
		st.IPv6++
	} else {
		st.IPv4++
	}
	if frag != notFragment {
		st.Fragments++
		if frag == fragmentMore {
			return nil
		}
	}
	switch proto {
	case layers.IPProtocolTCP, layers.IPProtocolUDP:
		if proto == layers.IPProtocolTCP {
			st.TCP++
		} else {
			st.UDP++
		}
		k := flowKey{a: a, b: b, pa: sport, pb: dport, proto: proto}
		if d == toClient {
			k.pa, k.pb = dport, sport
		}
		g.flows[k] = struct{}{}
	case layers.IPProtocolICMPv4, layers.IPProtocolICMPv6:
		st.ICMP++
	}
	return nil
}

func (g *gen) sendTCP(r *route, d dir, sport, dport uint16, flags uint8, seq, ack uint32, payload []byte) error {
	data, err := g.b.tcp(r, d, sport, dport, flags, seq, ack, payload)
	return g.emit(r, d, layers.IPProtocolTCP, sport, dport, data, err)
}

func (g *gen) sendUDP(r *route, d dir, sport, dport uint16, payload []byte, dns *layers.DNS) error {
	data, err := g.b.udp(r, d, sport, dport, payload, dns)
	if err == nil {
		switch {
		case sport == 5353 || dport == 5353:
			g.stats.MDNS++
		case sport == 5355 || dport == 5355:
			g.stats.LLMNR++
		case dns != nil:
			g.stats.DNS++
		case sport == 123 || dport == 123:
			g.stats.NTP++
		}
	}
	return g.emit(r, d, layers.IPProtocolUDP, sport, dport, data, err)
}
