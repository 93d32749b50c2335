package detectors

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// The port scan detector's bounds. A flood from spoofed sources makes one
// (source, target) pair per packet, each probing one port: past
// Limits.MaxHosts pairs, the pairs that probed the fewest ports are folded
// into per-target counts (a scanner's pair, which probes many ports,
// outweighs them and stays). Sweeps are kept per (source, family, port):
// each such key keeps at most sweepKeyHosts target addresses and counts
// the rest, and past sweepEntriesPerHost × MaxHosts addresses in all the
// keys that hold the fewest hosts are dropped (a sweeping source's keys
// hold many and stay).

const (
	// sweepKeyHosts bounds the target addresses kept per (source,
	// family, port); past it swept hosts are only counted.
	sweepKeyHosts = 4096
	// sweepEntriesPerHost times Limits.MaxHosts bounds the (source,
	// family, port, target) entries kept in all.
	sweepEntriesPerHost = 2
	// floodWarnSources is how many folded sources one target needs to be
	// named in a warning.
	floodWarnSources = 1000
)

// scanBounds is what the bounds folded or dropped.
type scanBounds struct {
	maxPairs, maxHoriz int
	horizKeys          map[horizKey]horizStat
	targets            map[netip.AddrPort]*foldedTarget
	foldedPairs        int
	droppedKeys        int
	droppedHoriz       int
	droppedTargets     int
}

// horizStat is one (source, family, port): the hosts kept in horiz, the
// swept hosts counted past sweepKeyHosts, and the probes' times.
type horizStat struct {
	hosts, extra int
	first, last  time.Time
}

// foldedTarget counts the folded pairs that probed one target port.
type foldedTarget struct {
	sources, unanswered int64
	first, last         time.Time
}

func newScanBounds(lim Limits) scanBounds {
	return scanBounds{
		maxPairs:  lim.MaxHosts,
		maxHoriz:  sweepEntriesPerHost * lim.MaxHosts,
		horizKeys: map[horizKey]horizStat{},
		targets:   map[netip.AddrPort]*foldedTarget{},
	}
}

// addHoriz records that hh was probed, with state st.
func (agg *scanAgg) addHoriz(hh horizHost, st uint8, first, last time.Time) {
	b := &agg.bounds
	hs, ok := b.horizKeys[hh.horizKey]
	if !ok {
		hs = horizStat{first: first, last: last}
	}
	hs.first, hs.last = minTime(hs.first, first), maxTime(hs.last, last)
	if old, ok := agg.horiz[hh]; ok {
		agg.horiz[hh] = old | st
		b.horizKeys[hh.horizKey] = hs
		return
	}
	if hs.hosts >= sweepKeyHosts {
		// Distinct flows of one key past the bound are, but for
		// retries from other source ports, distinct hosts.
		if sweptHost(st) {
			hs.extra++
		}
		b.horizKeys[hh.horizKey] = hs
		return
	}
	agg.horiz[hh] = st
	hs.hosts++
	b.horizKeys[hh.horizKey] = hs
	if len(agg.horiz) > b.maxHoriz {
		agg.pruneHoriz()
	}
}

// pruneHoriz drops the keys that hold the fewest hosts, and their hosts.
func (agg *scanAgg) pruneHoriz() {
	b := &agg.bounds
	dropped := map[horizKey]struct{}{}
	b.horizKeys = prune(b.horizKeys, 0, func(hs horizStat) uint64 { return uint64(hs.hosts + hs.extra) }, func(k horizKey, _ horizStat) {
		dropped[k] = struct{}{}
	})
	b.droppedKeys += len(dropped)
	kept := make(map[horizHost]uint8, len(agg.horiz)/2)
	for hh, st := range agg.horiz {
		if _, ok := dropped[hh.horizKey]; ok {
			b.droppedHoriz++
		} else {
			kept[hh] = st
		}
	}
	agg.horiz = kept
}

// bound folds the pairs that probed the fewest ports once there are more
// than the bound.
func (agg *scanAgg) bound() {
	b := &agg.bounds
	if len(agg.byPair) <= b.maxPairs {
		return
	}
	agg.byPair = prune(agg.byPair, b.maxPairs, (*scanPair).weight, func(_ addrPair, sp *scanPair) {
		b.foldedPairs++
		for fam := range famCount {
			for port, st := range sp.fam[fam].ports {
				k := netip.AddrPortFrom(sp.dst, port)
				t := b.targets[k]
				if t == nil {
					t = &foldedTarget{first: sp.first, last: sp.last}
					b.targets[k] = t
				}
				t.sources++
				if st&stAnswered == 0 {
					t.unanswered++
				}
				t.first, t.last = minTime(t.first, sp.first), maxTime(t.last, sp.last)
			}
		}
		b.targets = prune(b.targets, b.maxPairs, func(t *foldedTarget) uint64 { return uint64(t.sources) }, func(netip.AddrPort, *foldedTarget) {
			b.droppedTargets++
		})
	})
}

// weight is how much of a scan a pair holds: the ports it probed.
func (sp *scanPair) weight() uint64 {
	n := len(sp.craftPorts)
	for fam := range famCount {
		n += len(sp.fam[fam].ports)
	}
	return uint64(n)
}

// warnings say what the bounds folded, and name the targets of folded
// probes from many sources: what a flood from spoofed sources leaves.
func (d *portscanDetector) warnings() []string {
	if d.agg == nil {
		return nil
	}
	b := &d.agg.bounds
	var w []string
	if b.foldedPairs > 0 {
		w = append(w, fmt.Sprintf("port scan state capped at %d (source, target) pairs: %d pairs that probed the fewest ports were folded into per-target counts (MaxHosts raises the bound)", b.maxPairs, b.foldedPairs))
	}
	if b.droppedHoriz > 0 {
		w = append(w, fmt.Sprintf("sweep state capped at %d (source, port, host) entries: %d entries of %d (source, port) keys that probed the fewest hosts were dropped", b.maxHoriz, b.droppedHoriz, b.droppedKeys))
	}
	type tgt struct {
		k netip.AddrPort
		t *foldedTarget
	}
	var ts []tgt
	for k, t := range b.targets {
		if t.sources >= floodWarnSources {
			ts = append(ts, tgt{k, t})
		}
	}
	slices.SortFunc(ts, func(x, y tgt) int {
		return cmp.Or(cmp.Compare(y.t.sources, x.t.sources), x.k.Compare(y.k))
	})
	var names []string
	for _, t := range head(ts, 5) {
		names = append(names, fmt.Sprintf("%s from about %d sources (%d unanswered, %s to %s)", t.k, t.t.sources, t.t.unanswered,
			t.t.first.UTC().Format(time.RFC3339), t.t.last.UTC().Format(time.RFC3339)))
	}
	if len(names) > 0 {
		w = append(w, "probed by many sources that each tried few ports, as a flood from spoofed sources (a SYN flood) is: "+strings.Join(names, "; "))
	}
	return w
}
