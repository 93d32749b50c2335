// Package testfiles finds the captures tests read: the repository's
// testdata/ and the public corpus checked out beside the repository
// (../shared/corpus from its root). Every package's tests locate them the
// same way, from their own directory one or two levels below the root.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// CorpusDir is the public corpus beside the repository, or "" when it is
// absent.
func CorpusDir() string {
	for _, d := range []string{"../../shared/corpus", "../shared/corpus", "../../../shared/corpus"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// Corpus returns the path of a corpus capture, skipping the test (saying
// why) when the corpus is not there.
func Corpus(t testing.TB, rel string) string {
	t.Helper()
	d := CorpusDir()
	if d == "" {
		t.Skip("../shared/corpus is absent: the public capture corpus is not beside this checkout")
	}
	return filepath.Join(d, rel)
}

// Shared returns the path of a file under ../shared beside the
// repository (the corpus, Suricata's EVE schema), skipping the test when
// it is not there.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	for _, d := range []string{"../../shared", "../shared", "../../../shared"} {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("../shared/%s is absent: it is not beside this checkout", rel)
	return ""
}

// Testdata returns the path of a capture in the repository's testdata/,
// failing the test when it is missing.
func Testdata(t testing.TB, name string) string {
	t.Helper()
	for _, d := range []string{"../testdata", "../../testdata"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("testdata capture %s: not found in ../testdata or ../../testdata", name)
	return ""
}
