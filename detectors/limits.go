package detectors

import "github.com/agents-of-shield/reconpcap/capture"

// Limits bounds the state one pass keeps, so that memory follows these
// bounds and never the capture: a flood from millions of spoofed sources
// costs what a busy capture of Limits.MaxFlows connections costs. What is
// evicted past a bound is aggregated, and the Analysis's warnings say what
// was capped and by how much. The zero value is the defaults, which keep a
// capture of any size under 1 GiB.
type Limits struct {
	// MaxFlows bounds the TCP and UDP flows held at once; past it the
	// flow table evicts unanswered flows first, then closed, then idle
	// ones (capture.Config.MaxFlows), and the summary and detectors
	// aggregate them. Zero means capture.DefaultMaxFlows (262,144).
	MaxFlows int
	// MaxHosts bounds each per-address and per-address-pair table kept
	// for evicted flows and for IP packets outside TCP and UDP (the
	// summary's conversations and talkers), and the (source, target)
	// pairs of the port scan detector. Past it the smallest entries are
	// folded into per-target totals, so the busiest hosts, the targets of
	// a flood, stay exact. Zero means 65,536.
	MaxHosts int
}

const defaultMaxHosts = 1 << 16

func (l Limits) defaults() Limits {
	if l.MaxFlows == 0 {
		l.MaxFlows = capture.DefaultMaxFlows
	}
	if l.MaxHosts == 0 {
		l.MaxHosts = defaultMaxHosts
	}
	return l
}
