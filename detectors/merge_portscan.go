package detectors

// merge folds o's accumulated state into d's (see merge.go).
func (d *portscanDetector) merge(o *portscanDetector) {
	panic("merge of portscanDetector: not written yet")
}
