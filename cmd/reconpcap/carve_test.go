package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/tsharktest"
)

// TestCarveCommand carves a finding's evidence and a filter's packets, and
// reads each file back in tshark: as many packets as the printed display
// filter selects in the original. Ground truth for scan_syn.pcap
// (testdata/ground_truth.json): nmap -sS sent 1000 SYN probes.
func TestCarveCommand(t *testing.T) {
	tsharktest.Path(t)
	tests := []struct {
		name, file string
		args       []string
		packets    int // from the ground truth, 0 to rely on tshark alone
	}{
		{"finding", "scan_syn.pcap", []string{"--finding", "1"}, 1000},
		{"filter", "scan_udp.pcap", []string{"--filter", "src=10.66.0.20 proto=icmp"}, 0},
		{"filter on dns names", "dns_tunnel.pcap", []string{"--filter", "domain=exfil-test.example frames=10-100"}, 91},
		{"pcapng", "benign_dns.pcapng", []string{"--filter", "dport=53"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join("..", "..", "testdata", tt.file)
			out := filepath.Join(t.TempDir(), "out")
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"carve"}, tt.args...), "--out", out, in)
			if err := run(context.Background(), args, nil, &stdout, &stderr); err != nil {
				t.Fatalf("carve: %v\n%s", err, stderr.String())
			}
			_, filter, ok := strings.Cut(stdout.String(), "display filter: ")
			if !ok {
				t.Fatalf("carve printed no display filter:\n%s", stdout.String())
			}
			want := len(tsharktest.Frames(t, in, strings.TrimSpace(filter)))
			got := tsharktest.Count(t, out)
			if got != want || want == 0 {
				t.Errorf("carved file holds %d packets; tshark -Y %q selects %d in the original", got, filter, want)
			}
			if tt.packets != 0 && got != tt.packets {
				t.Errorf("carved file holds %d packets, want %d", got, tt.packets)
			}
		})
	}
}

func TestCarveRefuses(t *testing.T) {
	in := filepath.Join("..", "..", "testdata", "scan_syn.pcap")
	existing := filepath.Join(t.TempDir(), "existing.pcap")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		usage bool
		msg   string
	}{
		{"neither", []string{"carve", in}, true, "one of --finding"},
		{"both", []string{"carve", "--finding", "1", "--filter", "proto=tcp", in}, true, "one of --finding"},
		{"no such finding", []string{"carve", "--finding", "2", in}, true, "has 1 finding"},
		{"bad filter", []string{"carve", "--filter", "proto=sctp", in}, true, "unknown protocol"},
		{"bad key", []string{"carve", "--filter", "colour=red", in}, true, "unknown key"},
		{"overwrite", []string{"carve", "--filter", "proto=tcp", "--out", existing, in}, false, "never overwrites"},
		{"not a capture", []string{"carve", "--filter", "proto=tcp", "--out", existing + ".x", "../../testdata/gen_not_a_capture.txt"}, false, "capture"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, nil, &stdout, &stderr)
			var u *usageError
			if err == nil || errors.As(err, &u) != tt.usage || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("carve = %v, want a usage error %v containing %q", err, tt.usage, tt.msg)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if _, err := os.Stat(existing + ".x"); !os.IsNotExist(err) {
		t.Errorf("a failed carve left a file: %v", err)
	}
}
