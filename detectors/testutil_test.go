package detectors

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/agents-of-shield/reconpcap/report"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusDir is the public corpus beside the repository (../shared/corpus
// from the repository root), or "" when it is absent.
func corpusDir() string {
	for _, d := range []string{"../../shared/corpus", "../shared/corpus"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// corpusFile returns the path of a corpus capture, skipping the test
// (saying why) when the corpus is not there.
func corpusFile(t testing.TB, rel string) string {
	t.Helper()
	d := corpusDir()
	if d == "" {
		t.Skip("../shared/corpus is absent: the public capture corpus is not beside this checkout")
	}
	return filepath.Join(d, rel)
}

// testdataFile returns the path of a capture in the repository's testdata/.
func testdataFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testdata capture %s: %v", name, err)
	}
	return p
}

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
