package detectors

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/agents-of-shield/reconpcap/internal/testfiles"
	"github.com/agents-of-shield/reconpcap/report"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusDir, corpusFile and testdataFile locate the shared captures.
var (
	corpusDir    = testfiles.CorpusDir
	corpusFile   = testfiles.Corpus
	testdataFile = testfiles.Testdata
)

// analyzeFile runs Analyze with cfg and fails the test on any error.
func analyzeFile(t testing.TB, path string, cfg Config) *Analysis {
	t.Helper()
	a, err := Analyze(context.Background(), path, cfg)
	if err != nil {
		t.Fatalf("Analyze(%s): %v", path, err)
	}
	return a
}

// golden compares got, as indented JSON, with testdata/golden/name.json,
// rewriting the file when -update is set.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, b) {
		t.Errorf("%s differs from golden %s (run go test -update after checking the change):\n got: %s\nwant: %s", name, path, b, want)
	}
}

// findingsOf returns the findings of one type.
func findingsOf(fs []report.Finding, typ report.AttackType) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}
