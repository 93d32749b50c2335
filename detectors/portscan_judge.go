package detectors

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// Findings judges the probes with cfg's thresholds.
func (d *portscanDetector) Findings(cfg Config, c *capture.Capture) []report.Finding {
	agg := d.aggregate(c)
	ps := cfg.PortScan
	decoys := d.findDecoys(ps, agg)
	var out []report.Finding
	for _, sp := range agg.pairs {
		reported := [famCount]bool{}
		for fam := range famCount {
			fs := &sp.fam[fam]
			if len(fs.ports) < ps.Threshold {
				continue
			}
			reported[fam] = true
			if decoys.isDecoy(sp, fam) {
				continue
			}
			f := sp.vertical(ps, fam)
			if ds := decoys[pairFam{sp, fam}]; ds != nil {
				addDecoys(&f, sp, ds)
			}
			out = append(out, f)
		}
		if sp.crafted >= craftedMin && !reported[famFIN] && !reported[famNULL] && !reported[famXmas] {
			out = append(out, sp.craftedFinding())
		}
	}
	out = append(out, fragmentFindings(c)...)
	out = append(out, agg.serviceFindings()...)
	out = append(out, agg.horizontal(ps)...)
	out = append(out, sweepFindings(ps, &d.echo, "icmp_sweep", "ICMP echo requests")...)
	out = append(out, sweepFindings(ps, &d.arp, "arp_sweep", "ARP requests")...)
	SortFindings(out)
	return out
}

// portCounts sums the states of a port set.
type portCounts struct {
	ports, answered, refused, open int
	openList                       []uint16
}

func countPorts(m map[uint16]uint8) portCounts {
	var pc portCounts
	for _, port := range sortedKeys(m) {
		st := m[port]
		pc.ports++
		if st&stAnswered != 0 {
			pc.answered++
		}
		switch {
		case st&stOpen != 0:
			pc.open++
			pc.openList = append(pc.openList, port)
		case st&stRefused != 0:
			pc.refused++
		}
	}
	return pc
}

// technique names a pair's probes of one family: connect when the open
// ports completed the handshake, and _fragmented when most probes came in
// IP fragments (nmap -f), which only a reassembling reader sees.
func (sp *scanPair) technique(fam scanFamily) string {
	t := famNames[fam]
	if fam == famSYN && sp.connect {
		t = "connect"
	}
	if fs := &sp.fam[fam]; 2*fs.fragmented > int64(len(fs.ports)) {
		t += "_fragmented"
	}
	return t
}

var famWords = [famCount]string{"SYN", "FIN", "NULL", "Xmas", "UDP", "ACK"}

func (sp *scanPair) vertical(ps PortScanConfig, fam scanFamily) report.Finding {
	fs := &sp.fam[fam]
	pc := countPorts(fs.ports)
	unanswered := pc.ports - pc.answered
	sev, conf := report.SeverityMedium, report.ConfidenceMedium
	if pc.ports >= ps.HighThreshold {
		sev, conf = report.SeverityHigh, report.ConfidenceHigh
	}
	if 2*(unanswered+pc.refused) >= pc.ports {
		conf = report.ConfidenceHigh
	}
	if fam == famACK && 2*pc.refused < pc.ports {
		// Bare ACKs mostly unanswered could also be the tails of
		// connections a capture began in the middle of (seen one way);
		// a firewall-mapping scan gets resets from the ports it reaches.
		sev, conf = report.SeverityMedium, report.ConfidenceMedium
	}
	tech := sp.technique(fam)
	word, proto := famWords[fam], "TCP"
	if sp.connect && fam == famSYN {
		word = "TCP connect"
	}
	if fam == famUDP {
		proto = "UDP"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s-scanned %d %s ports of %s (%s", sp.src, word, pc.ports, proto, sp.dst, humanize.Count(int(fs.probes), "probe"))
	if pc.open > 0 {
		fmt.Fprintf(&b, "; %d open: %s", pc.open, joinPorts(pc.openList, 10))
	}
	fmt.Fprintf(&b, "; %d refused, %d unanswered", pc.refused, unanswered)
	if fs.fragmented > 0 {
		fmt.Fprintf(&b, "; %d sent in IP fragments", fs.fragmented)
	}
	if fam == famACK {
		b.WriteString("; bare ACKs map a firewall's rules, as nmap -sA and -sW do")
	}
	b.WriteString(")")
	f := report.Finding{
		Type:       report.AttackPortScan,
		Technique:  tech,
		Source:     sp.src.String(),
		Target:     sp.dst.String(),
		Severity:   sev,
		Confidence: conf,
		Summary:    b.String(),
		FirstSeen:  fs.first.UTC(),
		LastSeen:   fs.last.UTC(),
		Counts: map[string]int64{
			report.CountDistinctPorts: int64(pc.ports),
			report.CountProbes:        fs.probes,
			report.CountAnswered:      int64(pc.answered),
			report.CountRefused:       int64(pc.refused),
			report.CountUnanswered:    int64(unanswered),
			report.CountOpenPorts:     int64(pc.open),
		},
		Samples: map[string][]string{
			report.SamplePorts:     portStrings(sortedKeys(fs.ports), scanSampleMax),
			report.SampleOpenPorts: portStrings(pc.openList, scanSampleMax),
		},
	}
	if fs.fragmented > 0 {
		f.Counts[report.CountFragmentedProbes] = fs.fragmented
	}
	return f
}

var craftNames = []struct {
	bit  uint8
	name string
}{{craftNULL, "null"}, {craftFIN, "fin"}, {craftXmas, "xmas"}, {craftOther, "other"}}

func (sp *scanPair) craftedFinding() report.Finding {
	var kinds []string
	for _, k := range craftNames {
		if sp.craftKinds&k.bit != 0 {
			kinds = append(kinds, k.name)
		}
	}
	tech, conf := "crafted_flags", report.ConfidenceMedium
	if len(kinds) >= 2 {
		tech, conf = "os_fingerprint", report.ConfidenceHigh
	}
	ports := sortedKeys(sp.craftPorts)
	synPorts := len(sp.fam[famSYN].ports)
	summary := fmt.Sprintf("%s sent %s with flag combinations no TCP stack sends (%s) to %s on %s",
		sp.src, humanize.Count(int(sp.crafted), "packet"), strings.Join(kinds, ", "), sp.dst, humanize.Count(len(ports), "port"))
	if tech == "os_fingerprint" {
		summary += ", as nmap OS detection does"
	}
	if synPorts > 0 {
		summary += fmt.Sprintf(", plus SYN probes to %s", humanize.Count(synPorts, "port"))
	}
	return report.Finding{
		Type:       report.AttackPortScan,
		Technique:  tech,
		Source:     sp.src.String(),
		Target:     sp.dst.String(),
		Severity:   report.SeverityLow,
		Confidence: conf,
		Summary:    summary,
		FirstSeen:  sp.first.UTC(),
		LastSeen:   sp.last.UTC(),
		Counts: map[string]int64{
			report.CountCraftedPackets: sp.crafted,
			report.CountDistinctPorts:  int64(len(ports)),
			report.CountSYNPorts:       int64(synPorts),
			report.CountOpenPorts:      int64(countPorts(sp.fam[famSYN].ports).open),
		},
		Samples: map[string][]string{
			report.SamplePorts: portStrings(ports, scanSampleMax),
			report.SampleKinds: kinds,
		},
	}
}

// horizontal reports, per (source, family), every port probed on at least
// SweepHosts hosts that did not answer or refused.
func (agg *scanAgg) horizontal(ps PortScanConfig) []report.Finding {
	type sweep struct {
		src         netip.Addr
		fam         scanFamily
		ports       []uint16
		extra       int // swept hosts counted past sweepKeyHosts, without their addresses
		counted     map[netip.Addr]struct{}
		probed      map[netip.Addr]struct{}
		open        map[netip.Addr]struct{}
		refused     map[netip.Addr]struct{}
		first, last time.Time
	}
	type sk struct {
		src netip.Addr
		fam scanFamily
	}
	sweeps := map[sk]*sweep{}
	swept := map[horizKey]bool{}
	for hk, n := range agg.horizCounted {
		if n < ps.SweepHosts {
			continue
		}
		swept[hk] = true
		k := sk{hk.src, hk.fam}
		s := sweeps[k]
		if s == nil {
			s = &sweep{src: hk.src, fam: hk.fam, counted: map[netip.Addr]struct{}{}, probed: map[netip.Addr]struct{}{}, open: map[netip.Addr]struct{}{}, refused: map[netip.Addr]struct{}{}}
			sweeps[k] = s
		}
		s.ports = append(s.ports, hk.port)
		if hs, ok := agg.bounds.horizKeys[hk]; ok {
			s.extra += hs.extra
			if s.first.IsZero() || hs.first.Before(s.first) {
				s.first = hs.first // the pairs may have been folded (portscan_bounds.go)
			}
			s.last = maxTime(s.last, hs.last)
		}
	}
	if len(sweeps) == 0 {
		return nil
	}
	for hh, st := range agg.horiz {
		if !swept[hh.horizKey] {
			continue
		}
		s, h := sweeps[sk{hh.src, hh.fam}], hh.dst
		s.probed[h] = struct{}{}
		switch {
		case st&stRefused != 0:
			s.refused[h] = struct{}{}
			s.counted[h] = struct{}{}
		case st&stAnswered == 0:
			s.counted[h] = struct{}{}
		case st&stOpen != 0:
			s.open[h] = struct{}{}
		}
	}
	// Times and probe counts come from the pairs, which hold them.
	for _, sp := range agg.pairs {
		for fam := range famCount {
			s := sweeps[sk{sp.src, fam}]
			if s == nil {
				continue
			}
			fs := &sp.fam[fam]
			for _, port := range s.ports {
				if _, ok := fs.ports[port]; ok {
					if s.first.IsZero() || fs.first.Before(s.first) {
						s.first = fs.first
					}
					s.last = maxTime(s.last, fs.last)
					break
				}
			}
		}
	}
	var out []report.Finding
	for _, s := range sweeps {
		slices.Sort(s.ports)
		counted := len(s.counted) + s.extra
		probed := len(s.probed) + s.extra
		sev, conf := report.SeverityMedium, report.ConfidenceMedium
		if counted >= ps.SweepHighHosts {
			sev = report.SeverityHigh
		}
		if 2*counted >= probed {
			conf = report.ConfidenceHigh
		}
		if s.fam == famACK && 2*len(s.refused) < probed {
			// Unanswered bare ACKs to many hosts are also what a capture
			// that sees one direction of many connections holds.
			sev, conf = report.SeverityLow, report.ConfidenceLow
		}
		proto := "TCP"
		if s.fam == famUDP {
			proto = "UDP"
		}
		summary := fmt.Sprintf("%s swept %s port %s on %d hosts with %s probes (%d refused, %d unanswered, %d open)",
			s.src, proto, joinPorts(s.ports, 10), probed, famWords[s.fam], len(s.refused), counted-len(s.refused), len(s.open))
		if len(s.ports) > 1 {
			summary = fmt.Sprintf("%s swept %d %s ports (%s) across %d hosts with %s probes (%d hosts refused or unanswered, %d open)",
				s.src, len(s.ports), proto, joinPorts(s.ports, 10), probed, famWords[s.fam], counted, len(s.open))
		}
		out = append(out, report.Finding{
			Type:       report.AttackPortScan,
			Technique:  "horizontal_" + famNames[s.fam],
			Source:     s.src.String(),
			Target:     report.TargetMultiple,
			Severity:   sev,
			Confidence: conf,
			Summary:    summary,
			FirstSeen:  s.first.UTC(),
			LastSeen:   s.last.UTC(),
			Counts: map[string]int64{
				report.CountHosts:       int64(counted),
				report.CountHostsProbed: int64(probed),
				report.CountRefused:     int64(len(s.refused)),
				report.CountUnanswered:  int64(counted - len(s.refused)),
				report.CountOpenHosts:   int64(len(s.open)),
				report.CountSweptPorts:  int64(len(s.ports)),
			},
			Samples: map[string][]string{
				report.SamplePorts:     portStrings(s.ports, scanSampleMax),
				report.SampleHosts:     addrStrings(sortedAddrs(s.counted), scanSampleMax),
				report.SampleOpenHosts: addrStrings(sortedAddrs(s.open), scanSampleMax),
			},
		})
	}
	return out
}

func sweepFindings(ps PortScanConfig, st *sweepTable, technique, what string) []report.Finding {
	var out []report.Finding
	for _, s := range st.sources {
		if len(s.hosts) < ps.SweepHosts {
			continue
		}
		var live []netip.Addr
		for a, h := range s.hosts {
			if st.answered(s, a, h) {
				live = append(live, a)
			}
		}
		slices.SortFunc(live, netip.Addr.Compare)
		hosts := len(s.hosts)
		sev, conf := report.SeverityMedium, report.ConfidenceMedium
		if hosts >= ps.SweepHighHosts {
			sev = report.SeverityHigh
		}
		if 2*(hosts-len(live)) >= hosts {
			conf = report.ConfidenceHigh
		}
		n := strconv.Itoa(hosts)
		if s.capped {
			n = "at least " + n
		}
		out = append(out, report.Finding{
			Type:       report.AttackPortScan,
			Technique:  technique,
			Source:     s.src.String(),
			Target:     report.TargetMultiple,
			Severity:   sev,
			Confidence: conf,
			Summary:    fmt.Sprintf("%s sent %d %s for %s distinct addresses (%d answered)", s.src, s.requests, what, n, len(live)),
			FirstSeen:  s.first.UTC(),
			LastSeen:   s.last.UTC(),
			Counts: map[string]int64{
				report.CountHosts:      int64(hosts),
				report.CountProbes:     s.requests,
				report.CountAnswered:   int64(len(live)),
				report.CountUnanswered: int64(hosts - len(live)),
			},
			Samples: map[string][]string{
				report.SampleHosts:     addrStrings(sortedAddrs(s.hosts), scanSampleMax),
				report.SampleLiveHosts: addrStrings(live, scanSampleMax),
			},
		})
	}
	return out
}
