package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/detectors"
)

func TestAnalyzeJSONContract(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"analyze", "--format", "json", "../../testdata/scan_syn.pcap"}, nil, &out, &errb); err != nil {
		t.Fatalf("analyze: %v\n%s", err, errb.String())
	}
	// The contract's keys, read as generic JSON so a renamed field shows.
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "format", "truncated", "warnings", "summary", "timeline", "findings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("analyze JSON has no %q", k)
		}
	}
	sum := m["summary"].(map[string]any)
	for _, k := range []string{"total_packets", "total_bytes", "unique_ips", "start", "end", "link_types", "protocols", "top_talkers", "top_ports", "top_conversations", "dns_names"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary has no %q", k)
		}
	}
	var a detectors.Analysis
	if err := json.Unmarshal(out.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	// testdata/ground_truth.json: 2005 packets between 2 addresses, an
	// nmap -sS scan of 1000 ports from 10.66.0.10 to 10.66.0.20.
	if a.Summary.TotalPackets != 2005 || a.Summary.UniqueIPs != 2 || a.Format != "pcap" {
		t.Errorf("packets %d, ips %d, format %s; want 2005, 2, pcap", a.Summary.TotalPackets, a.Summary.UniqueIPs, a.Format)
	}
	if len(a.Findings) != 1 || a.Findings[0].Source != "10.66.0.10" || a.Findings[0].Target != "10.66.0.20" || a.Findings[0].Counts["distinct_ports"] != 1000 {
		t.Errorf("findings %+v, want one scan of 1000 ports 10.66.0.10 -> 10.66.0.20", a.Findings)
	}
	if a.Timeline.IntervalSeconds != 60 || len(a.Timeline.Intervals) == 0 {
		t.Errorf("timeline %+v", a.Timeline)
	}
}

func TestAnalysisCommandsText(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"analyze", "../../testdata/scan_syn.pcap"}, []string{"Packets     2005", "FINDINGS (1)", "port_scan syn: 10.66.0.10 -> 10.66.0.20"}},
		{[]string{"triage", "../../testdata/benign_browse.pcap"}, []string{"TOP TALKERS", "DNS NAMES QUERIED"}},
		{[]string{"timeline", "--interval", "1s", "../../testdata/scan_syn.pcap"}, []string{"Interval  1s", "START"}},
		{[]string{"scan", "../../testdata/benign_dns.pcapng"}, []string{"No findings."}},
		{[]string{"http", "--format", "text", "../../testdata/http_gobuster.pcap"}, []string{"http_enumeration scanner_user_agent: 10.66.0.10 -> 10.66.0.20"}},
		{[]string{"dns", "../../testdata/dns_tunnel.pcap"}, []string{"dns_tunneling", "10.66.0.10"}},
		{[]string{"triage", "../../testdata/gen_truncated.pcap"}, []string{"Truncated   yes", "cut short"}},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		if err := run(context.Background(), tt.args, nil, &out, &errb); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out.String())
			}
		}
	}
}

func TestAnalysisCommandErrors(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool
		kind  error
	}{
		{[]string{"analyze"}, true, nil},
		{[]string{"analyze", "--format", "xml", "x.pcap"}, true, nil},
		{[]string{"timeline", "--interval", "0.5ms", "../../testdata/scan_syn.pcap"}, true, nil},
		{[]string{"frobnicate"}, true, nil},
		{[]string{"analyze", "../../testdata/missing.pcap"}, false, capture.ErrNotFound},
		{[]string{"analyze", "../../testdata/gen_not_a_capture.txt"}, false, capture.ErrNotCapture},
		{[]string{"analyze", "../../testdata/gen_zero.pcap"}, false, capture.ErrEmpty},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		err := run(context.Background(), tt.args, nil, &out, &errb)
		var u *usageError
		if tt.usage != errors.As(err, &u) {
			t.Errorf("%v: err = %v, usage error %v", tt.args, err, tt.usage)
		}
		if tt.kind != nil && !errors.Is(err, tt.kind) {
			t.Errorf("%v: err = %v, want %v", tt.args, err, tt.kind)
		}
		if code := exitCode(err, &errb); (tt.usage && code != 2) || (!tt.usage && code != 1) {
			t.Errorf("%v: exit %d", tt.args, code)
		}
	}
	// A capture damaged part-way prints what came before the damage, says
	// what cut it short on stderr, and exits 0 as investigate does:
	// results were written.
	for _, cmd := range []string{"triage", "analyze"} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{cmd, "../../testdata/gen_corrupt_len.pcap"}, nil, &out, &errb)
		if err != nil || !strings.Contains(out.String(), "Packets") || !strings.Contains(errb.String(), "warning: ") || !strings.Contains(errb.String(), "262144") {
			t.Errorf("%s of a damaged capture: err %v, stdout %q, stderr %q", cmd, err, out.String(), errb.String())
		}
	}
}
