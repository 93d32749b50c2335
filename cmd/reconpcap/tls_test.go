package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// tsharkSNIs returns, in frame order, the server name of every ClientHello
// tshark reads in path ("-" for none), skipping the test without tshark.
func tsharkSNIs(t *testing.T, path, filter string) []string {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	out, err := exec.Command(ts, "-r", path, "-Y", "tls.handshake.type==1"+filter,
		"-T", "fields", "-e", "tls.handshake.extensions_server_name").Output()
	if err != nil {
		t.Fatal(err)
	}
	snis := []string{}
	for line := range strings.Lines(string(out)) {
		s := strings.TrimRight(line, "\n")
		if s == "" {
			s = "-"
		}
		snis = append(snis, s)
	}
	return snis
}

func TestTLSCommand(t *testing.T) {
	const file = "../../testdata/tls_handshakes.pcap"
	tests := []struct {
		name    string
		args    []string
		tshark  string // the same selection as a tshark display filter
		minRows int
	}{
		{"all", nil, "", 8},
		{"sni", []string{"--sni", "EXAMPLE.COM"}, ` && tls.handshake.extensions_server_name contains "example.com"`, 3},
		{"host", []string{"--host", "10.66.0.10"}, " && ip.addr==10.66.0.10", 8},
		{"other host", []string{"--host", "192.0.2.1"}, " && ip.addr==192.0.2.1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tsharkSNIs(t, file, tt.tshark)
			if len(want) < tt.minRows {
				t.Fatalf("tshark finds %d hellos, the capture holds %d", len(want), tt.minRows)
			}
			var out, errb bytes.Buffer
			args := append(append([]string{"tls", "--format", "json"}, tt.args...), file)
			if err := run(context.Background(), args, nil, &out, &errb); err != nil {
				t.Fatalf("tls: %v\n%s", err, errb.String())
			}
			var got struct {
				Stats struct {
					ClientHellos int `json:"client_hellos"`
				} `json:"stats"`
				Handshakes []struct {
					SNI string `json:"sni"`
				} `json:"handshakes"`
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			snis := []string{}
			for _, h := range got.Handshakes {
				s := h.SNI
				if s == "" {
					s = "-"
				}
				snis = append(snis, s)
			}
			if !slices.Equal(snis, want) || got.Stats.ClientHellos != 8 {
				t.Errorf("server names %q (%d hellos counted), tshark %q", snis, got.Stats.ClientHellos, want)
			}

			// The table shows the same handshakes, one row each.
			out.Reset()
			if err := run(context.Background(), append(append([]string{"tls"}, tt.args...), file), nil, &out, &errb); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			rows := strings.Count(text, "203.0.113.80:8443")
			if rows != len(want) {
				t.Errorf("%d table rows, want %d:\n%s", rows, len(want), text)
			}
			if len(want) == 0 && !strings.Contains(text, "No TLS handshake matches.") {
				t.Errorf("no row and no word about it:\n%s", text)
			}
		})
	}
}

func TestTLSCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"tls"},
		{"tls", "--host", "not-an-ip", "../../testdata/tls_handshakes.pcap"},
		{"tls", "--format", "xml", "../../testdata/tls_handshakes.pcap"},
		{"tls", "a.pcap", "b.pcap"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, nil, &out, &errb)
		var u *usageError
		if !errors.As(err, &u) {
			t.Errorf("%q: error %v, want a usage error", args, err)
		}
	}
}

// TestTLSCommandEscapes checks that a server name holding terminal control
// characters reaches the table escaped.
func TestTLSCommandEscapes(t *testing.T) {
	if got := cell("evil\x1b[2J\tname", 64); strings.ContainsAny(got, "\x1b\t") {
		t.Errorf("cell kept a control character: %q", got)
	}
	if got := cell("", 64); got != "-" {
		t.Errorf("empty cell %q, want -", got)
	}
}
