package detectors

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/report"
)

// Decoy scans (nmap -D).
//
// A decoy scan sends every probe several times, once from the scanner's
// address and once from each decoy address, so the target's logs show
// many scanners. The probes all leave the scanner's one network card: on
// the wire they share a link-layer source, probe the same ports of the
// same target at the same time, and only the scanner can react to the
// answers. So among sources that probed the same target with the same
// family of probes, from one MAC, over mostly the same ports, in
// overlapping time, the real scanner is singled out by, in order:
//
//  1. reaction: it alone reset or acknowledged the target's SYN-ACKs from
//     that MAC (a live decoy host answers from its own MAC);
//  2. answers: it alone got answers at all (decoy addresses that exist
//     nowhere are never answered: the target's ARP for them fails);
//  3. ARP: the MAC claimed its address in ARP.
//
// The scanner's finding then names the others as decoys; they get no
// finding of their own. When no evidence singles one out (scanners behind
// one router, both reacting) the sources stay separate findings: two real
// scanners must never become one.

const (
	// decoyMinOverlap is the share of the smaller port set two sources
	// must both have probed to be one decoy scan.
	decoyMinOverlap = 0.8
	// decoyMaxGroup bounds the sources compared per (target, family):
	// beyond, the probes are a distributed scan, not decoys.
	decoyMaxGroup = 256
	// arpMaxBindings bounds the (MAC, address) pairs kept from ARP.
	arpMaxBindings = 1 << 16
)

type arpBinding struct {
	mac  capture.MAC
	addr netip.Addr
}

// arpBind records that hw claimed addr in an ARP packet.
func (d *portscanDetector) arpBind(hw net.HardwareAddr, addr netip.Addr) {
	if len(hw) != 6 || !addr.IsValid() || addr.IsUnspecified() || len(d.arpMACs) >= arpMaxBindings {
		return
	}
	d.arpMACs[arpBinding{capture.MAC(hw), addr}] = struct{}{}
}

type pairFam struct {
	sp  *scanPair
	fam scanFamily
}

// decoyScans maps each real scanner's (pair, family) to its decoys, and
// each decoy's to nil.
type decoyScans map[pairFam][]*scanPair

// isDecoy reports whether sp's probes of fam were a decoy's.
func (ds decoyScans) isDecoy(sp *scanPair, fam scanFamily) bool {
	d, ok := ds[pairFam{sp, fam}]
	return ok && d == nil
}

// findDecoys groups the vertical scans of agg (at least ps.Threshold
// ports) into decoy scans.
func (d *portscanDetector) findDecoys(ps PortScanConfig, agg *scanAgg) decoyScans {
	type gk struct {
		dst netip.Addr
		fam scanFamily
		mac capture.MAC
	}
	groups := map[gk][]*scanPair{}
	for _, sp := range agg.pairs {
		if !sp.hasMAC {
			continue // without one shared MAC there is no decoy evidence
		}
		for fam := range famCount {
			if len(sp.fam[fam].ports) >= ps.Threshold {
				k := gk{sp.dst, fam, sp.mac}
				groups[k] = append(groups[k], sp)
			}
		}
	}
	var ds decoyScans
	for k, g := range groups {
		if len(g) < 2 || len(g) > decoyMaxGroup {
			continue
		}
		real := d.realScanner(g, k.fam, k.mac)
		if real == nil {
			continue
		}
		var decoys []*scanPair
		for _, sp := range g {
			if sp != real && sameProbes(real, sp, k.fam) && !reacted(sp, k.fam) {
				decoys = append(decoys, sp)
			}
		}
		if len(decoys) == 0 {
			continue
		}
		if ds == nil {
			ds = decoyScans{}
		}
		ds[pairFam{real, k.fam}] = decoys
		for _, sp := range decoys {
			ds[pairFam{sp, k.fam}] = nil
		}
	}
	return ds
}

// realScanner returns the one source of g that evidence singles out, or nil.
func (d *portscanDetector) realScanner(g []*scanPair, fam scanFamily, mac capture.MAC) *scanPair {
	for _, test := range []func(sp *scanPair) bool{
		func(sp *scanPair) bool { return reacted(sp, fam) },
		func(sp *scanPair) bool { return countPorts(sp.fam[fam].ports).answered > 0 },
		func(sp *scanPair) bool { _, ok := d.arpMACs[arpBinding{mac, sp.src}]; return ok },
	} {
		var one *scanPair
		n := 0
		for _, sp := range g {
			if test(sp) {
				one = sp
				n++
			}
		}
		switch {
		case n == 1:
			return one
		case n > 1:
			return nil // two sources show the evidence: two real scanners
		}
	}
	return nil
}

func reacted(sp *scanPair, fam scanFamily) bool {
	for _, st := range sp.fam[fam].ports {
		if st&stReacted != 0 {
			return true
		}
	}
	return false
}

// sameProbes reports whether b probed mostly a's ports in a's time.
func sameProbes(a, b *scanPair, fam scanFamily) bool {
	fa, fb := &a.fam[fam], &b.fam[fam]
	if fa.first.After(fb.last) || fb.first.After(fa.last) {
		return false
	}
	small, big := fa.ports, fb.ports
	if len(small) > len(big) {
		small, big = big, small
	}
	common := 0
	for p := range small {
		if _, ok := big[p]; ok {
			common++
		}
	}
	return float64(common) >= decoyMinOverlap*float64(len(small))
}

// addDecoys names the decoys inside the real scanner's finding.
func addDecoys(f *report.Finding, sp *scanPair, decoys []*scanPair) {
	addrs := make([]netip.Addr, len(decoys))
	for i, d := range decoys {
		addrs[i] = d.src
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	f.Counts[report.CountDecoys] = int64(len(addrs))
	f.Samples[report.SampleDecoys] = addrStrings(addrs, scanSampleMax)
	f.Samples[report.SampleSourceMAC] = []string{sp.mac.String()}
	f.Summary += fmt.Sprintf("; %d other addresses sent the same probes from the same MAC %s as decoys (nmap -D): only %s saw and answered the target's replies",
		len(addrs), sp.mac, sp.src)
}
