package detectors

// TLSHandshakes returns the kept handshakes in time order (at most
// Config.TLS.MaxHandshakes) and the counts over every handshake. The
// handshakes are shared: do not modify them.
func (a *Analysis) TLSHandshakes() ([]*TLSHandshake, TLSStats) {
	if a.tls == nil {
		return nil, TLSStats{}
	}
	return a.tls.kept, a.tls.final()
}

// final returns the counts once the pass is over: a hello the capture
// ends in the middle of is unreadable too.
func (t *tlsAnalyzer) final() TLSStats {
	t.once.Do(func() {
		t.result = t.stats
		for _, c := range t.conns {
			if c != t.closed && c.hs == nil {
				t.result.Unreadable++
			}
		}
	})
	return t.result
}
