package detectors

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/gopacket/gopacket/layers"
)

// FuzzMeasureSubdomain: the name measures take any bytes a capture holds
// without panicking, and their counts stay consistent.
func FuzzMeasureSubdomain(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a.b", "4.3.2.1.zen", "z0pla\xc1\xe2\xf3\x84", "d3k8x7q2m1abcd.cloudfront.net", "\xff.com"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, sub []byte) {
		st := measureSubdomain(sub)
		if st.labels < 1 || st.labelChars > len(sub) || st.encoded > st.labels || st.maxLabel > len(sub) {
			t.Errorf("measureSubdomain(%q) = %+v", sub, st)
		}
		if st.entropy < 0 || st.entropy > 8 {
			t.Errorf("entropy %v of %q", st.entropy, sub)
		}
		if k := labelEncoding(sub); k < encNone || k >= encCount {
			t.Errorf("labelEncoding(%q) = %d", sub, k)
		}
		_ = endsInTLD(sub)
	})
}

// FuzzDNSNameMeasures sends each line of names as a query (its first
// byte picks the client and the record type) through the detector, with
// small bounds so that sampling and eviction run: no panic, every
// measure within its range, every table within its bound, and the
// findings, report and warnings made from any state.
func FuzzDNSNameMeasures(f *testing.F) {
	for _, s := range []string{
		"\x00a.b.example.com\n\x01zz.Example.COM.\n\x02.\n\x03..\n\x04\n",
		"\x10aGVsbG8gd29ybGQ.t.example.org\n\x11MZXW6YTBOI.t.example.org\n\x12deadbeefcafebabe0123456789abcdef.t.example.org",
		"\x20" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".co.uk\n\x21\xff\xfe.\xc1.com\n\x224.3.2.1.zen.spamhaus.org",
		"\x30x.y\n\x31x.z\n\x32x.w\n\x33x.v\n\x34x.u\n\x35x.t\n\x36x.s\n\x37x.r\n\x38x.q\n\x39x.p",
	} {
		f.Add([]byte(s))
	}
	qtypes := []layers.DNSType{layers.DNSTypeA, layers.DNSTypeTXT, layers.DNSTypeNULL, layers.DNSTypeAAAA, 65, 255}
	f.Fuzz(func(t *testing.T, names []byte) {
		d := newDNSDetector().configure(DNSConfig{MaxDomains: 4, MaxPairs: 6})
		d.lim = dnsLimits{pairNames: 3, domainNames: 5, distinctNames: 7, hashes: 12}
		p := &capture.Packet{Layers: capture.LayerIPv4 | capture.LayerUDP | capture.LayerDNS, Dst: netip.MustParseAddr("10.0.0.53"), Time: time.Unix(100, 0)}
		q := &layers.DNS{Questions: []layers.DNSQuestion{{}}}
		p.DNS = q
		for line := range bytes.SplitSeq(names, []byte{'\n'}) {
			if len(line) == 0 {
				continue
			}
			p.Src = netip.AddrFrom4([4]byte{10, 0, 0, line[0] % 5})
			q.Questions[0].Name, q.Questions[0].Type = line[1:], qtypes[int(line[0])%len(qtypes)]
			p.Time = p.Time.Add(time.Second)
			q.QR = false
			d.Packet(p)
			q.QR, q.ResponseCode = true, layers.DNSResponseCode(line[0]%6)
			p.Src, p.Dst = p.Dst, p.Src
			d.Packet(p)
			p.Src, p.Dst = p.Dst, p.Src
		}
		if len(d.domains) > 4 || len(d.pairs) > 6 || len(d.domainList) != len(d.domains) || len(d.pairList) != len(d.pairs) {
			t.Fatalf("domains %d/%d, pairs %d/%d; bounds 4, 6", len(d.domains), len(d.domainList), len(d.pairs), len(d.pairList))
		}
		if held := heldHashes(d); held != d.hashes || held > d.lim.hashes {
			t.Fatalf("samples hold %d hashes, counted %d, bound %d", held, d.hashes, d.lim.hashes)
		}
		for _, dom := range d.domainList {
			g := &dom.names
			if g.entropyMax < 0 || g.entropyMax > 8 || g.meanEntropy() < 0 || g.meanEntropy() > 8 || len(g.longestName) > 255+cutMarkMax ||
				g.encodedShare() < 0 || g.encodedShare() > 1 || g.unique() < 0 {
				t.Fatalf("domain %q measures out of range: %+v", dom.name, g)
			}
		}
		for _, pr := range d.pairList {
			if len(pr.samples) > dnsSampleNames || pr.names.meanLabel() < 0 || pr.names.maxLabel > pr.names.maxNameLen || len(pr.names.longestName) > 255+cutMarkMax {
				t.Fatalf("pair %v/%s: %d samples, mean label %v", pr.client, pr.domain.name, len(pr.samples), pr.names.meanLabel())
			}
		}
		_ = d.Findings(Config{}.Defaults(), nil)
		_ = d.report(Config{})
		_ = d.warnings()
	})
}
