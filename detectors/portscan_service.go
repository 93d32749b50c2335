package detectors

import (
	"bytes"
	"fmt"
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

// serviceProbeMaxPairs bounds the (source, target) pairs kept.
const serviceProbeMaxPairs = 1 << 16

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
	ports       map[uint16]struct{}
	first, last time.Time
}

// firstPayload looks at the first payload a TCP client sends.
func (d *portscanDetector) firstPayload(p *capture.Packet) {
	pl := p.Payload
	for i := range serviceProbeSigs {
		s := &serviceProbeSigs[i]
		if s.prefix != nil && bytes.HasPrefix(pl, s.prefix) ||
			s.contains != nil && bytes.Contains(pl[:min(len(pl), 128)], s.contains) {
			d.serviceProbe(p, i)
			return
		}
	}
}

func (d *portscanDetector) serviceProbe(p *capture.Packet, sig int) {
	k := addrPair{p.Src, p.Dst}
	sp := d.service[k]
	if sp == nil {
		if len(d.service) >= serviceProbeMaxPairs {
			return
		}
		sp = &serviceProbes{ports: map[uint16]struct{}{}, first: p.Time}
		d.service[k] = sp
	}
	sp.kinds |= 1 << sig
	sp.probes++
	if len(sp.ports) < scanSampleMax*4 {
		sp.ports[p.DstPort] = struct{}{}
	}
	sp.first, sp.last = minTime(sp.first, p.Time), maxTime(sp.last, p.Time)
}

// serviceFindings judges the probes of every pair.
func (d *portscanDetector) serviceFindings() []report.Finding {
	var out []report.Finding
	for k, sp := range d.service {
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
