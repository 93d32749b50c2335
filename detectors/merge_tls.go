package detectors

import "github.com/agents-of-shield/reconpcap/capture"

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture.
func (d *tlsAnalyzer) merge(o *tlsAnalyzer, c *capture.Capture) {
	panic("merge of tlsAnalyzer: not written yet")
}
