package mcpserver

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/textsafe"
)

// TLSArgs are list_tls' arguments.
type TLSArgs struct {
	Target
	Host string `json:"host,omitempty" jsonschema:"Only handshakes with this IP address as client or server. Default: every handshake."`
	SNI  string `json:"sni,omitempty" jsonschema:"Only handshakes whose server name contains this text (case-insensitive). Default: every handshake."`
	PageArgs
}

// TLSHandshake is one handshake as list_tls returns it, every string from
// the packets escaped and truncated.
type TLSHandshake struct {
	// Packet is the frame (1-based, as tshark counts) that completed the
	// ClientHello.
	Packet     int       `json:"packet"`
	Time       time.Time `json:"time"`
	Client     string    `json:"client"`
	ClientPort uint16    `json:"client_port"`
	Server     string    `json:"server"`
	ServerPort uint16    `json:"server_port"`
	// SNI is the server name asked for; empty when none was sent.
	SNI               string   `json:"sni"`
	Version           string   `json:"version"`
	SupportedVersions []string `json:"supported_versions"`
	ALPN              []string `json:"alpn"`
	// CipherSuites lists the suites offered (the first 64), names where
	// known, else hex; CipherSuitesTotal counts them all.
	CipherSuites      []string `json:"cipher_suites"`
	CipherSuitesTotal int      `json:"cipher_suites_total"`
	JA3               string   `json:"ja3"`
	JA3Hash           string   `json:"ja3_hash"`
	JA4               string   `json:"ja4"`
	// ServerHello is true when the server's answer was read.
	ServerHello   bool                      `json:"server_hello"`
	HelloRetry    bool                      `json:"hello_retry,omitempty"`
	ChosenVersion string                    `json:"chosen_version,omitempty"`
	ChosenSuite   string                    `json:"chosen_suite,omitempty"`
	ServerALPN    string                    `json:"server_alpn,omitempty"`
	JA3SHash      string                    `json:"ja3s_hash,omitempty"`
	Certificate   *detectors.TLSCertificate `json:"certificate,omitempty"`
}

// TLSResult is list_tls' answer.
type TLSResult struct {
	CaptureInfo
	// Stats counts every handshake of the capture, listed or not.
	Stats detectors.TLSStats `json:"stats"`
	// Handshakes is this page of the (filtered) handshakes, in capture
	// order.
	Handshakes []TLSHandshake `json:"handshakes"`
	Page
	Truncated bool `json:"truncated"`
}

func (r *TLSResult) shrink(keep float64) bool {
	return cutPage(&r.Handshakes, &r.Page, &r.Truncated, keep)
}

func (s *Server) tlsTool() toolSpec[TLSArgs, TLSResult] {
	return toolSpec[TLSArgs, TLSResult]{
		name:  "list_tls",
		title: "List TLS handshakes",
		desc: "Every TLS handshake: client, server, SNI, versions, ALPN, cipher suites offered and chosen, JA3, JA3S and JA4, certificate subject and issuer when in clear. Filter by host or SNI; paged. " +
			"Call it to see who talked TLS to whom, with which client software." + untrusted,
		extra: merge(targetExtra, pageExtra),
		args:  func() TLSArgs { return TLSArgs{} },
		run:   s.tlsHandshakes,
	}
}

func (s *Server) tlsHandshakes(ctx context.Context, args TLSArgs) (*TLSResult, error) {
	offset, limit, err := pageArgs(args.PageArgs)
	if err != nil {
		return nil, err
	}
	var host netip.Addr
	if args.Host != "" {
		if host, err = netip.ParseAddr(args.Host); err != nil {
			return nil, badArg("host %q is not an IP address", textsafe.Escape(args.Host, 64))
		}
	}
	l, err := s.load(ctx, args.Target)
	if err != nil {
		return nil, err
	}
	all, stats := l.a.TLSHandshakes()
	if host.IsValid() || args.SNI != "" {
		sni := strings.ToLower(args.SNI)
		var mine []*detectors.TLSHandshake
		for _, h := range all {
			if host.IsValid() && h.Client != host && h.Server != host {
				continue
			}
			if sni != "" && !strings.Contains(strings.ToLower(h.SNI), sni) {
				continue
			}
			mine = append(mine, h)
		}
		all = mine
	}
	res := &TLSResult{CaptureInfo: l.info, Stats: stats}
	var pg []*detectors.TLSHandshake
	pg, res.Page = page(all, offset, limit)
	res.Handshakes = make([]TLSHandshake, len(pg))
	for i, h := range pg {
		res.Handshakes[i] = safeHandshake(h)
	}
	return res, nil
}

// safeHandshake copies a handshake with every string from the capture
// escaped: server names, ALPN values and certificate names are the
// sender's to choose.
func safeHandshake(h *detectors.TLSHandshake) TLSHandshake {
	out := TLSHandshake{
		Packet: h.Packet, Time: h.Time,
		Client: h.Client.String(), ClientPort: h.ClientPort, Server: h.Server.String(), ServerPort: h.ServerPort,
		SNI:               textsafe.Escape(h.SNI, DefaultStringMax),
		Version:           h.Version,
		SupportedVersions: nonNil(h.SupportedVersions),
		ALPN:              nonNil(textsafe.EscapeAll(h.ALPN, 64)),
		CipherSuites:      nonNil(h.CipherSuites),
		CipherSuitesTotal: h.CipherSuitesTotal,
		JA3:               h.JA3, JA3Hash: h.JA3Hash, JA4: h.JA4,
		ServerHello: h.ServerHello, HelloRetry: h.HelloRetry,
		ChosenVersion: h.ChosenVersion, ChosenSuite: h.ChosenSuite,
		ServerALPN: textsafe.Escape(h.ServerALPN, 64),
		JA3SHash:   h.JA3SHash,
	}
	if c := h.Certificate; c != nil {
		out.Certificate = &detectors.TLSCertificate{
			SubjectCN: textsafe.Escape(c.SubjectCN, DefaultStringMax), SubjectO: textsafe.Escape(c.SubjectO, DefaultStringMax),
			IssuerCN: textsafe.Escape(c.IssuerCN, DefaultStringMax), IssuerO: textsafe.Escape(c.IssuerO, DefaultStringMax),
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// tlsEntries is how many TLS handshakes an analysis keeps, for the cache's
// size estimate.
func tlsEntries(a *detectors.Analysis) int {
	hs, _ := a.TLSHandshakes()
	return len(hs)
}
