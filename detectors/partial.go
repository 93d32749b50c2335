package detectors

import (
	"context"
)

// Partial is the accumulated, not yet judged, state of one part of a
// capture: one file of a rotated capture, or one shard of a file. Parts
// merge (MergePartials) in any order and grouping, and a Partial judged
// (Judge) gives the Analysis one pass over all of its packets would.
//
// A Partial encodes to bytes (MarshalBinary) deterministically: the same
// packets and configuration give the same bytes. The encoding carries a
// version and the hash of the detectors' configuration; parts of another
// version or configuration do not merge (ErrIncompatible).
type Partial struct {
	a *Analysis
}

// Accumulate reads the files of in once, as AnalyzeInput does, and
// returns what the pass accumulated, unjudged.
func Accumulate(ctx context.Context, in Input, cfg Config) (*Partial, error) {
	panic("Accumulate: not written yet")
}

// MergePartials merges parts into one Partial; parts must not be used
// afterwards. It is an error wrapping ErrIncompatible when their versions
// or configurations differ.
func MergePartials(parts ...*Partial) (*Partial, error) {
	panic("MergePartials: not written yet")
}

// Judge judges the merged state into an Analysis. in names the capture
// and, when its Sources are the files the parts were made from, lets the
// evidence pass number the findings' frames; with no Sources the
// findings carry filters but no frames.
func (p *Partial) Judge(ctx context.Context, in Input) (*Analysis, error) {
	panic("Judge: not written yet")
}

// MarshalBinary encodes p deterministically.
func (p *Partial) MarshalBinary() ([]byte, error) {
	panic("MarshalBinary: not written yet")
}

// UnmarshalBinary decodes a Partial that MarshalBinary encoded.
func (p *Partial) UnmarshalBinary(b []byte) error {
	panic("UnmarshalBinary: not written yet")
}
