package detectors

import "errors"

// Merging: an analysis split into parts and joined again.
//
// Every analyzer's state is what its Packet calls accumulated; judging
// (findings, summary, timeline) reads it only after the pass. So the
// packets of one capture can be accumulated in parts, by several workers
// (each taking every packet between some pairs of addresses) or from
// several files (each one file of a rotated capture), and the parts
// merged before anything is judged: a scan that spans two files, or two
// workers, is one finding. Each analyzer's merge folds another part's
// state into its own so that judging the merged state gives what one
// pass over every packet gives; merging is commutative and associative,
// so neither which part is merged into which nor the grouping of several
// changes the result.

// ErrIncompatible is wrapped by errors merging parts made with another
// configuration or by another version of the accumulation.
var ErrIncompatible = errors.New("parts cannot be merged")

// mergeState folds o's accumulated state into a's. Both must come from
// newAnalysis with the same Config; o must not be used afterwards.
func (a *Analysis) mergeState(o *Analysis) {
	if a.capture == nil {
		a.capture = o.capture
	} else {
		a.capture.Merge(o.capture)
	}
	a.mergeAnalyzers(o)
	// The datagrams whose fragments both parts held, joined by Merge,
	// reach the merged analyzers.
	a.capture.HandPending(a.analyzers()...)
}

// mergeAnalyzers folds o's analyzers' state into a's; a.capture is
// already the merged capture.
func (a *Analysis) mergeAnalyzers(o *Analysis) {
	a.summary.merge(o.summary, a.capture)
	a.timeline.merge(o.timeline, a.capture)
	a.tls.merge(o.tls, a.capture)
	a.dets.dns.merge(o.dets.dns, a.capture)
	a.dets.scans.merge(o.dets.scans, a.capture)
	a.dets.exfil.merge(o.dets.exfil, a.capture)
	a.dets.http.merge(o.dets.http, a.capture)
}

// shiftFrames adds n to every frame number a keeps: a's part comes after
// n frames of other parts (the files before it), and frames run on across
// them as one pass over the files in order numbers them.
func (a *Analysis) shiftFrames(n int) {
	if n == 0 {
		return
	}
	a.capture.ShiftFrames(n) // the fragments it holds pending
	seen := map[*TLSHandshake]bool{}
	shift := func(hs *TLSHandshake) {
		if hs != nil && !seen[hs] {
			seen[hs] = true
			hs.Packet += n
		}
	}
	for _, hs := range a.tls.kept {
		shift(hs)
	}
	for _, c := range a.tls.conns {
		shift(c.hs)
	}
	for _, hs := range a.tls.answers {
		shift(hs)
	}
	h := a.dets.http
	for _, chunk := range h.reqs.chunks {
		for i := range chunk {
			chunk[i].Packet += n
		}
	}
	heads := map[*httpHead]bool{}
	shiftHead := func(hd *httpHead) {
		if hd != nil && !heads[hd] {
			heads[hd] = true
			for i := range hd.segs {
				hd.segs[i].index += n
			}
		}
	}
	for _, c := range h.conns {
		c.seen += n
		shiftHead(c.head)
	}
	for _, hd := range h.heads {
		shiftHead(hd)
	}
}
