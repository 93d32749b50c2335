package pcapgen

import (
	"net/netip"
	"time"
)

// Stats is the ground truth of a written capture: what a reader must find.
type Stats struct {
	Packets int `json:"packets"`
	// FileBytes is the size of the capture file, before any gzip compression.
	FileBytes int64 `json:"file_bytes"`
	// WireBytes is the sum of the frames' lengths (no frame is cut short).
	WireBytes int64     `json:"wire_bytes"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	LinkType  string    `json:"link_type"`
	// UniqueIPs counts the distinct addresses in IP headers (ARP's are the same hosts').
	UniqueIPs int `json:"unique_ips"`
	// Flows counts the distinct TCP and UDP 5-tuples.
	Flows int `json:"flows"`

	// Packets by what they carry: a DNS packet counts under IPv4 or IPv6,
	// UDP and DNS; a tagged frame also under VLAN.
	IPv4 int `json:"ipv4"`
	IPv6 int `json:"ipv6"`
	TCP  int `json:"tcp"`
	UDP  int `json:"udp"`
	ICMP int `json:"icmp"` // ICMP and ICMPv6
	ARP  int `json:"arp"`
	DNS  int `json:"dns"` // DNS on port 53 (mDNS and LLMNR count apart)
	VLAN int `json:"vlan"`
	// MDNS and LLMNR count multicast name resolution packets (UDP 5353
	// and 5355); NTP counts UDP 123.
	MDNS  int `json:"mdns"`
	LLMNR int `json:"llmnr"`
	NTP   int `json:"ntp"`
	// Fragments counts IPv4 packets that are fragments (MF set or a
	// non-zero offset). A fragmented datagram counts once under TCP, UDP
	// or ICMP, at its last fragment, where a reassembling reader sees it.
	Fragments int `json:"fragments"`

	PortScan  *PortScanTruth  `json:"port_scan,omitempty"`
	Upload    *UploadTruth    `json:"upload,omitempty"`
	DNSTunnel *DNSTunnelTruth `json:"dns_tunnel,omitempty"`
	HTTPEnum  *HTTPEnumTruth  `json:"http_enum,omitempty"`

	// Attacks lists every injected attack, the four above included, with
	// what a reader should conclude from it.
	Attacks []*AttackTruth `json:"attacks,omitempty"`
}

// AttackTruth is the ground truth of one injected attack. Fields that do
// not apply to an attack are zero.
type AttackTruth struct {
	// Name is the Attacks field that injected it, in snake case
	// (port_scan, frag_scan, login_brute, dns_exfil, ...).
	Name string `json:"name"`
	// Type is the report's attack type a reader should give it:
	// port_scan, http_enumeration, data_exfiltration or dns_tunneling.
	Type string `json:"type"`
	// Technique says how it was done (syn, syn_fragmented, decoy, ack,
	// slow, directory_bruteforce, credential_bruteforce, sql_injection,
	// upload, tls_upload, split_upload, icmp_echo, dns_txt, dns_a).
	Technique string `json:"technique"`
	// Source is the real attacker (for a decoy scan, not a decoy).
	Source netip.Addr `json:"source"`
	Target netip.Addr `json:"target"`
	// Port is the target port, zero for scans.
	Port   uint16       `json:"port,omitempty"`
	Decoys []netip.Addr `json:"decoys,omitempty"`
	// Ports is the number of distinct ports probed; Open those that
	// answered SYN-ACK; Filtered those that did not answer at all.
	Ports    int      `json:"ports,omitempty"`
	Open     []uint16 `json:"open,omitempty"`
	Filtered int      `json:"filtered,omitempty"`
	// Requests counts HTTP requests, Statuses their answers by code.
	Requests int            `json:"requests,omitempty"`
	Statuses map[string]int `json:"statuses,omitempty"`
	// Connections counts TCP connections the attack opened.
	Connections int `json:"connections,omitempty"`
	// Bytes is the payload the source sent (TCP, ICMP or DNS names' data).
	Bytes int64 `json:"bytes,omitempty"`
	// Queries counts DNS queries, each for a distinct name, each answered.
	Queries int    `json:"queries,omitempty"`
	Domain  string `json:"domain,omitempty"`
	// Packets counts every packet of the attack, answers included;
	// Fragments the IP fragments among them.
	Packets   int       `json:"packets"`
	Fragments int       `json:"fragments,omitempty"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
}

// PortScanTruth is what the injected port scan did.
type PortScanTruth struct {
	Source  netip.Addr `json:"source"`
	Target  netip.Addr `json:"target"`
	Ports   int        `json:"ports"`   // distinct ports probed
	Open    []uint16   `json:"open"`    // probed ports that answered SYN-ACK
	Packets int        `json:"packets"` // probes, answers and resets
}

// UploadTruth is what the injected upload sent.
type UploadTruth struct {
	Source  netip.Addr `json:"source"`
	Dest    netip.Addr `json:"dest"`
	Port    uint16     `json:"port"`
	Bytes   int64      `json:"bytes"` // TCP payload from Source to Dest
	Packets int        `json:"packets"`
}

// DNSTunnelTruth is what the injected DNS tunnel asked.
type DNSTunnelTruth struct {
	Client   netip.Addr `json:"client"`
	Resolver netip.Addr `json:"resolver"`
	Domain   string     `json:"domain"`
	Queries  int        `json:"queries"` // each for a distinct name, each answered
}

// HTTPEnumTruth is what the injected HTTP enumeration asked.
type HTTPEnumTruth struct {
	Source      netip.Addr `json:"source"`
	Server      netip.Addr `json:"server"`
	Port        uint16     `json:"port"`
	UserAgent   string     `json:"user_agent"`
	Requests    int        `json:"requests"` // each for a distinct path
	NotFound    int        `json:"not_found"`
	Connections int        `json:"connections"`
}
