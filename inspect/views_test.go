package inspect

import (
	"context"
	"encoding/hex"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/testfiles"
)

// field returns the value of a decoded field, "" when absent.
func field(d *Detail, layer, name string) string {
	for _, l := range d.Layers {
		if l.Name != layer {
			continue
		}
		for _, f := range l.Fields {
			if f.Name == name {
				return f.Value
			}
		}
	}
	return ""
}

func TestFrameAgreesWithTshark(t *testing.T) {
	for _, tc := range []struct {
		file  string
		frame int
	}{
		{"scan_syn.pcap", 3}, {"scan_syn.pcap", 2005}, {"http_sqlmap.pcap", 4}, {"benign_dns.pcapng", 2}, {"exfil_icmp.pcap", 3},
	} {
		t.Run(tc.file+"#"+strconv.Itoa(tc.frame), func(t *testing.T) {
			file := testfiles.Testdata(t, tc.file)
			want := tsharkRows(t, file, "frame.number=="+strconv.Itoa(tc.frame), "frame.number", "frame.len", "frame.cap_len", "ip.src", "ip.dst", "ip.ttl", "tcp.seq_raw", "udp.srcport", "dns.id")
			if len(want) != 1 {
				t.Fatalf("tshark gave %d rows", len(want))
			}
			w := want[0]
			d, err := Frame(context.Background(), Source{Path: file}, tc.frame)
			if err != nil {
				t.Fatal(err)
			}
			if strconv.Itoa(d.Number) != w[0] || strconv.Itoa(d.Length) != w[1] || strconv.Itoa(d.Captured) != w[2] {
				t.Errorf("number %d length %d captured %d, tshark %v", d.Number, d.Length, d.Captured, w[:3])
			}
			for _, c := range []struct{ layer, name, want string }{
				{"IPv4", "SrcIP", w[3]}, {"IPv4", "DstIP", w[4]}, {"IPv4", "TTL", w[5]}, {"TCP", "Seq", w[6]},
			} {
				if got := field(d, c.layer, c.name); c.want != "" && got != c.want {
					t.Errorf("%s.%s = %q, tshark %q", c.layer, c.name, got, c.want)
				}
			}
			if w[7] != "" && !strings.HasPrefix(field(d, "UDP", "SrcPort"), w[7]) {
				t.Errorf("UDP.SrcPort = %q, tshark %s", field(d, "UDP", "SrcPort"), w[7])
			}
			if w[8] != "" {
				id, _ := strconv.ParseUint(strings.TrimPrefix(w[8], "0x"), 16, 16)
				if field(d, "DNS", "ID") != strconv.FormatUint(id, 10) {
					t.Errorf("DNS.ID = %q, tshark %s", field(d, "DNS", "ID"), w[8])
				}
			}
			// The hex dump holds the frame's bytes as tshark -x shows them.
			out, err := exec.Command("tshark", "-n", "-r", file, "-Y", "frame.number=="+strconv.Itoa(tc.frame), "-x").Output()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := dumpBytes(t, d.Hex, `^[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2}){1,16})`), dumpBytes(t, strings.Split(string(out), "\n"), `^[0-9a-f]{4}  ((?:[0-9a-f]{2} ){1,16})`); got != want[:min(len(want), 2*MaxDumpBytes)] {
				t.Errorf("hex dump %s..., tshark %s...", got[:min(len(got), 64)], want[:min(len(want), 64)])
			}
		})
	}
	if _, err := Frame(context.Background(), Source{Path: testfiles.Testdata(t, "sweep_syn.pcap")}, 67); !errors.Is(err, ErrNoFrame) {
		t.Errorf("frame past the end: %v, want ErrNoFrame", err)
	}
}

// dumpBytes collects the hex bytes of a dump's lines.
func dumpBytes(t *testing.T, lines []string, pattern string) string {
	re := regexp.MustCompile(pattern)
	var b strings.Builder
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			b.WriteString(strings.ReplaceAll(m[1], " ", ""))
		}
	}
	if _, err := hex.DecodeString(b.String()); err != nil {
		t.Fatalf("dump is not hex: %v", err)
	}
	return b.String()
}

func TestDNSQueriesAgreeWithTshark(t *testing.T) {
	for _, name := range []string{"benign_dns.pcapng", "dns_tunnel.pcap", "benign_cdn_dns.pcap", "exfil_dns_a.pcap"} {
		t.Run(name, func(t *testing.T) {
			file := testfiles.Testdata(t, name)
			queries := tsharkRows(t, file, "dns.flags.response==0", "frame.number", "ip.src", "ip.dst", "dns.qry.name", "dns.qry.type")
			responses := tsharkRows(t, file, "dns.flags.response==1", "frame.number", "dns.response_to", "dns.flags.rcode", "dns.a")
			got, err := DNSQueries(context.Background(), Source{Path: file}, 0, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != len(queries) || len(got.Queries) != len(queries) {
				t.Fatalf("%d queries (%d listed), tshark %d", got.Total, len(got.Queries), len(queries))
			}
			byFrame := map[string][]string{}
			for _, r := range responses {
				if r[1] != "" {
					byFrame[r[1]] = r
				}
			}
			answered := 0
			for i, w := range queries {
				g := got.Queries[i]
				// A name with bytes outside printable ASCII is escaped
				// (\xNN) where tshark prints them raw.
				nameDiffers := g.Name != w[3] && printableASCII([]byte(w[3]))
				if strconv.Itoa(g.Frame) != w[0] || g.Client != w[1] || g.Server != w[2] || nameDiffers {
					t.Errorf("query %d: %d %s %s %q, tshark %v", i, g.Frame, g.Client, g.Server, g.Name, w)
					continue
				}
				r, ok := byFrame[w[0]]
				if ok != g.Answered {
					t.Errorf("frame %s: answered %v, tshark %v", w[0], g.Answered, ok)
					continue
				}
				if !ok {
					continue
				}
				answered++
				if strconv.Itoa(g.ResponseFrame) != r[0] {
					t.Errorf("frame %s: response in %d, tshark %s", w[0], g.ResponseFrame, r[0])
				}
				var as []string
				for _, a := range g.Answers {
					if ip, ok := strings.CutPrefix(a, "A "); ok {
						as = append(as, ip)
					}
				}
				// tshark's dns.a also lists the additional section (the
				// A of an MX's exchanger) after the answers.
				j := strings.Join(as, ",")
				if j != r[3] && !strings.HasPrefix(r[3], j+",") && (j != "" || g.Type == "A") {
					t.Errorf("frame %s: A answers %v, tshark %q", w[0], as, r[3])
				}
			}
			t.Logf("%d queries, %d answered, all as tshark has them", len(queries), answered)
			// A page is the same slice of the whole list.
			pg, err := DNSQueries(context.Background(), Source{Path: file}, 3, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) > 8 && (len(pg.Queries) != 5 || pg.Queries[0].Frame != got.Queries[3].Frame || pg.Total != got.Total) {
				t.Errorf("page 3+5: %d queries from frame %d, total %d", len(pg.Queries), pg.Queries[0].Frame, pg.Total)
			}
		})
	}
}

// phsLine is one line of tshark -qz io,phs.
var phsLine = regexp.MustCompile(`^( *)(\S+)\s+frames:(\d+) bytes:(\d+)$`)

// comparedPHS are the protocols whose nodes must agree with tshark's.
var comparedPHS = map[string]bool{"eth": true, "ip": true, "ipv6": true, "tcp": true, "udp": true, "dns": true, "arp": true, "icmp": true}

func TestHierarchyAgreesWithTshark(t *testing.T) {
	for _, name := range []string{"benign_dns.pcapng", "scan_syn.pcap", "scan_frag.pcap", "http_sqlmap.pcap", "exfil_icmp.pcap", "dns_tunnel.pcap", "benign_browse.pcap"} {
		t.Run(name, func(t *testing.T) {
			file := testfiles.Testdata(t, name)
			if _, err := exec.LookPath("tshark"); err != nil {
				t.Skip("tshark is not installed")
			}
			out, err := exec.Command("tshark", "-n", "-r", file, "-qz", "io,phs").Output()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			var stack []string
			for _, l := range strings.Split(string(out), "\n") {
				m := phsLine.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				depth := len(m[1]) / 2
				stack = append(stack[:depth], m[2])
				// Under icmp tshark counts the header an ICMP error
				// quotes; the hierarchy names the ICMP message only.
				if all(stack, comparedPHS) && !quoted(stack) {
					want[strings.Join(stack, ":")] = m[3] + "/" + m[4]
				}
			}
			h, err := ProtocolHierarchy(context.Background(), Source{Path: file})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			var walk func(n *Node, path []string)
			walk = func(n *Node, path []string) {
				path = append(path, n.Protocol)
				if all(path, comparedPHS) && !quoted(path) {
					got[strings.Join(path, ":")] = strconv.Itoa(n.Frames) + "/" + strconv.FormatInt(n.Bytes, 10)
				}
				for _, c := range n.Children {
					walk(c, path)
				}
			}
			for _, r := range h.Roots {
				walk(r, nil)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: frames/bytes %q, tshark %q", k, got[k], v)
				}
			}
			for k, v := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: %s, not in tshark's hierarchy", k, v)
				}
			}
			t.Logf("%d nodes agree: %v", len(want), want)
		})
	}
}

func quoted(path []string) bool {
	for i, p := range path {
		if p == "icmp" && i < len(path)-1 {
			return true
		}
	}
	return false
}

func all(names []string, set map[string]bool) bool {
	for _, n := range names {
		if !set[n] {
			return false
		}
	}
	return true
}
