package inspect

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/detectors"
	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// tsharkFirst is tsharkRows with the first occurrence of each field only:
// the outer header of an ICMP error, not the one it quotes.
func tsharkFirst(t *testing.T, file, filter string, fields ...string) [][]string {
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

type counts struct{ txp, txb, rxp, rxb uint64 }

// TestConversationsAndEndpointsAgreeWithTshark sums tshark's per-packet
// fields into conversations and endpoints and compares them with the
// views built from the analysis' flows and talkers.
func TestConversationsAndEndpointsAgreeWithTshark(t *testing.T) {
	for _, tc := range []struct {
		file  string
		proto uint8
	}{
		{"http_sqlmap.pcap", 6}, {"scan_syn.pcap", 6}, {"benign_dns.pcapng", 17}, {"scan_udp.pcap", 17}, {"exfil_split.pcap", 6},
	} {
		t.Run(tc.file, func(t *testing.T) {
			file := testfiles.Testdata(t, tc.file)
			a, err := detectors.Analyze(context.Background(), file, detectors.Config{})
			if err != nil {
				t.Fatal(err)
			}
			l4 := protoName(tc.proto)
			rows := tsharkFirst(t, file, l4+" && !icmp", "ip.src", l4+".srcport", "ip.dst", l4+".dstport", "frame.len")
			ends := map[string]*counts{}
			pairs := map[string]*counts{} // key "a b" in either order; tx is a->b
			for _, r := range rows {
				src, dst := r[0]+":"+r[1], r[2]+":"+r[3]
				n, _ := strconv.ParseUint(r[4], 10, 64)
				for _, e := range []struct {
					k  string
					tx bool
				}{{src, true}, {dst, false}} {
					if ends[e.k] == nil {
						ends[e.k] = &counts{}
					}
					if e.tx {
						ends[e.k].txp++
						ends[e.k].txb += n
					} else {
						ends[e.k].rxp++
						ends[e.k].rxb += n
					}
				}
				k := src + " " + dst
				if pairs[dst+" "+src] != nil {
					k = dst + " " + src
					pairs[k].rxp++
					pairs[k].rxb += n
					continue
				}
				if pairs[k] == nil {
					pairs[k] = &counts{}
				}
				pairs[k].txp++
				pairs[k].txb += n
			}
			convs := Connections(a.Capture().Flows(), tc.proto)
			if len(convs) != len(pairs) {
				t.Errorf("%d conversations, tshark %d", len(convs), len(pairs))
			}
			for _, c := range convs {
				w, rev := pairs[c.A+" "+c.B], false
				if w == nil {
					w, rev = pairs[c.B+" "+c.A], true
				}
				if w == nil {
					t.Errorf("conversation %s %s not in tshark", c.A, c.B)
					continue
				}
				got := counts{c.PacketsAToB, c.BytesAToB, c.PacketsBToA, c.BytesBToA}
				if rev {
					got = counts{c.PacketsBToA, c.BytesBToA, c.PacketsAToB, c.BytesAToB}
				}
				if got != *w {
					t.Errorf("conversation %s %s: %+v, tshark %+v", c.A, c.B, got, *w)
				}
			}
			eps := TransportEndpoints(a.Capture().Flows(), tc.proto)
			if len(eps) != len(ends) {
				t.Errorf("%d endpoints, tshark %d", len(eps), len(ends))
			}
			for _, e := range eps {
				k := fmt.Sprintf("%s:%d", e.Address, e.Port)
				if w := ends[k]; w == nil || (counts{e.TxPackets, e.TxBytes, e.RxPackets, e.RxBytes}) != *w {
					t.Errorf("endpoint %s: %+v, tshark %+v", k, e, w)
				}
			}
			// IP endpoints: every IPv4 frame, outer header.
			ipEnds := map[string]*counts{}
			for _, r := range tsharkFirst(t, file, "ip", "ip.src", "ip.dst", "frame.len") {
				n, _ := strconv.ParseUint(r[2], 10, 64)
				for i, k := range r[:2] {
					if ipEnds[k] == nil {
						ipEnds[k] = &counts{}
					}
					if i == 0 {
						ipEnds[k].txp++
						ipEnds[k].txb += n
					} else {
						ipEnds[k].rxp++
						ipEnds[k].rxb += n
					}
				}
			}
			ips := IPEndpoints(a.Talkers())
			if len(ips) != len(ipEnds) {
				t.Errorf("%d IP endpoints, tshark %d", len(ips), len(ipEnds))
			}
			for _, e := range ips {
				if w := ipEnds[e.Address]; w == nil || (counts{e.TxPackets, e.TxBytes, e.RxPackets, e.RxBytes}) != *w {
					t.Errorf("IP endpoint %s: %+v, tshark %+v", e.Address, e, w)
				}
			}
			t.Logf("%d conversations, %d endpoints, %d IP endpoints agree", len(pairs), len(ends), len(ipEnds))
		})
	}
}
