package filter

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
)

// Options are the simple tests a command line or a tool offers. Every
// field's zero value leaves its test out, so the zero Options match every
// packet; the tests given must all hold.
type Options struct {
	// Host, Src and Dst are an address ("10.0.0.5") or a network
	// ("10.0.0.0/24", "2001:db8::/32"): either side, the sender, the
	// receiver.
	Host, Src, Dst string
	// Port, SrcPort and DstPort are TCP or UDP ports (0: any).
	Port, SrcPort, DstPort uint16
	// Proto is tcp, udp, icmp, icmpv6, dns or arp ("": any). It narrows
	// the port tests to that transport.
	Proto string
	// Flags are TCP flags that must be set, and with a "!" before them
	// clear, separated by commas or spaces: "syn,!ack". Names: syn, ack,
	// fin, rst (or reset), psh (or push), urg.
	Flags string
	// Payload keeps only TCP segments that carry data.
	Payload bool
	// Since and Until bound the capture time: Since included, Until not.
	Since, Until time.Time
	// FirstFrame and LastFrame bound the frame numbers, both included.
	FirstFrame, LastFrame int
	// Domain keeps DNS messages that ask for this name or one under it.
	Domain string
}

// FromOptions builds the Expr of o. An error names the option that is
// malformed.
func FromOptions(o Options) (Expr, error) {
	var xs []Expr
	for _, a := range []struct {
		name, v string
		side    Side
	}{{"host", o.Host, Either}, {"src", o.Src, Source}, {"dst", o.Dst, Destination}} {
		if a.v == "" {
			continue
		}
		p, err := ParsePrefix(a.v)
		if err != nil {
			return Expr{}, fmt.Errorf("%s: %w", a.name, err)
		}
		xs = append(xs, Addr(a.side, p))
	}
	var proto Protocol
	if o.Proto != "" {
		p, err := ParseProtocol(o.Proto)
		if err != nil {
			return Expr{}, fmt.Errorf("proto: %w", err)
		}
		proto = p
		xs = append(xs, Proto(p))
	}
	portProto := proto
	if o.Port != 0 || o.SrcPort != 0 || o.DstPort != 0 {
		switch proto {
		case 0, TCP, UDP:
		case DNS:
			portProto = 0
		default:
			return Expr{}, fmt.Errorf("port: %s has no ports", proto)
		}
	}
	for _, pt := range []struct {
		v    uint16
		side Side
	}{{o.Port, Either}, {o.SrcPort, Source}, {o.DstPort, Destination}} {
		if pt.v != 0 {
			xs = append(xs, Port(portProto, pt.side, pt.v))
		}
	}
	if o.Flags != "" {
		set, clear, err := ParseFlags(o.Flags)
		if err != nil {
			return Expr{}, fmt.Errorf("flags: %w", err)
		}
		xs = append(xs, TCPFlags(set, clear))
	}
	if o.Payload {
		xs = append(xs, TCPPayload())
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Until.After(o.Since) {
		return Expr{}, fmt.Errorf("until %s is not after since %s", o.Until.Format(time.RFC3339Nano), o.Since.Format(time.RFC3339Nano))
	}
	xs = append(xs, Between(o.Since, o.Until))
	if o.FirstFrame < 0 || o.LastFrame < 0 || (o.LastFrame > 0 && o.LastFrame < o.FirstFrame) {
		return Expr{}, fmt.Errorf("frames %d to %d: want 1 <= first <= last", o.FirstFrame, o.LastFrame)
	}
	xs = append(xs, Frames(o.FirstFrame, o.LastFrame))
	if o.Domain != "" {
		d, err := DNSUnder(o.Domain)
		if err != nil {
			return Expr{}, fmt.Errorf("domain: %w", err)
		}
		xs = append(xs, d)
	}
	return And(xs...), nil
}

// ParsePrefix reads an address ("10.0.0.5", "2001:db8::1") or a network
// ("10.0.0.0/8"); a network's host bits are cleared.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or a network: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a network: %w", s, err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: an address with a zone is not in any packet", s)
	}
	return single(a), nil
}

// ParseFlags reads "syn,!ack": the TCP flags that must be set, and, with
// "!", clear.
func ParseFlags(s string) (set, clear uint8, err error) {
	names := map[string]uint8{
		"syn": capture.FlagSYN, "ack": capture.FlagACK, "fin": capture.FlagFIN,
		"rst": capture.FlagRST, "reset": capture.FlagRST, "psh": capture.FlagPSH,
		"push": capture.FlagPSH, "urg": capture.FlagURG,
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		neg := strings.HasPrefix(f, "!")
		bit, ok := names[strings.ToLower(strings.TrimPrefix(f, "!"))]
		if !ok {
			return 0, 0, fmt.Errorf("unknown TCP flag %q: want syn, ack, fin, rst, psh or urg, each with ! for clear", f)
		}
		if neg {
			clear |= bit
		} else {
			set |= bit
		}
	}
	if set&clear != 0 {
		return 0, 0, fmt.Errorf("%q sets and clears the same flag", s)
	}
	return set, clear, nil
}
