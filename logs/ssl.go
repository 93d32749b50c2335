package logs

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// SSLSchema is ssl.log (the tls log): one record per TCP connection whose
// ClientHello was read, in capture order. ts is the connection's first
// packet, as Zeek's; version and cipher are the server's choice (unset
// when its ServerHello was not seen), in Zeek's spelling (TLSv12);
// next_protocol the ALPN protocol the server chose; ja3, ja3s and ja4 the
// fingerprints (ja3 and ja3s as MD5, as Zeek's ja3 package logs them);
// subject and issuer the leaf certificate's common name and organisation
// (CN=...,O=...), readable only before TLS 1.3. Zeek's established and
// resumed are left out: the handshake is read no further than the
// certificate.
var SSLSchema = Schema{Path: "ssl", Fields: withID(
	Field{"version", "string"}, Field{"cipher", "string"}, Field{"server_name", "string"},
	Field{"next_protocol", "string"}, Field{"ja3", "string"}, Field{"ja3s", "string"}, Field{"ja4", "string"},
	Field{"subject", "string"}, Field{"issuer", "string"},
)}

func writeSSL(ctx context.Context, path string, w *Writer) ([]string, error) {
	a, idx, err := analyze(ctx, path)
	if a == nil {
		return nil, err
	}
	warnings := append([]string{}, a.Warnings...)
	hs, stats := a.TLSHandshakes()
	if stats.Dropped > 0 {
		warnings = append(warnings, fmt.Sprintf("%d TLS handshakes beyond the first %d are not in the log", stats.Dropped, logMaxRecords))
	}
	for _, h := range hs {
		client, server := netip.AddrPortFrom(h.Client, h.ClientPort), netip.AddrPortFrom(h.Server, h.ServerPort)
		f := idx.lookup(6, client, server)
		ts := h.Time
		if f != nil {
			ts = f.First
		}
		v := append(connID(f, ts, client, server),
			optional(zeekVersion(h.ChosenVersion)), optional(h.ChosenSuite), optional(h.SNI), optional(h.ServerALPN),
			optional(h.JA3Hash), optional(h.JA3SHash), optional(h.JA4), nil, nil)
		if c := h.Certificate; c != nil {
			v[len(v)-2], v[len(v)-1] = optional(dn(c.SubjectCN, c.SubjectO)), optional(dn(c.IssuerCN, c.IssuerO))
		}
		if werr := w.Write(v); werr != nil {
			return warnings, werr
		}
	}
	return warnings, err
}

// optional is s, or unset when s is empty.
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// zeekVersion spells a version as Zeek's ssl.log does ("TLS 1.2" is
// TLSv12); an unknown one is left as it is.
func zeekVersion(v string) string {
	switch v {
	case "SSL 3.0":
		return "SSLv3"
	case "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3":
		return "TLSv1" + v[len(v)-1:]
	}
	return v
}

// dn writes a name's common name and organisation as a distinguished
// name, commas inside a value escaped as RFC 4514 says.
func dn(cn, o string) string {
	esc := strings.NewReplacer(`\`, `\\`, `,`, `\,`)
	var parts []string
	if cn != "" {
		parts = append(parts, "CN="+esc.Replace(cn))
	}
	if o != "" {
		parts = append(parts, "O="+esc.Replace(o))
	}
	return strings.Join(parts, ",")
}
