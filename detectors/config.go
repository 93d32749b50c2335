package detectors

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config holds every threshold of every analysis. The zero value is the
// documented default for every field, so Config{} is ready to use; Validate
// says what is wrong with a Config a user filled in.
type Config struct {
	// TopN is how many entries the summary's top lists keep. Zero means 10.
	TopN int
	// TimelineInterval is the timeline's bucket width: a whole number of
	// seconds, or below a second a whole number of milliseconds (the pass
	// then counts packets per interval, so Analysis.TimelineAt re-cuts
	// only to its multiples). Zero means 60 s.
	TimelineInterval time.Duration

	PortScan PortScanConfig
	HTTP     HTTPConfig
	Exfil    ExfilConfig
	DNS      DNSConfig
	TLS      TLSConfig

	// Limits bounds the state one pass keeps (flows, hosts); its zero
	// value is the defaults.
	Limits Limits

	// NoFrames skips the second pass that locates each finding's evidence
	// frames (report.Finding.Frames): a capture with findings is read once
	// instead of twice. DisplayFilter and MITRE are still set, and
	// Analysis.LocateEvidence can find the frames later. False, the zero
	// value, locates them.
	NoFrames bool

	// HashKey is the secret that keys the hashes of the sampled sets (DNS
	// names, HTTP paths, addresses past their bounds), so that no sender
	// can choose names a sample never keeps. Parts of a capture
	// accumulated apart (reconpcap shard, NATS workers) merge only when
	// made with the same key; give each the same one. Empty, the zero
	// value, means a random key for each analysis, which is all one
	// process needs.
	HashKey string
}

// TLSConfig bounds the TLS handshake listing.
type TLSConfig struct {
	// MaxHandshakes bounds how many handshakes are kept for listing (the
	// counts always cover every one). Zero means 10000.
	MaxHandshakes int
}

// PortScanConfig holds the port scan thresholds.
type PortScanConfig struct {
	// Threshold is how many distinct destination ports one source must
	// probe on one target to be a vertical scan. Zero means 10.
	Threshold int
	// HighThreshold is the port count from which a scan is high severity.
	// Zero means 50.
	HighThreshold int
	// SweepHosts is how many hosts one source must probe, unanswered or
	// refused, on one port to be a horizontal sweep; it is also how many
	// addresses an ICMP echo or ARP sweep must ask for. Zero means 20.
	SweepHosts int
	// SweepHighHosts is the host count from which a sweep is high
	// severity, as HighThreshold is for ports. Zero means 50, or SweepHosts
	// when that is higher.
	SweepHighHosts int
}

// HTTPConfig holds the HTTP enumeration thresholds.
type HTTPConfig struct {
	// RequestThreshold is how many requests one source sends one server to
	// be enumeration by volume. Zero means 50.
	RequestThreshold int
	// PathThreshold is how many unique paths (query removed) one source asks
	// one server for to be enumeration. Zero means 20.
	PathThreshold int
	// MaxRequests bounds how many individual requests are kept for listing
	// (counts always cover every request). Zero means 20000.
	MaxRequests int

	// The bounds below keep the detector's memory within a few hundred
	// MiB whatever the capture holds; what they drop is counted and named
	// in the Analysis warnings. Raise them for captures of very busy
	// servers on a machine with memory to spare. Defaults leaves them
	// zero: they are resolved where used (see newHTTPBounds).

	// MaxConnections bounds the TCP connections whose HTTP parse state is
	// kept at once. Connections end at FIN or RST; past the bound the
	// longest idle are dropped (their next request starts afresh, the
	// answers of their pending requests are not matched). Zero means
	// 16,384.
	MaxConnections int
	// MaxBufferedBytes bounds the bytes of partial lines (a header split
	// across segments) held over every connection; past it a split line
	// is not read. Zero means 64 MiB.
	MaxBufferedBytes int
	// MaxPairs bounds the (source, server) pairs whose counters are kept.
	// Past it the least active pairs without a hostile signal (no
	// scanner, injection, enumeration path, credentials or odd method)
	// are dropped first, with their counts. Zero means 50,000. What the
	// pairs keep besides counters (samples, user agents, hosts) is
	// bounded to 192 MiB together in the same way.
	MaxPairs int
	// MaxDistinct bounds the hashes of distinct paths, Host values and
	// credentials held over every pair. Past it a pair counts at most
	// 4×PathThreshold (at least 64) of each exactly, then a lower bound.
	// Zero means 4,000,000 (about 100 MiB).
	MaxDistinct int
}

// ExfilConfig holds the data exfiltration thresholds.
type ExfilConfig struct {
	// ThresholdBytes is the TCP payload one source must upload to one
	// destination to be reported. Zero means 1,000,000 (10^6) bytes.
	ThresholdBytes int64
	// HighBytes is the upload from which exfiltration is high severity.
	// Zero means 10,000,000 bytes.
	HighBytes int64
	// InternalNetworks are networks to treat as internal besides RFC 1918,
	// 100.64.0.0/10, loopback, link-local and IPv6 ULA. Nil adds none.
	InternalNetworks []netip.Prefix
}

// DNSConfig holds the DNS tunnelling thresholds.
type DNSConfig struct {
	// MinQueries is how many queries under one registered domain are
	// needed before it can be judged a tunnel. Zero means 10.
	MinQueries int
	// MinUniqueSubdomains is how many distinct names under the domain are
	// needed. Zero means 10.
	MinUniqueSubdomains int
	// LongLabel is the label length (characters) that counts as long.
	// Zero means 30.
	LongLabel int
	// EntropyThreshold is the character entropy (bits per character) of
	// the subdomain part above which names look encoded. Zero means 3.5.
	EntropyThreshold float64
	// RatePerMinute is the query rate (queries per minute over the
	// client's active span under the domain, a span under a minute
	// counting as one minute) that counts as a tunnel's pace. Zero means 60.
	RatePerMinute float64

	// The bounds below keep the detector's memory within a few hundred
	// MiB whatever the capture holds; what they drop is counted and named
	// in the Analysis warnings. Defaults leaves them zero: they are
	// resolved where used (see dnsDetector.configure).

	// MaxDomains bounds the registered domains tracked. Past it the least
	// significant quarter (fewest queries and distinct names; the smallest name
	// among equals) is dropped with its (client, domain) pairs, so a
	// flood of random domains cannot push a tunnel out. Zero means
	// 100,000.
	MaxDomains int
	// MaxPairs bounds the (client, registered domain) pairs tracked, and
	// drops the least significant quarter past it as MaxDomains does.
	// Zero means 100,000.
	MaxPairs int
	// MaxSampledNames bounds the name hashes that every pair's and
	// domain's distinct-name sample hold together. Past it every sample
	// keeps one name in two, then one in four...: distinct counts become
	// estimates and keep growing, so a tunnel of millions of names is
	// still seen. Zero means 2,000,000 (about 50 MiB).
	MaxSampledNames int
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.TopN, 10)
	c.Limits = c.Limits.defaults()
	if c.TimelineInterval == 0 {
		c.TimelineInterval = 60 * time.Second
	}
	def(&c.PortScan.Threshold, 10)
	def(&c.PortScan.HighThreshold, 50)
	def(&c.PortScan.SweepHosts, 20)
	def(&c.PortScan.SweepHighHosts, max(50, c.PortScan.SweepHosts))
	def(&c.HTTP.RequestThreshold, 50)
	def(&c.HTTP.PathThreshold, 20)
	def(&c.HTTP.MaxRequests, 20000)
	if c.Exfil.ThresholdBytes == 0 {
		c.Exfil.ThresholdBytes = 1_000_000
	}
	if c.Exfil.HighBytes == 0 {
		c.Exfil.HighBytes = 10_000_000
	}
	def(&c.TLS.MaxHandshakes, 10000)
	def(&c.DNS.MinQueries, 10)
	def(&c.DNS.MinUniqueSubdomains, 10)
	def(&c.DNS.LongLabel, 30)
	if c.DNS.EntropyThreshold == 0 {
		c.DNS.EntropyThreshold = 3.5
	}
	if c.DNS.RatePerMinute == 0 {
		c.DNS.RatePerMinute = 60
	}
	return c
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("invalid detector configuration")

// Validate reports every field of c (after defaults) that cannot work.
func (c Config) Validate() error {
	c = c.Defaults()
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	if c.TopN < 1 {
		bad("TopN", "%d, want at least 1", c.TopN)
	}
	switch iv := c.TimelineInterval; {
	case iv < time.Millisecond || (iv < time.Second && iv%time.Millisecond != 0):
		bad("TimelineInterval", "%v, want at least 1ms, in whole milliseconds below a second", iv)
	case iv > time.Second && iv%time.Second != 0:
		bad("TimelineInterval", "%v, want a whole number of seconds above a second", iv)
	}
	if c.PortScan.Threshold < 2 {
		bad("PortScan.Threshold", "%d, want at least 2 ports", c.PortScan.Threshold)
	}
	if c.PortScan.HighThreshold < c.PortScan.Threshold {
		bad("PortScan.HighThreshold", "%d is below Threshold %d", c.PortScan.HighThreshold, c.PortScan.Threshold)
	}
	if c.PortScan.SweepHosts < 2 {
		bad("PortScan.SweepHosts", "%d, want at least 2 hosts", c.PortScan.SweepHosts)
	}
	if c.PortScan.SweepHighHosts < c.PortScan.SweepHosts {
		bad("PortScan.SweepHighHosts", "%d is below SweepHosts %d", c.PortScan.SweepHighHosts, c.PortScan.SweepHosts)
	}
	if c.Limits.MaxFlows < 1 {
		bad("Limits.MaxFlows", "%d, want at least 1 flow", c.Limits.MaxFlows)
	}
	if c.Limits.MaxHosts < 2 {
		bad("Limits.MaxHosts", "%d, want at least 2", c.Limits.MaxHosts)
	}
	if c.HTTP.RequestThreshold < 1 {
		bad("HTTP.RequestThreshold", "%d, want at least 1", c.HTTP.RequestThreshold)
	}
	if c.HTTP.PathThreshold < 1 {
		bad("HTTP.PathThreshold", "%d, want at least 1", c.HTTP.PathThreshold)
	}
	if c.HTTP.MaxRequests < 0 {
		bad("HTTP.MaxRequests", "%d, want 0 or more", c.HTTP.MaxRequests)
	}
	if c.TLS.MaxHandshakes < 0 {
		bad("TLS.MaxHandshakes", "%d, want 0 or more", c.TLS.MaxHandshakes)
	}
	if c.HTTP.MaxConnections < 0 || c.HTTP.MaxBufferedBytes < 0 || c.HTTP.MaxPairs < 0 || c.HTTP.MaxDistinct < 0 {
		bad("HTTP", "MaxConnections, MaxBufferedBytes, MaxPairs and MaxDistinct must be 0 (the default) or more")
	}
	if c.Exfil.ThresholdBytes < 1 {
		bad("Exfil.ThresholdBytes", "%d, want at least 1 byte", c.Exfil.ThresholdBytes)
	}
	if c.Exfil.HighBytes < c.Exfil.ThresholdBytes {
		bad("Exfil.HighBytes", "%d is below ThresholdBytes %d", c.Exfil.HighBytes, c.Exfil.ThresholdBytes)
	}
	for _, p := range c.Exfil.InternalNetworks {
		if !p.IsValid() {
			bad("Exfil.InternalNetworks", "%v is not a valid network", p)
		}
	}
	if c.DNS.MinQueries < 1 || c.DNS.MinUniqueSubdomains < 1 || c.DNS.LongLabel < 1 || c.DNS.EntropyThreshold <= 0 || c.DNS.RatePerMinute <= 0 {
		bad("DNS", "thresholds must be positive")
	}
	if c.DNS.MaxDomains < 0 || c.DNS.MaxPairs < 0 || c.DNS.MaxSampledNames < 0 {
		bad("DNS", "MaxDomains, MaxPairs and MaxSampledNames must be 0 (the default) or more")
	}
	return errors.Join(errs...)
}
