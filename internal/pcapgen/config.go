package pcapgen

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Format is the capture file format written.
type Format string

// The formats Generate writes.
const (
	// FormatPcap is classic pcap with microsecond timestamps.
	FormatPcap Format = "pcap"
	// FormatPcapNano is classic pcap with nanosecond timestamps.
	FormatPcapNano Format = "pcap-ns"
	// FormatPcapNG is pcapng, one section and one interface.
	FormatPcapNG Format = "pcapng"
)

// Link is a link layer Generate writes. (A layers.LinkType would not do:
// BSD loopback's number is 0, a Config's zero value.)
type Link string

// The link layers Generate writes.
const (
	LinkEthernet Link = "ethernet"
	LinkSLL      Link = "sll"      // Linux cooked capture v1
	LinkSLL2     Link = "sll2"     // Linux cooked capture v2
	LinkRaw      Link = "raw"      // raw IP, no link header
	LinkLoopback Link = "loopback" // BSD loopback (DLT_NULL)
)

// LinkType returns the pcap link type number of l.
func (l Link) LinkType() (layers.LinkType, error) {
	switch l {
	case LinkEthernet, "":
		return layers.LinkTypeEthernet, nil
	case LinkSLL:
		return layers.LinkTypeLinuxSLL, nil
	case LinkSLL2:
		return layers.LinkTypeLinuxSLL2, nil
	case LinkRaw:
		return layers.LinkTypeRaw, nil
	case LinkLoopback:
		return layers.LinkTypeNull, nil
	}
	return 0, fmt.Errorf("%w: link %q, want ethernet, sll, sll2, raw or loopback", ErrInvalidConfig, string(l))
}

// Config says what capture to write. The zero value is ready to use: it
// writes 10 MB of little-endian microsecond pcap on Ethernet with seed 1.
type Config struct {
	// Seed makes the capture: the same Config writes the same bytes. Zero means 1.
	Seed int64
	// Format is the file format. Zero means FormatPcap.
	Format Format
	// BigEndian writes a pcap file (not pcapng) in big-endian byte order,
	// as captures made on SPARC or PowerPC hosts are. False means little-endian.
	BigEndian bool
	// Link is the link layer of every frame. Zero means Ethernet. Without
	// Ethernet there are no VLAN tags; raw IP and loopback carry no ARP.
	Link Link
	// Gzip compresses the whole file with gzip.
	Gzip bool

	// TargetSize is the capture's size in bytes (before compression):
	// normal traffic stops once the file reaches it, injected attacks are
	// completed. Zero means 10 MB unless Packets is set.
	TargetSize int64
	// Packets, when positive, stops normal traffic after that many packets
	// (whichever of TargetSize and Packets comes first).
	Packets int

	// Basic writes the original plain mix (DNS for a few names, HTTP, TLS
	// records without handshakes, bulk TCP, NTP, ICMP, ARP) instead of the
	// office mix (see Generate). The edge cases in testdata/ use it.
	Basic bool

	// Hosts is the number of internal hosts (10.x addresses, a quarter of
	// them also with IPv6 fd00::/64 addresses). Zero means 300 (200 with Basic).
	Hosts int
	// Servers is the number of public servers the internal hosts talk to
	// (besides the internal servers). Zero means 12.
	Servers int
	// Flows is the number of distinct TCP and UDP 5-tuples the normal
	// traffic uses: connections reuse them, as ephemeral ports are reused,
	// so the flow count stays bounded however large the file. Zero means 2000.
	Flows int
	// Concurrent is how many connections are open at once, their packets
	// interleaved. Zero means 24.
	Concurrent int
	// Start is the first packet's time. Zero means 2024-03-01T09:00:00Z.
	Start time.Time
	// PacketRate is the mean packets per second (the gaps are exponential).
	// Zero means 2000.
	PacketRate float64
	// VLANShare is the share of connections on a VLAN-tagged segment
	// (Ethernet only). Zero means 0.1; a negative value means none.
	VLANShare float64
	// IPv6Share is the share of connections over IPv6. Zero means 0.1; a
	// negative value means none.
	IPv6Share float64

	// Attacks are injected once the capture reaches Attacks.At of its size.
	Attacks Attacks
}

// Attacks are the attacks injected into the normal traffic. A nil field
// injects nothing.
type Attacks struct {
	// At is where in the capture the attacks start, as a share of
	// TargetSize (or Packets). Zero means 0.3.
	At float64

	PortScan  *PortScan
	Upload    *Upload
	DNSTunnel *DNSTunnel
	HTTPEnum  *HTTPEnum

	// The evasive forms: each changes one habit of the plain attack above.
	// Every one has its own default source, so that all can run at once.

	// FragScan is a SYN scan whose probes travel in 8-byte IP fragments
	// (nmap -f). Default source 10.66.6.11, target 10.0.1.30.
	FragScan *PortScan
	// DecoyScan is a SYN scan sent from Source and, for every probe, from
	// each of Decoys too, all from Source's MAC address (nmap -D); only
	// Source answers the target's SYN-ACKs with a reset. Default source
	// 10.66.6.12, target 10.0.1.40, five public decoys, 500 ports.
	DecoyScan *PortScan
	// ACKScan probes with bare ACKs (nmap -sA): unfiltered ports answer RST,
	// filtered ones (every seventh) do not answer. Default source
	// 10.66.6.13, target 10.0.1.20.
	ACKScan *PortScan
	// SlowScan is a SYN scan with one probe every Interval (nmap -T1
	// style). It starts with the capture, not at At, so that its probes
	// spread over it. Default source 10.66.6.14, target 10.0.1.10, 100
	// ports, 1.5 s.
	SlowScan *PortScan
	// LoginBrute is a password guesser POSTing to one login path, answered
	// 401, with a browser user agent (Burp Intruder; hydra http-post-form
	// with a User-Agent header). Default source 10.66.6.21, server
	// 10.0.1.20, 300 attempts.
	LoginBrute *HTTPAttack
	// SQLInjection is sqlmap with --random-agent: SQL-injection payloads in
	// the query string of a few paths, with a browser user agent. Default
	// source 10.66.6.22, server 10.0.1.10, 40 requests.
	SQLInjection *HTTPAttack
	// TLSExfil is one TLS session (ClientHello with SNI, then application
	// data) that uploads Bytes to an external host. Default source
	// 10.0.3.21, destination 198.51.100.77:443, 40,000,000 bytes.
	TLSExfil *Upload
	// SplitExfil uploads to one external host over many small TLS
	// connections. Default source 10.0.3.22, destination 203.0.113.99:443,
	// 200 connections of 150,000 bytes.
	SplitExfil *SplitUpload
	// ICMPExfil carries data in ICMP echo request payloads (answered by
	// echo replies, which echo them). Default source 10.0.3.23, destination
	// 198.51.100.88, 600 requests of 1,000 bytes.
	ICMPExfil *ICMPExfil
	// DNSExfil carries hex-encoded data in the names of plain A queries
	// under one domain, answered NXDOMAIN. Default client 10.0.3.24,
	// resolver 10.0.0.53, domain "x.telemetry-cache.net", 400 queries.
	DNSExfil *DNSTunnel
}

// HTTPAttack is an attacker sending Requests HTTP requests to one server
// over keep-alive connections.
type HTTPAttack struct {
	Source, Server netip.Addr
	Port           uint16 // zero means 80
	Requests       int    // zero means the attack's default
	UserAgent      string // zero means the attack's default
}

// SplitUpload is Connections TCP connections from Source to Dest, each
// uploading BytesPer bytes in TLS application data records.
type SplitUpload struct {
	Source, Dest netip.Addr
	Port         uint16 // zero means 443
	Connections  int    // zero means 200
	BytesPer     int    // zero means 150,000
}

// ICMPExfil is Packets echo requests from Source to Dest, each carrying
// Size bytes of encoded data.
type ICMPExfil struct {
	Source, Dest netip.Addr
	Packets      int // zero means 600
	Size         int // payload bytes per request; zero means 1000
}

// PortScan is a vertical TCP SYN scan: one SYN to each of Ports distinct
// ports of Target, answered by RST-ACK, or SYN-ACK for the ports in Open
// (then reset by the scanner, as nmap -sS does).
type PortScan struct {
	Source, Target netip.Addr // zero: 10.66.6.6 and 10.0.1.10 (other defaults for the evasive forms)
	Ports          int        // distinct ports probed; zero means 1000
	Open           []uint16   // ports that answer SYN-ACK; nil means 22 and 80 when probed
	// SourcePort is the scanner's fixed source port (nmap -g 53 passes
	// firewalls that trust DNS). Zero means a random high port.
	SourcePort uint16
	// Decoys are spoofed sources that send every probe too (DecoyScan
	// only). Nil means 5 public addresses.
	Decoys []netip.Addr
	// Interval is the time between probes (SlowScan only). Zero means 1.5 s.
	Interval time.Duration
}

// Upload is one TCP connection that sends Bytes of payload from Source to
// an external Dest, with handshake and teardown.
type Upload struct {
	Source, Dest netip.Addr // zero: 10.0.3.7 and 203.0.113.66
	Port         uint16     // zero means 443
	Bytes        int64      // payload bytes sent; zero means 5,000,000
}

// DNSTunnel is Queries DNS TXT queries, each for a distinct name made of
// long base32 labels under Domain, each answered with a TXT record.
type DNSTunnel struct {
	Client, Resolver netip.Addr // zero: 10.0.4.20 and 10.0.0.53
	Domain           string     // zero means "t.exfil-cdn.net"
	Queries          int        // zero means 300
}

// HTTPEnum is a scanner asking one HTTP server for Requests distinct
// paths over keep-alive connections; most answers are 404.
type HTTPEnum struct {
	Source, Server netip.Addr // zero: 10.66.6.7 and 10.0.1.20
	Port           uint16     // zero means 80
	Requests       int        // zero means 400
	UserAgent      string     // zero means "gobuster/3.6"
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("invalid pcapgen configuration")

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Format == "" {
		c.Format = FormatPcap
	}
	if c.Link == "" {
		c.Link = LinkEthernet
	}
	if c.TargetSize == 0 && c.Packets <= 0 {
		c.TargetSize = 10 << 20
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Basic {
		def(&c.Hosts, 200)
	}
	def(&c.Hosts, 300)
	def(&c.Servers, 12)
	def(&c.Flows, 2000)
	def(&c.Concurrent, 24)
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	}
	if c.PacketRate == 0 {
		c.PacketRate = 2000
	}
	if c.VLANShare == 0 {
		c.VLANShare = 0.1
	}
	if c.IPv6Share == 0 {
		c.IPv6Share = 0.1
	}
	if c.Attacks.At == 0 {
		c.Attacks.At = 0.3
	}
	return c
}

// Validate reports every field of c (after defaults) that cannot work.
func (c Config) Validate() error {
	c = c.Defaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	switch c.Format {
	case FormatPcap, FormatPcapNano:
	case FormatPcapNG:
		if c.BigEndian {
			bad("BigEndian", "only pcap files are written big-endian")
		}
	default:
		bad("Format", "%q, want pcap, pcap-ns or pcapng", c.Format)
	}
	if _, err := c.Link.LinkType(); err != nil {
		errs = append(errs, err)
	}
	if c.TargetSize < 0 {
		bad("TargetSize", "%d, want 0 or more", c.TargetSize)
	}
	if c.Hosts < 4 || c.Hosts > 60000 {
		bad("Hosts", "%d, want 4 to 60000", c.Hosts)
	}
	if c.Servers < 1 || c.Servers > 1000 {
		bad("Servers", "%d, want 1 to 1000", c.Servers)
	}
	if c.Flows < 1 {
		bad("Flows", "%d, want at least 1", c.Flows)
	}
	if c.Concurrent < 1 || c.Concurrent > c.Flows {
		bad("Concurrent", "%d, want 1 to Flows (%d)", c.Concurrent, c.Flows)
	}
	if c.PacketRate <= 0 {
		bad("PacketRate", "%v, want more than 0", c.PacketRate)
	}
	if c.VLANShare > 1 || c.IPv6Share > 1 {
		bad("VLANShare/IPv6Share", "shares are at most 1")
	}
	if c.Attacks.At < 0 || c.Attacks.At > 1 {
		bad("Attacks.At", "%v, want 0 to 1", c.Attacks.At)
	}
	a := c.Attacks
	for _, x := range []struct {
		name string
		s    *PortScan
	}{{"PortScan", a.PortScan}, {"FragScan", a.FragScan}, {"DecoyScan", a.DecoyScan}, {"ACKScan", a.ACKScan}, {"SlowScan", a.SlowScan}} {
		name, s := x.name, x.s
		if s != nil && (s.Ports < 0 || s.Ports > 65535) {
			bad("Attacks."+name+".Ports", "%d, want 1 to 65535", s.Ports)
		}
		if s != nil && s.Interval < 0 {
			bad("Attacks."+name+".Interval", "%v, want 0 or more", s.Interval)
		}
	}
	for _, x := range []struct {
		name string
		h    *HTTPAttack
	}{{"LoginBrute", a.LoginBrute}, {"SQLInjection", a.SQLInjection}} {
		name, h := x.name, x.h
		if h != nil && h.Requests < 0 {
			bad("Attacks."+name+".Requests", "%d, want 0 or more", h.Requests)
		}
	}
	if u := c.Attacks.TLSExfil; u != nil && u.Bytes < 0 {
		bad("Attacks.TLSExfil.Bytes", "%d, want 0 or more", u.Bytes)
	}
	if u := c.Attacks.SplitExfil; u != nil && (u.Connections < 0 || u.BytesPer < 0) {
		bad("Attacks.SplitExfil", "%d connections of %d bytes, want 0 or more", u.Connections, u.BytesPer)
	}
	if x := c.Attacks.ICMPExfil; x != nil && (x.Packets < 0 || x.Size < 0 || x.Size > 1400) {
		bad("Attacks.ICMPExfil", "%d packets of %d bytes, want 0 or more of at most 1400", x.Packets, x.Size)
	}
	if d := c.Attacks.DNSExfil; d != nil && d.Queries < 0 {
		bad("Attacks.DNSExfil.Queries", "%d, want 0 or more", d.Queries)
	}
	// The evasive attacks are written over IPv4 (fragments are IPv4's).
	v4 := func(field string, as ...netip.Addr) {
		for _, x := range as {
			if x.IsValid() && !x.Is4() {
				bad(field, "%v: the evasive attacks take IPv4 addresses", x)
			}
		}
	}
	for _, x := range []struct {
		name string
		s    *PortScan
	}{{"FragScan", a.FragScan}, {"DecoyScan", a.DecoyScan}, {"ACKScan", a.ACKScan}, {"SlowScan", a.SlowScan}} {
		if x.s != nil {
			v4("Attacks."+x.name, append([]netip.Addr{x.s.Source, x.s.Target}, x.s.Decoys...)...)
		}
	}
	if h := a.LoginBrute; h != nil {
		v4("Attacks.LoginBrute", h.Source, h.Server)
	}
	if h := a.SQLInjection; h != nil {
		v4("Attacks.SQLInjection", h.Source, h.Server)
	}
	if u := a.TLSExfil; u != nil {
		v4("Attacks.TLSExfil", u.Source, u.Dest)
	}
	if u := a.SplitExfil; u != nil {
		v4("Attacks.SplitExfil", u.Source, u.Dest)
	}
	if x := a.ICMPExfil; x != nil {
		v4("Attacks.ICMPExfil", x.Source, x.Dest)
	}
	if d := a.DNSExfil; d != nil {
		v4("Attacks.DNSExfil", d.Client, d.Resolver)
	}
	if u := c.Attacks.Upload; u != nil && u.Bytes < 0 {
		bad("Attacks.Upload.Bytes", "%d, want 0 or more", u.Bytes)
	}
	if d := c.Attacks.DNSTunnel; d != nil && d.Queries < 0 {
		bad("Attacks.DNSTunnel.Queries", "%d, want 0 or more", d.Queries)
	}
	if h := c.Attacks.HTTPEnum; h != nil && h.Requests < 0 {
		bad("Attacks.HTTPEnum.Requests", "%d, want 0 or more", h.Requests)
	}
	return errors.Join(errs...)
}

func (s PortScan) defaults() PortScan {
	s.Source = orAddr(s.Source, "10.66.6.6")
	s.Target = orAddr(s.Target, "10.0.1.10")
	if s.Ports == 0 {
		s.Ports = 1000
	}
	if s.Open == nil {
		s.Open = []uint16{22, 80}
	}
	return s
}

func (u Upload) defaults() Upload {
	u.Source = orAddr(u.Source, "10.0.3.7")
	u.Dest = orAddr(u.Dest, "203.0.113.66")
	if u.Port == 0 {
		u.Port = 443
	}
	if u.Bytes == 0 {
		u.Bytes = 5_000_000
	}
	return u
}

func (d DNSTunnel) defaults() DNSTunnel {
	d.Client = orAddr(d.Client, "10.0.4.20")
	d.Resolver = orAddr(d.Resolver, "10.0.0.53")
	if d.Domain == "" {
		d.Domain = "t.exfil-cdn.net"
	}
	if d.Queries == 0 {
		d.Queries = 300
	}
	return d
}

func (h HTTPEnum) defaults() HTTPEnum {
	h.Source = orAddr(h.Source, "10.66.6.7")
	h.Server = orAddr(h.Server, "10.0.1.20")
	if h.Port == 0 {
		h.Port = 80
	}
	if h.Requests == 0 {
		h.Requests = 400
	}
	if h.UserAgent == "" {
		h.UserAgent = "gobuster/3.6"
	}
	return h
}

func orAddr(a netip.Addr, def string) netip.Addr {
	if a.IsValid() {
		return a
	}
	return netip.MustParseAddr(def)
}
