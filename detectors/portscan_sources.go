package detectors

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// The probes of a capture, below any threshold, for the MCP tools.

// ScanSource is one address that sent probes (connection attempts that
// carried no data), whatever the thresholds: the raw material of the
// port_scan findings.
type ScanSource struct {
	Source string `json:"source"`
	// SYNProbes counts SYN packets of probe connections (retransmissions
	// included); Probes counts probe packets of every kind.
	SYNProbes int64 `json:"syn_probes"`
	Probes    int64 `json:"probes"`
	// Targets is how many hosts were probed; Ports how many distinct
	// destination ports, over every target and protocol.
	Targets int `json:"targets"`
	Ports   int `json:"ports"`
	// OpenPorts counts (target, port) probes answered by SYN-ACK or a UDP
	// datagram.
	OpenPorts int `json:"open_ports"`
	// MaxPortsOneTarget is the largest number of ports probed on one
	// target, of one kind: what the vertical threshold compares.
	MaxPortsOneTarget int       `json:"max_ports_one_target"`
	Techniques        []string  `json:"techniques"`
	First             time.Time `json:"first_seen"`
	Last              time.Time `json:"last_seen"`
	// TopTargets lists the most probed targets (at most 20), most ports first.
	TopTargets []ScanTarget `json:"top_targets"`
}

// ScanTarget is what one source probed on one target, with one kind of probe.
type ScanTarget struct {
	Target     string   `json:"target"`
	Technique  string   `json:"technique"`
	Ports      int      `json:"ports"`
	Probes     int64    `json:"probes"`
	Answered   int      `json:"answered"`
	Refused    int      `json:"refused"`
	Unanswered int      `json:"unanswered"`
	OpenPorts  []uint16 `json:"open_ports"` // at most 20
}

// ScanSources lists every source of probes, those probing the most ports
// on one target first. The list covers every probe in the capture, below
// any threshold; the port_scan findings say which of them are scans.
func (a *Analysis) ScanSources() []ScanSource {
	var d *portscanDetector
	for _, det := range a.detectors {
		if p, ok := det.(*portscanDetector); ok {
			d = p
		}
	}
	if d == nil {
		return nil
	}
	agg := d.aggregate(a.capture)
	bySrc := map[netip.Addr]*ScanSource{}
	ports := map[netip.Addr]map[uint16]struct{}{}
	var order []netip.Addr
	for _, sp := range agg.pairs {
		s := bySrc[sp.src]
		if s == nil {
			s = &ScanSource{Source: sp.src.String(), First: sp.first.UTC(), Last: sp.last.UTC()}
			bySrc[sp.src] = s
			ports[sp.src] = map[uint16]struct{}{}
			order = append(order, sp.src)
		}
		probed := false
		for fam := range famCount {
			fs := &sp.fam[fam]
			if len(fs.ports) == 0 {
				continue
			}
			probed = true
			pc := countPorts(fs.ports)
			tech := sp.technique(fam)
			if !slices.Contains(s.Techniques, tech) {
				s.Techniques = append(s.Techniques, tech)
			}
			for p := range fs.ports {
				ports[sp.src][p] = struct{}{}
			}
			s.Probes += fs.probes
			if fam == famSYN {
				s.SYNProbes += fs.probes
			}
			s.OpenPorts += pc.open
			s.MaxPortsOneTarget = max(s.MaxPortsOneTarget, pc.ports)
			s.TopTargets = append(s.TopTargets, ScanTarget{
				Target: sp.dst.String(), Technique: tech, Ports: pc.ports, Probes: fs.probes,
				Answered: pc.answered, Refused: pc.refused, Unanswered: pc.ports - pc.answered,
				OpenPorts: head(pc.openList, scanSampleMax),
			})
		}
		if sp.crafted > 0 {
			s.Probes += sp.crafted
			if !slices.Contains(s.Techniques, "crafted_flags") {
				s.Techniques = append(s.Techniques, "crafted_flags")
			}
			probed = true
		}
		if probed {
			s.Targets++
		}
		s.First, s.Last = minTime(s.First, sp.first.UTC()), maxTime(s.Last, sp.last.UTC())
	}
	out := make([]ScanSource, 0, len(order))
	for _, src := range order {
		s := bySrc[src]
		if s.Targets == 0 {
			continue
		}
		s.Ports = len(ports[src])
		slices.Sort(s.Techniques)
		slices.SortFunc(s.TopTargets, func(x, y ScanTarget) int {
			return cmp.Or(cmp.Compare(y.Ports, x.Ports), cmp.Compare(y.Probes, x.Probes), cmp.Compare(x.Target, y.Target), cmp.Compare(x.Technique, y.Technique))
		})
		s.TopTargets = head(s.TopTargets, scanSampleMax)
		out = append(out, *s)
	}
	slices.SortStableFunc(out, func(x, y ScanSource) int {
		return cmp.Or(cmp.Compare(y.MaxPortsOneTarget, x.MaxPortsOneTarget), cmp.Compare(y.Probes, x.Probes), cmp.Compare(x.Source, y.Source))
	})
	return out
}
