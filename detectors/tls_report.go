package detectors

// TLSHandshakes returns the kept handshakes in capture order (at most
// Config.TLS.MaxHandshakes) and the counts over every handshake. The
// handshakes are shared: do not modify them.
func (a *Analysis) TLSHandshakes() ([]*TLSHandshake, TLSStats) {
	if a.tls == nil {
		return nil, TLSStats{}
	}
	return a.tls.kept, a.tls.stats
}
