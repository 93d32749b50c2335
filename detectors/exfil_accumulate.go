package detectors

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// The exfiltration detector's accumulation: every TCP connection of the
// capture, summed per (client, server) pair with the counters the judging
// needs, all exact. It reads the engine's flows once, after the pass.

const (
	// exfilTransferMin is the payload (both ways) a connection must carry
	// to count as a transfer when asking which ports the capture's hosts
	// use for transfers.
	exfilTransferMin = 64_000
	// exfilChunkMin is the least upload of one connection of a split
	// upload.
	exfilChunkMin = 1_000
	// exfilPortUsers bounds the clients remembered per port: enough to
	// know whether two hosts besides any one use it.
	exfilPortUsers = 3
)

// exfilPair is every TCP connection from one client to one server.
type exfilPair struct {
	src, dst         netip.Addr
	upload, download uint64
	conns            int64
	packets          uint64
	ports            []exfilPort // server ports, the exfilSampleMax first used
	ftpActive        bool        // some connection was active-mode FTP data
	first, last      time.Time

	// The shape of the uploads, counted over every connection.
	upConns    int64  // connections that sent at least exfilChunkMin and twice what they received
	maxConn    uint64 // the largest upload of one connection
	oddUpload  uint64 // upload on ports neither known for transfers nor used for them by two other hosts
	fileUpload uint64 // upload on file and backup service ports
	fileConns  int64  // connections to file and backup service ports
	ftpControl bool   // some connection went to port 21: high ports are FTP data
}

// exfilPort is a server port of a pair and when a connection to it
// began first.
type exfilPort struct {
	port  uint16
	first time.Time
}

// addPort notes a connection to port that began at t, keeping the
// exfilSampleMax ports first used (ties by number): the same ports
// whatever order the connections are counted in.
func (p *exfilPair) addPort(port uint16, t time.Time) {
	for i := range p.ports {
		if p.ports[i].port == port {
			p.ports[i].first = minTime(p.ports[i].first, t)
			return
		}
	}
	e := exfilPort{port, t}
	if len(p.ports) < exfilSampleMax {
		p.ports = append(p.ports, e)
		return
	}
	last := slices.MaxFunc(p.ports, compareExfilPorts)
	if compareExfilPorts(e, last) < 0 {
		i := slices.Index(p.ports, last)
		p.ports[i] = e
	}
}

func compareExfilPorts(a, b exfilPort) int {
	return cmp.Or(a.first.Compare(b.first), cmp.Compare(a.port, b.port))
}

// portList returns the pair's server ports in order.
func (p *exfilPair) portList() []uint16 {
	out := make([]uint16, len(p.ports))
	for i, e := range p.ports {
		out[i] = e.port
	}
	slices.Sort(out)
	return out
}

type exfilConn struct {
	client, server netip.AddrPort
	upload         uint64
}

// exfilAgg is what the detector learned from the flows; it does not depend
// on the configuration, so every Evaluate shares it.
type exfilAgg struct {
	pairs []*exfilPair
	// dstClients counts the distinct clients of each server address.
	dstClients map[netip.Addr]int
}

// portUsers remembers up to exfilPortUsers clients that made transfers on
// one server port: the lowest addresses, so that the same ones are kept
// whatever order the flows come in. Which ones does not change others:
// with more users than it keeps, every client has at least two others.
type portUsers struct {
	n     int
	addrs [exfilPortUsers]netip.Addr // sorted
}

func (u *portUsers) add(a netip.Addr) {
	i, found := slices.BinarySearchFunc(u.addrs[:u.n], a, netip.Addr.Compare)
	if found || i >= exfilPortUsers {
		return
	}
	if u.n < exfilPortUsers {
		u.n++
	}
	copy(u.addrs[i+1:u.n], u.addrs[i:u.n-1])
	u.addrs[i] = a
}

// others is how many clients besides a made transfers on the port (at
// most exfilPortUsers).
func (u *portUsers) others(a netip.Addr) int {
	if u == nil {
		return 0
	}
	if slices.Contains(u.addrs[:u.n], a) {
		return u.n - 1
	}
	return u.n
}

// orient returns the logical client and server of a TCP flow and the
// payload each sent.
func orient(f *capture.Flow) (client, server netip.AddrPort, up, down uint64, ftp bool) {
	client, server, up, down = f.Client, f.Server, f.Payload[0], f.Payload[1]
	if client.Port() == 20 && server.Port() >= 1024 {
		// Active FTP data: the FTP server connected from port 20.
		return server, client, down, up, true
	}
	return client, server, up, down, false
}

// exfilLive is what the detector keeps of the flows the flow table
// evicted during the pass: the transfer ports' users and the pairs, at
// most Limits.MaxHosts of them (past it those that carried the least are
// dropped: a flood's empty connections first). A pair's unusual-port
// upload is judged when its flow is evicted, with the users known then
// (flows are evicted only past the flow table's bound; below it every
// pair is counted after the pass and merge, from the flows).
type exfilLive struct {
	users      map[uint16]*portUsers
	byPair     map[addrPair]*exfilPair
	dstClients map[netip.Addr]int
	dropped    int
}

func newExfilLive() *exfilLive {
	return &exfilLive{users: map[uint16]*portUsers{}, byPair: map[addrPair]*exfilPair{}, dstClients: map[netip.Addr]int{}}
}

// addUser remembers the client of f if f was a transfer.
func (l *exfilLive) addUser(f *capture.Flow) {
	client, server, up, down, _ := orient(f)
	if up+down < exfilTransferMin {
		return
	}
	u := l.users[server.Port()]
	if u == nil {
		u = &portUsers{}
		l.users[server.Port()] = u
	}
	u.add(client.Addr())
}

// addPair counts f in its (client, server) pair.
func (l *exfilLive) addPair(f *capture.Flow) {
	client, server, up, down, ftp := orient(f)
	k := addrPair{client.Addr(), server.Addr()}
	p := l.byPair[k]
	if p == nil {
		p = &exfilPair{src: k.src, dst: k.dst, first: f.First, last: f.Last}
		l.byPair[k] = p
		l.dstClients[k.dst]++
	}
	port := server.Port()
	p.upload += up
	p.ftpActive = p.ftpActive || ftp
	p.download += down
	p.conns++
	p.packets += f.Packets[0] + f.Packets[1]
	p.addPort(port, f.First)
	p.first, p.last = minTime(p.first, f.First), maxTime(p.last, f.Last)
	if up >= exfilChunkMin && up >= 2*down {
		p.upConns++
	}
	p.maxConn = max(p.maxConn, up)
	if !transferPort(port) && l.users[port].others(k.src) < 2 {
		p.oddUpload += up
	}
	if fileServicePort(port) {
		p.fileUpload += up
		p.fileConns++
	}
	p.ftpControl = p.ftpControl || port == 21
}

// evicted counts a TCP flow the flow table let go; max bounds the pairs.
func (l *exfilLive) evicted(f *capture.Flow, max int) {
	if f.Proto != 6 {
		return
	}
	l.addUser(f)
	l.addPair(f)
	l.bound(max)
}

// bound drops the pairs that carried the least once there are more than
// max.
func (l *exfilLive) bound(max int) {
	if len(l.byPair) > max {
		l.byPair = prune(l.byPair, max, func(p *exfilPair) uint64 { return p.upload + p.download }, func(addrPair, *exfilPair) { l.dropped++ })
		l.dstClients = prune(l.dstClients, max, func(n int) uint64 { return uint64(n) }, func(netip.Addr, int) {})
	}
}

// buildExfil adds the flows c holds to what live kept of the evicted ones;
// max bounds the pairs.
func buildExfil(live *exfilLive, c *capture.Capture, max int) *exfilAgg {
	agg := &exfilAgg{dstClients: live.dstClients}
	if c == nil {
		return agg
	}
	// First the ports the capture's hosts make transfers on, so that a
	// port is unusual only when the others do not use it.
	for _, f := range c.Flows() {
		if f.Proto == 6 {
			live.addUser(f)
		}
	}
	for _, f := range c.Flows() {
		if f.Proto == 6 {
			live.addPair(f)
			live.bound(max)
		}
	}
	agg.pairs = make([]*exfilPair, 0, len(live.byPair))
	for _, p := range live.byPair {
		agg.pairs = append(agg.pairs, p)
	}
	live.byPair = nil
	slices.SortFunc(agg.pairs, func(a, b *exfilPair) int {
		return cmp.Or(a.src.Compare(b.src), a.dst.Compare(b.dst))
	})
	return agg
}

// topConns returns, for each pair in want, its largest uploads (at most
// exfilConnSamples). It reads the flows again, only for the few pairs
// reported, rather than keeping a list for every pair of the capture.
func topConns(c *capture.Capture, want map[addrPair]bool) map[addrPair][]exfilConn {
	out := map[addrPair][]exfilConn{}
	if c == nil || len(want) == 0 {
		return out
	}
	for _, f := range c.Flows() {
		if f.Proto != 6 {
			continue
		}
		client, server, up, _, _ := orient(f)
		k := addrPair{client.Addr(), server.Addr()}
		if up == 0 || !want[k] {
			continue
		}
		out[k] = append(out[k], exfilConn{client, server, up})
	}
	for k, cs := range out {
		slices.SortFunc(cs, func(x, y exfilConn) int {
			return cmp.Or(cmp.Compare(y.upload, x.upload), x.client.Compare(y.client), x.server.Compare(y.server))
		})
		out[k] = head(cs, exfilConnSamples)
	}
	return out
}
