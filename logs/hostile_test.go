package logs_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestHostileDNSName: a query name holding the zeek format's separators,
// a newline, a lone "-" label and a terminal escape stays one record
// whose fields, unescaped, are the bytes sent.
func TestHostileDNSName(t *testing.T) {
	names := []string{"a\tb\nc.example", "-", "x,y\x1b[31m.evil", "\\x41.example"}
	path := filepath.Join(t.TempDir(), "hostile.pcap")
	writeDNSQueries(t, path, names)
	rows := zeekLogAt(t, "dns", path)
	if len(rows) != len(names) {
		t.Fatalf("%d records for %d queries", len(rows), len(names))
	}
	for i, r := range rows {
		if got := unescapeZeek(r["query"]); got != names[i] {
			t.Errorf("query %d: %q reads back as %q", i, r["query"], got)
		}
	}
}

var zeekEscape = regexp.MustCompile(`\\x[0-9a-f]{2}`)

// unescapeZeek undoes Zeek's \xNN escaping.
func unescapeZeek(s string) string {
	return zeekEscape.ReplaceAllStringFunc(s, func(e string) string {
		b, _ := strconv.ParseUint(e[2:], 16, 8)
		return string([]byte{byte(b)})
	})
}

// writeDNSQueries writes a pcap of one UDP DNS query per name, each from
// its own port.
func writeDNSQueries(t *testing.T, path string, names []string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 5}, DstIP: net.IP{10, 0, 0, 53}}
		udp := &layers.UDP{SrcPort: layers.UDPPort(40000 + i), DstPort: 53}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		dns := &layers.DNS{ID: uint16(i + 1), RD: true, Questions: []layers.DNSQuestion{{Name: []byte(n), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, dns); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
}
