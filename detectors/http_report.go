package detectors

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"
)

// stats copies a pair's state into its exported form.
func (pr *httpPair) stats() HTTPClientStats {
	s := HTTPClientStats{
		Source: pr.src, Server: pr.dst, Ports: pr.ports.values(), FirstSeen: pr.first, LastSeen: pr.last,
		Requests: pr.requests, UniquePaths: int64(pr.paths.len()), UniquePathsCapped: pr.paths.capped,
		Methods: maps(pr.methods), Scanners: pr.tools.values(), ScannerRequests: pr.scannerReqs,
		WithReferer: pr.referers, Answered: pr.answered, Status: maps(pr.status),
		EnumerationRequests: pr.enumReqs, EnumerationPrefixes: bits.OnesCount64(pr.enumMask),
		SQLInjection: pr.sqli, PathTraversal: pr.trav, XSS: pr.xss, PasswdLeaks: pr.passwdLeaks,
		SamplePaths: pr.pathSamples.values(), ExposedPaths: pr.exposed.values(),
		InjectionURIs:       pr.injectSamples.values(),
		OtherMethodRequests: pr.otherMethods, OtherMethods: pr.otherSamples.values(),
		StrongInjection: pr.strongInject, EnumerationMisses: pr.enumMiss,
		ExposedRequests: pr.exposedReqs, StrongExposedRequests: pr.strongExposed,
		DistinctHosts: pr.hostN, DistinctHostsCapped: pr.hostsCapped, SampleHosts: pr.hostSamples.values(),
	}
	if cr := pr.cred; cr != nil {
		s.CredentialAttempts, s.CredentialFailures, s.CredentialAnswered = cr.attempts, cr.failures, cr.answeredN
		s.DistinctCredentials, s.PasswordBodies = int64(cr.distinct.len()), cr.passwords
		sig, n := cr.repeated()
		s.RepeatedAnswer, s.RepeatedAnswerStatus = n, sig.status
		s.LoginPaths = cr.paths.values()
	}
	for _, a := range pr.agentList() {
		s.UserAgents = append(s.UserAgents, HTTPAgentCount{UserAgent: a.ua, Requests: a.count, Scanner: a.tool})
	}
	slices.SortStableFunc(s.UserAgents, func(x, y HTTPAgentCount) int { return cmp.Compare(y.Requests, x.Requests) })
	if s.Ports == nil {
		s.Ports = []uint16{}
	}
	for _, l := range []*[]string{&s.OtherMethods, &s.Scanners, &s.SamplePaths, &s.ExposedPaths, &s.InjectionURIs, &s.SampleHosts, &s.LoginPaths} {
		if *l == nil {
			*l = []string{}
		}
	}
	if s.UserAgents == nil {
		s.UserAgents = []HTTPAgentCount{}
	}
	return s
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// HTTPRequests returns every kept request in capture order (at most
// Config.HTTP.MaxRequests; HTTPRequestsTruncated says whether more were
// seen). The slice is built once and shared: do not modify it.
func (a *Analysis) HTTPRequests() []HTTPRequest {
	h := a.dets.http
	if h == nil {
		return nil
	}
	h.settle()
	return h.reqs.all()
}

// httpRecords keeps requests in fixed-size chunks, so that a long list
// grows without copying what it holds.
type httpRecords struct {
	chunks [][]HTTPRequest
	n      int
	once   sync.Once     `partial:"-"`
	flat   []HTTPRequest `partial:"-"`
}

const httpRecordChunk = 1024

func (r *httpRecords) add(q HTTPRequest) {
	if r.n%httpRecordChunk == 0 {
		r.chunks = append(r.chunks, make([]HTTPRequest, 0, httpRecordChunk))
	}
	last := &r.chunks[len(r.chunks)-1]
	*last = append(*last, q)
	r.n++
}

// all joins the chunks, once, after the pass (callers may be
// concurrent).
func (r *httpRecords) all() []HTTPRequest {
	r.once.Do(func() {
		r.flat = make([]HTTPRequest, 0, r.n)
		for _, c := range r.chunks {
			r.flat = append(r.flat, c...)
		}
	})
	return r.flat
}

func (r *httpRecords) at(i int32) *HTTPRequest {
	return &r.chunks[i/httpRecordChunk][i%httpRecordChunk]
}

// HTTPRequestsTruncated reports whether requests beyond
// Config.HTTP.MaxRequests were counted but not kept for listing, and how
// many.
func (a *Analysis) HTTPRequestsTruncated() (truncated bool, dropped int64) {
	if h := a.dets.http; h != nil && h.dropped > 0 {
		return true, h.dropped
	}
	return false, 0
}

// HTTPClients returns what each source asked of each server, most
// requests first.
func (a *Analysis) HTTPClients() []HTTPClientStats {
	h := a.dets.http
	if h == nil {
		return nil
	}
	h.settle()
	out := make([]HTTPClientStats, 0, len(h.order))
	for _, pr := range h.order {
		out = append(out, pr.stats())
	}
	slices.SortStableFunc(out, func(x, y HTTPClientStats) int {
		return cmp.Or(cmp.Compare(y.Requests, x.Requests), x.Source.Compare(y.Source), x.Server.Compare(y.Server))
	})
	return out
}
