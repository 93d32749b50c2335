package detectors

// merge folds o's accumulated state into d's (see merge.go).
func (d *summaryAnalyzer) merge(o *summaryAnalyzer) {
	panic("merge of summaryAnalyzer: not written yet")
}
