// Command pcapgen writes synthetic packet captures for tests and benchmarks.
//
//	go run ./cmd/pcapgen -o big.pcap -size 1GB -seed 1
//	go run ./cmd/pcapgen -o scan.pcapng -format pcapng -size 20MB -scan-ports 1000 -upload-bytes 5000000
//	go run ./cmd/pcapgen -o attacked.pcap -size 300MB -all-attacks
//	go run ./cmd/pcapgen -edge gen_truncated.pcap -o testdata/gen_truncated.pcap
//
// The normal traffic is the office mix (see internal/pcapgen); -basic
// writes the older plain mix.
//
// It prints the capture's ground truth (packets, unique IPs, injected
// attacks) as JSON on stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/agents-of-shield/reconpcap/internal/pcapgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pcapgen:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pcapgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out       = fs.String("o", "", "output file (required)")
		size      = fs.String("size", "", "target file size, e.g. 100MB, 1GB, 512MiB (default 10MB unless -packets)")
		packets   = fs.Int("packets", 0, "stop normal traffic after this many packets")
		seed      = fs.Int64("seed", 1, "random seed: the same flags write the same bytes")
		format    = fs.String("format", "pcap", "pcap, pcap-ns (nanosecond pcap) or pcapng")
		bigEndian = fs.Bool("big-endian", false, "write pcap in big-endian byte order")
		link      = fs.String("link", "ethernet", "link type: ethernet, sll, sll2, raw or loopback")
		gz        = fs.Bool("gzip", false, "gzip-compress the file")
		hosts     = fs.Int("hosts", 0, "internal hosts (default 200)")
		servers   = fs.Int("servers", 0, "public servers (default 12)")
		flows     = fs.Int("flows", 0, "distinct TCP/UDP 5-tuples of normal traffic (default 2000)")
		at        = fs.Float64("attacks-at", 0, "where attacks start, as a share of the size (default 0.3)")
		scanPorts = fs.Int("scan-ports", 0, "inject a vertical SYN scan of this many ports")
		upload    = fs.Int64("upload-bytes", 0, "inject an upload of this many bytes to an external host")
		tunnel    = fs.Int("dns-tunnel", 0, "inject a DNS tunnel of this many queries")
		enum      = fs.Int("http-enum", 0, "inject HTTP enumeration of this many requests")
		ua        = fs.String("http-enum-ua", "", "user agent of the HTTP enumeration (default gobuster/3.6)")
		scanSrc   = fs.String("scan-src", "", "scanner address (default 10.66.6.6)")
		scanDst   = fs.String("scan-dst", "", "scanned address (default 10.0.1.10)")
		basic     = fs.Bool("basic", false, "write the older plain mix instead of the office mix")
		all       = fs.Bool("all-attacks", false, "inject every attack below with its defaults (flags given set their sizes)")
		fragScan  = fs.Int("frag-scan", 0, "inject a SYN scan of this many ports in 8-byte IP fragments (nmap -f)")
		decoyScan = fs.Int("decoy-scan", 0, "inject a SYN scan of this many ports with 5 decoy sources (nmap -D)")
		ackScan   = fs.Int("ack-scan", 0, "inject an ACK scan of this many ports (nmap -sA)")
		slowScan  = fs.Int("slow-scan", 0, "inject a slow SYN scan of this many ports")
		slowEvery = fs.Duration("slow-scan-interval", 0, "time between the slow scan's probes (default 1.5s)")
		scanSport = fs.Uint("scan-sport", 0, "fixed source port of the scans (nmap -g), default a random high port")
		brute     = fs.Int("login-brute", 0, "inject this many login POSTs answered 401 (hydra)")
		sqli      = fs.Int("sqli", 0, "inject this many SQL-injection requests with a browser user agent (sqlmap --random-agent)")
		tlsExfil  = fs.Int64("tls-exfil", 0, "inject a TLS upload of this many bytes to an external host")
		split     = fs.Int("split-exfil", 0, "inject an upload split over this many TLS connections of 150 KB")
		icmpExfil = fs.Int("icmp-exfil", 0, "inject this many ICMP echo requests carrying 1000 bytes of data")
		dnsExfil  = fs.Int("dns-exfil", 0, "inject this many DNS A queries carrying hex data under one domain")
		edge      = fs.String("edge", "", "write the named edge case instead (see -list-edge)")
		listEdge  = fs.Bool("list-edge", false, "list the edge cases and exit")
		quiet     = fs.Bool("q", false, "do not print the ground truth")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listEdge {
		for _, e := range pcapgen.EdgeCases() {
			fmt.Fprintf(stdout, "%s\t%s\n", e.Name, e.What)
		}
		return nil
	}
	if *out == "" {
		fs.Usage()
		return errors.New("-o FILE is required")
	}
	if *edge != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		st, err := pcapgen.WriteEdgeCase(*edge, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out)
			return err
		}
		if *quiet {
			return nil
		}
		return printStats(stdout, st)
	}
	cfg := pcapgen.Config{Seed: *seed, Format: pcapgen.Format(*format), BigEndian: *bigEndian, Gzip: *gz, Basic: *basic,
		Packets: *packets, Hosts: *hosts, Servers: *servers, Flows: *flows}
	if *size != "" {
		n, err := parseSize(*size)
		if err != nil {
			return err
		}
		cfg.TargetSize = n
	}
	cfg.Link = pcapgen.Link(strings.ToLower(*link))
	cfg.Attacks.At = *at
	if *scanSport > 65535 {
		return fmt.Errorf("-scan-sport %d: want a port", *scanSport)
	}
	if *all {
		// Zero sizes take each attack's default.
		for _, n := range []*int{scanPorts, tunnel, enum, fragScan, decoyScan, ackScan, slowScan, brute, sqli, split, icmpExfil, dnsExfil} {
			if *n == 0 {
				*n = -1
			}
		}
		for _, n := range []*int64{upload, tlsExfil} {
			if *n == 0 {
				*n = -1
			}
		}
	}
	// size turns a flag into an attack size: -1 (from -all-attacks) means the default.
	size0 := func(n int) int { return max(n, 0) }
	sport := uint16(*scanSport)
	var err error
	if *scanPorts != 0 {
		s := &pcapgen.PortScan{Ports: size0(*scanPorts), SourcePort: sport}
		if s.Source, err = parseAddr(*scanSrc); err != nil {
			return err
		}
		if s.Target, err = parseAddr(*scanDst); err != nil {
			return err
		}
		cfg.Attacks.PortScan = s
	}
	if *upload != 0 {
		cfg.Attacks.Upload = &pcapgen.Upload{Bytes: max(*upload, 0)}
	}
	if *tunnel != 0 {
		cfg.Attacks.DNSTunnel = &pcapgen.DNSTunnel{Queries: size0(*tunnel)}
	}
	if *enum != 0 {
		cfg.Attacks.HTTPEnum = &pcapgen.HTTPEnum{Requests: size0(*enum), UserAgent: *ua}
	}
	a := &cfg.Attacks
	if *fragScan != 0 {
		a.FragScan = &pcapgen.PortScan{Ports: size0(*fragScan), SourcePort: sport}
	}
	if *decoyScan != 0 {
		a.DecoyScan = &pcapgen.PortScan{Ports: size0(*decoyScan), SourcePort: sport}
	}
	if *ackScan != 0 {
		a.ACKScan = &pcapgen.PortScan{Ports: size0(*ackScan), SourcePort: sport}
	}
	if *slowScan != 0 {
		a.SlowScan = &pcapgen.PortScan{Ports: size0(*slowScan), SourcePort: sport, Interval: *slowEvery}
	}
	if *brute != 0 {
		a.LoginBrute = &pcapgen.HTTPAttack{Requests: size0(*brute)}
	}
	if *sqli != 0 {
		a.SQLInjection = &pcapgen.HTTPAttack{Requests: size0(*sqli)}
	}
	if *tlsExfil != 0 {
		a.TLSExfil = &pcapgen.Upload{Bytes: max(*tlsExfil, 0)}
	}
	if *split != 0 {
		a.SplitExfil = &pcapgen.SplitUpload{Connections: size0(*split)}
	}
	if *icmpExfil != 0 {
		a.ICMPExfil = &pcapgen.ICMPExfil{Packets: size0(*icmpExfil)}
	}
	if *dnsExfil != 0 {
		a.DNSExfil = &pcapgen.DNSTunnel{Queries: size0(*dnsExfil)}
	}
	st, err := pcapgen.WriteFile(ctx, *out, cfg)
	if err != nil || *quiet {
		return err
	}
	return printStats(stdout, st)
}

func printStats(w io.Writer, st *pcapgen.Stats) error {
	if st == nil {
		_, err := fmt.Fprintln(w, "null")
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	return netip.ParseAddr(s)
}

// parseSize reads 100MB (10^6 units), 512MiB (2^20 units) or a plain byte count.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}}
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, x := range units {
		if strings.HasSuffix(u, x.suffix) {
			u, mult = strings.TrimSuffix(u, x.suffix), x.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KB, MB, GB, KiB, MiB, GiB)", s)
	}
	return int64(f * float64(mult)), nil
}
