package mcpserver

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// tsharkFrames returns the frame numbers tshark selects with a display
// filter: the independent truth find_packets is checked against.
func tsharkFrames(t *testing.T, file, filter string) []int {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	out, err := exec.Command(ts, "-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Fatalf("tshark -Y %q: %v", filter, err)
	}
	var frames []int
	for _, f := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, n)
	}
	return frames
}

// TestFindPacketsAgreesWithTshark checks find_packets against tshark with
// display filters written here by hand for each set of arguments, and
// against the display filter the tool itself returns.
func TestFindPacketsAgreesWithTshark(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{"../testdata"}})
	for _, tc := range []struct {
		file    string
		args    map[string]any
		wshark  string
		atLeast int
	}{
		{"scan_syn.pcap", map[string]any{"src": "10.66.0.10", "flags": "syn,!ack"}, "ip.src==10.66.0.10 && tcp.flags.syn==1 && tcp.flags.ack==0", 1000},
		{"scan_syn.pcap", map[string]any{"host": "10.66.0.20", "port": 22}, "ip.addr==10.66.0.20 && tcp.port==22 && !icmp", 2},
		{"scan_syn.pcap", map[string]any{"proto": "arp"}, "arp", 2},
		{"scan_udp.pcap", map[string]any{"proto": "udp", "dst_port": 53}, "udp.dstport==53 && !icmp", 1},
		{"scan_udp.pcap", map[string]any{"proto": "icmp"}, "icmp", 60},
		{"dns_tunnel.pcap", map[string]any{"proto": "dns", "first_frame": 10, "last_frame": 200}, "dns && !icmp && frame.number>=10 && frame.number<=200", 100},
		{"http_sqlmap.pcap", map[string]any{"dst": "10.66.0.0/24", "dst_port": 80, "flags": "psh"}, "ip.dst==10.66.0.0/24 && tcp.dstport==80 && tcp.flags.push==1", 50},
		{"sweep_syn.pcap", map[string]any{"dst": "10.77.0.0/16", "since": "1970-01-01T00:00:00Z"}, "ip.dst==10.77.0.0/16", 30},
		{"benign_dns.pcapng", map[string]any{"host": "10.66.0.53", "proto": "udp"}, "ip.addr==10.66.0.53 && udp", 100},
	} {
		t.Run(tc.file+" "+tc.wshark, func(t *testing.T) {
			args := map[string]any{"pcap_file": tc.file, "limit": MaxLimit}
			for k, v := range tc.args {
				args[k] = v
			}
			want := tsharkFrames(t, "../testdata/"+tc.file, tc.wshark)
			if len(want) < tc.atLeast {
				t.Fatalf("tshark selects %d frames, the case expects at least %d: the case is wrong", len(want), tc.atLeast)
			}
			var got []int
			var filter string
			for offset := 0; ; {
				args["offset"] = offset
				r := decode[FindPacketsResult](t, c, "find_packets", args)
				filter = r.DisplayFilter
				for _, l := range r.Packets {
					got = append(got, l.Number)
				}
				if r.Total != len(want) {
					t.Fatalf("total %d, tshark %d", r.Total, len(want))
				}
				if r.Remaining == 0 {
					break
				}
				offset = r.NextOffset
			}
			if !equalInts(got, want) {
				t.Fatalf("frames %v, tshark %v", head(got), head(want))
			}
			if own := tsharkFrames(t, "../testdata/"+tc.file, filter); !equalInts(own, want) {
				t.Errorf("the returned display filter %q selects %d frames in tshark, want %d", filter, len(own), len(want))
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func head(s []int) []int { return s[:min(len(s), 20)] }

func TestPacketToolsArguments(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{"../testdata"}})
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"find_packets", map[string]any{"pcap_file": "scan_syn.pcap", "host": "not-an-ip"}, "host"},
		{"find_packets", map[string]any{"pcap_file": "scan_syn.pcap", "since": "yesterday"}, "since"},
		{"find_packets", map[string]any{"pcap_file": "scan_syn.pcap", "flags": "syn,bogus"}, "flags"},
		{"get_packet", map[string]any{"pcap_file": "scan_syn.pcap", "frame": 999999}, "frame"},
		{"get_packet", map[string]any{"pcap_file": "../go.mod", "frame": 1}, "pcap_file"},
	} {
		msg := toolErrorText(t, c, tc.tool, tc.args)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s(%v): %q does not name %s", tc.tool, tc.args, msg, tc.want)
		}
	}
}

func TestGetPacketAndViews(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{"../testdata"}})
	p := decode[GetPacketResult](t, c, "get_packet", map[string]any{"pcap_file": "scan_syn.pcap", "frame": 3})
	var names []string
	for _, l := range p.Layers {
		names = append(names, l.Name)
	}
	if strings.Join(names, ",") != "Ethernet,IPv4,TCP" || p.Number != 3 || p.Protocol != "TCP" || len(p.Hex) == 0 {
		t.Errorf("frame 3: layers %v, number %d, protocol %s, %d hex lines", names, p.Number, p.Protocol, len(p.Hex))
	}
	q := decode[DNSQueriesResult](t, c, "list_dns_queries", map[string]any{"pcap_file": "benign_dns.pcapng", "limit": 5})
	want := tsharkFrames(t, "../testdata/benign_dns.pcapng", "dns.flags.response==0")
	if q.Total != len(want) || len(q.Queries) != 5 || q.Queries[0].Frame != want[0] || !q.Queries[0].Answered {
		t.Errorf("dns queries: total %d (tshark %d), first %+v", q.Total, len(want), q.Queries[0])
	}
	h := decode[HierarchyResult](t, c, "get_protocol_hierarchy", map[string]any{"pcap_file": "benign_dns.pcapng"})
	if len(h.Protocols) != 4 || h.Protocols[3].Path != "eth:ip:udp:dns" || h.Protocols[3].Frames != h.Packets || h.Packets != len(tsharkFrames(t, "../testdata/benign_dns.pcapng", "frame")) {
		t.Errorf("hierarchy %+v of %d packets", h.Protocols, h.Packets)
	}
}

func TestConversationLevelsAndEndpoints(t *testing.T) {
	_, c := newTestServer(t, Config{Roots: []string{"../testdata"}})
	streams := map[string]bool{}
	for _, s := range tsharkFieldValues(t, "../testdata/http_sqlmap.pcap", "tcp", "tcp.stream") {
		streams[s] = true
	}
	conv := decode[ConversationsResult](t, c, "get_conversations", map[string]any{"pcap_file": "http_sqlmap.pcap", "level": "tcp", "limit": 5})
	if conv.Total != len(streams) || len(conv.Connections) != 5 || len(conv.Conversations) != 0 || conv.Connections[0].Proto != "tcp" {
		t.Errorf("level tcp: total %d (tshark %d streams), %d connections, %d conversations", conv.Total, len(streams), len(conv.Connections), len(conv.Conversations))
	}
	ip := decode[ConversationsResult](t, c, "get_conversations", map[string]any{"pcap_file": "http_sqlmap.pcap"})
	if len(ip.Conversations) != 1 || len(ip.Connections) != 0 {
		t.Errorf("level ip: %d conversations, %d connections", len(ip.Conversations), len(ip.Connections))
	}
	ends := map[string]bool{}
	for _, row := range tsharkFieldRows(t, "../testdata/benign_dns.pcapng", "udp", "ip.src", "udp.srcport", "ip.dst", "udp.dstport") {
		ends[row[0]+":"+row[1]], ends[row[2]+":"+row[3]] = true, true
	}
	ep := decode[EndpointsResult](t, c, "get_endpoints", map[string]any{"pcap_file": "benign_dns.pcapng", "level": "udp", "limit": MaxLimit})
	if ep.Total != len(ends) || ep.Endpoints[0].Address != "10.66.0.53" || ep.Endpoints[0].Port != 53 {
		t.Errorf("udp endpoints: total %d (tshark %d), first %+v", ep.Total, len(ends), ep.Endpoints[0])
	}
	if msg := toolErrorText(t, c, "get_endpoints", map[string]any{"pcap_file": "benign_dns.pcapng", "level": "sctp"}); !strings.Contains(msg, "level") {
		t.Errorf("level sctp: %q", msg)
	}
}

func tsharkFieldValues(t *testing.T, file, filter, field string) []string {
	var out []string
	for _, r := range tsharkFieldRows(t, file, filter, field) {
		out = append(out, r[0])
	}
	return out
}

func tsharkFieldRows(t *testing.T, file, filter string, fields ...string) [][]string {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	args := []string{"-n", "-r", file, "-Y", filter, "-T", "fields", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(ts, args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}
