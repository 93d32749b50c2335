package detectors

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"

	"github.com/dchest/siphash"
)

// sampleHash hashes what the sampled sets keep (DNS names, HTTP paths,
// addresses, ICMP payloads) with SipHash-2-4 under a secret key: a sample
// that keeps the hashes whose low bits are zero must not let a sender
// choose names it never keeps. Parts accumulated apart (reconpcap shard,
// NATS workers, another process) give the same hashes only under the same
// key, so the key comes from Config.HashKey, which the configuration hash
// of a Partial covers: parts of different keys refuse to merge.
type sampleHash struct{ k0, k1 uint64 }

func newSampleHash(key string) sampleHash {
	s := sha256.Sum256([]byte("reconpcap sample hash\x00" + key))
	return sampleHash{binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:16])}
}

// bytes hashes b.
func (h sampleHash) bytes(b []byte) uint64 { return siphash.Hash(h.k0, h.k1, b) }

// addr hashes an address (its 16-byte form, so 10.0.0.1 and
// ::ffff:10.0.0.1 are one).
func (h sampleHash) addr(a netip.Addr) uint64 {
	b := a.Unmap().As16()
	return siphash.Hash(h.k0, h.k1, b[:])
}

// withHashKey returns cfg with a random HashKey when it has none: one
// analysis, whose parts all share the key, needs no other.
func (c Config) withHashKey() Config {
	if c.HashKey == "" {
		var b [16]byte
		rand.Read(b[:]) // never fails (crypto/rand)
		c.HashKey = hex.EncodeToString(b[:])
	}
	return c
}

// keyed sets the key of d's name hashes.
func (d *dnsDetector) keyed(key string) *dnsDetector {
	d.hash = newSampleHash(key)
	return d
}
