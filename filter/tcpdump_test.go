package filter_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
)

// tcpdumpTimes returns the timestamps (seconds.microseconds) of the
// packets tcpdump's own filter selects in path, in file order.
func tcpdumpTimes(t *testing.T, bin, path, expr string) []string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), bin, "-r", path, "-nn", "-tt", expr).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("tcpdump %q: %v %s", expr, err, stderr)
	}
	var times []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			times = append(times, f[0])
		}
	}
	return times
}

// ourTimes returns the same for ParseTcpdump's Expr.
func ourTimes(t *testing.T, path string, e filter.Expr) []string {
	t.Helper()
	c := &timeCollector{f: e}
	if _, err := capture.Scan(context.Background(), path, c); err != nil {
		t.Fatal(err)
	}
	return c.times
}

type timeCollector struct {
	f     filter.Expr
	times []string
}

func (c *timeCollector) Packet(p *capture.Packet) {
	if c.f.Match(p, p.Index) {
		us := p.Time.UnixMicro()
		c.times = append(c.times, fmt.Sprintf("%d.%06d", us/1e6, us%1e6))
	}
}

// TestTcpdumpSyntaxAgreesWithTcpdump reads each filter with ParseTcpdump
// and with tcpdump itself, on real recordings, and wants the same packets
// (by timestamp, in order). Every case selects something in tcpdump.
func TestTcpdumpSyntaxAgreesWithTcpdump(t *testing.T) {
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not installed: it is the truth for this test")
	}
	tests := []struct{ file, expr string }{
		{"scan_syn.pcap", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"},
		{"scan_syn.pcap", "src host 10.66.0.10 and dst port 22"},
		{"scan_syn.pcap", "tcp port 80 or port 8080"},
		{"scan_syn.pcap", "host 10.66.0.20 and not port 22 and tcp[13] & 4 != 0"},
		{"scan_syn.pcap", "dst port ssh or http or 8080"},
		{"scan_syn.pcap", "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0"},
		{"benign_browse.pcap", "udp port 53"},
		{"benign_browse.pcap", "arp"},
		{"benign_browse.pcap", "host 10.66.0.53"},
		{"benign_browse.pcap", "net 10.66.0.0/24 and tcp and not port 443"},
		{"benign_browse.pcap", "src net 10.66.0.0 mask 255.255.255.0 or arp"},
		{"benign_browse.pcap", "not tcp and not udp"},
		{"benign_browse.pcap", "tcp[tcpflags] & tcp-fin != 0 or tcp[tcpflags] & tcp-rst != 0"},
		{"benign_browse.pcap", "ip and udp or arp"},
		{"benign_dns.pcapng", "port domain"},
		{"benign_dns.pcapng", "ip6 or src and dst net 10.0.0.0/8"},
		{"http_gobuster.pcap", "dst port http and tcp[tcpflags] & tcp-push != 0"},
		{"http_gobuster.pcap", "! (tcp[tcpflags] & tcp-ack == 0) && (src port 80 || dst port 80)"},
		{"scan_udp.pcap", "icmp"},
		{"scan_udp.pcap", "udp and not port 53"},
		{"scan_udp.pcap", "icmp or src host 10.66.0.10 and udp"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.expr, func(t *testing.T) {
			path := filepath.Join("..", "testdata", tt.file)
			want := tcpdumpTimes(t, bin, path, tt.expr)
			if len(want) == 0 {
				t.Fatalf("tcpdump selects nothing: the case proves nothing")
			}
			e, err := filter.ParseTcpdump(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ourTimes(t, path, e)); diff != "" {
				t.Errorf("%q (%s) differs from tcpdump (-tcpdump +ours):\n%s", tt.expr, e, diff)
			}
		})
	}
}

// TestTcpdumpSyntaxErrors names what is wrong or not supported.
func TestTcpdumpSyntaxErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"portrange 1-1024":              "portrange",
		"host www.example":              "names are not resolved",
		"tcp[2:2] = 80":                 "tcp[tcpflags]",
		"(tcp":                          "missing )",
		"host":                          "needs an address",
		"tcp and":                       "ends where",
		"port 70000":                    "port",
		"icmp port 7":                   "no ports",
		"ip host 2001:db8::1":           "not ip",
		"tcp tcp":                       "unexpected",
		"net 10.0.0.0 mask 255.0.255.0": "not contiguous",
		strings.Repeat("(", 100) + "tcp" + strings.Repeat(")", 100): "nested",
		"host 10.0.0.1\x00": "unexpected byte",
	} {
		if _, err := filter.ParseTcpdump(expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTcpdump(%q) = %v, want an error naming %q", expr, err, want)
		}
	}
	if e, err := filter.ParseTcpdump("  "); err != nil || !e.IsZero() {
		t.Errorf("an empty filter: %v, %v; want the zero Expr", e, err)
	}
}
