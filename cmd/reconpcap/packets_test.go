package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// tsharkColumn runs tshark with a display filter and returns one field per
// selected frame: the independent truth the CLI views are checked against.
func tsharkColumn(t *testing.T, file, filter, field string) []string {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	out, err := exec.Command(ts, "-n", "-r", file, "-Y", filter, "-T", "fields", "-e", field).Output()
	if err != nil {
		t.Fatalf("tshark -Y %q: %v", filter, err)
	}
	return strings.Fields(string(out))
}

func TestPacketViews(t *testing.T) {
	const scan = "../../testdata/scan_syn.pcap"
	for _, tc := range []struct {
		name   string
		args   []string
		check  func(t *testing.T, out string)
		status int
	}{
		{"packets", []string{"packets", "--src", "10.66.0.10", "--flags", "syn,!ack", "--limit", "5000", scan}, func(t *testing.T, out string) {
			want := tsharkColumn(t, scan, "ip.src==10.66.0.10 && tcp.flags.syn==1 && tcp.flags.ack==0", "frame.number")
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				got = append(got, strings.Fields(l)[0])
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%d frames, tshark %d", len(got), len(want))
			}
		}, 0},
		{"packet", []string{"packet", "3", scan}, func(t *testing.T, out string) {
			for _, w := range []string{"Frame 3: 58 bytes on wire", "\nIPv4\n", "SrcIP: 10.66.0.10", "\nTCP\n", "00000000  02 66 00 00 00 02"} {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
		}, 0},
		{"packet past the end", []string{"packet", "99999", scan}, nil, 2},
		{"packets bad flag", []string{"packets", "--flags", "syn,nope", scan}, nil, 2},
		{"dns queries", []string{"dns", "--queries", "../../testdata/benign_dns.pcapng"}, func(t *testing.T, out string) {
			want := tsharkColumn(t, "../../testdata/benign_dns.pcapng", "dns.flags.response==0", "dns.qry.name")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != len(want) || !strings.Contains(lines[0], want[0]) {
				t.Errorf("%d lines, tshark %d queries; first %q", len(lines), len(want), lines[0])
			}
		}, 0},
		{"phs", []string{"phs", scan}, func(t *testing.T, out string) {
			n := len(tsharkColumn(t, scan, "tcp", "frame.number"))
			if !strings.Contains(out, "    tcp") || !strings.Contains(out, " frames:"+itoa(n)+" ") {
				t.Errorf("no tcp node with %d frames in\n%s", n, out)
			}
		}, 0},
		{"conversations tcp", []string{"conversations", "--level", "tcp", "../../testdata/http_sqlmap.pcap"}, func(t *testing.T, out string) {
			streams := map[string]bool{}
			for _, s := range tsharkColumn(t, "../../testdata/http_sqlmap.pcap", "tcp", "tcp.stream") {
				streams[s] = true
			}
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines)-1 != len(streams) {
				t.Errorf("%d connections, tshark %d streams", len(lines)-1, len(streams))
			}
		}, 0},
		{"endpoints ip", []string{"endpoints", "../../testdata/scan_udp.pcap"}, func(t *testing.T, out string) {
			n := len(tsharkColumn(t, "../../testdata/scan_udp.pcap", "ip.addr==10.66.0.10", "frame.number"))
			if !strings.Contains(out, "10.66.0.10") || !strings.Contains(out, " "+strconv.Itoa(n)+" ") {
				t.Errorf("no 10.66.0.10 with %d packets in\n%s", n, out)
			}
		}, 0},
		{"endpoints bad level", []string{"endpoints", "--level", "sctp", scan}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, nil, &out, &errb)
			if got := exitCode(err, &bytes.Buffer{}); got != tc.status {
				t.Fatalf("exit %d (%v), want %d\n%s", got, err, tc.status, errb.String())
			}
			var u *usageError
			if tc.status == 2 && !errors.As(err, &u) {
				t.Fatalf("%v is not a usage error", err)
			}
			if tc.check != nil {
				tc.check(t, out.String())
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
