package mcpserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const halfopen = "austina-portscandetector/halfopen15.pcap"

func TestReadPcapSummaryCorpus(t *testing.T) {
	root := corpusRoot(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	got := decode[SummaryResult](t, c, "read_pcap_summary", map[string]any{"pcap_file": halfopen, "max_packets": 5})
	if got.TotalPackets != 36 || got.UniqueIPs != 3 {
		t.Errorf("total_packets %d unique_ips %d, want 36 and 3 (max_packets is ignored)", got.TotalPackets, got.UniqueIPs)
	}
	if got.Format != "pcap" || got.Partial || len(got.Warnings) != 0 {
		t.Errorf("format %q partial %v warnings %v", got.Format, got.Partial, got.Warnings)
	}
	if got.Protocols["tcp"] != 34 || got.Protocols["arp"] != 2 {
		t.Errorf("protocols %v, want tcp 34, arp 2", got.Protocols)
	}
	if len(got.TopTalkers) == 0 || got.TopTalkers[0].IP != "10.10.2.36" {
		t.Errorf("top_talkers %+v, want 10.10.2.36 first", got.TopTalkers)
	}
	if got.FindingsTotal != 1 || got.FindingsByType["port_scan"] != 1 {
		t.Errorf("findings %d by type %v, want one port_scan", got.FindingsTotal, got.FindingsByType)
	}
	if want, _ := filepath.EvalSymlinks(filepath.Join(root, halfopen)); got.PcapFile != want {
		t.Errorf("pcap_file %q, want %q", got.PcapFile, want)
	}
}

func TestDetectPortScanningCorpus(t *testing.T) {
	root := corpusRoot(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	tests := []struct {
		file      string
		threshold any // nil: the default
		want      *ScanActivity
	}{
		{halfopen, nil, &ScanActivity{SourceIP: "10.10.2.42", TargetIP: "10.10.2.36", PortsScanned: 15, PacketCount: 15, Severity: "medium", Technique: "syn"}},
		{halfopen, 15, &ScanActivity{SourceIP: "10.10.2.42", TargetIP: "10.10.2.36", PortsScanned: 15, PacketCount: 15, Severity: "medium", Technique: "syn"}},
		{halfopen, 16, nil},
		{"chrissanders-packets/synscan.pcapng", nil, &ScanActivity{SourceIP: "172.16.0.8", TargetIP: "64.13.134.52", PortsScanned: 1000, PacketCount: 1994, Severity: "high", Technique: "syn"}},
		{"chrissanders-packets/http_google.pcapng", nil, nil},
	}
	for _, tt := range tests {
		args := map[string]any{"pcap_file": tt.file}
		if tt.threshold != nil {
			args["threshold"] = tt.threshold
		}
		got := decode[PortScanResult](t, c, "detect_port_scanning", args)
		if got.PortScanDetected != (tt.want != nil) {
			t.Errorf("%s threshold %v: port_scan_detected %v", tt.file, tt.threshold, got.PortScanDetected)
			continue
		}
		if len(got.SuspiciousActivity) != len(got.Findings) {
			t.Errorf("%s: %d activities for %d findings", tt.file, len(got.SuspiciousActivity), len(got.Findings))
		}
		if tt.want == nil {
			if len(got.SuspiciousActivity) != 0 || got.Total != 0 {
				t.Errorf("%s threshold %v: want no scan, got %+v", tt.file, tt.threshold, got.SuspiciousActivity)
			}
			continue
		}
		a := got.SuspiciousActivity[0]
		if a.SourceIP != tt.want.SourceIP || a.TargetIP != tt.want.TargetIP || a.PortsScanned != tt.want.PortsScanned ||
			a.PacketCount != tt.want.PacketCount || a.Severity != tt.want.Severity || a.Technique != tt.want.Technique {
			t.Errorf("%s threshold %v: first activity %+v, want %+v", tt.file, tt.threshold, a, *tt.want)
		}
		wantThreshold := 10
		if tt.threshold != nil {
			wantThreshold = tt.threshold.(int)
		}
		if got.Threshold != wantThreshold {
			t.Errorf("threshold %d, want %d", got.Threshold, wantThreshold)
		}
	}
}

func TestTimelineIntervals(t *testing.T) {
	root := corpusRoot(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	def := decode[TimelineResult](t, c, "get_traffic_timeline", map[string]any{"pcap_file": halfopen})
	if def.IntervalSeconds != 60 || def.TotalIntervals != 1 || len(def.Intervals) != 1 || def.Intervals[0].Packets != 36 {
		t.Errorf("default timeline: %+v", def)
	}
	one := decode[TimelineResult](t, c, "get_traffic_timeline", map[string]any{"pcap_file": halfopen, "interval_seconds": 1})
	if one.IntervalSeconds != 1 || one.TotalIntervals != 4 {
		t.Errorf("1 s timeline: interval %d total %d, want 1 and 4 (3.4 s capture)", one.IntervalSeconds, one.TotalIntervals)
	}
	var sum uint64
	for _, iv := range one.Intervals {
		sum += iv.Packets
	}
	if sum != 36 {
		t.Errorf("1 s intervals hold %d packets, want 36", sum)
	}
	pg := decode[TimelineResult](t, c, "get_traffic_timeline", map[string]any{"pcap_file": halfopen, "interval_seconds": 1, "offset": 1, "limit": 1})
	if pg.Returned != 1 || pg.Offset != 1 || pg.Total != len(one.Intervals) || pg.Remaining != len(one.Intervals)-2 || pg.Intervals[0].Start != one.Intervals[1].Start {
		t.Errorf("page: %+v", pg.Page)
	}
}

func TestListFindingsAndConversations(t *testing.T) {
	root := corpusRoot(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	all := decode[ListFindingsResult](t, c, "list_findings", map[string]any{"pcap_file": halfopen})
	if !all.ThreatDetected || all.Total != 1 || all.Findings[0].Source != "10.10.2.42" || all.ByType["port_scan"] != 1 {
		t.Errorf("list_findings: %+v", all)
	}
	for _, args := range []map[string]any{
		{"type": "dns_tunneling"},
		{"min_severity": "high"},
		{"source": "10.10.2.36"},
	} {
		args["pcap_file"] = halfopen
		got := decode[ListFindingsResult](t, c, "list_findings", args)
		if got.Total != 0 || len(got.Findings) != 0 || got.ByType["port_scan"] != 1 {
			t.Errorf("list_findings %v: total %d, by_type %v; want nothing kept, counts before filters", args, got.Total, got.ByType)
		}
	}
	conv := decode[ConversationsResult](t, c, "get_conversations", map[string]any{"pcap_file": halfopen})
	if conv.TotalTalkers != 3 || conv.Total != 2 || conv.Conversations[0].A != "10.10.2.42" || conv.Conversations[0].Flows != 15 {
		t.Errorf("get_conversations: %+v", conv)
	}
	one := decode[ConversationsResult](t, c, "get_conversations", map[string]any{"pcap_file": halfopen, "ip": "10.10.2.34"})
	if one.Total != 1 || len(one.Talkers) != 1 || one.Talkers[0].IP != "10.10.2.34" || one.Conversations[0].B != "10.10.2.36" {
		t.Errorf("get_conversations ip: %+v", one)
	}
}

func TestAnalyzeDNSCorpus(t *testing.T) {
	root := corpusRoot(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	got := decode[DNSResult](t, c, "analyze_dns", map[string]any{"pcap_file": "dmachard-malicious-dns/dns2tcp.pcap"})
	if got.Queries < 22 {
		t.Errorf("queries %d, want at least 22", got.Queries)
	}
	if !got.TunnelingDetected || len(got.Findings) == 0 || got.Findings[0].Source != "192.168.1.17" {
		t.Fatalf("dns2tcp: tunneling_detected %v findings %+v", got.TunnelingDetected, got.Findings)
	}
	if len(got.TopDomains) == 0 || got.TopDomains[0].Domain != "hsc.fr" {
		t.Errorf("top_domains %+v, want hsc.fr first", got.TopDomains)
	}
	for _, d := range got.TopDomains {
		if len(d.LongestName) > 160+20 {
			t.Errorf("longest_name not bounded: %d bytes", len(d.LongestName))
		}
	}
	quiet := decode[DNSResult](t, c, "analyze_dns", map[string]any{"pcap_file": halfopen})
	if quiet.TunnelingDetected || quiet.Queries != 0 || quiet.Findings == nil {
		t.Errorf("no DNS: %+v", quiet)
	}
}

// TestBadArguments checks every argument rule is a tool error result
// naming the argument, never a protocol error.
func TestBadArguments(t *testing.T) {
	root := corpusRoot(t)
	_, c := newTestServer(t, Config{Roots: []string{root}})
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"detect_port_scanning", map[string]any{"threshold": -1}, "threshold"},
		{"detect_port_scanning", map[string]any{"threshold": 0}, "threshold"},
		{"detect_port_scanning", map[string]any{"threshold": 70000}, "threshold"},
		{"detect_port_scanning", map[string]any{"threshold": "ten"}, "threshold"},
		{"get_traffic_timeline", map[string]any{"interval_seconds": 0}, "interval_seconds"},
		{"get_traffic_timeline", map[string]any{"interval_seconds": MaxIntervalSeconds + 1}, "interval_seconds"},
		{"list_findings", map[string]any{"limit": 5000}, "limit"},
		{"list_findings", map[string]any{"offset": -3}, "offset"},
		{"list_findings", map[string]any{"type": "ddos"}, "type"},
		{"list_findings", map[string]any{"min_severity": "severe"}, "min_severity"},
		{"get_conversations", map[string]any{"ip": "10.0.0.300"}, "ip"},
		{"read_pcap_summary", map[string]any{"max_packets": -1}, "max_packets"},
		{"read_pcap_summary", map[string]any{"bogus": 1}, "bogus"},
	}
	for _, tt := range tests {
		tt.args["pcap_file"] = halfopen
		msg := toolErrorText(t, c, tt.tool, tt.args)
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s(%v): error %q does not name %s", tt.tool, tt.args, msg, tt.want)
		}
	}
}

// TestHandlersValidateArguments calls the handlers without the schema
// validation in front, so their own checks stand.
func TestHandlersValidateArguments(t *testing.T) {
	s, err := New(Config{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	checks := []struct {
		name string
		err  error
	}{
		{"threshold 1", func() error { _, err := s.portScan(ctx, PortScanArgs{Threshold: 1}); return err }()},
		{"interval 0", func() error { _, err := s.timeline(ctx, TimelineArgs{IntervalSeconds: 0}); return err }()},
		{"limit 1001", func() error {
			_, err := s.listFindings(ctx, ListFindingsArgs{PageArgs: PageArgs{Limit: 1001}})
			return err
		}()},
		{"offset -1", func() error {
			_, err := s.conversations(ctx, ConversationsArgs{PageArgs: PageArgs{Offset: -1}})
			return err
		}()},
	}
	for _, ch := range checks {
		if _, ok := actionable(ch.err); !ok || !strings.HasPrefix(ch.err.Error(), "invalid argument") {
			t.Errorf("%s: error %v, want an invalid argument tool error", ch.name, ch.err)
		}
	}
}

// TestCaptureProblems checks that files the model named wrongly are tool
// errors saying what is wrong, and a capture cut short is a partial result
// with a warning.
func TestCaptureProblems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("this is not a capture at all, just text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.pcap"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	writeScanCapture(t, filepath.Join(dir, "whole.pcap"), 1, 12)
	whole, err := os.ReadFile(filepath.Join(dir, "whole.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cut.pcap"), whole[:len(whole)-20], 0o644); err != nil {
		t.Fatal(err)
	}
	_, c := newTestServer(t, Config{Roots: []string{dir}})
	for file, want := range map[string]string{
		"notes.txt":    "not a packet capture",
		"empty.pcap":   "empty",
		"missing.pcap": "does not exist",
		"":             "does not exist", // traffic.pcap, the default
	} {
		msg := toolErrorText(t, c, "read_pcap_summary", map[string]any{"pcap_file": file})
		if !strings.Contains(msg, want) {
			t.Errorf("%q: error %q, want it to say %q", file, msg, want)
		}
	}
	cut := decode[PortScanResult](t, c, "detect_port_scanning", map[string]any{"pcap_file": "cut.pcap"})
	if !cut.Partial || len(cut.Warnings) == 0 || !strings.Contains(cut.Warnings[0], "cut short") {
		t.Errorf("cut capture: partial %v warnings %v, want a warning", cut.Partial, cut.Warnings)
	}
	if !cut.PortScanDetected {
		t.Errorf("cut capture: the scan before the cut was not reported")
	}
}

// TestArgumentErrorsInWords checks that a bad argument is answered in a
// sentence that names the argument, the rule and the value sent, never the
// validator's Go structs ("&{Got:1/1 Want:2/1}").
func TestArgumentErrorsInWords(t *testing.T) {
	dir := t.TempDir()
	_, c := newTestServer(t, Config{Roots: []string{dir}})
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"detect_port_scanning", map[string]any{"threshold": 1}, "threshold must be at least 2, not 1"},
		{"detect_port_scanning", map[string]any{"threshold": "ten"}, "threshold must be an integer, not a string"},
		{"detect_port_scanning", map[string]any{"threshold": 2.5}, "threshold must be an integer, not a number"},
		{"list_findings", map[string]any{"limit": 5000}, "limit must be at most 1000, not 5000"},
		{"list_findings", map[string]any{"min_severity": "severe"}, `min_severity must be one of low, medium, high, critical, not "severe"`},
		{"read_pcap_summary", map[string]any{"bogus": 1}, "unknown argument bogus: this tool takes "},
		{"read_pcap_summary", map[string]any{"pcap_file": 7}, "pcap_file must be a string, not a number"},
	}
	for _, tt := range tests {
		msg := toolErrorText(t, c, tt.tool, tt.args)
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s(%v): error %q, want it to contain %q", tt.tool, tt.args, msg, tt.want)
		}
		if strings.Contains(msg, "&{") || strings.Contains(msg, "Got:") {
			t.Errorf("%s(%v): error %q prints a Go struct", tt.tool, tt.args, msg)
		}
	}
}
