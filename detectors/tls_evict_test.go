package detectors

import (
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

func TestTLSForgetsEvictedFlows(t *testing.T) {
	ta := newTLSAnalyzer(Config{}.Defaults())
	done, reading, other := &capture.Flow{}, &capture.Flow{}, &capture.Flow{}
	ta.conns[done] = ta.closed
	c := &tlsConn{flow: reading, open: true}
	ta.conns[reading] = c
	ta.open++
	ta.FlowEvicted(done)
	ta.FlowEvicted(reading)
	ta.FlowEvicted(other) // never seen: nothing to do
	if len(ta.conns) != 0 || ta.open != 0 {
		t.Errorf("after eviction: %d connections kept, %d open; want 0, 0", len(ta.conns), ta.open)
	}
	if st := ta.final(); st.Unreadable != 1 {
		t.Errorf("unreadable %d, want 1 (the hello cut by the eviction)", st.Unreadable)
	}
}
