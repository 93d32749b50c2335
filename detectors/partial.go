package detectors

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/internal/statecodec"
)

// Partial is the accumulated, not yet judged, state of one part of a
// capture: one file of a rotated capture, or the packets of some address
// pairs of a file. Parts merge (MergePartials) in any order and grouping,
// and a Partial judged (Judge) gives the Analysis one pass over all of its
// packets would.
//
// A Partial encodes to bytes (MarshalBinary) deterministically: the same
// packets and configuration give the same bytes. The encoding carries a
// version and the hash of the detectors' configuration; parts of another
// version or configuration do not merge (ErrIncompatible).
type Partial struct {
	a *Analysis
}

// PartialVersion is the version of the accumulated state and its
// encoding; it changes whenever either does.
const PartialVersion = 1

var partialMagic = []byte("reconpcap partial\n")

// Accumulate reads the files of in once, as AnalyzeInput does, and
// returns what the pass accumulated, unjudged. The errors are
// AnalyzeInput's: a capture damaged part-way gives the Partial of the
// packets before the damage together with the error.
func Accumulate(ctx context.Context, in Input, cfg Config) (*Partial, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, c, err := accumulate(ctx, in, cfg.Defaults().withHashKey(), true)
	if c == nil {
		return nil, err
	}
	if errors.Is(err, context.Canceled) {
		return nil, err
	}
	if in.Name != "" {
		c.Path = in.Name
	}
	a.capture = c
	return &Partial{a: a}, err
}

// Packets is how many packets the part accumulated.
func (p *Partial) Packets() int { return p.a.capture.Packets }

// Name is what the part's capture is called: its file, or its files
// joined by ", " once merged.
func (p *Partial) Name() string { return p.a.capture.Path }

// Files names the capture files of the part in time order: those it was
// read from, or those of every part merged into it.
func (p *Partial) Files() []string {
	if c := p.a.capture; c.Files != nil {
		return slices.Clone(c.Files)
	}
	return []string{p.a.capture.Path}
}

func configHash(cfg Config) [32]byte {
	b, _ := json.Marshal(cfg) // plain data: cannot fail
	return sha256.Sum256(b)
}

// MergePartials merges parts into one Partial; parts must not be used
// afterwards. It is an error wrapping ErrIncompatible when their
// configurations differ. The merged capture is named by the parts' files
// in the order of their first packet.
func MergePartials(parts ...*Partial) (*Partial, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no part to merge", ErrIncompatible)
	}
	h := configHash(parts[0].a.Config)
	for _, p := range parts[1:] {
		if configHash(p.a.Config) == h {
			continue
		}
		mine, theirs := parts[0].a.Config, p.a.Config
		if mine.HashKey != theirs.HashKey {
			mine.HashKey = theirs.HashKey
			if configHash(mine) == configHash(theirs) {
				return nil, fmt.Errorf("%w: %s and %s were accumulated with different hash keys: give every part of one capture the same --hash-key (hash_key)", ErrIncompatible, parts[0].Name(), p.Name())
			}
		}
		return nil, fmt.Errorf("%w: %s was accumulated with other thresholds or limits than %s", ErrIncompatible, p.Name(), parts[0].Name())
	}
	// The order of the parts does not change the state (see merge.go);
	// it names the whole, so it is the parts' own time order.
	parts = slices.Clone(parts)
	slices.SortStableFunc(parts, func(x, y *Partial) int {
		cx, cy := x.a.capture, y.a.capture
		return cmp.Or(cx.Start.Compare(cy.Start), strings.Compare(cx.Path, cy.Path))
	})
	var names []string
	for _, p := range parts {
		c := p.a.capture
		if c.Files != nil {
			names = append(names, c.Files...)
		} else {
			names = append(names, c.Path)
		}
	}
	// Frames run on across the parts in that order, as over rotated
	// files read one after the other.
	base := 0
	for _, p := range parts {
		p.a.shiftFrames(base)
		base += p.a.capture.Read
	}
	a := parts[0].a
	for _, p := range parts[1:] {
		a.mergeState(p.a)
	}
	names = slices.Compact(names)
	if len(names) > 1 {
		a.capture.Files = names
	}
	a.capture.Path = strings.Join(names, ", ")
	return &Partial{a: a}, nil
}

// Judge judges the merged state into an Analysis. in names the capture
// (Name) and, when its Sources are the files the parts were made from,
// lets the evidence pass number the findings' frames; with no Sources the
// findings carry their filters but no frames. p must not be used
// afterwards.
func (p *Partial) Judge(ctx context.Context, in Input) (*Analysis, error) {
	return p.a.judge(ctx, in, false, nil)
}

// state lists what a Partial encodes, in order: the capture first, so
// that the analyzers' pointers to its flows are written as references.
func (a *Analysis) state() []any {
	return []any{a.capture, a.summary, a.timeline, a.tls, a.dets.dns, a.dets.scans, a.dets.exfil, a.dets.http}
}

// MarshalBinary encodes p deterministically: a header (magic, version,
// configuration hash), the configuration, then the state.
func (p *Partial) MarshalBinary() ([]byte, error) {
	cfg, err := json.Marshal(p.a.Config)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(cfg)
	out := append([]byte{}, partialMagic...)
	out = binary.AppendUvarint(out, PartialVersion)
	out = append(out, h[:]...)
	out = binary.AppendUvarint(out, uint64(len(cfg)))
	out = append(out, cfg...)
	e := statecodec.NewEncoder()
	for _, s := range p.a.state() {
		if err := e.Encode(s); err != nil {
			return nil, fmt.Errorf("encoding the partial: %w", err)
		}
	}
	return append(out, e.Bytes()...), nil
}

// ErrNotPartial is wrapped by UnmarshalBinary's errors for bytes that are
// not a partial this version wrote.
var ErrNotPartial = errors.New("not a reconpcap partial")

// UnmarshalBinary decodes a Partial that MarshalBinary encoded. Bytes of
// another version wrap ErrIncompatible; damaged bytes wrap ErrNotPartial.
func (p *Partial) UnmarshalBinary(b []byte) error {
	if !bytes.HasPrefix(b, partialMagic) {
		return fmt.Errorf("%w: the header is missing", ErrNotPartial)
	}
	b = b[len(partialMagic):]
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return fmt.Errorf("%w: no version", ErrNotPartial)
	}
	if v != PartialVersion {
		return fmt.Errorf("%w: the partial is of version %d, this reconpcap reads version %d", ErrIncompatible, v, PartialVersion)
	}
	b = b[n:]
	if len(b) < sha256.Size {
		return fmt.Errorf("%w: cut short", ErrNotPartial)
	}
	h := [32]byte(b[:sha256.Size])
	b = b[sha256.Size:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return fmt.Errorf("%w: cut short", ErrNotPartial)
	}
	raw := b[n : n+int(l)]
	if sha256.Sum256(raw) != h {
		return fmt.Errorf("%w: the configuration does not match its hash", ErrNotPartial)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%w: the configuration: %v", ErrNotPartial, err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrNotPartial, err)
	}
	a := newAnalysis(cfg.Defaults())
	a.capture = &capture.Capture{}
	d := statecodec.NewDecoder(b[n+int(l):])
	for _, s := range a.state() {
		if err := d.Decode(s); err != nil {
			return fmt.Errorf("%w: %v", ErrNotPartial, err)
		}
	}
	if len(d.Rest()) != 0 {
		return fmt.Errorf("%w: %d bytes after the state", ErrNotPartial, len(d.Rest()))
	}
	p.a = a
	return nil
}
