package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/detectors"
)

// analysis runs cmd --format json with args and decodes the Analysis.
func analysis(t *testing.T, cmd string, args ...string) detectors.Analysis {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{cmd, "--format", "json"}, args...), nil, &out, &errb); err != nil {
		t.Fatalf("%s %v: %v\n%s", cmd, args, err, errb.String())
	}
	var a detectors.Analysis
	if err := json.Unmarshal(out.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// countWith counts the packets of file that a tool selects: tcpdump with
// a capture filter, or tshark with a display filter.
func countWith(t *testing.T, tool, file, expr string) int {
	t.Helper()
	var cmd *exec.Cmd
	if tool == "tcpdump" {
		cmd = exec.Command("tcpdump", "-nn", "-q", "-r", file, expr)
	} else {
		cmd = exec.Command("tshark", "-n", "-r", file, "-Y", expr)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", tool, expr, err)
	}
	return strings.Count(string(out), "\n")
}

// TestFilterFlagsCountLikeTcpdump: the packets a filter keeps are those
// tcpdump (or, for times, tshark) selects with the same filter.
func TestFilterFlagsCountLikeTcpdump(t *testing.T) {
	needTools(t, "tcpdump", "tshark")
	tests := []struct {
		file  string
		flags []string
		tool  string
		expr  string
	}{
		// --host and --net test IP addresses; tcpdump's host and net
		// also match ARP, as -f does.
		{"scan_decoy.pcap", []string{"--host", "10.66.0.10"}, "tcpdump", "ip host 10.66.0.10"},
		{"scan_decoy.pcap", []string{"-f", "host 10.66.0.10"}, "tcpdump", "host 10.66.0.10"},
		{"scan_decoy.pcap", []string{"--net", "10.66.0.32/31"}, "tcpdump", "ip net 10.66.0.32/31"},
		{"scan_syn.pcap", []string{"-f", "tcp[tcpflags] & tcp-syn != 0"}, "tcpdump", "tcp[tcpflags] & tcp-syn != 0"},
		{"benign_browse.pcap", []string{"--port", "53"}, "tcpdump", "port 53"},
		{"benign_browse.pcap", []string{"--host", "198.51.100.10", "--port", "80"}, "tcpdump", "host 198.51.100.10 and port 80"},
		{"benign_browse.pcap", []string{"--proto", "udp"}, "tcpdump", "udp"},
		{"benign_browse.pcap", []string{"--net", "10.0.0.0/8", "--proto", "tcp"}, "tcpdump", "net 10.0.0.0/8 and tcp"},
		{"benign_browse.pcap", []string{"--filter", "udp or (tcp and not port 443)"}, "tcpdump", "udp or (tcp and not port 443)"},
		{"benign_browse.pcap", []string{"--since", "+1s", "--until", "+5s"}, "tshark", "frame.time_relative >= 1 && frame.time_relative < 5"},
		{"dns_tunnel.pcap", []string{"--until", "+2500ms"}, "tshark", "frame.time_relative < 2.5"},
		{"scan_slow.pcap", []string{"--since", "+10s"}, "tshark", "frame.time_relative >= 10"},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+strings.Join(tt.flags, " "), func(t *testing.T) {
			path := filepath.Join("../../testdata", tt.file)
			want := countWith(t, tt.tool, path, tt.expr)
			all := countWith(t, "tcpdump", path, "")
			if want == 0 || want == all {
				t.Fatalf("%s selects %d of %d packets: the case tests nothing", tt.expr, want, all)
			}
			a := analysis(t, "analyze", append(tt.flags, path)...)
			if a.Filter == nil || a.Filter.Kept != want || a.Filter.Read != all || a.Summary.TotalPackets != want {
				t.Errorf("filter %+v, summary %d packets; %s: %d of %d", a.Filter, a.Summary.TotalPackets, tt.tool, want, all)
			}
		})
	}
}

// TestFilterKeepsOrRemovesAScan: a filter that keeps the scanner keeps
// its finding; one that leaves the scanner out removes it, on every
// analysis command.
func TestFilterKeepsOrRemovesAScan(t *testing.T) {
	path := "../../testdata/scan_syn.pcap" // ground truth: 10.66.0.10 scans 10.66.0.20
	tests := []struct {
		cmd      string
		flags    []string
		findings int
	}{
		{"analyze", nil, 1},
		{"analyze", []string{"--host", "10.66.0.10"}, 1},
		{"scan", []string{"-f", "src host 10.66.0.10 or dst host 10.66.0.10"}, 1},
		{"analyze", []string{"--net", "10.66.0.0/24"}, 1},
		{"analyze", []string{"-f", "not host 10.66.0.10"}, 0},
		{"scan", []string{"--proto", "udp"}, 0},
		{"analyze", []string{"--port", "53"}, 0},
	}
	for _, tt := range tests {
		a := analysis(t, tt.cmd, append(tt.flags, path)...)
		if len(a.Findings) != tt.findings || (tt.flags != nil && a.Filter == nil) {
			t.Errorf("%s %v: %d findings, want %d; filter %+v", tt.cmd, tt.flags, len(a.Findings), tt.findings, a.Filter)
		}
	}
}

func TestFilterFlagErrors(t *testing.T) {
	path := "../../testdata/scan_syn.pcap"
	for _, flags := range [][]string{
		{"--host", "10.0.0.300"},
		{"--net", "10.0.0.0"},
		{"--host", "10.0.0.1", "--net", "10.0.0.0/8"},
		{"--port", "70000"},
		{"--proto", "sctp"},
		{"--since", "+yesterday"},
		{"--since", "+5m", "--until", "+1m"},
		{"-f", "portrange 1-80"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(append([]string{"analyze"}, flags...), path), nil, &out, &errb)
		var u *usageError
		if !errors.As(err, &u) || out.Len() != 0 {
			t.Errorf("%v: err %v, stdout %q; want a usage error and no output", flags, err, out.String())
		}
	}
}

func TestParseWhen(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"+5m", start.Add(5 * time.Minute)},
		{"+1h30m", start.Add(90 * time.Minute)},
		{"2026-11-23T12:31:11Z", time.Date(2026, 11, 23, 12, 31, 11, 0, time.UTC)},
		{"1795437071", time.Unix(1795437071, 0).UTC()},
	}
	for _, tt := range tests {
		got, err := parseWhen(tt.in, start)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseWhen("+5m", time.Time{}); err == nil {
		t.Error("+5m with no first packet: no error")
	}
}
