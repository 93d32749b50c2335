package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/filter"
)

// filterFlags are the packet filters every analysis command takes. The
// analyses see only the packets that pass all of them.
type filterFlags struct {
	host, net, proto, port string
	since, until           string
	tcpdump                string
}

func (ff *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&ff.host, "host", "", "keep IP packets from or to this address or network (10.0.0.5, 10.0.0.0/24; -f 'host X' also keeps ARP, as tcpdump does)")
	fs.StringVar(&ff.net, "net", "", "keep packets from or to this network (10.0.0.0/24, 2001:db8::/32)")
	fs.StringVar(&ff.port, "port", "", "keep TCP and UDP packets from or to this port")
	fs.StringVar(&ff.proto, "proto", "", "keep this protocol: tcp, udp, icmp, icmpv6, dns or arp")
	fs.StringVar(&ff.since, "since", "", "keep packets from this time: RFC 3339 (2024-05-01T10:00:00Z), Unix seconds, or +DURATION after the capture's first packet (+5m)")
	fs.StringVar(&ff.until, "until", "", "keep packets before this time (same forms as --since)")
	fs.StringVar(&ff.tcpdump, "filter", "", "keep packets matching this tcpdump filter ('tcp port 80 and host 10.0.0.5')")
	fs.StringVar(&ff.tcpdump, "f", "", "short for --filter")
}

// set says whether any filter was given.
func (ff *filterFlags) set() bool {
	return *ff != filterFlags{}
}

// build returns the filter, and how it was written, for a capture whose
// first packet is at start (for --since/--until +DURATION). A malformed
// flag is a usage error that names it.
func (ff *filterFlags) build(start time.Time) (filter.Expr, string, error) {
	var o filter.Options
	var words []string
	word := func(name, v string) {
		if v != "" {
			words = append(words, "--"+name+" "+v)
		}
	}
	if ff.host != "" && ff.net != "" {
		return filter.Expr{}, "", usagef("--host and --net: give one (both take an address or a network)")
	}
	o.Host = ff.host + ff.net
	word("host", ff.host)
	word("net", ff.net)
	if ff.net != "" && !strings.Contains(ff.net, "/") {
		return filter.Expr{}, "", usagef("--net %q: want a network with its prefix length (10.0.0.0/24)", ff.net)
	}
	o.Proto = ff.proto
	word("proto", ff.proto)
	if ff.port != "" {
		p, err := filter.ParsePort(ff.port)
		if err != nil {
			return filter.Expr{}, "", usagef("--port: %v", err)
		}
		o.Port = p
		word("port", ff.port)
	}
	var err error
	if o.Since, err = parseWhen(ff.since, start); err != nil {
		return filter.Expr{}, "", usagef("--since: %v", err)
	}
	word("since", ff.since)
	if o.Until, err = parseWhen(ff.until, start); err != nil {
		return filter.Expr{}, "", usagef("--until: %v", err)
	}
	word("until", ff.until)
	x, err := filter.FromOptions(o)
	if err != nil {
		return filter.Expr{}, "", usagef("%v", err)
	}
	if ff.tcpdump != "" {
		t, err := filter.ParseTcpdump(ff.tcpdump)
		if err != nil {
			return filter.Expr{}, "", usagef("--filter: %v", err)
		}
		x = filter.And(x, t)
		words = append(words, "--filter '"+ff.tcpdump+"'")
	}
	return x, strings.Join(words, " "), nil
}

// parseWhen reads a time: "" (none), +DURATION after start, or what
// filter.ParseTime reads (RFC 3339, Unix seconds).
func parseWhen(s string, start time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%q: want +DURATION (+90s, +5m, +1h30m) after the capture's first packet", s)
		}
		if start.IsZero() {
			return time.Time{}, fmt.Errorf("%q: the capture has no packet to count from", s)
		}
		return start.Add(d), nil
	}
	return filter.ParseTime(s)
}
