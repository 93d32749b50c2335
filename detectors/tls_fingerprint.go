package detectors

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// JA3 and JA3S (Salesforce, BSD-3-Clause) are computed as tshark's
// tls.handshake.ja3_full and ja3s_full: decimal values, GREASE removed,
// "-" within a list and "," between lists. JA4 (FoxIO, BSD-3-Clause)
// follows https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md.
// The other JA4+ methods (JA4S, JA4X, ...) are under another licence and
// are not computed here.

// ja3 returns the JA3 string of a ClientHello and its MD5 in hex.
func ja3(h *clientHello) (full, hash string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(h.version)))
	b.WriteByte(',')
	joinDecimal(&b, h.suites)
	b.WriteByte(',')
	joinDecimal(&b, h.exts)
	b.WriteByte(',')
	joinDecimal(&b, h.groups)
	b.WriteByte(',')
	for i, f := range h.pointFormats {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(int(f)))
	}
	full = b.String()
	sum := md5.Sum([]byte(full))
	return full, hex.EncodeToString(sum[:])
}

// ja3s returns the JA3S string of a ServerHello and its MD5 in hex.
func ja3s(h *serverHello) (full, hash string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(h.version)))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(int(h.suite)))
	b.WriteByte(',')
	joinDecimal(&b, h.exts)
	full = b.String()
	sum := md5.Sum([]byte(full))
	return full, hex.EncodeToString(sum[:])
}

// joinDecimal writes the non-GREASE values of v in decimal, "-" between.
func joinDecimal(b *strings.Builder, v []uint16) {
	first := true
	for _, x := range v {
		if isGREASE(x) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(x)))
	}
}

// ja4 returns the JA4 fingerprint of a ClientHello sent over TCP and its
// raw form (JA4_r: the sorted lists before hashing).
func ja4(h *clientHello) (fp, raw string) {
	suites := withoutGREASE(h.suites)
	exts := withoutGREASE(h.exts)
	sni := "i"
	if h.hasSNI {
		sni = "d"
	}
	a := fmt.Sprintf("t%s%s%02d%02d%s", ja4Version(h), sni, min(len(suites), 99), min(len(exts), 99), ja4ALPN(h.alpn))

	slices.Sort(suites)
	suiteList := hexList(suites)
	// The extension list leaves out SNI and ALPN, already in part a.
	exts = slices.DeleteFunc(exts, func(e uint16) bool { return e == tlsExtServerName || e == tlsExtALPN })
	slices.Sort(exts)
	extList := hexList(exts)
	if sigs := hexList(withoutGREASE(h.sigAlgs)); sigs != "" {
		extList += "_" + sigs
	}
	return a + "_" + ja4Hash(suiteList, len(suites)) + "_" + ja4Hash(extList, len(exts)),
		a + "_" + suiteList + "_" + extList
}

// ja4Version is part a's version: the highest non-GREASE value of
// supported_versions when the hello has that extension, else its legacy
// version.
func ja4Version(h *clientHello) string {
	v := h.version
	if vs := withoutGREASE(h.versions); len(vs) > 0 {
		v = slices.Max(vs)
	}
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// ja4ALPN is part a's ALPN: the first and last characters of the first
// protocol when both are ASCII letters or digits, else the first and last
// characters of its hex form; "00" when there is none.
func ja4ALPN(alpn []string) string {
	if len(alpn) == 0 || alpn[0] == "" {
		return "00"
	}
	p := alpn[0]
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	x := hex.EncodeToString([]byte(p))
	return string([]byte{x[0], x[len(x)-1]})
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// ja4Hash is the first 12 hex digits of the SHA-256 of s, or twelve
// zeros when the list it was made from is empty.
func ja4Hash(s string, n int) string {
	if n == 0 {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

func withoutGREASE(v []uint16) []uint16 {
	out := make([]uint16, 0, len(v))
	for _, x := range v {
		if !isGREASE(x) {
			out = append(out, x)
		}
	}
	return out
}

// hexList writes v as 4-digit lower-case hex values joined by commas.
func hexList(v []uint16) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%04x", x)
	}
	return b.String()
}
