package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/streams"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// streamPacket is one TCP segment of the test capture; seq is absolute.
type streamPacket struct {
	src, dst netip.AddrPort
	seq, ack uint32
	syn, fin bool
	data     string
}

// writeStreamCapture writes pkts as Ethernet/IPv4 frames 10 ms apart.
func writeStreamCapture(t *testing.T, pkts []streamPacket) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stream.pcap")
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
	for i, p := range pkts {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.src.Port()), DstPort: layers.TCPPort(p.dst.Port()), Seq: p.seq, Ack: p.ack,
			SYN: p.syn, FIN: p.fin, ACK: p.ack != 0, Window: 65535}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(p.data)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * 10 * time.Millisecond), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

var (
	cliClient = netip.MustParseAddrPort("10.0.0.1:40000")
	cliServer = netip.MustParseAddrPort("10.0.0.2:80")
	cliOther  = netip.MustParseAddrPort("10.0.0.3:40001")
)

// twoConnections: a full HTTP exchange, an unrelated connection, then the
// same endpoints again (a new SYN) with a segment lost.
func twoConnections(t *testing.T) string {
	c, s := cliClient, cliServer
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\n\r\nhello\x00\x01"
	return writeStreamCapture(t, []streamPacket{
		{src: c, dst: s, seq: 100, syn: true},                              // 1
		{src: s, dst: c, seq: 500, ack: 101, syn: true},                    // 2
		{src: c, dst: s, seq: 101, ack: 501, data: req},                    // 3
		{src: cliOther, dst: s, seq: 7, ack: 9, data: "elsewhere"},         // 4
		{src: s, dst: c, seq: 501, ack: 128, data: resp},                   // 5
		{src: c, dst: s, seq: 128, ack: 527, fin: true},                    // 6
		{src: s, dst: c, seq: 527, ack: 129, fin: true},                    // 7
		{src: c, dst: s, seq: 90000, syn: true},                            // 8
		{src: s, dst: c, seq: 70000, ack: 90001, syn: true},                // 9
		{src: c, dst: s, seq: 90001, ack: 70001, data: "second "},          // 10
		{src: c, dst: s, seq: 90013, ack: 70001, data: "after the gap"},    // 11: 90008-90013 lost
		{src: s, dst: c, seq: 70001, ack: 90026, data: "second answer\n"},  // 12
		{src: c, dst: s, seq: 90026, ack: 70015, data: "\x00\x01\x02\xff"}, // 13
	})
}

// runStreamCmd runs the stream command and returns stdout, stderr and the
// exit status the error maps to.
func runStreamCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runStream(context.Background(), args, &stdout, &stderr)
	code := exitCode(err, &stderr) // prints the error on stderr
	return stdout.String(), stderr.String(), code
}

func TestStreamASCII(t *testing.T) {
	path := twoConnections(t)
	out, errOut, code := runStreamCmd(t, path, "10.0.0.2", "10.0.0.1", "80")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	want := `Connection 0 of 2: 10.0.0.1:40000 -> 10.0.0.2:80 (client known from the handshake, ended: fin)
Time: 2024-05-01T12:00:00Z to 2024-05-01T12:00:00.06Z
client 10.0.0.1:40000: 27 bytes
server 10.0.0.2:80: 26 bytes
===================================================================
>>> client 10.0.0.1:40000, 27 bytes at offset 0 (packet 3, 2024-05-01 12:00:00.020000)
GET / HTTP/1.1.
Host: x.
.
<<< server 10.0.0.2:80, 26 bytes at offset 0 (packet 5, 2024-05-01 12:00:00.040000)
HTTP/1.1 200 OK.
.
hello..
===================================================================
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	for _, s := range []string{"2 connections match 10.0.0.2 <-> 10.0.0.1 port 80", "  0  ", "  1  ", "10.0.0.1:40000", "showing connection 0 (choose another with --index N)"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q:\n%s", s, errOut)
		}
	}
}

func TestStreamIndexChoosesAndShowsGaps(t *testing.T) {
	path := twoConnections(t)
	out, errOut, code := runStreamCmd(t, "--index", "1", path, "10.0.0.1", "10.0.0.2", "80")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, s := range []string{
		"Connection 1 of 2: 10.0.0.1:40000 -> 10.0.0.2:80",
		"client 10.0.0.1:40000: 24 bytes, 5 bytes missing in 1 gaps",
		">>> client 10.0.0.1:40000, 7 bytes at offset 0 (packet 10,",
		"second \n[5 bytes missing in capture file]\n>>> client 10.0.0.1:40000, 13 bytes at offset 7 (packet 11,",
		"<<< server 10.0.0.2:80, 14 bytes at offset 0 (packet 12,",
		">>> client 10.0.0.1:40000, 4 bytes at offset 20 (packet 13,",
		"\n....\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("stdout lacks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(errOut, "showing connection 1\n") {
		t.Errorf("stderr does not say which connection is shown:\n%s", errOut)
	}
}

func TestStreamHex(t *testing.T) {
	path := twoConnections(t)
	out, errOut, code := runStreamCmd(t, path, "10.0.0.1", "10.0.0.2", "80", "--format", "hex", "--direction", "client")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	want := ">>> client 10.0.0.1:40000, 27 bytes at offset 0 (packet 3, 2024-05-01 12:00:00.020000)\n" +
		"00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n" +
		"00000010  48 6f 73 74 3a 20 78 0d  0a 0d 0a                 |Host: x....|\n"
	if !strings.Contains(out, want) {
		t.Errorf("stdout lacks\n%s\ngot:\n%s", want, out)
	}
	if strings.Contains(out, "<<< server") {
		t.Errorf("--direction client shows server chunks:\n%s", out)
	}
}

func TestStreamRaw(t *testing.T) {
	path := twoConnections(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"interleaved to a file", []string{"--index", "1", "--format", "raw"}, "second after the gapsecond answer\n\x00\x01\x02\xff"},
		{"server only", []string{"--index", "1", "--format", "raw", "--direction", "server"}, "second answer\n"},
		{"client only", []string{"--format", "raw", "--direction", "client"}, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "out.bin")
			args := append([]string{path, "10.0.0.1", "10.0.0.2", "80", "-o", outFile}, tt.args...)
			out, errOut, code := runStreamCmd(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing (the bytes go to -o)", out)
			}
			got, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("file holds %q, want %q", got, tt.want)
			}
		})
	}
	// Without -o the bytes go to stdout, and the gap is told on stderr.
	out, errOut, _ := runStreamCmd(t, path, "10.0.0.1", "10.0.0.2", "80", "--index", "1", "--format", "raw", "--direction", "client")
	if out != "second after the gap\x00\x01\x02\xff" {
		t.Errorf("stdout = %q", out)
	}
	if !strings.Contains(errOut, "10.0.0.1:40000: 5 bytes missing in capture file (1 gaps), not written") {
		t.Errorf("stderr does not count the lost bytes:\n%s", errOut)
	}
}

func TestStreamErrors(t *testing.T) {
	path := twoConnections(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"no connection", []string{path, "10.0.0.1", "10.0.0.9", "80"}, 1, "no TCP connection matches: 10.0.0.1 <-> 10.0.0.9 port 80 in "},
		{"no connection on that port", []string{path, "10.0.0.1", "10.0.0.2", "443"}, 1, "10.0.0.1 <-> 10.0.0.2 port 443"},
		{"index past the matches", []string{path, "10.0.0.1", "10.0.0.2", "80", "--index", "5"}, 1, "index 5 asked for, 2 connections match"},
		{"missing file", []string{filepath.Join(t.TempDir(), "absent.pcap"), "10.0.0.1", "10.0.0.2", "80"}, 1, "capture not found"},
		{"bad source", []string{path, "10.0.0.300", "10.0.0.2", "80"}, 2, `SRC "10.0.0.300" is not an IP address`},
		{"bad destination", []string{path, "10.0.0.1", "example.com", "80"}, 2, `DST "example.com" is not an IP address`},
		{"port not a number", []string{path, "10.0.0.1", "10.0.0.2", "http"}, 2, `PORT "http"`},
		{"port too large", []string{path, "10.0.0.1", "10.0.0.2", "70000"}, 2, `PORT "70000"`},
		{"too few arguments", []string{path, "10.0.0.1", "80"}, 2, "stream takes FILE SRC DST PORT, got 3"},
		{"bad format", []string{path, "10.0.0.1", "10.0.0.2", "80", "--format", "json"}, 2, `--format "json"`},
		{"bad direction", []string{path, "10.0.0.1", "10.0.0.2", "80", "--direction", "up"}, 2, `--direction "up"`},
		{"negative index", []string{path, "10.0.0.1", "10.0.0.2", "80", "--index", "-1"}, 2, "--index -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runStreamCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.contains) {
				t.Errorf("stderr lacks %q:\n%s", tt.contains, errOut)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
	// The index error comes alone, not after a list of every match.
	_, errOut, _ := runStreamCmd(t, path, "10.0.0.1", "10.0.0.2", "80", "--index", "5")
	if lines := strings.Count(errOut, "\n"); lines > 2 || strings.Contains(errOut, "INDEX") || !strings.Contains(errOut, "run without --index to list them") {
		t.Errorf("stderr, %d lines, should be the error and the hint alone:\n%s", lines, errOut)
	}
	var stdout bytes.Buffer
	err := runStream(context.Background(), []string{path, "10.0.0.1", "10.0.0.9", "80"}, &stdout, io.Discard)
	if !errors.Is(err, streams.ErrNoStream) {
		t.Errorf("error %v, want streams.ErrNoStream", err)
	}
}

func TestStreamHelp(t *testing.T) {
	var stderr bytes.Buffer
	err := runStream(context.Background(), []string{"--help"}, io.Discard, &stderr)
	if !errors.Is(err, errHelp) || !strings.Contains(stderr.String(), "usage: reconpcap stream FILE SRC DST PORT") {
		t.Errorf("--help: error %v, stderr %q", err, stderr.String())
	}
}
