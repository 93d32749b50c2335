package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestIntelCommand(t *testing.T) {
	list := filepath.Join(t.TempDir(), "blocklist.txt")
	if err := os.WriteFile(list, []byte("# test list\n203.0.113.50\n10.0.0.0/8\nevil.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"intel", "--offline", "--format", "json", "--indicators", list,
		"--ip", "203.0.113.50", "--ip", "10.9.8.7", "--ip", "192.0.2.1", "--domain", "c2.evil.example.com"}, nil, &out, &errb)
	if err != nil {
		t.Fatalf("intel: %v\n%s", err, errb.String())
	}
	var got []struct {
		Indicator string `json:"indicator"`
		Verdict   string `json:"verdict"`
		Score     int    `json:"score"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := map[string]string{"203.0.113.50": "malicious", "10.9.8.7": "malicious", "192.0.2.1": "unknown", "c2.evil.example.com": "malicious"}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d: %s", len(got), len(want), out.String())
	}
	for _, r := range got {
		if want[r.Indicator] != r.Verdict {
			t.Errorf("%s: verdict %q, want %q", r.Indicator, r.Verdict, want[r.Indicator])
		}
	}

	for _, args := range [][]string{
		{"intel", "--offline", "--ip", "not-an-ip"},
		{"intel", "--offline"},
		{"intel", "--offline", "--ip", "1.2.3.4", "extra.pcap"},
	} {
		err := run(context.Background(), args, nil, &out, &errb)
		var u *usageError
		if !errors.As(err, &u) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
