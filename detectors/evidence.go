package detectors

import (
	"context"
	"errors"
	"net/netip"
	"sync"

	"github.com/agents-of-shield/reconpcap/capture"
	"github.com/agents-of-shield/reconpcap/filter"
	"github.com/agents-of-shield/reconpcap/report"
)

// LocateEvidence reads the capture at path once and gives every finding
// its evidence references: DisplayFilter (EvidenceFilter's Wireshark
// form), MITRE, and Frames, the first and last frame and the number of
// packets the filter selects. All findings are matched in the same pass;
// findings is changed in place. With no finding the file is not read.
//
// A capture damaged part-way gives the references of the packets before
// the damage, as Analyze judges them; only a failure to open the file or
// a cancelled ctx is an error.
func LocateEvidence(ctx context.Context, path string, findings []report.Finding) error {
	for i := range findings {
		describeEvidence(&findings[i])
	}
	refs, err := locate(ctx, findings, 1, func(ls func(int) []capture.Analyzer) (*capture.Capture, error) {
		return capture.Scan(ctx, path, ls(0)...)
	})
	if err != nil {
		return err
	}
	for i := range findings {
		if r, ok := refs[findings[i].DisplayFilter]; ok {
			findings[i].Frames = &r
		}
	}
	return nil
}

// describeEvidence sets what a finding's references are without reading
// the capture: its display filter and its ATT&CK techniques.
func describeEvidence(f *report.Finding) {
	f.MITRE = report.MITRE(f.Type, f.Technique)
	if e, ok := EvidenceFilter(*f); ok {
		f.DisplayFilter = e.String()
	}
}

// locate runs one pass and returns, per distinct display filter of the
// findings, the frames it selects (a filter that selects nothing has a
// zero FrameRef). The pass has workers locators (scan gives worker i the
// analyzers ls(i)), whose frames join after it.
func locate(ctx context.Context, findings []report.Finding, workers int, scan func(ls func(int) []capture.Analyzer) (*capture.Capture, error)) (map[string]report.FrameRef, error) {
	workers = max(workers, 1)
	locs := make([]*locator, workers)
	for i := range locs {
		locs[i] = newLocator()
		for _, f := range findings {
			locs[i].add(f)
		}
	}
	l := locs[0]
	if len(l.exprs) == 0 {
		return map[string]report.FrameRef{}, nil
	}
	c, err := scan(func(i int) []capture.Analyzer { return []capture.Analyzer{locs[i]} })
	if c == nil || ctx.Err() != nil {
		return nil, errors.Join(err, ctx.Err())
	}
	for _, o := range locs[1:] {
		for i, r := range o.refs {
			m := &l.refs[i]
			switch {
			case r.Packets == 0:
			case m.Packets == 0:
				*m = r
			default:
				m.First, m.Last, m.Packets = min(m.First, r.First), max(m.Last, r.Last), m.Packets+r.Packets
			}
		}
	}
	out := make(map[string]report.FrameRef, len(l.exprs))
	for i, key := range l.keys {
		out[key] = l.refs[i]
	}
	return out, nil
}

// locator matches every packet against the evidence filters that could
// select it: each filter names its finding's source address, so a packet
// is tried only against the filters of its own two addresses (and the
// few keyed by none, such as ARP sweeps). The cost grows with packets
// times the findings of their hosts, not times every finding.
type locator struct {
	exprs  []filter.Expr
	keys   []string
	refs   []report.FrameRef
	seen   map[string]int
	byAddr map[netip.Addr][]int
	rest   []int
}

func newLocator() *locator {
	return &locator{seen: map[string]int{}, byAddr: map[netip.Addr][]int{}}
}

func (l *locator) add(f report.Finding) {
	e, ok := EvidenceFilter(f)
	if !ok {
		return
	}
	key := e.String()
	if _, dup := l.seen[key]; dup {
		return
	}
	i := len(l.exprs)
	l.seen[key] = i
	l.exprs, l.keys = append(l.exprs, e), append(l.keys, key)
	l.refs = append(l.refs, report.FrameRef{})
	src, err := netip.ParseAddr(f.Source)
	if err != nil || (f.Type == report.AttackPortScan && f.Technique == "arp_sweep") {
		// ARP carries its addresses outside any IP header.
		l.rest = append(l.rest, i)
		return
	}
	src = src.Unmap()
	l.byAddr[src] = append(l.byAddr[src], i)
}

func (l *locator) Packet(p *capture.Packet) {
	if p.Layers&(capture.LayerIPv4|capture.LayerIPv6) != 0 {
		s, d := p.Src.Unmap(), p.Dst.Unmap()
		for _, i := range l.byAddr[s] {
			l.try(i, p)
		}
		if d != s {
			for _, i := range l.byAddr[d] {
				l.try(i, p)
			}
		}
	}
	for _, i := range l.rest {
		l.try(i, p)
	}
}

func (l *locator) try(i int, p *capture.Packet) {
	if !l.exprs[i].Match(p, p.Index) {
		return
	}
	r := &l.refs[i]
	if r.Packets == 0 {
		r.First = p.Index
	}
	r.Last = p.Index
	r.Packets++
}

// evidenceCache keeps the frames of every display filter an Analysis
// located, so findings judged again with other thresholds get theirs
// without reading the capture, when their filter was seen before.
type evidenceCache struct {
	mu   sync.Mutex
	refs map[string]report.FrameRef
}

// fill describes every finding and gives it the frames the cache holds
// for its filter; a nil cache (an Analysis not made by Analyze) holds none.
func (c *evidenceCache) fill(fs []report.Finding) {
	if c == nil {
		for i := range fs {
			describeEvidence(&fs[i])
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range fs {
		describeEvidence(&fs[i])
		if r, ok := c.refs[fs[i].DisplayFilter]; ok {
			fs[i].Frames = &r
		}
	}
}

func (c *evidenceCache) add(refs map[string]report.FrameRef) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs == nil {
		c.refs = make(map[string]report.FrameRef, len(refs))
	}
	for k, v := range refs {
		c.refs[k] = v
	}
}

// LocateEvidence gives findings (from Evaluate, say) their evidence
// references, reading the capture again only for filters this Analysis
// has not located before; findings is changed in place.
func (a *Analysis) LocateEvidence(ctx context.Context, findings []report.Finding) error {
	a.evidence.fill(findings)
	var missing []report.Finding
	for _, f := range findings {
		if f.Frames == nil && f.DisplayFilter != "" {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 || a.capture == nil {
		return nil
	}
	scan := func(ls func(int) []capture.Analyzer) (*capture.Capture, error) {
		return capture.Scan(ctx, a.capture.Path, ls(0)...)
	}
	workers := 1
	if in := a.input; in != nil {
		// During the analysis: the very files (descriptors) and filter
		// the first pass read, so the frames are those it numbered; with
		// as many workers.
		workers = max(in.Workers, 1)
		cfg := capture.Config{Filter: in.Filter, Progress: in.Progress}
		scan = func(ls func(int) []capture.Analyzer) (*capture.Capture, error) {
			if workers > 1 {
				return capture.ScanSharded(ctx, in.Sources, cfg, workers, ls)
			}
			return capture.ScanFiles(ctx, in.Sources, cfg, ls(0)...)
		}
	} else if !a.byPath {
		return nil // the files are gone: a path cannot name them all again
	}
	refs, err := locate(ctx, missing, workers, scan)
	if err != nil {
		return err
	}
	a.evidence.add(refs)
	a.evidence.fill(findings)
	for i := range findings {
		if r, ok := refs[findings[i].DisplayFilter]; ok && findings[i].Frames == nil {
			findings[i].Frames = &r
		}
	}
	return nil
}
