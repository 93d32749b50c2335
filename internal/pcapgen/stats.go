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
	DNS  int `json:"dns"`
	VLAN int `json:"vlan"`

	PortScan  *PortScanTruth  `json:"port_scan,omitempty"`
	Upload    *UploadTruth    `json:"upload,omitempty"`
	DNSTunnel *DNSTunnelTruth `json:"dns_tunnel,omitempty"`
	HTTPEnum  *HTTPEnumTruth  `json:"http_enum,omitempty"`
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
