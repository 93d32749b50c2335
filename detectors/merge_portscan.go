package detectors

import "github.com/agents-of-shield/reconpcap/capture"

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture.
//
// What is kept per source (sweeps), per pair (ICMP errors, ARP bindings,
// the probes of evicted flows) or per flow (first payloads) joins the
// way one pass would have accumulated it: counts add up, sets join,
// first times take the earlier, last times the later. The probes of the
// flows c holds need nothing: finish judges them from c's merged flows.
// Past a bound (sources, hosts, pairs) what o brings is dropped and
// counted as the pass drops it.
func (d *portscanDetector) merge(o *portscanDetector, c *capture.Capture) {
	d.untraced += o.untraced
	d.untraced += d.echo.merge(&o.echo)
	d.untraced += d.arp.merge(&o.arp)
	for k, n := range o.unreach {
		if _, ok := d.unreach[k]; ok || len(d.unreach) < maxRefusedProbes {
			d.unreach[k] += n
		}
	}
	joinSet(d.refused, o.refused, maxRefusedProbes)
	joinSet(d.timeExc, o.timeExc, sweepMaxSources)
	joinSet(d.arpMACs, o.arpMACs, arpMaxBindings)
	for k, osp := range o.service {
		if sp := d.service[k]; sp != nil {
			sp.merge(osp)
		} else if len(d.service) < serviceProbeMaxPairs {
			d.service[k] = osp
		}
	}
	d.first = mergeFirst(c, d.first, o.first)
	d.live = mergeAgg(d.live, o.live)
	d.liveTrace = mergeAgg(d.liveTrace, o.liveTrace)
}

// mergeAgg merges two parts' aggregates of evicted flows, either nil.
func mergeAgg(a, b *scanAgg) *scanAgg {
	switch {
	case a == nil:
		return b
	case b != nil:
		a.merge(b)
	}
	return a
}

// joinSet adds o's keys to m while m holds fewer than max.
func joinSet[K comparable](m, o map[K]struct{}, max int) {
	for k := range o {
		if _, ok := m[k]; !ok && len(m) < max {
			m[k] = struct{}{}
		}
	}
}

// mergeFirst joins two parts' first payloads, keyed by the flows of c
// that absorbed theirs: of one side of one connection seen by both, the
// earlier payload was its first.
func mergeFirst(c *capture.Capture, a, b map[*capture.Flow]flowFirst) map[*capture.Flow]flowFirst {
	m := make(map[*capture.Flow]flowFirst, len(a)+len(b))
	for _, part := range []map[*capture.Flow]flowFirst{a, b} {
		for f, r := range part {
			if s := c.Lookup(f); s != nil {
				f = s
			}
			x := m[f]
			for i := range x {
				x[i] = x[i].earlier(r[i])
			}
			m[f] = x
		}
	}
	return m
}

// merge folds o's sweeps into st's and returns how many requests of
// sources past sweepMaxSources it dropped.
func (st *sweepTable) merge(o *sweepTable) (untraced int64) {
	for src, x := range o.sources {
		s := st.sources[src]
		if s == nil {
			if len(st.sources) >= sweepMaxSources {
				untraced += x.requests
				continue
			}
			st.sources[src] = x
			continue
		}
		s.requests += x.requests
		s.capped = s.capped || x.capped
		s.first, s.last = minTime(s.first, x.first), maxTime(s.last, x.last)
		for a, oh := range x.hosts {
			h, ok := s.hosts[a]
			if !ok {
				if len(s.hosts) >= sweepMaxHosts {
					s.capped = true
					continue
				}
				s.hosts[a] = oh
				continue
			}
			h.asked = minTime(h.asked, oh.asked)
			h.answered = h.answered || oh.answered
			s.hosts[a] = h
		}
	}
	for k, t := range o.replies {
		if old, ok := st.replies[k]; ok || len(st.replies) < maxSweepReplies {
			st.replies[k] = maxTime(old, t)
		}
	}
	return untraced
}

// merge folds o, the probes of the flows another part's table evicted,
// into agg (both before finish), and applies agg's bounds to the whole.
func (agg *scanAgg) merge(o *scanAgg) {
	for k, osp := range o.byPair {
		if sp := agg.byPair[k]; sp != nil {
			sp.merge(osp)
		} else {
			agg.byPair[k] = osp
		}
	}
	b, ob := &agg.bounds, &o.bounds
	b.foldedPairs += ob.foldedPairs
	b.droppedKeys += ob.droppedKeys
	b.droppedHoriz += ob.droppedHoriz
	b.droppedTargets += ob.droppedTargets
	for k, ot := range ob.targets {
		t := b.targets[k]
		if t == nil {
			b.targets[k] = ot
			continue
		}
		t.sources += ot.sources
		t.unanswered += ot.unanswered
		t.first, t.last = minTime(t.first, ot.first), maxTime(t.last, ot.last)
	}
	for hk, ohs := range ob.horizKeys {
		hs, ok := b.horizKeys[hk]
		if !ok {
			hs = horizStat{first: ohs.first, last: ohs.last}
		}
		hs.extra += ohs.extra
		hs.first, hs.last = minTime(hs.first, ohs.first), maxTime(hs.last, ohs.last)
		b.horizKeys[hk] = hs
	}
	for hh, st := range o.horiz {
		if old, ok := agg.horiz[hh]; ok {
			agg.horiz[hh] = old | st
			continue
		}
		hs := b.horizKeys[hh.horizKey]
		if hs.hosts >= sweepKeyHosts {
			if sweptHost(st) {
				hs.extra++
			}
		} else {
			agg.horiz[hh] = st
			hs.hosts++
		}
		b.horizKeys[hh.horizKey] = hs
	}
	if len(agg.horiz) > b.maxHoriz {
		agg.pruneHoriz()
	}
	agg.bound()
}

// merge folds o, what the same source sent the same target in other
// flows, into sp.
func (sp *scanPair) merge(o *scanPair) {
	sp.first, sp.last = minTime(sp.first, o.first), maxTime(sp.last, o.last)
	for fam := range famCount {
		fs, ofs := &sp.fam[fam], &o.fam[fam]
		if ofs.ports == nil {
			continue
		}
		if fs.ports == nil {
			*fs = *ofs
			continue
		}
		for port, st := range ofs.ports {
			fs.ports[port] |= st
		}
		fs.probes += ofs.probes
		fs.fragmented += ofs.fragmented
		fs.first, fs.last = minTime(fs.first, ofs.first), maxTime(fs.last, ofs.last)
	}
	sp.connect = sp.connect || o.connect
	sp.crafted += o.crafted
	sp.craftKinds |= o.craftKinds
	if len(o.craftPorts) > 0 {
		if sp.craftPorts == nil {
			sp.craftPorts = map[uint16]struct{}{}
		}
		for port := range o.craftPorts {
			sp.craftPorts[port] = struct{}{}
		}
	}
	// One MAC for every probe flow of both, or mixed.
	switch {
	case sp.macMixed || o.macMixed || sp.hasMAC && o.hasMAC && sp.mac != o.mac:
		sp.mac, sp.hasMAC, sp.macMixed = capture.MAC{}, false, true
	case !sp.hasMAC && o.hasMAC:
		sp.mac, sp.hasMAC = o.mac, true
	}
}
