package streams

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// seg is one TCP segment of a synthetic capture. seq is relative to the
// sender's initial sequence number (a SYN has seq 0, its first data byte
// seq 1). A lost segment is simply left out of the list.
type seg struct {
	fromClient bool
	seq        uint32
	flags      uint8
	data       string
}

// span is the sequence space a segment takes, relative: [from, to).
type span struct{ from, to uint32 }

func (s seg) span() span {
	to := s.seq + uint32(len(s.data))
	if s.flags&(capture.FlagSYN|capture.FlagFIN) != 0 {
		to++
	}
	return span{s.seq, to}
}

// contiguousEnd is where the run of spans that starts at the lowest one
// ends; 1 (the first data byte) when there are none.
func contiguousEnd(spans []span) uint32 {
	if len(spans) == 0 {
		return 1
	}
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	end := s[0].to
	for _, x := range s[1:] {
		if x.from > end {
			break
		}
		end = max(end, x.to)
	}
	return end
}

// holes lists the sequence ranges between spans that no span covers.
func holes(spans []span) []span {
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var out []span
	for i := 1; i < len(s); i++ {
		end := s[0].to
		for _, x := range s[:i] {
			end = max(end, x.to)
		}
		if s[i].from > end {
			out = append(out, span{end, s[i].from})
		}
	}
	return out
}

const (
	synClientISN = 1_000_000
	synServerISN = 3_000_000_000 // past 2^31, so sequence arithmetic must wrap right
)

// writeTCPCapture writes segs as Ethernet frames between client and
// server into a pcap file in dir and returns its path.
func writeTCPCapture(t testing.TB, dir, name string, client, server netip.AddrPort, segs []seg) string {
	t.Helper()
	return writeTCPCaptureSnap(t, dir, name, client, server, segs, 0)
}

// writeTCPCaptureSnap is writeTCPCapture with a snap length: frames longer
// than snap (when it is not zero) are cut to it, as tcpdump -s does.
func writeTCPCaptureSnap(t testing.TB, dir, name string, client, server netip.AddrPort, segs []seg, snap int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	// A side acknowledges what its peer sent before, as far as it is
	// contiguous; a lost segment (a hole no segment of the list ever fills)
	// reached it, only the capture missed it.
	seen, lost := map[bool][]span{}, map[bool][]span{}
	for _, side := range []bool{true, false} {
		var all []span
		for _, s := range segs {
			if s.fromClient == side {
				all = append(all, s.span())
			}
		}
		lost[side] = holes(all)
	}
	for i, s := range segs {
		src, dst := client, server
		isn, peerISN := uint32(synClientISN), uint32(synServerISN)
		if !s.fromClient {
			src, dst = server, client
			isn, peerISN = peerISN, isn
		}
		tcp := &layers.TCP{
			SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
			Seq: isn + s.seq, Window: 65535,
			SYN: s.flags&capture.FlagSYN != 0, ACK: s.flags&capture.FlagACK != 0, FIN: s.flags&capture.FlagFIN != 0,
			RST: s.flags&capture.FlagRST != 0, PSH: s.flags&capture.FlagPSH != 0,
		}
		if tcp.ACK {
			tcp.Ack = peerISN + contiguousEnd(append(seen[!s.fromClient], lost[!s.fromClient]...))
		}
		seen[s.fromClient] = append(seen[s.fromClient], s.span())
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
		var ip gopacket.SerializableLayer
		if src.Addr().Is4() {
			eth.EthernetType = layers.EthernetTypeIPv4
			ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
			_ = tcp.SetNetworkLayerForChecksum(ip4)
			ip = ip4
		} else {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
			_ = tcp.SetNetworkLayerForChecksum(ip6)
			ip = ip6
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(s.data)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * 10 * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if snap > 0 && len(b) > snap {
			b = b[:snap]
			ci.CaptureLength = snap
		}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

var (
	synClient = netip.MustParseAddrPort("10.0.0.1:40000")
	synServer = netip.MustParseAddrPort("10.0.0.2:80")
)

// messyConversation has no SYN (the capture starts mid-connection), the
// client's segments Y and Z swapped, the server's B and C swapped, A
// retransmitted, and D (10 bytes at server offset 30) lost.
var messyConversation = []seg{
	{true, 1, capture.FlagACK | capture.FlagPSH, "XXXXXXXX"},          // 1: client 0-8
	{true, 17, capture.FlagACK | capture.FlagPSH, "ZZZZZZZZ"},         // 2: client 16-24, ahead of Y
	{false, 1, capture.FlagACK, "AAAAAAAAAA"},                         // 3: server 0-10
	{true, 9, capture.FlagACK | capture.FlagPSH, "YYYYYYYY"},          // 4: client 8-16, fills the hole
	{false, 21, capture.FlagACK, "CCCCCCCCCC"},                        // 5: server 20-30, ahead of B
	{false, 11, capture.FlagACK, "BBBBBBBBBB"},                        // 6: server 10-20, fills the hole
	{false, 1, capture.FlagACK, "AAAAAAAAAA"},                         // 7: A again: a retransmission
	{false, 41, capture.FlagACK | capture.FlagPSH, "EEEEEEEEEE"},      // 8: server 40-50; D (30-40) lost
	{true, 25, capture.FlagACK | capture.FlagFIN, ""},                 // 9
	{false, 51, capture.FlagACK | capture.FlagFIN, ""},                // 10
	{true, 26, capture.FlagACK, ""},                                   // 11
	{false, 1, capture.FlagACK | capture.FlagPSH, "A-late-duplicate"}, // 12: after both FINs
}

// addrsCompare lets go-cmp compare netip values, which have unexported fields.
var addrsCompare = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})

func extract(t *testing.T, path string, q Query) *Result {
	t.Helper()
	res, err := Extract(context.Background(), path, q)
	if err != nil {
		t.Fatalf("Extract(%s, %s): %v", path, q, err)
	}
	return res
}

func TestExtractStreamSyntheticReordersAndMarksGaps(t *testing.T) {
	path := writeTCPCapture(t, t.TempDir(), "messy.pcap", synClient, synServer, messyConversation)
	// The query names the server first: the hosts match in either order.
	res := extract(t, path, Query{Src: synServer.Addr(), Dst: synClient.Addr(), Port: 80})

	if got, want := string(res.Client.Data), "XXXXXXXXYYYYYYYYZZZZZZZZ"; got != want {
		t.Errorf("client bytes = %q, want %q", got, want)
	}
	if got, want := string(res.Server.Data), "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCEEEEEEEEEE"; got != want {
		t.Errorf("server bytes = %q, want %q", got, want)
	}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(packet int) time.Time { return base.Add(time.Duration(packet-1) * 10 * time.Millisecond) }
	wantChunks := []Chunk{
		{Direction: FromClient, Offset: 0, Length: 8, Time: at(1), Packet: 1, Data: []byte("XXXXXXXX")},
		{Direction: FromServer, Offset: 0, Length: 10, Time: at(3), Packet: 3, Data: []byte("AAAAAAAAAA")},
		{Direction: FromClient, Offset: 8, Length: 16, Time: at(4), Packet: 4, Data: []byte("YYYYYYYYZZZZZZZZ")},
		{Direction: FromServer, Offset: 10, Length: 20, Time: at(6), Packet: 6, Data: []byte("BBBBBBBBBBCCCCCCCCCC")},
		{Direction: FromServer, Offset: 30, Time: at(8), Packet: 8, Gap: true, Missing: 10},
		{Direction: FromServer, Offset: 30, Length: 10, Time: at(8), Packet: 8, Data: []byte("EEEEEEEEEE")},
	}
	if diff := gocmp.Diff(wantChunks, res.Chunks, addrsCompare); diff != "" {
		t.Errorf("chunks mismatch (-want +got):\n%s", diff)
	}
	wantClient := Half{Endpoint: synClient, Bytes: 24, Data: res.Client.Data}
	wantServer := Half{Endpoint: synServer, Bytes: 40, Missing: 10, Gaps: 1, Data: res.Server.Data}
	if diff := gocmp.Diff(wantClient, res.Client, addrsCompare); diff != "" {
		t.Errorf("client half mismatch (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(wantServer, res.Server, addrsCompare); diff != "" {
		t.Errorf("server half mismatch (-want +got):\n%s", diff)
	}
	wantConn := Connection{
		Index: 0, Client: synClient, Server: synServer, ClientKnown: false,
		First: at(1), Last: at(12), FirstPacket: 1, LastPacket: 12,
		ClientPackets: 5, ServerPackets: 7, ClientBytes: 24, ServerBytes: 66, End: "fin",
	}
	if diff := gocmp.Diff([]Connection{wantConn}, res.Connections, addrsCompare); diff != "" {
		t.Errorf("connections mismatch (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(wantConn, res.Connection, addrsCompare); diff != "" {
		t.Errorf("chosen connection mismatch (-want +got):\n%s", diff)
	}
	if res.Packets != len(messyConversation) {
		t.Errorf("Packets = %d, want %d", res.Packets, len(messyConversation))
	}
}

func TestExtractStreamHandshakeAndIPv6(t *testing.T) {
	client := netip.MustParseAddrPort("[2001:db8::1]:51000")
	server := netip.MustParseAddrPort("[2001:db8::2]:8443")
	segs := []seg{
		{true, 0, capture.FlagSYN, ""},
		{false, 0, capture.FlagSYN | capture.FlagACK, ""},
		{true, 1, capture.FlagACK, ""},
		{true, 1, capture.FlagACK | capture.FlagPSH, "hello"},
		{false, 1, capture.FlagACK | capture.FlagPSH, "world!"},
		{true, 6, capture.FlagACK | capture.FlagRST, ""},
	}
	path := writeTCPCapture(t, t.TempDir(), "v6.pcap", client, server, segs)
	res := extract(t, path, Query{Src: client.Addr(), Dst: server.Addr(), Port: 8443})
	if string(res.Client.Data) != "hello" || string(res.Server.Data) != "world!" {
		t.Errorf("bytes = %q / %q, want hello / world!", res.Client.Data, res.Server.Data)
	}
	if !res.Client.SYN || !res.Server.SYN {
		t.Errorf("SYN seen = %v / %v, want true for both", res.Client.SYN, res.Server.SYN)
	}
	c := res.Connection
	if c.Client != client || c.Server != server || !c.ClientKnown || c.End != "rst" {
		t.Errorf("connection = %+v, want client %s, server %s, known, ended by rst", c, client, server)
	}
	// Port 0 matches any port; the client's port matches too.
	for _, port := range []uint16{0, 51000} {
		r := extract(t, path, Query{Src: server.Addr(), Dst: client.Addr(), Port: port})
		if string(r.Client.Data) != "hello" {
			t.Errorf("port %d: client bytes %q, want hello", port, r.Client.Data)
		}
	}
}

// A SYN with a new sequence number after a FIN opens a second connection on
// the same endpoints; Index chooses between them.
func TestExtractStreamPortReuseListsConnections(t *testing.T) {
	first := []seg{
		{true, 0, capture.FlagSYN, ""},
		{false, 0, capture.FlagSYN | capture.FlagACK, ""},
		{true, 0, capture.FlagSYN, ""}, // a retransmitted SYN is the same connection
		{true, 1, capture.FlagACK | capture.FlagPSH, "first request"},
		{false, 1, capture.FlagACK | capture.FlagPSH, "first answer"},
		{true, 14, capture.FlagACK | capture.FlagFIN, ""},
		{false, 13, capture.FlagACK | capture.FlagFIN, ""},
	}
	var segs []seg
	segs = append(segs, first...)
	// The second connection's sequence numbers start 100000 further on.
	for _, s := range []seg{
		{true, 100000, capture.FlagSYN, ""},
		{false, 100000, capture.FlagSYN | capture.FlagACK, ""},
		{true, 100001, capture.FlagACK | capture.FlagPSH, "second request"},
		{false, 100001, capture.FlagACK | capture.FlagPSH, "second answer!"},
	} {
		segs = append(segs, s)
	}
	path := writeTCPCapture(t, t.TempDir(), "reuse.pcap", synClient, synServer, segs)
	for i, want := range [][2]string{{"first request", "first answer"}, {"second request", "second answer!"}} {
		res := extract(t, path, Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80, Index: i})
		if len(res.Connections) != 2 {
			t.Fatalf("index %d: %d connections listed, want 2", i, len(res.Connections))
		}
		if got := [2]string{string(res.Client.Data), string(res.Server.Data)}; got != want {
			t.Errorf("index %d: bytes %q, want %q", i, got, want)
		}
		if res.Connection.Index != i {
			t.Errorf("index %d: chosen connection has index %d", i, res.Connection.Index)
		}
	}
	res := extract(t, path, Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80})
	c0, c1 := res.Connections[0], res.Connections[1]
	if c0.FirstPacket != 1 || c0.LastPacket != 7 || c0.End != "fin" || c1.FirstPacket != 8 || c1.End != "open" {
		t.Errorf("connections = %+v, %+v: want packets 1-7 ended by fin, then from 8, open", c0, c1)
	}
}

func TestExtractStreamErrors(t *testing.T) {
	path := writeTCPCapture(t, t.TempDir(), "messy.pcap", synClient, synServer, messyConversation)
	other := netip.MustParseAddr("192.0.2.9")
	tests := []struct {
		name      string
		q         Query
		want      error
		wantConns int // -1: no result
	}{
		{"no such host", Query{Src: synClient.Addr(), Dst: other, Port: 80}, ErrNoStream, 0},
		{"no such port", Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 443}, ErrNoStream, 0},
		{"index past the matches", Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80, Index: 1}, ErrIndex, 1},
		{"address missing", Query{Src: synClient.Addr(), Port: 80}, ErrQuery, -1},
		{"negative index", Query{Src: synClient.Addr(), Dst: synServer.Addr(), Index: -1}, ErrQuery, -1},
		{"negative max bytes", Query{Src: synClient.Addr(), Dst: synServer.Addr(), MaxBytes: -1}, ErrQuery, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Extract(context.Background(), path, tt.q)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if tt.wantConns < 0 {
				if res != nil {
					t.Errorf("result = %+v, want nil", res)
				}
				return
			}
			if res == nil || len(res.Connections) != tt.wantConns {
				t.Fatalf("result %+v: want %d connections listed", res, tt.wantConns)
			}
			if tt.want == ErrNoStream && !strings.Contains(err.Error(), tt.q.String()) {
				t.Errorf("error %q does not name the query %q", err, tt.q)
			}
		})
	}
	if _, err := Extract(context.Background(), filepath.Join(t.TempDir(), "absent.pcap"), Query{Src: synClient.Addr(), Dst: synServer.Addr()}); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("missing file: error %v, want ErrNotFound", err)
	}
}

// bigConversation is a client upload of n segments of size bytes each,
// with segment lost missing, and the segments after it all held back by
// the reassembler.
func bigConversation(n, size, lost int) ([]seg, []byte) {
	var segs []seg
	var want []byte
	for i := range n {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		if i == lost {
			continue
		}
		segs = append(segs, seg{true, uint32(1 + i*size), capture.FlagACK, string(data)})
		want = append(want, data...)
	}
	// The server acknowledges it all: the lost segment reached it.
	segs = append(segs, seg{false, 1, capture.FlagACK, ""})
	return segs, want
}

// must drops bigConversation's expected bytes.
func must(segs []seg, _ []byte) []seg { return segs }

func TestExtractStreamBufferLimitGivesUpWaiting(t *testing.T) {
	segs, want := bigConversation(40, 1000, 3)
	path := writeTCPCapture(t, t.TempDir(), "upload.pcap", synClient, synServer, segs)
	for _, pages := range []int{0, 2} {
		res := extract(t, path, Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80, MaxBufferedPages: pages})
		if !bytes.Equal(res.Client.Data, want) {
			t.Errorf("pages %d: client bytes differ (got %d bytes, want %d)", pages, len(res.Client.Data), len(want))
		}
		if res.Client.Gaps != 1 || res.Client.Missing != 1000 {
			t.Errorf("pages %d: gaps %d missing %d, want 1 gap of 1000", pages, res.Client.Gaps, res.Client.Missing)
		}
		var gaps []Chunk
		for _, ch := range res.Chunks {
			if ch.Gap {
				gaps = append(gaps, ch)
			}
		}
		if len(gaps) != 1 || gaps[0].Offset != 3000 || gaps[0].Missing != 1000 || gaps[0].Packet != 4 {
			t.Errorf("pages %d: gap chunks %+v, want one at offset 3000 of 1000 bytes before packet 4", pages, gaps)
		}
	}
}

// A snap length cuts every long segment: the captured heads follow each
// other at once, each cut tail a gap marked as the snap length's.
func TestExtractStreamSnapLenGaps(t *testing.T) {
	segs, _ := bigConversation(3, 1000, -1)
	segs = append([]seg{{false, 1, capture.FlagACK | capture.FlagPSH, "short answer"}}, segs...)
	// 14 Ethernet + 20 IP + 20 TCP header bytes, then 6 payload bytes.
	path := writeTCPCaptureSnap(t, t.TempDir(), "snap.pcap", synClient, synServer, segs, 60)
	res := extract(t, path, Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80})
	if got, want := string(res.Client.Data), "aaaaaabbbbbbcccccc"; got != want {
		t.Errorf("client bytes = %q, want %q", got, want)
	}
	type gap struct {
		Dir                     Direction
		Offset, Missing, Packet int
	}
	var gaps []gap
	for _, ch := range res.Chunks {
		if ch.Gap {
			if !ch.SnapLen {
				t.Errorf("gap %+v is not marked as the snap length's", ch)
			}
			gaps = append(gaps, gap{ch.Direction, ch.Offset, ch.Missing, ch.Packet})
		}
	}
	// The tails of the last segments are found at the end, from the cut
	// segments themselves.
	want := []gap{{FromClient, 6, 994, 3}, {FromClient, 12, 994, 4}, {FromServer, 6, 6, 1}, {FromClient, 18, 994, 4}}
	if diff := gocmp.Diff(want, gaps); diff != "" {
		t.Errorf("gaps mismatch (-want +got):\n%s", diff)
	}
	if res.Client.Missing != 3*994 || res.Client.Gaps != 3 || string(res.Server.Data) != "short " {
		t.Errorf("client missing %d in %d gaps, server %q; want 2982 in 3, \"short \"", res.Client.Missing, res.Client.Gaps, res.Server.Data)
	}
}

func TestExtractStreamMaxBytesTruncates(t *testing.T) {
	segs, want := bigConversation(10, 1000, -1)
	path := writeTCPCapture(t, t.TempDir(), "upload.pcap", synClient, synServer, segs)
	res := extract(t, path, Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80, MaxBytes: 2500})
	if !bytes.Equal(res.Client.Data, want[:2500]) || !res.Client.Truncated || res.Client.Bytes != 10000 {
		t.Errorf("client: %d bytes kept, truncated %v, %d counted; want the first 2500, true, 10000", len(res.Client.Data), res.Client.Truncated, res.Client.Bytes)
	}
	if len(res.Chunks) != 1 || res.Chunks[0].Length != 10000 || len(res.Chunks[0].Data) != 2500 {
		t.Errorf("chunks = %d, want one of length 10000 holding 2500 bytes", len(res.Chunks))
	}
	pg, err := res.Page(FromClient, 2000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if pg.TotalBytes != 2500 || pg.Returned != 500 || pg.Remaining != 0 || !pg.Truncated {
		t.Errorf("page = total %d returned %d remaining %d truncated %v, want 2500, 500, 0, true", pg.TotalBytes, pg.Returned, pg.Remaining, pg.Truncated)
	}
}

func TestStreamPage(t *testing.T) {
	path := writeTCPCapture(t, t.TempDir(), "messy.pcap", synClient, synServer, messyConversation)
	res := extract(t, path, Query{Src: synClient.Addr(), Dst: synServer.Addr(), Port: 80})
	// Both directions in chunk order: X8 A10 Y8Z8 B10C10 [gap] E10 = 64 bytes.
	type piece struct {
		Dir    Direction
		Offset int
		Data   string
		Gap    bool
	}
	tests := []struct {
		name           string
		dir            Direction
		offset, limit  int
		want           []piece
		total, remains int
	}{
		{"everything", "", 0, 0, []piece{
			{FromClient, 0, "XXXXXXXX", false}, {FromServer, 0, "AAAAAAAAAA", false},
			{FromClient, 8, "YYYYYYYYZZZZZZZZ", false}, {FromServer, 10, "BBBBBBBBBBCCCCCCCCCC", false},
			{FromServer, 30, "", true}, {FromServer, 30, "EEEEEEEEEE", false},
		}, 64, 0},
		{"cut inside chunks", Both, 4, 10, []piece{
			{FromClient, 4, "XXXX", false}, {FromServer, 0, "AAAAAA", false},
		}, 64, 50},
		{"gap at the page's start", Both, 54, 5, []piece{
			{FromServer, 30, "", true}, {FromServer, 30, "EEEEE", false},
		}, 64, 5},
		{"gap just past the page stays for the next", Both, 44, 10, []piece{
			{FromServer, 20, "CCCCCCCCCC", false},
		}, 64, 10},
		{"server only", FromServer, 25, 10, []piece{
			{FromServer, 25, "CCCCC", false}, {FromServer, 30, "", true}, {FromServer, 30, "EEEEE", false},
		}, 40, 5},
		{"client only, to the end", FromClient, 20, 100, []piece{
			{FromClient, 20, "ZZZZ", false},
		}, 24, 0},
		{"past the end", FromClient, 30, 10, nil, 24, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := res.Page(tt.dir, tt.offset, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []piece
			n := 0
			for _, ch := range pg.Chunks {
				got = append(got, piece{ch.Direction, ch.Offset, string(ch.Data), ch.Gap})
				n += len(ch.Data)
				if !ch.Gap && ch.Length != len(ch.Data) {
					t.Errorf("chunk at %d: length %d, data %d bytes", ch.Offset, ch.Length, len(ch.Data))
				}
			}
			if diff := gocmp.Diff(tt.want, got, addrsCompare); diff != "" {
				t.Errorf("pieces mismatch (-want +got):\n%s", diff)
			}
			if pg.TotalBytes != tt.total || pg.Remaining != tt.remains || pg.Returned != n {
				t.Errorf("total %d remaining %d returned %d, want %d, %d, %d", pg.TotalBytes, pg.Remaining, pg.Returned, tt.total, tt.remains, n)
			}
			if tt.offset <= pg.TotalBytes && pg.NextOffset != tt.offset+n {
				t.Errorf("next offset %d, want %d", pg.NextOffset, tt.offset+n)
			}
		})
	}
	for _, bad := range []struct {
		dir    Direction
		offset int
	}{{"sideways", 0}, {FromClient, -1}} {
		if _, err := res.Page(bad.dir, bad.offset, 10); !errors.Is(err, ErrQuery) {
			t.Errorf("Page(%q, %d): error %v, want ErrQuery", bad.dir, bad.offset, err)
		}
	}
}

// tsharkStream is what tshark -z follow,tcp,raw says one TCP stream carried.
type tsharkStream struct {
	nodes [2]netip.AddrPort
	data  [2][]byte
	gaps  [2][]tsharkGap
}

// tsharkGap is a gap tshark marks in a raw follow: a line whose bytes are
// the text "[N bytes missing in capture file]" and a NUL, standing where
// the bytes would have been.
type tsharkGap struct{ Offset, Missing int }

var tsharkGapLine = regexp.MustCompile(`^\[(\d+) bytes missing in capture file\]\x00$`)

// tsharkFollow runs tshark's raw follow on streams of path in one run:
// each block names its two nodes, then gives one hex line per segment,
// node 1's lines indented by a tab.
func tsharkFollow(t *testing.T, tshark, path string, streams []int) map[int]*tsharkStream {
	t.Helper()
	args := []string{"-r", path, "-q"}
	for _, n := range streams {
		args = append(args, "-z", fmt.Sprintf("follow,tcp,raw,%d", n))
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	got := make(map[int]*tsharkStream)
	var cur *tsharkStream
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Filter: tcp.stream eq "):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "Filter: tcp.stream eq "))
			if err != nil {
				t.Fatalf("tshark filter line %q", line)
			}
			cur = &tsharkStream{}
			got[n] = cur
		case strings.HasPrefix(line, "Node 0: "), strings.HasPrefix(line, "Node 1: "):
			ap, err := netip.ParseAddrPort(line[len("Node 0: "):])
			if err != nil {
				t.Fatalf("tshark node line %q: %v", line, err)
			}
			cur.nodes[line[5]-'0'] = ap
		case cur == nil, strings.HasPrefix(line, "==="), strings.HasPrefix(line, "Follow: "), line == "":
		default:
			node := 0
			if strings.HasPrefix(line, "\t") {
				node = 1
			}
			b, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("tshark data line %q: %v", line, err)
			}
			if m := tsharkGapLine.FindSubmatch(b); m != nil {
				n, _ := strconv.Atoi(string(m[1]))
				cur.gaps[node] = append(cur.gaps[node], tsharkGap{len(cur.data[node]), n})
				continue
			}
			cur.data[node] = append(cur.data[node], b...)
		}
	}
	return got
}

// tsharkStreamStart is a TCP stream as tshark numbers it, with its first
// packet's number and endpoints.
type tsharkStreamStart struct {
	stream, frame int
	src, dst      netip.AddrPort
}

// tsharkStreams lists the TCP streams of path, skipping those tshark finds
// inside tunnels or ICMP errors (the engine reads the outermost header).
func tsharkStreams(t *testing.T, tshark, path string) []tsharkStreamStart {
	t.Helper()
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=/t",
		"-e", "tcp.stream", "-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-Y", "tcp && !icmp && !icmpv6").Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Skipf("tshark cannot read all of %s (%v): %s", path, err, bytes.TrimSpace(exit.Stderr))
	}
	if err != nil {
		t.Fatalf("tshark fields on %s: %v", path, err)
	}
	seen := make(map[int]bool)
	var list []tsharkStreamStart
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 8 || strings.Contains(line, ",") {
			continue
		}
		n, _ := strconv.Atoi(f[0])
		if seen[n] {
			continue
		}
		seen[n] = true
		frame, _ := strconv.Atoi(f[1])
		src, err1 := netip.ParseAddr(f[2] + f[3])
		dst, err2 := netip.ParseAddr(f[4] + f[5])
		sp, err3 := strconv.Atoi(f[6])
		dp, err4 := strconv.Atoi(f[7])
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatalf("tshark fields line %q: %v", line, err)
		}
		list = append(list, tsharkStreamStart{n, frame, netip.AddrPortFrom(src, uint16(sp)), netip.AddrPortFrom(dst, uint16(dp))})
	}
	return list
}

// compareWithTshark extracts each of up to max streams of path and
// compares both directions with tshark's follow output, finding the
// connection by its first packet. It returns how many it compared.
func compareWithTshark(t *testing.T, tshark, path string, max int) int {
	t.Helper()
	all := tsharkStreams(t, tshark, path)
	starts := all[:min(len(all), max)]
	if len(starts) == 0 {
		t.Fatalf("tshark finds no TCP stream in %s", path)
	}
	var nums []int
	for _, s := range starts {
		nums = append(nums, s.stream)
	}
	want := tsharkFollow(t, tshark, path, nums)
	compared := 0
	for i, s := range starts {
		q := Query{Src: s.src.Addr(), Dst: s.dst.Addr(), Port: s.dst.Port()}
		// Connections are numbered in order of first packet, as tshark
		// numbers streams: the index is how many earlier streams match.
		for _, e := range all[:i] {
			if (e.src.Addr() == q.Src && e.dst.Addr() == q.Dst || e.src.Addr() == q.Dst && e.dst.Addr() == q.Src) &&
				(e.src.Port() == q.Port || e.dst.Port() == q.Port) {
				q.Index++
			}
		}
		res, err := Extract(context.Background(), path, q)
		if err != nil || res.Connection.FirstPacket != s.frame {
			t.Errorf("%s: tshark stream %d starts at packet %d; connection %d of %s: %v, %+v", path, s.stream, s.frame, q.Index, q, err, res.Connections)
			continue
		}
		ts := want[s.stream]
		if ts == nil {
			t.Errorf("%s: tshark gave no follow output for stream %d", path, s.stream)
			continue
		}
		for node, ep := range ts.nodes {
			var h *Half
			switch ep {
			case res.Client.Endpoint:
				h = &res.Client
			case res.Server.Endpoint:
				h = &res.Server
			default:
				t.Errorf("%s stream %d: tshark node %s is neither %s nor %s", path, s.stream, ep, res.Client.Endpoint, res.Server.Endpoint)
				continue
			}
			if !bytes.Equal(h.Data, ts.data[node]) {
				t.Errorf("%s stream %d (%s): %s sent %d bytes by tshark, %d reassembled; first difference at byte %d",
					path, s.stream, q, ep, len(ts.data[node]), len(h.Data), firstDiff(h.Data, ts.data[node]))
			}
			if diff := gocmp.Diff(ts.gaps[node], gapsOf(res, h.Endpoint)); diff != "" {
				t.Errorf("%s stream %d (%s): gaps sent by %s differ from tshark's (-tshark +reassembled):\n%s", path, s.stream, q, ep, diff)
			}
		}
		compared++
	}
	return compared
}

// gapsOf lists the gaps in what ep sent, as tshark marks them: it does not
// mark bytes the snap length cut.
func gapsOf(res *Result, ep netip.AddrPort) []tsharkGap {
	dir := FromClient
	if ep == res.Server.Endpoint {
		dir = FromServer
	}
	var gaps []tsharkGap
	for _, ch := range res.Chunks {
		if ch.Gap && !ch.SnapLen && ch.Direction == dir {
			gaps = append(gaps, tsharkGap{ch.Offset, ch.Missing})
		}
	}
	return gaps
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The acceptance test of issue 7: reassembled bytes equal tshark's follow
// output, per direction, on public captures.
func TestExtractStreamMatchesTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (.ci/run installs it)")
	}
	dir := testfiles.CorpusDir()
	if dir == "" {
		t.Skip("../shared/corpus is absent: the public capture corpus is not beside this checkout")
	}
	captures := []string{
		"zeek/testing/btest/Traces/workshop_2011_browse.pcap",
		"chrissanders-packets/http_espn.pcapng",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/raw_ip.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/four_ipv6_http_streams.pcap",
		"pcapplusplus/Tests/Pcap++Test/PcapExamples/sll.pcap",
		"suricata-verify/tests/http-protocol-nodup/input.pcap",
		"zeek/testing/btest/Traces/http/http-post-large.pcap",
	}
	synth := t.TempDir()
	for name, c := range map[string]struct {
		segs []seg
		snap int
	}{
		"messy.pcap":      {messyConversation, 0},
		"upload-gap.pcap": {must(bigConversation(40, 1000, 3)), 0},
		"snaplen.pcap":    {must(bigConversation(20, 1000, -1)), 100},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeTCPCaptureSnap(t, synth, name, synClient, synServer, c.segs, c.snap)
			if n := compareWithTshark(t, tshark, path, 1); n != 1 {
				t.Errorf("%d streams compared, want 1", n)
			}
		})
	}
	for _, rel := range captures {
		t.Run(rel, func(t *testing.T) {
			t.Parallel() // tshark's start-up is most of the time
			path := filepath.Join(dir, rel)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("corpus capture absent: %v", err)
			}
			n := compareWithTshark(t, tshark, path, 30)
			t.Logf("%d streams equal tshark's", n)
		})
	}
}

// The largest stream of http_espn.pcapng, named as the brief names it.
func TestExtractStreamEspnLargest(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (.ci/run installs it)")
	}
	path := testfiles.Corpus(t, "chrissanders-packets/http_espn.pcapng")
	client := netip.MustParseAddrPort("172.16.0.122:41835")
	server := netip.MustParseAddrPort("205.234.218.129:80")
	res := extract(t, path, Query{Src: client.Addr(), Dst: server.Addr(), Port: 80})
	var conn *Connection
	for i := range res.Connections {
		if res.Connections[i].Client == client {
			conn = &res.Connections[i]
		}
	}
	if conn == nil {
		t.Fatalf("no connection from %s in %+v", client, res.Connections)
	}
	if conn.Index != 0 {
		res = extract(t, path, Query{Src: client.Addr(), Dst: server.Addr(), Port: 80, Index: conn.Index})
	}
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "tcp.stream", "-c", strconv.Itoa(conn.FirstPacket),
		"-Y", fmt.Sprintf("frame.number == %d", conn.FirstPacket)).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("tshark stream number %q: %v", out, err)
	}
	ts := tsharkFollow(t, tshark, path, []int{n})[n]
	if ts.nodes[0] != client || ts.nodes[1] != server {
		t.Fatalf("tshark nodes %v, want %s and %s", ts.nodes, client, server)
	}
	if !bytes.Equal(res.Client.Data, ts.data[0]) || !bytes.Equal(res.Server.Data, ts.data[1]) {
		t.Errorf("bytes differ from tshark: client %d/%d, server %d/%d", len(res.Client.Data), len(ts.data[0]), len(res.Server.Data), len(ts.data[1]))
	}
	if len(res.Server.Data) < 100_000 {
		t.Errorf("server sent %d bytes, want the largest stream (over 100 kB)", len(res.Server.Data))
	}
	if !bytes.HasPrefix(res.Client.Data, []byte("GET ")) || !bytes.HasPrefix(res.Server.Data, []byte("HTTP/1.1 ")) {
		t.Errorf("streams start %q / %q, want an HTTP request and response", res.Client.Data[:min(16, len(res.Client.Data))], res.Server.Data[:min(16, len(res.Server.Data))])
	}
}

// The repository's own recorded captures, when they are there.
func TestExtractStreamTestdataMatchesTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (.ci/run installs it)")
	}
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no captures in ../testdata yet (testdata/README.md says how they are recorded)")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			if n := len(tsharkStreams(t, tshark, path)); n == 0 {
				t.Skip("no TCP streams")
			}
			t.Logf("%d streams equal tshark's", compareWithTshark(t, tshark, path, 10))
		})
	}
}

// Page bounds what a caller returns, here 12 bytes at a time of both
// directions interleaved.
func ExampleResult_Page() {
	req, resp := []byte("GET / HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n")
	res := &Result{
		Client: Half{Bytes: int64(len(req)), Data: req},
		Server: Half{Bytes: int64(len(resp)), Data: resp},
		Chunks: []Chunk{
			{Direction: FromClient, Length: len(req), Data: req},
			{Direction: FromServer, Length: len(resp), Data: resp},
		},
	}
	for offset := 0; ; {
		pg, err := res.Page(Both, offset, 12)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, ch := range pg.Chunks {
			fmt.Printf("%s@%d %q ", ch.Direction, ch.Offset, ch.Data)
		}
		fmt.Printf("(%d left)\n", pg.Remaining)
		if pg.Remaining == 0 {
			return
		}
		offset = pg.NextOffset
	}
	// Output:
	// client@0 "GET / HTTP/1" (25 left)
	// client@12 ".1\r\n\r\n" server@0 "HTTP/1" (13 left)
	// server@6 ".1 200 OK\r\n\r" (1 left)
	// server@18 "\n" (0 left)
}
