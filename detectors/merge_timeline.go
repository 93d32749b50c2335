package detectors

// merge folds o's accumulated state into d's (see merge.go).
func (d *timelineAnalyzer) merge(o *timelineAnalyzer) {
	panic("merge of timelineAnalyzer: not written yet")
}
