package detectors

import (
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/report"
)

// The exfiltration detector's judging: what marks an upload as more than
// volume, measured against the capture's own hosts.

const (
	// exfilMinPeers is how many other hosts a capture must hold before
	// "far above the other hosts" or "a destination no other host uses"
	// can be said at all.
	exfilMinPeers = 5
	// exfilPeerFactor is how far above the other hosts' 90th percentile
	// an upload must be to stand out; exfilPeerFloor keeps a capture
	// whose hosts upload nothing from making every upload stand out.
	exfilPeerFactor = 10
	exfilPeerFloor  = 100_000
	// exfilPopular is how many clients make a destination a shared
	// service.
	exfilPopular = 3
	// exfilSplitConns is how many upload connections a split upload
	// needs; exfilSplitGap the longest mean time between them.
	exfilSplitConns = 20
	exfilSplitGap   = 30 * time.Second
)

// The signals that mark an upload as more than volume. They are the
// finding's "signals" sample, in this order.
const (
	sigOneWay       = "one_way"           // received under a tenth of what it sent
	sigSplit        = "split_connections" // many small upload connections in a burst
	sigOddPort      = "unusual_port"      // a port neither made for transfers nor used for them by other hosts
	sigRareDest     = "rare_destination"  // no other host of the capture talks to the destination
	sigFarAbove     = "far_above_peers"   // far above what the other hosts upload
	sigSentOut      = "source_sent_out"   // the source also uploads to an outside destination (staging)
	sigNewFileStore = "new_file_server"   // a file server no other host uses, while others use theirs
)

// exfilPeers is what the capture's internal hosts upload, per source.
type exfilPeers struct {
	out map[netip.Addr]uint64 // to external destinations
	in  map[netip.Addr]uint64 // to internal destinations
	// outDesc and inDesc hold the same totals, largest first.
	outDesc, inDesc []uint64
	// fileUsers are the internal sources with connections to internal
	// file and backup services.
	fileUsers int
}

func newExfilPeers(pairs []*exfilPair, extra []netip.Prefix) *exfilPeers {
	pe := &exfilPeers{out: map[netip.Addr]uint64{}, in: map[netip.Addr]uint64{}}
	files := map[netip.Addr]bool{}
	for _, p := range pairs {
		if !IsInternal(p.src, extra) || p.src == p.dst {
			continue
		}
		if IsInternal(p.dst, extra) {
			pe.in[p.src] += p.upload
			if p.fileConns > 0 {
				files[p.src] = true
			}
		} else {
			pe.out[p.src] += p.upload
		}
	}
	pe.fileUsers = len(files)
	desc := func(m map[netip.Addr]uint64) []uint64 {
		s := make([]uint64, 0, len(m))
		for _, v := range m {
			s = append(s, v)
		}
		slices.SortFunc(s, func(a, b uint64) int { return -compareU64(a, b) })
		return s
	}
	pe.outDesc, pe.inDesc = desc(pe.out), desc(pe.in)
	return pe
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// baseline returns the 90th percentile of the other hosts' totals (desc
// without one occurrence of own) and how many other hosts there are.
func baseline(desc []uint64, own uint64) (uint64, int) {
	others := len(desc) - 1
	if others < 1 {
		return 0, max(others, 0)
	}
	i := others / 10 // index of the 90th percentile among the others
	// The others are desc without own: skip own if it sits at or above i.
	if j, found := slices.BinarySearchFunc(desc, own, func(e, t uint64) int { return -compareU64(e, t) }); found && j <= i {
		i++
	}
	return desc[i], others
}

// exfilVerdict is how one pair is judged.
type exfilVerdict struct {
	tech, where string // where: "external", "internal" or "" (both sides external)
	sev         report.Severity
	conf        report.Confidence
	signals     []string
	why         string // why the severity stops where it does, when it is low
	clients     int    // distinct clients of the destination
	peerBase    uint64 // the other hosts' 90th percentile upload, when there are enough of them
	peers       int
}

// split reports whether the pair's uploads came as many small connections
// in a burst: exfiltration cut in pieces to stay under per-connection
// limits.
func (p *exfilPair) split() bool {
	if p.upConns < exfilSplitConns || 10*p.upConns < 8*p.conns || 4*p.maxConn > p.upload {
		return false
	}
	return p.last.Sub(p.first) <= time.Duration(p.conns)*exfilSplitGap
}

// marks collects a pair's signals and their weight.
type marks struct {
	v        *exfilVerdict
	strength int
	// tool is set by the signals no ordinary use of a service shows: a
	// split upload, an unusual port.
	tool     bool
	farAbove bool
}

func (m *marks) add(sig string, weight int) {
	m.v.signals = append(m.v.signals, sig)
	m.strength += weight
}

// shape adds the signals of how and where the data went: one-way, split,
// unusual port, and, when the capture holds enough other hosts (desc are
// their totals), rare destination and far above the peers.
func (m *marks) shape(p *exfilPair, clients int, desc []uint64, own uint64, peersApply bool) {
	if 10*p.download <= p.upload {
		m.add(sigOneWay, 1)
	}
	if p.split() {
		m.add(sigSplit, 2) // the shape of a tool, not of a person
		m.tool = true
	}
	if !p.ftpControl && 2*p.oddUpload >= p.upload {
		m.add(sigOddPort, 1)
		m.tool = true
	}
	if !peersApply {
		return
	}
	m.v.peerBase, m.v.peers = baseline(desc, own)
	if m.v.peers < exfilMinPeers {
		return
	}
	if clients <= 1 {
		m.add(sigRareDest, 1)
	}
	if p.upload >= exfilPeerFactor*max(m.v.peerBase, exfilPeerFloor) {
		m.add(sigFarAbove, 1)
		m.farAbove = true
	}
}

// shared reports whether other hosts use the destination too: three
// clients, or two in a capture with enough hosts to say so. Uploads to a
// shared service are what its users do.
func (m *marks) shared(clients int) bool {
	return clients >= exfilPopular || clients >= 2 && m.v.peers >= exfilMinPeers
}

// judgeOutbound judges an upload from an internal host to an external one,
// or between two external hosts (ours reports whether the source is
// internal).
func judgeOutbound(ec ExfilConfig, p *exfilPair, pe *exfilPeers, clients int, ours bool) exfilVerdict {
	v := exfilVerdict{tech: "outbound_upload", where: "external", clients: clients}
	if !ours {
		v.tech, v.where = "upload", ""
	}
	m := marks{v: &v}
	m.shape(p, clients, pe.outDesc, pe.out[p.src], ours)
	if p.split() {
		v.tech = "split_upload"
	}
	high := p.upload >= uint64(ec.HighBytes)
	switch {
	case m.shared(clients) && !m.tool && !(m.farAbove && high):
		v.sev, v.conf, v.why = report.SeverityLow, report.ConfidenceLow, "a service other hosts of the capture use too"
	case m.shared(clients) && !m.tool:
		v.sev, v.conf = report.SeverityMedium, report.ConfidenceMedium
	case m.strength == 0:
		v.sev, v.conf, v.why = report.SeverityLow, report.ConfidenceLow, "volume alone: answered in both directions, on a port made for transfers"
	case high || m.strength >= 2:
		// Ten megabytes pushed out with a signal, or two signals.
		v.sev, v.conf = report.SeverityHigh, report.ConfidenceHigh
	default:
		v.sev, v.conf = report.SeverityMedium, report.ConfidenceMedium
	}
	if !ours && v.conf == report.ConfidenceHigh {
		// Which side is ours, the capture does not say.
		v.conf = report.ConfidenceMedium
	}
	return v
}

// judgeInternal judges an upload between two internal hosts. sentOut says
// whether the source also uploads to an outside destination with some
// signal (staging, then exfiltration).
func judgeInternal(ec ExfilConfig, p *exfilPair, pe *exfilPeers, clients int, sentOut bool) exfilVerdict {
	v := exfilVerdict{tech: "internal_staging", where: "internal", clients: clients}
	m := marks{v: &v}
	if 2*p.fileUpload >= p.upload {
		// Backups and file shares are big, one-way and far above the
		// other hosts by nature: low unless something else joins.
		v.tech = "internal_file_transfer"
		v.peerBase, v.peers = baseline(pe.inDesc, pe.in[p.src])
		if clients <= 1 && pe.fileUsers-1 >= exfilMinPeers-1 {
			m.add(sigNewFileStore, 1)
		}
		if sentOut {
			m.add(sigSentOut, 2)
		}
		switch m.strength {
		case 0:
			v.sev, v.conf, v.why = report.SeverityLow, report.ConfidenceLow, "a copy to a file or backup service, with nothing else joining it"
		case 1:
			v.sev, v.conf = report.SeverityMedium, report.ConfidenceLow
		default:
			v.sev, v.conf = report.SeverityMedium, report.ConfidenceMedium
		}
		if m.strength > 0 {
			v.tech = "internal_staging"
		}
		return v
	}
	m.shape(p, clients, pe.inDesc, pe.in[p.src], true)
	if sentOut {
		m.add(sigSentOut, 2)
		m.tool = true
	}
	high := p.upload >= uint64(ec.HighBytes)
	switch {
	case m.strength == 0 || m.shared(clients) && !m.tool:
		v.tech = "internal_transfer"
		v.sev, v.conf, v.why = report.SeverityLow, report.ConfidenceLow, "volume alone between two internal hosts"
		if m.strength > 0 {
			v.why = "an internal service other hosts use too"
		}
	case m.strength == 1:
		v.sev, v.conf = report.SeverityMedium, report.ConfidenceLow
	case high && m.strength >= 3 || sentOut && m.strength >= 3:
		v.sev, v.conf = report.SeverityHigh, report.ConfidenceMedium
	default:
		v.sev, v.conf = report.SeverityMedium, report.ConfidenceMedium
	}
	return v
}
