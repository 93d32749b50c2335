package detectors

// merge folds o's accumulated state into d's (see merge.go).
func (d *tlsAnalyzer) merge(o *tlsAnalyzer) {
	panic("merge of tlsAnalyzer: not written yet")
}
