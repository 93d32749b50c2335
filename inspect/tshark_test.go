package inspect

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// tsharkRows runs tshark on file with an optional display filter and
// returns one row of the named fields per frame: the independent truth the
// views are checked against.
func tsharkRows(t testing.TB, file, filter string, fields ...string) [][]string {
	t.Helper()
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed")
	}
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(ts, args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}

// seconds parses tshark's decimal seconds into a duration, exactly.
func seconds(t testing.TB, s string) time.Duration {
	t.Helper()
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return -seconds(t, rest)
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	frac = (frac + "000000000")[:9]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return time.Duration(w)*time.Second + time.Duration(f)
}

// listCaptures are the captures the packet list is checked on: scans,
// sweeps, ICMP, ARP, DNS, HTTP, fragments, VLAN and pcapng.
var listCaptures = []string{
	"scan_syn.pcap", "scan_udp.pcap", "scan_xmas.pcap", "scan_null.pcap", "scan_frag.pcap", "sweep_syn.pcap",
	"exfil_icmp.pcap", "benign_dns.pcapng", "dns_tunnel.pcap", "http_sqlmap.pcap", "gen_vlan_qinq.pcap",
	"gen_nanosecond.pcap", "gen_edge_pcapng_multi.pcapng", "benign_tls_browse.pcap",
}

// infoExact are the captures (TCP scans, ARP, IPv4 fragments) whose info
// column must be tshark's exactly.
var infoExact = map[string]bool{"scan_syn.pcap": true, "scan_xmas.pcap": true, "scan_null.pcap": true, "scan_frag.pcap": true, "sweep_syn.pcap": true}

// comparedProtocols are the protocol column values Find must give exactly
// as tshark does.
var comparedProtocols = map[string]bool{"TCP": true, "UDP": true, "ICMP": true, "DNS": true, "ARP": true}

func TestFindAgreesWithTshark(t *testing.T) {
	for _, name := range listCaptures {
		t.Run(name, func(t *testing.T) {
			file := testfiles.Testdata(t, name)
			want := tsharkRows(t, file, "", "frame.number", "frame.time_relative", "_ws.col.Source", "_ws.col.Destination", "_ws.col.Protocol", "frame.len", "_ws.col.Info")
			got, err := Find(context.Background(), Source{Path: file}, nil, 0, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if got.Matched != len(want) || len(got.Lines) != len(want) {
				t.Fatalf("%d packets (%d lines), tshark has %d", got.Matched, len(got.Lines), len(want))
			}
			infoSame, infoShown := 0, 0
			for i, w := range want {
				g := got.Lines[i]
				if strconv.Itoa(g.Number) != w[0] || g.rel != seconds(t, w[1]) || g.Source != w[2] || g.Destination != w[3] || strconv.Itoa(g.Length) != w[5] {
					t.Errorf("frame %s: got %d %s(%v) %s %s %d, tshark %v", w[0], g.Number, g.Time, g.rel, g.Source, g.Destination, g.Length, w[:6])
					continue
				}
				// tshark calls a segment that starts an HTTP message or
				// TLS record continued in later segments TCP, and the
				// last one HTTP or TLS; Find does not reassemble and
				// names the first by its content.
				reassembled := g.Protocol != "TCP" && w[4] == "TCP" && strings.Contains(w[6], "[TCP segment of a reassembled PDU]")
				if comparedProtocols[w[4]] && g.Protocol != w[4] && !reassembled {
					t.Errorf("frame %s: protocol %s, tshark %s (%s | %s)", w[0], g.Protocol, w[4], g.Info, w[6])
				}
				if g.Info == w[6] {
					infoSame++
				} else if testing.Verbose() && infoShown < 3 {
					infoShown++
					t.Logf("info differs: %q, tshark %q", g.Info, w[6])
				}
			}
			t.Logf("%d frames agree; info column identical to tshark's in %d", len(want), infoSame)
			if all, ok := infoExact[name]; ok && all && infoSame != len(want) {
				t.Errorf("info column identical in %d of %d frames, want all", infoSame, len(want))
			}
		})
	}
}
