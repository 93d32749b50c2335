package detectors

import "github.com/agents-of-shield/reconpcap/capture"

// merge folds o's accumulated state into d's (see merge.go); c is the
// merged capture.
func (d *summaryAnalyzer) merge(o *summaryAnalyzer, c *capture.Capture) {
	panic("merge of summaryAnalyzer: not written yet")
}
