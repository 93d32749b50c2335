package logs

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"net/netip"

	"github.com/agents-of-shield/reconpcap/capture"
)

// UID names a connection the way Zeek's uid does: "C" and a base62
// string, the same in every log that has a record of the connection, so
// the logs join on it. Zeek draws its uids at random; ours is a hash of
// the protocol, the two endpoints (in a fixed order, so it does not
// matter which side is the client) and the connection's first packet
// time, so the same capture gives the same uids on every run.
func UID(f *capture.Flow) string {
	if f == nil {
		return ""
	}
	a, b := f.Client, f.Server
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	h := sha256.New()
	h.Write([]byte{f.Proto})
	for _, ap := range []netip.AddrPort{a, b} {
		addr := ap.Addr().As16()
		h.Write(addr[:])
		h.Write(binary.BigEndian.AppendUint16(nil, ap.Port()))
	}
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(f.First.UnixNano())))
	sum := h.Sum(nil)
	// 96 bits, as many as Zeek's uids carry, in base62: 17 digits.
	s := new(big.Int).SetBytes(sum[:12]).Text(62)
	for len(s) < 17 {
		s = "0" + s
	}
	return "C" + s
}

// flowIndex finds a capture's connections by their endpoints, for the
// logs (http, ssl) whose records name a connection by its addresses.
type flowIndex map[flowEnds]*capture.Flow

type flowEnds struct {
	proto uint8
	a, b  netip.AddrPort
}

func newFlowIndex(c *capture.Capture) flowIndex {
	x := flowIndex{}
	if c == nil {
		return x
	}
	for _, f := range c.Flows() {
		x[ends(f.Proto, f.Client, f.Server)] = f
	}
	return x
}

// ends orders two endpoints so either direction finds the connection.
func ends(proto uint8, a, b netip.AddrPort) flowEnds {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return flowEnds{proto, a, b}
}

// lookup returns the connection between client and server over proto,
// or nil.
func (x flowIndex) lookup(proto uint8, client, server netip.AddrPort) *capture.Flow {
	return x[ends(proto, client, server)]
}
