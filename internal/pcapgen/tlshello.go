package pcapgen

import "encoding/binary"

// A TLS 1.3 handshake as browsers send it, built byte by byte so that a
// dissector (tshark, a JA3 reader, an SNI matcher) reads what it reads in
// real captures: a ClientHello record with server_name, supported_groups,
// ALPN, supported_versions and key_share; a ServerHello record choosing
// TLS_AES_128_GCM_SHA256 with x25519; then ChangeCipherSpec and encrypted
// application data records.

// appendU16 appends v big-endian.
func appendU16(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// appendExt appends a TLS extension of type t with body.
func appendExt(b []byte, t int, body []byte) []byte {
	b = appendU16(b, t)
	b = appendU16(b, len(body))
	return append(b, body...)
}

// tlsRecordOf wraps a handshake message of type typ in a record.
func tlsRecordOf(recVersion, typ byte, msg []byte) []byte {
	out := make([]byte, 0, 9+len(msg))
	out = append(out, 0x16, 0x03, recVersion)
	out = appendU16(out, 4+len(msg))
	out = append(out, typ, byte(len(msg)>>16), byte(len(msg)>>8), byte(len(msg)))
	return append(out, msg...)
}

// randomBytes returns n bytes of the seeded filler, from a drawn offset.
func (g *gen) randomBytes(n int) []byte {
	off := g.rng.IntN(len(g.bin) - n)
	return g.bin[off : off+n]
}

// clientHello returns a ClientHello record asking for sni.
func (g *gen) clientHello(sni string) []byte {
	m := make([]byte, 0, 512)
	m = append(m, 0x03, 0x03)
	m = append(m, g.randomBytes(32)...)
	m = append(m, 32)
	m = append(m, g.randomBytes(32)...)
	suites := []int{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}
	m = appendU16(m, 2*len(suites))
	for _, s := range suites {
		m = appendU16(m, s)
	}
	m = append(m, 1, 0) // compression: null

	var ext []byte
	// server_name: list length, host_name type 0, name length, name.
	sn := appendU16(nil, len(sni)+3)
	sn = append(sn, 0)
	sn = appendU16(sn, len(sni))
	sn = append(sn, sni...)
	ext = appendExt(ext, 0x0000, sn)
	ext = appendExt(ext, 0x0017, nil)                                                          // extended_master_secret
	ext = appendExt(ext, 0xff01, []byte{0})                                                    // renegotiation_info
	ext = appendExt(ext, 0x000a, []byte{0, 8, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19}) // supported_groups
	ext = appendExt(ext, 0x000b, []byte{1, 0})                                                 // ec_point_formats
	ext = appendExt(ext, 0x0023, nil)                                                          // session_ticket
	ext = appendExt(ext, 0x0010, []byte{0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'})
	ext = appendExt(ext, 0x0005, []byte{1, 0, 0, 0, 0}) // status_request
	ks := []byte{0, 36, 0x00, 0x1d, 0, 32}
	ks = append(ks, g.randomBytes(32)...)
	ext = appendExt(ext, 0x0033, ks)                                   // key_share: x25519
	ext = appendExt(ext, 0x002b, []byte{4, 0x03, 0x04, 0x03, 0x03})    // supported_versions
	ext = appendExt(ext, 0x000d, []byte{0, 8, 4, 3, 8, 4, 4, 1, 5, 1}) // signature_algorithms
	ext = appendExt(ext, 0x002d, []byte{1, 1})                         // psk_key_exchange_modes
	m = appendU16(m, len(ext))
	m = append(m, ext...)
	return tlsRecordOf(0x01, 0x01, m)
}

// serverHello returns a ServerHello record that echoes the client's
// session id length, a ChangeCipherSpec record, and the header of an
// application data record of n bytes (the encrypted extensions,
// certificate and finished messages), whose body the caller adds.
func (g *gen) serverHello(n int) []byte {
	m := make([]byte, 0, 128)
	m = append(m, 0x03, 0x03)
	m = append(m, g.randomBytes(32)...)
	m = append(m, 32)
	m = append(m, g.randomBytes(32)...)
	m = appendU16(m, 0x1301)
	m = append(m, 0)
	var ext []byte
	ext = appendExt(ext, 0x002b, []byte{0x03, 0x04})
	ks := []byte{0x00, 0x1d, 0, 32}
	ks = append(ks, g.randomBytes(32)...)
	ext = appendExt(ext, 0x0033, ks)
	m = appendU16(m, len(ext))
	m = append(m, ext...)
	out := tlsRecordOf(0x03, 0x02, m)
	out = append(out, 0x14, 0x03, 0x03, 0x00, 0x01, 0x01)
	return append(out, 0x17, 0x03, 0x03, byte(n>>8), byte(n))
}

// tlsSession returns the messages of a TLS 1.3 connection to sni, up to
// and including the client's Finished: what comes before the
// application data.
func (g *gen) tlsHandshake(sni string) []message {
	n := 2800 + g.rng.IntN(1500)
	fin := []byte{0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03, 0x03, 0x00, 53}
	return []message{
		{fromClient: true, hdr: g.clientHello(sni)},
		{hdr: g.serverHello(n), body: n, filler: g.bin},
		{fromClient: true, hdr: fin, body: 53, filler: g.bin},
	}
}
