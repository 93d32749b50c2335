package detectors

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/internal/netscope"
	"github.com/agents-of-shield/reconpcap/report"
)

// Data exfiltration.
//
// An upload is the TCP payload the side that opened a connection sent (the
// engine counts it from the IP lengths, so a snap length does not hide it);
// what the responder sends is a download and never exfiltration. Uploads
// are summed per (source, destination) over all their connections, from
// the flows the engine keeps, so an upload split over many connections is
// judged whole. Active-mode FTP reverses the roles: on a connection from
// port 20 to an unprivileged port the side away from port 20 is the client.
//
// Every pair whose uploads reach Exfil.ThresholdBytes is reported (the MCP
// tool lists them all); what marks the upload decides its severity and
// confidence, never its size alone. The signals (exfil_judge.go), judged
// against the capture's own hosts:
//
//   - one_way: under a tenth came back (a push, not a session);
//   - split_connections: many small upload connections in a burst, none
//     carrying more than a quarter (a tool cutting data in pieces; counts
//     twice);
//   - unusual_port: a port neither made for transfers (exfil_ports.go)
//     nor used for transfers by two other hosts of the capture;
//   - rare_destination: no other host talks to the destination, in a
//     capture of enough hosts to say so;
//   - far_above_peers: ten times the other hosts' 90th percentile upload;
//   - source_sent_out, new_file_server: for internal copies, below.
//
// Where the data went (internal: see IsInternal):
//
//   - internal to external: "outbound_upload" ("split_upload" for the
//     split shape). No signal: low/low (volume alone). To a destination
//     three or more hosts use: low/low (a shared service), medium when far
//     above the peers and past Exfil.HighBytes. One signal: medium/medium;
//     two, or one past Exfil.HighBytes: high/high.
//   - internal to internal, on file and backup service ports (SMB, SSH,
//     rsync, NFS, backup agents): "internal_file_transfer", low/low unless
//     a signal joins (the source also sends out, a file server no other
//     host uses while the others use theirs, far above the peers): then
//     "internal_staging", medium.
//   - internal to internal, other ports: "internal_staging" with the
//     outbound signals plus source_sent_out (counting twice): medium, high
//     with three past Exfil.HighBytes or with the source sending out;
//     "internal_transfer", low/low, with none.
//   - external to external: "upload", judged as outbound without the
//     peer signals, confidence at most medium: the capture does not say
//     which side is ours.
//   - external to internal: not reported. That is data coming in (a
//     customer uploading to one of our servers), the opposite of
//     exfiltration; Transfers still lists it.
//   - a host to itself (loopback, one address): not reported, nothing left
//     the host.
//
// Besides TCP uploads: data in ICMP echo payloads (exfil_icmp.go) and slow
// drips over one long connection (exfil_drip.go). UDP bulk data (QUIC) is
// not counted.
//
// What the pass keeps merges with what other parts of the capture kept
// (merge_exfil.go): the uploads are counted from the merged flows, the
// echo pairs and long connections per pair and per connection, so that
// parts split by address pair, or the files of a rotated capture, judge
// as one pass over all of them.

const (
	// exfilSampleMax bounds the sample lists of a finding and the ports a
	// Transfer lists.
	exfilSampleMax = 20
	// exfilConnSamples is how many connections a finding describes.
	exfilConnSamples = 10
)

// IsInternal reports whether addr is in a private network (RFC 1918,
// 100.64.0.0/10, loopback, link-local, IPv6 ULA) or in one of extra.
// IPv4-mapped IPv6 addresses are judged as IPv4.
func IsInternal(addr netip.Addr, extra []netip.Prefix) bool {
	return netscope.Internal(addr, extra)
}

func scope(addr netip.Addr, extra []netip.Prefix) string {
	if IsInternal(addr, extra) {
		return "internal"
	}
	return "external"
}

// exfilDetector follows ICMP echo payloads and long connections per
// packet; the uploads it reads from the engine's flows after the pass.
type exfilDetector struct {
	icmp icmpEcho
	drip dripTracker
	live *exfilLive // the evicted flows, until the pass ends

	lim Limits `partial:"-"`
	// dropped counts the pairs the bound dropped, once the pass is over;
	// the aggregate is built once, after the pass (and any merge).
	dropped int              `partial:"-"`
	once    sync.Once        `partial:"-"`
	aggFor  *capture.Capture `partial:"-"`
	agg     *exfilAgg        `partial:"-"`
}

func newExfilDetector(lim Limits) *exfilDetector {
	return &exfilDetector{lim: lim, live: newExfilLive()}
}

// FlowEvicted counts a flow the flow table let go, as the flows it keeps
// are counted after the pass.
func (d *exfilDetector) FlowEvicted(f *capture.Flow) {
	if d.live != nil {
		d.live.evicted(f, d.lim.MaxHosts)
	}
}

// Packet looks at ICMP echoes and at the data clients send on connections
// open for some time; everything else the engine's flows count.
func (d *exfilDetector) Packet(p *capture.Packet) {
	switch {
	case p.Layers&(capture.LayerICMPv4|capture.LayerICMPv6) != 0:
		d.icmp.packet(p)
	case p.FromClient && p.PayloadLen > 0 && p.Flow != nil && p.Flow.Proto == 6:
		d.drip.packet(p)
	}
}

func (d *exfilDetector) aggregate(c *capture.Capture) *exfilAgg {
	d.once.Do(func() {
		d.aggFor = c
		if d.live == nil {
			d.live = newExfilLive()
		}
		d.agg = buildExfil(d.live, c, d.lim.MaxHosts)
		d.dropped = d.live.dropped
		d.live = nil
	})
	if d.aggFor == c {
		return d.agg
	}
	return buildExfil(newExfilLive(), c, d.lim.MaxHosts)
}

func (d *exfilDetector) pairs(c *capture.Capture) []*exfilPair { return d.aggregate(c).pairs }

// Findings reports every pair whose uploads reach the threshold, judged by
// what marks them (see the package comment above), then the ICMP channels
// and the slow drips.
func (d *exfilDetector) Findings(cfg Config, c *capture.Capture) []report.Finding {
	ec := cfg.Exfil
	agg := d.aggregate(c)
	pe := newExfilPeers(agg.pairs, ec.InternalNetworks)
	type judged struct {
		p *exfilPair
		v exfilVerdict
	}
	var js []judged
	var internal []*exfilPair
	// Outbound first: an internal copy is judged knowing whether its
	// source also sends out.
	sentOut := map[netip.Addr]bool{}
	for _, p := range agg.pairs {
		if p.upload < uint64(ec.ThresholdBytes) || p.src == p.dst || (p.src.IsLoopback() && p.dst.IsLoopback()) {
			continue
		}
		srcIn, dstIn := IsInternal(p.src, ec.InternalNetworks), IsInternal(p.dst, ec.InternalNetworks)
		switch {
		case srcIn && dstIn:
			internal = append(internal, p)
		case !dstIn:
			v := judgeOutbound(ec, p, pe, agg.dstClients[p.dst], srcIn)
			if srcIn && v.sev.Rank() >= report.SeverityMedium.Rank() {
				sentOut[p.src] = true
			}
			js = append(js, judged{p, v})
		}
		// External to internal is data coming in (a customer uploading
		// to one of our servers): Transfers lists it, no finding does.
	}
	for _, p := range internal {
		js = append(js, judged{p, judgeInternal(ec, p, pe, agg.dstClients[p.dst], sentOut[p.src])})
	}
	want := map[addrPair]bool{}
	for _, j := range js {
		want[addrPair{j.p.src, j.p.dst}] = true
	}
	top := topConns(c, want)
	out := make([]report.Finding, 0, len(js))
	for _, j := range js {
		out = append(out, j.p.finding(j.v, top[addrPair{j.p.src, j.p.dst}]))
	}
	out = append(out, d.icmp.findings(ec)...)
	out = append(out, d.drip.findings(ec, want)...)
	SortFindings(out)
	return out
}

// warnings say what the exfiltration state's bounds dropped: pairs of
// evicted flows past Limits.MaxHosts (those that carried the least), and
// echo requests of ICMP pairs past icmpMaxPairs.
func (d *exfilDetector) warnings() []string {
	var w []string
	if d.dropped > 0 {
		w = append(w, fmt.Sprintf("exfiltration state capped at %d address pairs: %s that carried the least were dropped (MaxHosts raises the bound)", d.lim.MaxHosts, humanize.Count(d.dropped, "pair")))
	}
	if d.icmp.dropped > 0 {
		w = append(w, fmt.Sprintf("ICMP echo state capped at %d address pairs: %s of further pairs were not judged", icmpMaxPairs, humanize.Count(int(d.icmp.dropped), "echo request")))
	}
	return w
}
