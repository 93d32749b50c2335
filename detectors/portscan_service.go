package detectors

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/humanize"
	"github.com/agents-of-shield/reconpcap/report"
)

// Service and version scans (nmap -sV).
//
// A version scan completes connections to a few open ports and sends each
// the probes of nmap-service-probes until one answer matches: no port
// count gives it away, the probes do. The detector reads the first payload
// the client of each TCP connection sends (one comparison per connection,
// nothing on other packets) against the best-known probes. Some exist
// only in scanners (nmap's "/nice ports,/Trinity.txt.bak" request, its
// "mstshash=nmap" RDP cookie, its fixed TLS hello); one of them makes a
// finding of medium severity, high confidence. Generic probes (a bare
// "GET / HTTP/1.0", "HELP", an empty line) are also what simple clients
// send: three different kinds to one target make a low finding.

// serviceProbeMaxPairs bounds the (source, target) pairs kept of the
// flows the table evicted during the pass.
const serviceProbeMaxPairs = 1 << 16

// serviceProbePorts bounds the ports kept per pair: the lowest.
const serviceProbePorts = scanSampleMax * 4

type serviceProbeSig struct {
	name     string
	prefix   []byte // the payload starts with it
	contains []byte // or holds it in its first 128 bytes
	scanner  bool   // sent by scanners only
}

// serviceProbeSigs are nmap-service-probes' most common TCP probes.
var serviceProbeSigs = []serviceProbeSig{
	{name: "nmap_404_request", contains: []byte("/nice%20ports%2C/Tri%6Eity.txt%2ebak"), scanner: true},
	{name: "rdp_cookie_nmap", contains: []byte("Cookie: mstshash=nmap"), scanner: true},
	{name: "tls_hello_nmap", contains: []byte("random1random2random3random4"), scanner: true},
	{name: "ssl_hello_nmap", prefix: []byte("\x16\x03\x00\x00\x53\x01\x00\x00\x4f\x03\x00\x3f\x47\xd7\xf7\xba"), scanner: true},
	{name: "sip_options_nmap", contains: []byte("sip:nm@nm"), scanner: true},
	{name: "rtsp_options", prefix: []byte("OPTIONS / RTSP/1.0\r\n\r\n"), scanner: true},
	{name: "rpc_check", prefix: []byte("\x80\x00\x00\x28\x72\xfe\x1d\x13\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x86\xa0"), scanner: true},
	{name: "dns_version_bind", prefix: []byte("\x00\x1e\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind"), scanner: true},
	{name: "dns_status_request", prefix: []byte("\x00\x0c\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"), scanner: true},
	{name: "x11_probe", prefix: []byte("l\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00"), scanner: true},
	{name: "smb_negotiate_nmap", prefix: []byte("\x00\x00\x00\xa4\xff\x53\x4d\x42\x72\x00\x00\x00\x00\x08\x01\x40"), scanner: true},
	{name: "http_get_bare", prefix: []byte("GET / HTTP/1.0\r\n\r\n")},
	{name: "http_options_bare", prefix: []byte("OPTIONS / HTTP/1.0\r\n\r\n")},
	{name: "generic_lines", prefix: []byte("\r\n\r\n")},
	{name: "help", prefix: []byte("HELP\r\n")},
}

// serviceProbes is what one source sent one target.
type serviceProbes struct {
	kinds       uint32 // bit i: serviceProbeSigs[i] seen
	probes      int64
	ports       map[uint16]struct{} // the lowest serviceProbePorts
	first, last time.Time
}

// flowFirst is the first payload each side of one TCP connection sent,
// indexed by flowSide. Which side is the client is read from the flow
// only when judging: the part of a rotated capture that saw the
// connection from its middle guessed it from the ports, and the first
// payload of the client may be in an earlier part.
type flowFirst [2]firstPayload

// firstPayload is one side's first payload: when, and which probe it is.
type firstPayload struct {
	at time.Time
	// sig is 0 when the side sent no payload, 1 when its first matched no
	// probe (or was not compared: a known server's), 2+i for
	// serviceProbeSigs[i].
	sig uint8
}

// fromSide is the index into p.Flow's counters of p's direction.
func fromSide(p *capture.Packet) int {
	if p.FromClient {
		return 0
	}
	return 1
}

// flowSide indexes the sides of a connection in an order that does not
// depend on which the table took for the client: 0 is the lower address
// and port.
func flowSide(from, to netip.AddrPort) int {
	if from.Compare(to) <= 0 {
		return 0
	}
	return 1
}

// firstPayload records the first payload one side of a TCP connection
// sends, compared with the probes unless the side is the server a
// handshake named.
func (d *portscanDetector) firstPayload(p *capture.Packet) {
	from, to := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	i := flowSide(from, to)
	r := d.first[p.Flow]
	if r[i].sig != 0 {
		return
	}
	r[i] = firstPayload{at: p.Time, sig: 1}
	if p.FromClient || !p.Flow.ClientKnown {
		r[i].sig = matchServiceProbe(p.Payload)
	}
	d.first[p.Flow] = r
}

// matchServiceProbe returns firstPayload.sig for a first payload.
func matchServiceProbe(pl []byte) uint8 {
	for i := range serviceProbeSigs {
		s := &serviceProbeSigs[i]
		if s.prefix != nil && bytes.HasPrefix(pl, s.prefix) ||
			s.contains != nil && bytes.Contains(pl[:min(len(pl), 128)], s.contains) {
			return uint8(2 + i)
		}
	}
	return 1
}

// earlier returns the first payload of the two records of one side: the
// earlier one (the later was seen from the middle of the connection),
// the lower sig at the same instant.
func (x firstPayload) earlier(y firstPayload) firstPayload {
	switch {
	case x.sig == 0:
		return y
	case y.sig == 0:
		return x
	case y.at.Before(x.at), y.at.Equal(x.at) && y.sig < x.sig:
		return y
	}
	return x
}

// clientProbe returns the service probe f's client sent first, if its
// first payload was one.
func (r flowFirst) clientProbe(f *capture.Flow) (firstPayload, bool) {
	fp := r[flowSide(f.Client, f.Server)]
	return fp, fp.sig >= 2
}

// evictFirst moves the service probe of a flow the table evicts into
// d.service, which keeps it per pair.
func (d *portscanDetector) evictFirst(f *capture.Flow) {
	r, ok := d.first[f]
	if !ok {
		return
	}
	delete(d.first, f)
	if fp, ok := r.clientProbe(f); ok {
		k := addrPair{f.Client.Addr(), f.Server.Addr()}
		sp := d.service[k]
		if sp == nil {
			if len(d.service) >= serviceProbeMaxPairs {
				return
			}
			sp = &serviceProbes{}
			d.service[k] = sp
		}
		sp.add(int(fp.sig-2), f.Server.Port(), fp.at)
	}
}

// add counts one probe of kind sig to port at t.
func (sp *serviceProbes) add(sig int, port uint16, t time.Time) {
	if sp.probes == 0 {
		sp.first, sp.last = t, t
	}
	sp.kinds |= 1 << sig
	sp.probes++
	sp.addPort(port)
	sp.first, sp.last = minTime(sp.first, t), maxTime(sp.last, t)
}

// addPort keeps port if it is among the lowest serviceProbePorts.
func (sp *serviceProbes) addPort(port uint16) {
	if sp.ports == nil {
		sp.ports = map[uint16]struct{}{}
	}
	if _, ok := sp.ports[port]; ok {
		return
	}
	if len(sp.ports) < serviceProbePorts {
		sp.ports[port] = struct{}{}
		return
	}
	top := port
	for q := range sp.ports {
		top = max(top, q)
	}
	if top != port {
		delete(sp.ports, top)
		sp.ports[port] = struct{}{}
	}
}

// merge folds o, the probes of the same pair in other flows, into sp.
func (sp *serviceProbes) merge(o *serviceProbes) {
	if sp.probes == 0 {
		sp.first, sp.last = o.first, o.last
	}
	sp.kinds |= o.kinds
	sp.probes += o.probes
	for port := range o.ports {
		sp.addPort(port)
	}
	sp.first, sp.last = minTime(sp.first, o.first), maxTime(sp.last, o.last)
}

// serviceTable gathers the service probes of every pair: those of the
// evicted flows, and those of the flows c holds.
func (d *portscanDetector) serviceTable(c *capture.Capture) map[addrPair]*serviceProbes {
	m := make(map[addrPair]*serviceProbes, len(d.service))
	for k, sp := range d.service {
		cp := &serviceProbes{}
		cp.merge(sp)
		m[k] = cp
	}
	for f, r := range d.first {
		if c != nil && c.Lookup(f) != f {
			continue // not a flow of c's
		}
		fp, ok := r.clientProbe(f)
		if !ok {
			continue
		}
		k := addrPair{f.Client.Addr(), f.Server.Addr()}
		sp := m[k]
		if sp == nil {
			sp = &serviceProbes{}
			m[k] = sp
		}
		sp.add(int(fp.sig-2), f.Server.Port(), fp.at)
	}
	return m
}

// serviceFindings judges the probes of every pair.
func (agg *scanAgg) serviceFindings() []report.Finding {
	var out []report.Finding
	for k, sp := range agg.service {
		var scanner, generic []string
		for i, s := range serviceProbeSigs {
			if sp.kinds&(1<<i) == 0 {
				continue
			}
			if s.scanner {
				scanner = append(scanner, s.name)
			} else {
				generic = append(generic, s.name)
			}
		}
		sev, conf := report.SeverityMedium, report.ConfidenceHigh
		switch {
		case len(scanner) > 0:
		case len(generic) >= 3:
			sev, conf = report.SeverityLow, report.ConfidenceMedium
		default:
			continue
		}
		ports := sortedKeys(sp.ports)
		out = append(out, report.Finding{
			Type:       report.AttackPortScan,
			Technique:  "service_probe",
			Source:     k.src.String(),
			Target:     k.dst.String(),
			Severity:   sev,
			Confidence: conf,
			Summary: fmt.Sprintf("%s sent %s of service and version detection to %s on %s (%s), as nmap -sV does",
				k.src, humanize.Count(int(sp.probes), "probe"), k.dst, humanize.Count(len(ports), "port"), joinStrings(append(scanner, generic...), 6)),
			FirstSeen: sp.first.UTC(),
			LastSeen:  sp.last.UTC(),
			Counts: map[string]int64{
				report.CountProbes:        sp.probes,
				report.CountProbeKinds:    int64(len(scanner) + len(generic)),
				report.CountScannerProbes: int64(len(scanner)),
				report.CountDistinctPorts: int64(len(ports)),
			},
			Samples: map[string][]string{
				report.SampleProbeKinds: slices.Concat(scanner, generic),
				report.SamplePorts:      portStrings(ports, scanSampleMax),
			},
		})
	}
	return out
}

func joinStrings(s []string, n int) string {
	var b bytes.Buffer
	for i, x := range head(s, n) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	if len(s) > n {
		fmt.Fprintf(&b, " and %d more", len(s)-n)
	}
	return b.String()
}
