package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1GB", 1_000_000_000, false},
		{"100MB", 100_000_000, false},
		{"512MiB", 512 << 20, false},
		{"1.5gb", 1_500_000_000, false},
		{"4096", 4096, false},
		{"0MB", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestRunWritesCaptureAndTruth(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.pcapng")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-o", out, "-size", "200KB", "-format", "pcapng", "-link", "sll2", "-scan-ports", "30"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var st struct {
		Packets   int   `json:"packets"`
		FileBytes int64 `json:"file_bytes"`
		PortScan  struct {
			Ports int `json:"ports"`
		} `json:"port_scan"`
		LinkType string `json:"link_type"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("ground truth is not JSON: %v\n%s", err, stdout.String())
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != st.FileBytes || st.Packets == 0 || st.PortScan.Ports != 30 || st.LinkType != "Linux SLL2" {
		t.Errorf("file %d bytes, truth %+v", fi.Size(), st)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-size", "1MB"}, // no -o
		{"-o", filepath.Join(dir, "a"), "-link", "token-ring"},
		{"-o", filepath.Join(dir, "b"), "-edge", "gen_nothing.pcap"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestRunAllAttacks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.pcap")
	var stdout, stderr bytes.Buffer
	args := []string{"-o", out, "-size", "300KB", "-all-attacks", "-tls-exfil", "100000", "-split-exfil", "3", "-slow-scan", "5", "-upload-bytes", "50000"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var st struct {
		Attacks []struct {
			Name        string `json:"name"`
			Type        string `json:"type"`
			Source      string `json:"source"`
			Ports       int    `json:"ports"`
			Bytes       int64  `json:"bytes"`
			Connections int    `json:"connections"`
			Packets     int    `json:"packets"`
		} `json:"attacks"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("ground truth is not JSON: %v", err)
	}
	want := map[string]string{
		"port_scan": "port_scan", "upload": "data_exfiltration", "dns_tunnel": "dns_tunneling", "http_enum": "http_enumeration",
		"frag_scan": "port_scan", "decoy_scan": "port_scan", "ack_scan": "port_scan", "slow_scan": "port_scan",
		"login_brute": "http_enumeration", "sql_injection": "http_enumeration", "tls_exfil": "data_exfiltration",
		"split_exfil": "data_exfiltration", "icmp_exfil": "data_exfiltration", "dns_exfil": "dns_tunneling",
	}
	sources := map[string]bool{}
	for _, a := range st.Attacks {
		if want[a.Name] != a.Type || a.Packets == 0 || a.Source == "" {
			t.Errorf("%s: type %q, %d packets, source %q; want type %q, packets and a source", a.Name, a.Type, a.Packets, a.Source, want[a.Name])
		}
		delete(want, a.Name)
		if sources[a.Source] {
			t.Errorf("%s shares its source %s with another attack", a.Name, a.Source)
		}
		sources[a.Source] = true
		switch a.Name {
		case "tls_exfil":
			// Whole 4096-byte records and the handshake: a little more than asked.
			if a.Bytes < 100_000 || a.Bytes > 110_000 {
				t.Errorf("tls_exfil sent %d bytes, want about 100,000", a.Bytes)
			}
		case "split_exfil":
			if a.Connections != 3 {
				t.Errorf("split_exfil: %d connections, want 3", a.Connections)
			}
		case "slow_scan":
			if a.Ports != 5 {
				t.Errorf("slow_scan: %d ports, want 5", a.Ports)
			}
		}
	}
	for name := range want {
		t.Errorf("-all-attacks did not inject %s", name)
	}
}
