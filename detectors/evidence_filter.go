package detectors

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/report"
)

// scanFlags gives, per probe family, the TCP flags its probes have set and
// those they have clear, as the port scan detector tells the families
// apart. A connect scan's probes are its SYNs.
var scanFlags = map[string][2]uint8{
	"syn":     {capture.FlagSYN, capture.FlagACK},
	"connect": {capture.FlagSYN, capture.FlagACK},
	"fin":     {capture.FlagFIN, capture.FlagSYN | capture.FlagACK | capture.FlagRST | capture.FlagPSH | capture.FlagURG},
	"null":    {0, capture.FlagSYN | capture.FlagACK | capture.FlagFIN | capture.FlagRST | capture.FlagPSH | capture.FlagURG},
	"xmas":    {capture.FlagFIN | capture.FlagPSH | capture.FlagURG, capture.FlagSYN | capture.FlagACK | capture.FlagRST},
	"ack":     {capture.FlagACK, capture.FlagSYN | capture.FlagFIN | capture.FlagRST | capture.FlagPSH},
}

// EvidenceFilter returns the filter that selects the packets a finding
// rests on: the probes of a scan, the requests of an HTTP enumeration,
// the data a source sent in an exfiltration, the DNS messages of a
// tunnel's client under its domain. ok is false when the finding does
// not name the addresses a filter needs (a finding built by hand).
//
// The filter is the evidence's definition, not the detector's count: a
// UDP scan's filter also selects the other UDP the source sent the
// target, and so on, so a person opening it sees the probes in their
// context.
func EvidenceFilter(f report.Finding) (filter.Expr, bool) {
	src, err := netip.ParseAddr(f.Source)
	if err != nil {
		return filter.Expr{}, false
	}
	dst, dstErr := netip.ParseAddr(f.Target)
	pair := func(xs ...filter.Expr) filter.Expr {
		if dstErr != nil {
			return filter.And(append([]filter.Expr{filter.Src(src)}, xs...)...)
		}
		return filter.And(append([]filter.Expr{filter.Src(src), filter.Dst(dst)}, xs...)...)
	}
	tech := f.Technique
	switch f.Type {
	case report.AttackPortScan:
		return scanFilter(f, tech, src, pair), true
	case report.AttackHTTPEnumeration:
		// The requests: the client's data to the server's HTTP ports
		// (all its ports when the detector named as many as it keeps).
		ports := portsOf(f, filter.TCP)
		if len(ports) >= httpMaxPorts {
			ports = nil
		}
		return pair(filter.Or(ports...), filter.TCPPayload()), true
	case report.AttackDataExfiltration:
		if strings.HasPrefix(tech, "icmp_") {
			return pair(echoRequest(src)), true
		}
		// What the source sent: every TCP segment with data to the
		// destination (the detector weighs TCP uploads only).
		return pair(filter.TCPPayload()), true
	case report.AttackDNSTunneling:
		if d := f.Samples[report.SampleDomain]; len(d) == 1 {
			if under, err := filter.DNSUnder(d[0]); err == nil {
				// The client's queries under the domain and their answers.
				return filter.And(filter.Host(src), under), true
			}
		}
		return filter.And(filter.Host(src), filter.Proto(filter.DNS)), true
	}
	return pair(), true
}

func scanFilter(f report.Finding, tech string, src netip.Addr, pair func(...filter.Expr) filter.Expr) filter.Expr {
	tech = strings.TrimSuffix(tech, "_fragmented")
	switch tech {
	case "icmp_sweep":
		return filter.And(filter.Src(src), echoRequest(src))
	case "arp_sweep":
		return filter.ARPRequest(src)
	case "udp":
		return pair(filter.Proto(filter.UDP))
	case "service_probe":
		return pair(filter.TCPPayload())
	case "crafted_flags", "os_fingerprint":
		// Flags no stack sends: no ACK, no RST, and not a plain SYN.
		return pair(filter.TCPFlags(0, capture.FlagACK|capture.FlagRST),
			filter.Not(filter.TCPFlags(capture.FlagSYN, capture.FlagFIN|capture.FlagPSH|capture.FlagURG)))
	case "fragment_overlap":
		return pair()
	}
	if fam, ok := strings.CutPrefix(tech, "horizontal_"); ok {
		// One or a few ports over many hosts: the source's probes to
		// those ports, whatever the host.
		if fam == "udp" {
			return filter.And(filter.Src(src), filter.Proto(filter.UDP), filter.Or(portsOf(f, filter.UDP)...))
		}
		ports := portsOf(f, filter.TCP)
		if fl, ok := scanFlags[fam]; ok {
			return filter.And(filter.Src(src), filter.TCPFlags(fl[0], fl[1]), filter.Or(ports...))
		}
		return filter.And(filter.Src(src), filter.Or(ports...))
	}
	if fl, ok := scanFlags[tech]; ok {
		return pair(filter.TCPFlags(fl[0], fl[1]))
	}
	return pair()
}

// portsOf returns one test of the destination port per port of the
// finding's ports sample, over proto;
// none (so Or matches every port) when the sample was cut short of the
// count, since a filter on part of the ports would hide the rest.
func portsOf(f report.Finding, proto filter.Protocol) []filter.Expr {
	sample := f.Samples[report.SamplePorts]
	if n, ok := f.Counts[report.CountSweptPorts]; ok && int(n) != len(sample) {
		return nil
	}
	if n, ok := f.Counts[report.CountDistinctPorts]; ok && int(n) != len(sample) {
		return nil
	}
	var out []filter.Expr
	for _, s := range sample {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return nil
		}
		out = append(out, filter.Port(proto, filter.Destination, uint16(p)))
	}
	return out
}

// echoRequest matches ICMP echo requests of src's IP version.
func echoRequest(src netip.Addr) filter.Expr {
	if src.Unmap().Is4() {
		return filter.ICMPType(false, 8)
	}
	return filter.ICMPType(true, 128)
}
