package pcapgen_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/internal/pcapgen"
)

// The generated traffic checked with tshark, an independent dissector:
// what tshark decodes (fragments reassembled, DNS, TLS handshakes, HTTP)
// must be what the ground truth says was written.

// tsharkFields are the columns read from every frame.
var tsharkFields = []string{
	"frame.time_epoch", "eth.src", "ip.src", "ip.dst", "ip.flags.mf", "ip.frag_offset", "tcp.flags", "tcp.srcport", "tcp.dstport",
	"tcp.len", "udp.srcport", "udp.dstport", "dns.qry.name", "dns.qry.type", "dns.flags.response", "dns.flags.rcode", "dns.count.answers",
	"tls.handshake.type", "tls.handshake.extensions_server_name", "http.request.method", "http.request.uri", "http.response.code",
	"http.user_agent", "icmp.type", "icmpv6.type", "data.len", "mdns", "llmnr", "ntp", "dns", "ip.dst_host",
}

// frame is one row of tshark's table, by field name.
type frame map[string]string

func (f frame) int(name string) int {
	n, _ := strconv.ParseInt(strings.Split(f[name], ",")[0], 0, 64)
	return int(n)
}

// has reports whether the field is present (tshark prints protocol
// fields such as "dns" as the protocol's name).
func (f frame) has(name string) bool { return f[name] != "" }

type tsharkRun struct {
	st     *pcapgen.Stats
	frames []frame
}

var (
	tsharkOnce   sync.Once
	tsharkResult *tsharkRun
	tsharkErr    string
)

// tsharkCapture writes a small capture of the office mix with every
// attack, at a low packet rate so that the clocked traffic (health
// checks every 15 s, a backup after 20 s) is in it, and reads it once
// with tshark.
func tsharkCapture(t *testing.T) *tsharkRun {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark is not installed")
	}
	tsharkOnce.Do(func() {
		// The file is read once and removed: only tshark's table is kept.
		dir, err := os.MkdirTemp("", "pcapgen-tshark")
		if err != nil {
			tsharkErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "office.pcap")
		cfg := pcapgen.Config{Seed: 5, TargetSize: 4_000_000, PacketRate: 150, Hosts: 80, Attacks: pcapgen.Attacks{
			At:           0.4,
			PortScan:     &pcapgen.PortScan{Ports: 60},
			Upload:       &pcapgen.Upload{Bytes: 200_000},
			DNSTunnel:    &pcapgen.DNSTunnel{Queries: 30},
			HTTPEnum:     &pcapgen.HTTPEnum{Requests: 40},
			FragScan:     &pcapgen.PortScan{Ports: 50},
			DecoyScan:    &pcapgen.PortScan{Ports: 30},
			ACKScan:      &pcapgen.PortScan{Ports: 70},
			SlowScan:     &pcapgen.PortScan{Ports: 12, Interval: 700 * time.Millisecond, SourcePort: 53},
			LoginBrute:   &pcapgen.HTTPAttack{Requests: 45},
			SQLInjection: &pcapgen.HTTPAttack{Requests: 33},
			TLSExfil:     &pcapgen.Upload{Bytes: 400_000},
			SplitExfil:   &pcapgen.SplitUpload{Connections: 12, BytesPer: 20_000},
			ICMPExfil:    &pcapgen.ICMPExfil{Packets: 25, Size: 900},
			DNSExfil:     &pcapgen.DNSTunnel{Queries: 35},
		}}
		st, err := pcapgen.WriteFile(context.Background(), path, cfg)
		if err != nil {
			tsharkErr = err.Error()
			return
		}
		args := []string{"-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"}
		for _, f := range tsharkFields {
			args = append(args, "-e", f)
		}
		var out, stderr bytes.Buffer
		cmd := exec.Command("tshark", args...)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			tsharkErr = err.Error() + ": " + stderr.String()
			return
		}
		run := &tsharkRun{st: st}
		for line := range strings.SplitSeq(strings.TrimRight(out.String(), "\n"), "\n") {
			cols := strings.Split(line, "\t")
			f := frame{}
			for i, name := range tsharkFields {
				if i < len(cols) {
					f[name] = cols[i]
				}
			}
			run.frames = append(run.frames, f)
		}
		tsharkResult = run
	})
	if tsharkResult == nil {
		t.Fatalf("tshark capture: %s", tsharkErr)
	}
	return tsharkResult
}

// attack returns the ground truth of the attack called name.
func (r *tsharkRun) attack(t *testing.T, name string) *pcapgen.AttackTruth {
	t.Helper()
	for _, a := range r.st.Attacks {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no %s in the ground truth", name)
	return nil
}

// count returns how many frames match.
func (r *tsharkRun) count(match func(frame) bool) int {
	n := 0
	for _, f := range r.frames {
		if match(f) {
			n++
		}
	}
	return n
}

func TestTsharkCounts(t *testing.T) {
	r := tsharkCapture(t)
	st := r.st
	isFrag := func(f frame) bool {
		return f["ip.flags.mf"] == "1" || f["ip.frag_offset"] != "" && f["ip.frag_offset"] != "0"
	}
	tests := []struct {
		name  string
		truth int
		match func(frame) bool
	}{
		{"frames", st.Packets, func(frame) bool { return true }},
		{"tcp", st.TCP, func(f frame) bool { return f.has("tcp.srcport") }},
		{"udp", st.UDP, func(f frame) bool { return f.has("udp.srcport") }},
		{"icmp and icmpv6", st.ICMP, func(f frame) bool { return f.has("icmp.type") || f.has("icmpv6.type") }},
		{"dns", st.DNS, func(f frame) bool { return f.has("dns") }},
		{"mdns", st.MDNS, func(f frame) bool { return f.has("mdns") }},
		{"llmnr", st.LLMNR, func(f frame) bool { return f.has("llmnr") }},
		{"ntp", st.NTP, func(f frame) bool { return f.has("ntp") }},
		{"ip fragments", st.Fragments, isFrag},
	}
	for _, tt := range tests {
		if got := r.count(tt.match); got != tt.truth || tt.truth == 0 {
			t.Errorf("%s: tshark counts %d, the ground truth says %d (want equal and above 0)", tt.name, got, tt.truth)
		}
	}
}

// between says whether a frame goes from a to b (IPv4 addresses).
func between(f frame, a, b string) bool { return f["ip.src"] == a && f["ip.dst"] == b }

// tcpFlags reads tshark's tcp.flags (0x0002 for a bare SYN).
func tcpFlags(f frame) int { return f.int("tcp.flags") }

const (
	fSYN    = 0x002
	fRST    = 0x004
	fACK    = 0x010
	fSYNACK = 0x012
	fRSTACK = 0x014
)

// scanView is what tshark shows of a scan from src to dst.
type scanView struct {
	probes, rsts, synAcks, rstAcks, fragments int
	ports                                     map[string]bool
	macs                                      map[string]bool
	first, last                               float64
}

func viewScan(r *tsharkRun, src, dst string, probe int) scanView {
	v := scanView{ports: map[string]bool{}, macs: map[string]bool{}}
	for _, f := range r.frames {
		switch {
		case between(f, src, dst):
			if f["ip.flags.mf"] == "1" || f["ip.frag_offset"] != "0" && f["ip.frag_offset"] != "" {
				v.fragments++
			}
			if !f.has("tcp.flags") {
				continue
			}
			v.macs[f["eth.src"]] = true
			switch tcpFlags(f) {
			case probe:
				v.probes++
				v.ports[f["tcp.dstport"]] = true
				ts, _ := strconv.ParseFloat(f["frame.time_epoch"], 64)
				if v.first == 0 {
					v.first = ts
				}
				v.last = ts
			case fRST:
				v.rsts++
			}
		case between(f, dst, src) && f.has("tcp.flags"):
			switch tcpFlags(f) {
			case fSYNACK:
				v.synAcks++
			case fRSTACK:
				v.rstAcks++
			case fRST:
				v.rsts++ // an ACK scan's answers
			}
		}
	}
	return v
}

func TestTsharkScans(t *testing.T) {
	r := tsharkCapture(t)
	t.Run("fragmented SYN scan reassembles", func(t *testing.T) {
		a := r.attack(t, "frag_scan")
		v := viewScan(r, a.Source.String(), a.Target.String(), fSYN)
		// A 24-byte SYN (MSS option) in 8-byte fragments: three per probe.
		if v.probes != a.Ports || len(v.ports) != a.Ports || v.fragments != 3*a.Ports || a.Fragments != v.fragments {
			t.Errorf("tshark: %d reassembled SYNs to %d ports in %d fragments; truth %d ports, %d fragments",
				v.probes, len(v.ports), v.fragments, a.Ports, a.Fragments)
		}
		if v.synAcks != len(a.Open) || v.rstAcks != a.Ports-len(a.Open) || v.rsts != len(a.Open) {
			t.Errorf("answers: %d SYN-ACK, %d RST-ACK, %d scanner RST; truth %d open of %d", v.synAcks, v.rstAcks, v.rsts, len(a.Open), a.Ports)
		}
	})
	t.Run("decoy scan", func(t *testing.T) {
		a := r.attack(t, "decoy_scan")
		real := viewScan(r, a.Source.String(), a.Target.String(), fSYN)
		if real.probes != a.Ports || real.rsts != len(a.Open) || real.synAcks != len(a.Open) {
			t.Errorf("real scanner: %d SYNs, %d SYN-ACKs, %d RSTs; truth %d ports, %d open", real.probes, real.synAcks, real.rsts, a.Ports, len(a.Open))
		}
		if len(a.Decoys) != 5 {
			t.Fatalf("%d decoys in the truth, want the 5 defaults", len(a.Decoys))
		}
		for _, d := range a.Decoys {
			v := viewScan(r, d.String(), a.Target.String(), fSYN)
			if v.probes != a.Ports || v.rsts != 0 || v.synAcks != len(a.Open) {
				t.Errorf("decoy %v: %d SYNs, %d SYN-ACKs, %d RSTs; want %d, %d, 0", d, v.probes, v.synAcks, v.rsts, a.Ports, len(a.Open))
			}
			if len(v.macs) != 1 || !v.macs[firstKey(real.macs)] {
				t.Errorf("decoy %v probes from MACs %v, want the scanner's %v", d, v.macs, real.macs)
			}
		}
	})
	t.Run("ACK scan", func(t *testing.T) {
		a := r.attack(t, "ack_scan")
		v := viewScan(r, a.Source.String(), a.Target.String(), fACK)
		if v.probes != a.Ports || len(v.ports) != a.Ports || v.rsts != a.Ports-a.Filtered || a.Filtered == 0 {
			t.Errorf("tshark: %d ACK probes to %d ports, %d RSTs; truth %d ports, %d filtered", v.probes, len(v.ports), v.rsts, a.Ports, a.Filtered)
		}
	})
	t.Run("slow scan", func(t *testing.T) {
		a := r.attack(t, "slow_scan")
		v := viewScan(r, a.Source.String(), a.Target.String(), fSYN)
		if v.probes != a.Ports {
			t.Errorf("tshark: %d SYNs, truth %d", v.probes, a.Ports)
		}
		if span := v.last - v.first; span < 0.7*float64(a.Ports-1) {
			t.Errorf("probes span %.1f s, want at least %d intervals of 0.7 s", span, a.Ports-1)
		}
		sports := map[string]bool{}
		for _, f := range r.frames {
			if between(f, a.Source.String(), a.Target.String()) && tcpFlags(f) == fSYN {
				sports[f["tcp.srcport"]] = true
			}
		}
		if len(sports) != 1 || !sports["53"] {
			t.Errorf("source ports %v, want only 53", sports)
		}
	})
}

func firstKey[V any](m map[string]V) string {
	for k := range m {
		return k
	}
	return ""
}

func TestTsharkHTTPAttacks(t *testing.T) {
	r := tsharkCapture(t)
	for _, name := range []string{"login_brute", "sql_injection", "http_enum"} {
		t.Run(name, func(t *testing.T) {
			a := r.attack(t, name)
			src, dst := a.Source.String(), a.Target.String()
			reqs, uas, codes, uris := 0, map[string]int{}, map[string]int{}, map[string]bool{}
			for _, f := range r.frames {
				switch {
				case between(f, src, dst) && f.has("http.request.method"):
					reqs++
					uas[f["http.user_agent"]]++
					uris[f["http.request.uri"]] = true
					if name == "login_brute" && (f["http.request.method"] != "POST" || f["http.request.uri"] != "/login") {
						t.Errorf("request %s %s, want POST /login", f["http.request.method"], f["http.request.uri"])
					}
				case between(f, dst, src) && f.has("http.response.code"):
					codes[f["http.response.code"]]++
				}
			}
			if reqs != a.Requests || len(uas) != 1 {
				t.Errorf("tshark: %d requests with user agents %v; truth %d", reqs, uas, a.Requests)
			}
			for code, n := range a.Statuses {
				if codes[code] != n {
					t.Errorf("%d answers %s, truth %d (all: %v)", codes[code], code, n, codes)
				}
			}
			switch name {
			case "sql_injection":
				if strings.Contains(strings.ToLower(firstKey(uas)), "sqlmap") || !strings.HasPrefix(firstKey(uas), "Mozilla/5.0") {
					t.Errorf("user agent %q, want a browser's", firstKey(uas))
				}
				// Every request carries SQL in its query string, some a UNION.
				union := 0
				for u := range uris {
					q := strings.ToUpper(u[strings.Index(u, "?")+1:])
					if !strings.Contains(q, "%20AND%20") && !strings.Contains(q, "%20OR%20") && !strings.Contains(q, "SELECT") && !strings.Contains(q, "ORDER%20BY") {
						t.Errorf("request %s carries no SQL", u)
					}
					if strings.Contains(q, "UNION%20ALL%20SELECT") {
						union++
					}
				}
				if union == 0 {
					t.Errorf("no UNION ALL SELECT among %d distinct URIs", len(uris))
				}
			case "http_enum":
				if len(uris) != a.Requests {
					t.Errorf("%d distinct paths, truth %d", len(uris), a.Requests)
				}
			}
		})
	}
}

func TestTsharkExfiltration(t *testing.T) {
	r := tsharkCapture(t)
	for _, name := range []string{"tls_exfil", "split_exfil", "upload"} {
		t.Run(name, func(t *testing.T) {
			a := r.attack(t, name)
			var sent int64
			syns, hellos := 0, 0
			for _, f := range r.frames {
				if !between(f, a.Source.String(), a.Target.String()) {
					continue
				}
				sent += int64(f.int("tcp.len"))
				if tcpFlags(f) == fSYN {
					syns++
				}
				if strings.Contains(f["tls.handshake.type"], "1") && f["tls.handshake.extensions_server_name"] == "sync.storage-drop.net" {
					hellos++
				}
			}
			if sent != a.Bytes || syns != a.Connections {
				t.Errorf("tshark: %d payload bytes in %d connections; truth %d in %d", sent, syns, a.Bytes, a.Connections)
			}
			if name != "upload" && hellos != a.Connections {
				t.Errorf("%d ClientHellos with the SNI, want one per connection (%d)", hellos, a.Connections)
			}
		})
	}
	t.Run("icmp_exfil", func(t *testing.T) {
		a := r.attack(t, "icmp_exfil")
		var data int64
		reqs, replies := 0, 0
		for _, f := range r.frames {
			switch {
			case between(f, a.Source.String(), a.Target.String()) && f["icmp.type"] == "8":
				reqs++
				data += int64(f.int("data.len"))
			case between(f, a.Target.String(), a.Source.String()) && f["icmp.type"] == "0":
				replies++
			}
		}
		if data != a.Bytes || reqs != replies || int64(reqs)*900 != a.Bytes {
			t.Errorf("tshark: %d requests carrying %d bytes, %d replies; truth %d bytes in 900-byte payloads", reqs, data, replies, a.Bytes)
		}
	})
	for _, name := range []string{"dns_exfil", "dns_tunnel"} {
		t.Run(name, func(t *testing.T) {
			a := r.attack(t, name)
			want := map[string]string{"dns_exfil": "1", "dns_tunnel": "16"}[name] // A, TXT
			names, answers, nx := map[string]bool{}, 0, 0
			for _, f := range r.frames {
				switch {
				case between(f, a.Source.String(), a.Target.String()) && f["dns.flags.response"] == "0":
					if f["dns.qry.type"] != want || !strings.HasSuffix(f["dns.qry.name"], "."+a.Domain) {
						t.Errorf("query %s type %s, want type %s under %s", f["dns.qry.name"], f["dns.qry.type"], want, a.Domain)
					}
					names[f["dns.qry.name"]] = true
				case between(f, a.Target.String(), a.Source.String()) && f["dns.flags.response"] == "1":
					answers++
					if f["dns.flags.rcode"] == "3" {
						nx++
					}
				}
			}
			if len(names) != a.Queries || answers != a.Queries {
				t.Errorf("tshark: %d distinct names, %d answers; truth %d queries", len(names), answers, a.Queries)
			}
			if name == "dns_exfil" && nx != a.Queries {
				t.Errorf("%d NXDOMAIN answers, want all %d", nx, a.Queries)
			}
		})
	}
}

// TestTsharkOfficeMix checks the ordinary traffic as tshark decodes it.
func TestTsharkOfficeMix(t *testing.T) {
	r := tsharkCapture(t)
	t.Run("TLS handshakes carry SNI", func(t *testing.T) {
		hellos, servers, snis := 0, 0, map[string]bool{}
		for _, f := range r.frames {
			for _, typ := range strings.Split(f["tls.handshake.type"], ",") {
				switch typ {
				case "1":
					hellos++
					if f["tls.handshake.extensions_server_name"] == "" {
						t.Errorf("a ClientHello from %s without SNI", f["ip.src"])
					}
					snis[f["tls.handshake.extensions_server_name"]] = true
				case "2":
					servers++
				}
			}
		}
		if hellos < 30 || servers < hellos*9/10 || len(snis) < 10 {
			t.Errorf("%d ClientHellos, %d ServerHellos, %d server names; want tens, nearly one answer each, many names", hellos, servers, len(snis))
		}
	})
	t.Run("CDN names spread over many domains", func(t *testing.T) {
		perDomain := map[string]map[string]bool{}
		long := 0
		for _, f := range r.frames {
			name := f["dns.qry.name"]
			labels := strings.Split(name, ".")
			if f["dns.flags.response"] != "1" || len(labels) < 3 || len(labels[0]) < 12 || !f.has("dns") {
				continue
			}
			long++
			if f["dns.flags.rcode"] != "0" || f.int("dns.count.answers") == 0 {
				if !strings.HasSuffix(name, "telemetry-cache.net") && !strings.HasSuffix(name, "exfil-cdn.net") {
					t.Errorf("ordinary name %s answered rcode %s with %s answers", name, f["dns.flags.rcode"], f["dns.count.answers"])
				}
				continue
			}
			dom := strings.Join(labels[len(labels)-2:], ".")
			if perDomain[dom] == nil {
				perDomain[dom] = map[string]bool{}
			}
			perDomain[dom][name] = true
		}
		names := 0
		for dom, ns := range perDomain {
			names += len(ns)
			if len(ns) > 14 && dom != "telemetry-cache.net" && dom != "exfil-cdn.net" {
				t.Errorf("%d long names under %s, want at most 14 per CDN domain", len(ns), dom)
			}
		}
		if names < 50 || len(perDomain) < 25 {
			t.Errorf("%d distinct long names answered under %d registered domains, want tens over tens", names, len(perDomain))
		}
	})
	t.Run("mDNS and LLMNR go to their groups", func(t *testing.T) {
		for _, f := range r.frames {
			switch {
			case f.has("mdns") && (f["ip.dst"] != "224.0.0.251" || f["udp.dstport"] != "5353"):
				t.Errorf("mDNS to %s:%s", f["ip.dst"], f["udp.dstport"])
			case f.has("llmnr") && f["dns.flags.response"] == "0" && (f["ip.dst"] != "224.0.0.252" || f["udp.dstport"] != "5355"):
				t.Errorf("LLMNR query to %s:%s", f["ip.dst"], f["udp.dstport"])
			}
		}
	})
	t.Run("health checks poll few paths at a fixed interval", func(t *testing.T) {
		paths, codes := map[string]bool{}, map[string]int{}
		polls := map[string][]float64{}
		for _, f := range r.frames {
			switch {
			case f["ip.src"] == "10.0.0.20" && f.has("http.request.method"):
				paths[f["http.request.uri"]] = true
				ts, _ := strconv.ParseFloat(f["frame.time_epoch"], 64)
				polls[f["ip.dst"]] = append(polls[f["ip.dst"]], ts)
			case f["ip.dst"] == "10.0.0.20" && f.has("http.response.code"):
				codes[f["http.response.code"]]++
			}
		}
		if len(polls) < 20 || len(paths) > 5 || len(codes) != 1 || codes["200"] == 0 {
			t.Errorf("%d servers polled on %d paths, answers %v; want 20 or more servers, at most 5 paths, only 200s", len(polls), len(paths), codes)
		}
		for srv, ts := range polls {
			for i := 1; i < len(ts); i++ {
				if d := ts[i] - ts[i-1]; d < 14.5 || d > 15.5 {
					t.Errorf("%s polled %.1f s after the last poll, want about 15 s", srv, d)
				}
			}
		}
	})
	t.Run("crawler gets existing pages", func(t *testing.T) {
		uris, codes, reqs := map[string]bool{}, map[string]int{}, 0
		for _, f := range r.frames {
			switch {
			case f["ip.src"] == "10.0.0.31" && f.has("http.request.method"):
				reqs++
				uris[f["http.request.uri"]] = true
			case f["ip.dst"] == "10.0.0.31" && f.has("http.response.code"):
				codes[f["http.response.code"]]++
			}
		}
		// The visit in flight when the capture stops may lack its answers.
		if answered := codes["200"] + codes["301"]; reqs < 50 || len(uris) != reqs || answered < reqs-5 || answered != sum(codes) || codes["301"] == 0 {
			t.Errorf("crawler: %d requests for %d distinct pages, answers %v; want many distinct pages, all 200 or 301", reqs, len(uris), codes)
		}
	})
	t.Run("backup and NTP", func(t *testing.T) {
		var backup int64
		ntp := map[string]bool{}
		for _, f := range r.frames {
			if f["ip.dst"] == "10.0.1.50" {
				switch f["tcp.dstport"] {
				case "22", "873", "445":
					backup += int64(f.int("tcp.len"))
				}
			}
			if f.has("ntp") && f["udp.dstport"] == "123" && f.has("ip.dst") {
				ntp[f["ip.dst"]] = true
			}
		}
		// The backup starts after 20 s; the capture lasts about 40 s at
		// 150 packets/s, shared with everything else.
		if backup < 100_000 {
			t.Errorf("%d bytes sent to the backup server, want a transfer under way", backup)
		}
		if len(ntp) == 0 || len(ntp) > 3 {
			t.Errorf("NTP to %d servers, want 1 to 3", len(ntp))
		}
	})
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
