package capture

import (
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// LayerSet records which layers a packet carries, one bit each.
type LayerSet uint32

// The layers the engine decodes or recognises.
const (
	LayerEthernet LayerSet = 1 << iota
	LayerVLAN
	LayerLinuxSLL
	LayerLoopback
	LayerARP
	LayerIPv4
	LayerIPv6
	LayerFragment // an IPv4 or IPv6 fragment that did not complete its datagram (the one that did carries the whole datagram)
	LayerTCP
	LayerUDP
	LayerICMPv4
	LayerICMPv6
	LayerDNS
	LayerHTTP // payload that starts like an HTTP request or response
	LayerTLS  // payload that starts like a TLS record
	LayerSSH
	LayerOtherIP   // an IP payload that is neither TCP, UDP nor ICMP (GRE, ESP, IP-in-IP, ...)
	LayerNonIP     // a link-layer frame that carries neither IP nor ARP (LLDP, CDP, STP, netlink, ...)
	LayerMalformed // a header the decoder could not read in full
)

// Has reports whether every layer in l is present.
func (s LayerSet) Has(l LayerSet) bool { return s&l == l }

// TCP flag bits as they stand in the header's low byte.
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
	FlagURG uint8 = 0x20
)

// Packet is the decoded view of one packet that the engine hands to every
// analysis. It is reused for the next packet: an analysis copies whatever it
// keeps (addresses are values; Payload, DNS and ARP point into reused
// buffers).
type Packet struct {
	// Index is the packet's 1-based number in the file, as tshark numbers frames.
	Index int
	// Time is the capture timestamp.
	Time time.Time
	// Length is the packet's length on the wire; CaptureLength what the file holds.
	Length, CaptureLength int
	LinkType              layers.LinkType
	// Data is the frame as the file holds it (CaptureLength bytes, link
	// header first, before any reassembly), valid only during the call:
	// the reader reuses it. Carving writes it out unchanged; packet-level
	// views (a frame's layers, its hex dump) read it.
	Data   []byte
	Layers LayerSet
	// SrcMAC is the link-layer source address, valid when HasMAC: the
	// Ethernet source, or a Linux cooked capture's 6-byte address.
	SrcMAC MAC
	HasMAC bool
	// Fragments is how many IP fragments this packet completed: 0 for a
	// packet that was not fragmented. A datagram's last fragment to
	// arrive carries the whole reassembled datagram (as tshark shows it),
	// the fragments before it only their IP header (LayerFragment). With
	// Config.HoldFragments those fragments are handed just before it,
	// or, for a datagram never completed, when it is given up.
	Fragments int

	// Src and Dst are the outermost IP header's addresses, valid when
	// Layers has LayerIPv4 or LayerIPv6.
	Src, Dst netip.Addr
	// IPLength is the outermost IP header's length of the whole datagram
	// (IPv4 total length; IPv6 40 plus the payload length), as sent:
	// Zeek's conn.log counts these as orig_ip_bytes and resp_ip_bytes.
	IPLength int
	// Proto is the IP protocol of the transport (after IPv6 extension headers).
	Proto layers.IPProtocol
	// SrcPort and DstPort are valid with LayerTCP or LayerUDP.
	SrcPort, DstPort uint16
	// TCPFlags holds the TCP flag bits (FlagSYN, ...), valid with LayerTCP.
	TCPFlags uint8
	// TCPSeq is the TCP sequence number, valid with LayerTCP.
	TCPSeq uint32
	// Payload is the TCP or UDP payload, as far as the capture holds it.
	Payload []byte
	// PayloadLen is the payload's length on the wire, from the IP and UDP
	// length fields: a snap length that cut the frame does not hide it.
	PayloadLen int
	// ICMPType and ICMPCode are valid with LayerICMPv4 or LayerICMPv6.
	ICMPType, ICMPCode uint8
	// ICMPPayload is the ICMP message after its header: for an error
	// (unreachable, time exceeded), the quoted IP header and the first
	// bytes of the packet that caused it.
	ICMPPayload []byte

	// ARP is valid with LayerARP, DNS with LayerDNS.
	ARP *layers.ARP
	DNS *layers.DNS
	// TCP is the decoded TCP header (sequence numbers, window, options),
	// valid with LayerTCP and only during the call: it is the decoder's
	// reused layer. Stream reassembly reads it.
	TCP *layers.TCP

	// Flow is the TCP or UDP connection the packet belongs to (nil for
	// other packets); FromClient says whether it travels from the
	// connection's initiator to its responder.
	Flow       *Flow
	FromClient bool
	// NewFlow is true for the first packet of its Flow.
	NewFlow bool
}

// MAC is a 6-byte link-layer address, kept by value so a Packet or a Flow
// holding one allocates nothing.
type MAC [6]byte

// String formats m as colon-separated hex, as tshark prints eth.src.
func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// HasIP reports whether the packet carries an IPv4 or IPv6 header.
func (p *Packet) HasIP() bool { return p.Layers&(LayerIPv4|LayerIPv6) != 0 }
