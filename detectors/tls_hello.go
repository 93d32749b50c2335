package detectors

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
)

// TLS handshake message types and extensions read here.
const (
	tlsHandshakeRecord = 0x16
	tlsClientHello     = 1
	tlsServerHello     = 2
	tlsCertificate     = 11
	tlsServerHelloDone = 14

	tlsExtServerName     = 0x0000
	tlsExtGroups         = 0x000a
	tlsExtPointFormats   = 0x000b
	tlsExtSigAlgs        = 0x000d
	tlsExtALPN           = 0x0010
	tlsExtSupportedVers  = 0x002b
	tlsMaxListed         = 64  // suites, extensions, groups, ... kept per hello
	tlsMaxALPN           = 8   // ALPN protocols kept
	tlsMaxNameLen        = 255 // SNI and ALPN values are cut here
	tlsMaxCertNameLength = 256 // certificate subject and issuer names are cut here
)

// errShortHello marks a hello whose declared lengths run past its end.
var errShortHello = errors.New("tls: handshake message shorter than its lengths")

// helloRetryRandom is the ServerHello random of a HelloRetryRequest
// (RFC 8446, 4.1.3).
var helloRetryRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// isGREASE reports whether v is one of the reserved GREASE values
// (RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa), which fingerprints ignore.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// clientHello is what a ClientHello says, GREASE values included (the
// fingerprints drop them; the lists keep the order sent).
type clientHello struct {
	version      uint16
	suites       []uint16
	exts         []uint16
	groups       []uint16
	pointFormats []uint8
	sigAlgs      []uint16
	versions     []uint16 // supported_versions
	sni          string
	hasSNI       bool
	alpn         []string
}

// serverHello is what a ServerHello says.
type serverHello struct {
	version   uint16 // legacy version
	selected  uint16 // supported_versions, 0 when absent
	suite     uint16
	exts      []uint16
	alpn      string
	helloRetr bool
}

// reader reads big-endian fields from a message without ever reading past
// its end: a short field sets err and yields zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n > len(r.b) || n < 0 {
		r.err = errShortHello
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	if v := r.take(1); v != nil {
		return int(v[0])
	}
	return 0
}

func (r *reader) u16() int {
	if v := r.take(2); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *reader) u24() int {
	if v := r.take(3); v != nil {
		return int(v[0])<<16 | int(v[1])<<8 | int(v[2])
	}
	return 0
}

// u16s reads a list of 16-bit values n bytes long, keeping at most max.
func u16s(b []byte, max int) []uint16 {
	out := make([]uint16, 0, min(len(b)/2, max))
	for i := 0; i+1 < len(b) && len(out) < max; i += 2 {
		out = append(out, binary.BigEndian.Uint16(b[i:]))
	}
	return out
}

// parseClientHello reads a ClientHello body (after the 4-byte handshake
// header). Fields past a damaged extension are left empty; an error means
// the fixed part did not fit.
func parseClientHello(body []byte) (clientHello, error) {
	var h clientHello
	r := reader{b: body}
	h.version = uint16(r.u16())
	r.take(32)     // random
	r.take(r.u8()) // session id
	suites := r.take(r.u16())
	r.take(r.u8()) // compression methods
	if r.err != nil {
		return h, r.err
	}
	h.suites = u16s(suites, 1<<15) // every suite: the counts of JA4 need them all
	if len(r.b) < 2 {
		return h, nil // an old hello without extensions
	}
	exts := reader{b: r.take(r.u16())}
	if r.err != nil {
		exts = reader{b: r.b} // a length past the end: read what is there
	}
	for len(exts.b) >= 4 {
		typ := uint16(exts.u16())
		data := exts.take(exts.u16())
		if exts.err != nil {
			break
		}
		h.exts = append(h.exts, typ)
		h.readExt(typ, data)
	}
	return h, nil
}

// readExt reads the client extensions the fingerprints and the listing use.
func (h *clientHello) readExt(typ uint16, data []byte) {
	e := reader{b: data}
	switch typ {
	case tlsExtServerName:
		h.hasSNI = true
		list := reader{b: e.take(e.u16())}
		for len(list.b) >= 3 {
			kind := list.u8()
			name := list.take(list.u16())
			if list.err == nil && kind == 0 {
				h.sni = cut(name, tlsMaxNameLen)
				break
			}
		}
	case tlsExtGroups:
		h.groups = u16s(e.take(e.u16()), 1<<15)
	case tlsExtPointFormats:
		h.pointFormats = bytes.Clone(e.take(e.u8()))
	case tlsExtSigAlgs:
		h.sigAlgs = u16s(e.take(e.u16()), 1<<15)
	case tlsExtSupportedVers:
		h.versions = u16s(e.take(e.u8()), 1<<7)
	case tlsExtALPN:
		h.alpn = readALPN(e.take(e.u16()))
	}
}

// readALPN reads a protocol name list, keeping every name's bytes (cut)
// for the first few names.
func readALPN(b []byte) []string {
	var out []string
	r := reader{b: b}
	for len(r.b) > 0 && len(out) < tlsMaxALPN {
		name := r.take(r.u8())
		if r.err != nil {
			break
		}
		out = append(out, cut(name, tlsMaxNameLen))
	}
	return out
}

// parseServerHello reads a ServerHello body.
func parseServerHello(body []byte) (serverHello, error) {
	var h serverHello
	r := reader{b: body}
	h.version = uint16(r.u16())
	random := r.take(32)
	r.take(r.u8())
	h.suite = uint16(r.u16())
	r.u8() // compression
	if r.err != nil {
		return h, r.err
	}
	h.helloRetr = bytes.Equal(random, helloRetryRandom)
	if len(r.b) < 2 {
		return h, nil
	}
	exts := reader{b: r.take(r.u16())}
	if r.err != nil {
		exts = reader{b: r.b}
	}
	for len(exts.b) >= 4 && len(h.exts) < tlsMaxListed {
		typ := uint16(exts.u16())
		data := exts.take(exts.u16())
		if exts.err != nil {
			break
		}
		h.exts = append(h.exts, typ)
		e := reader{b: data}
		switch typ {
		case tlsExtSupportedVers:
			h.selected = uint16(e.u16())
		case tlsExtALPN:
			if names := readALPN(e.take(e.u16())); len(names) > 0 {
				h.alpn = names[0]
			}
		}
	}
	return h, nil
}

// TLSCertificate is the subject and issuer of a server's leaf
// certificate (common name and first organisation), each cut at 256
// bytes.
type TLSCertificate struct {
	SubjectCN string `json:"subject_cn,omitempty"`
	SubjectO  string `json:"subject_o,omitempty"`
	IssuerCN  string `json:"issuer_cn,omitempty"`
	IssuerO   string `json:"issuer_o,omitempty"`
}

// parseCertificate reads the leaf of a TLS 1.2 Certificate message body.
// ok is false when the leaf is missing or is not a certificate x509 reads.
func parseCertificate(body []byte) (names TLSCertificate, ok bool) {
	r := reader{b: body}
	list := reader{b: r.take(r.u24())}
	der := list.take(list.u24())
	if r.err != nil || list.err != nil || len(der) == 0 {
		return names, false
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return names, false
	}
	first := func(s []string) string {
		if len(s) == 0 {
			return ""
		}
		return cut([]byte(s[0]), tlsMaxCertNameLength)
	}
	return TLSCertificate{
		SubjectCN: cut([]byte(c.Subject.CommonName), tlsMaxCertNameLength),
		SubjectO:  first(c.Subject.Organization),
		IssuerCN:  cut([]byte(c.Issuer.CommonName), tlsMaxCertNameLength),
		IssuerO:   first(c.Issuer.Organization),
	}, true
}
