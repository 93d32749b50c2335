package detectors

import "github.com/agents-of-shield/reconpcap/capture"

// FlowEvicted forgets a connection the flow table let go: a hello still
// being read ends as a connection that closed ends, and the entry goes,
// so the map follows the flow table's bound rather than the number of
// connections that sent a hello (a flood of hellos from spoofed sources
// would otherwise keep one entry, and its evicted flow, each).
func (t *tlsAnalyzer) FlowEvicted(f *capture.Flow) {
	if c, ok := t.conns[f]; ok {
		t.close(c)
		delete(t.conns, f)
	}
	delete(t.answers, f)
}
