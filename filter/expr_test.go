package filter_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
)

func TestString(t *testing.T) {
	a := netip.MustParseAddr
	src, dst := a("10.0.0.5"), a("10.0.0.9")
	tests := []struct {
		name string
		f    filter.Expr
		want string
	}{
		{"zero", filter.Expr{}, ""},
		{"syn probes", filter.And(filter.Src(src), filter.Dst(dst), filter.TCPFlags(capture.FlagSYN, capture.FlagACK)),
			"ip.src==10.0.0.5 && ip.dst==10.0.0.9 && tcp.flags.syn==1 && tcp.flags.ack==0 && !icmp"},
		{"address alone names the outer header", filter.Host(src), "ip.addr#1==10.0.0.5"},
		{"ipv6", filter.And(filter.Src(a("2001:db8::1")), filter.Proto(filter.UDP)), "ipv6.src==2001:db8::1 && udp && !icmpv6"},
		{"mapped ipv4 is ipv4", filter.Dst(a("::ffff:10.0.0.9")), "ip.dst#1==10.0.0.9"},
		{"echo anchors addresses", filter.And(filter.Src(src), filter.ICMPType(false, 8)), "ip.src==10.0.0.5 && icmp.type#1==8"},
		{"error does not", filter.And(filter.Src(src), filter.ICMPType(false, 3)), "ip.src#1==10.0.0.5 && icmp.type#1==3"},
		{"or parenthesised", filter.Or(filter.Proto(filter.ARP), filter.Port(0, filter.Either, 53)),
			"arp || ((tcp.port==53 || udp.port==53) && !icmp && !icmpv6)"},
		{"not", filter.Not(filter.And(filter.Host(src), filter.Proto(filter.TCP))), "!(ip.addr==10.0.0.5 && tcp && !icmp)"},
		{"not zero matches nothing", filter.Not(filter.Expr{}), "!frame"},
		{"frames", filter.Frames(5, 9), "frame.number>=5 && frame.number<=9"},
		{"time", filter.Between(time.Unix(10, 5), time.Time{}), "frame.time_epoch>=10.000000005"},
		{"network", filter.Addr(filter.Either, netip.MustParsePrefix("10.1.2.3/16")), "ip.addr#1==10.1.0.0/16"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%s: String() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDNSUnderRejectsWhatIsNotAName(t *testing.T) {
	for _, d := range []string{"", ".", "a..b", `evil"||frame`, "a b.com", strings.Repeat("a", 64) + ".com", "(x).com"} {
		if _, err := filter.DNSUnder(d); err == nil {
			t.Errorf("DNSUnder(%q) = nil error, want one", d)
		}
	}
	if e, err := filter.DNSUnder("Tunnel.Example.com."); err != nil || e.String() != `dns.qry.name matches "(^|\\.)tunnel\\.example\\.com$" && !icmp && !icmpv6` {
		t.Errorf("DNSUnder: %q, %v", e.String(), err)
	}
}

func TestFromOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       filter.Options
		want    string
		wantErr string
	}{
		{"zero matches all", filter.Options{}, "", ""},
		{"scan probes", filter.Options{Src: "10.0.0.5", Dst: "10.0.0.0/24", Proto: "tcp", DstPort: 22, Flags: "syn,!ack"},
			"ip.src==10.0.0.5 && ip.dst==10.0.0.0/24 && tcp && tcp.dstport==22 && tcp.flags.syn==1 && tcp.flags.ack==0 && !icmp", ""},
		{"bad host", filter.Options{Host: "10.0.0.300"}, "", "host:"},
		{"bad proto", filter.Options{Proto: "sctp"}, "", "proto:"},
		{"port on icmp", filter.Options{Proto: "icmp", Port: 1}, "", "icmp has no ports"},
		{"bad flag", filter.Options{Flags: "syn,bogus"}, "", "unknown TCP flag"},
		{"contradictory flags", filter.Options{Flags: "syn,!syn"}, "", "sets and clears"},
		{"frames backwards", filter.Options{FirstFrame: 9, LastFrame: 3}, "", "frames"},
		{"time backwards", filter.Options{Since: time.Unix(10, 0), Until: time.Unix(5, 0)}, "", "not after"},
		{"bad domain", filter.Options{Domain: "a/b"}, "", "domain:"},
	}
	for _, tt := range tests {
		f, err := filter.FromOptions(tt.o)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := f.String(); got != tt.want {
			t.Errorf("%s: String() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
