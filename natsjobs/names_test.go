package natsjobs

import (
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestCheckJobID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"abc", true},
		{"2026-12-07_sensor-3", true},
		{"Zx9_-", true},
		{"", false},
		{"a.b", false}, // would change the keys a merge watches
		{"a*", false},  // a wildcard
		{"a>", false},  // a wildcard
		{"a b", false}, // white space
		{"a/b", false}, // the object name's separator
		{"é", false},   // not ASCII
		{string(make([]byte, 65)), false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true}, // 64
	} {
		err := CheckJobID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("CheckJobID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("CheckJobID(%q) = %v, want it to wrap ErrBadName", tt.id, err)
		}
	}
}

func TestCheckSubject(t *testing.T) {
	for _, tt := range []struct {
		subject            string
		publish, subscribe bool
	}{
		{"jobs.default", true, true},
		{"jobs.sensor-7", true, true},
		{"jobs.dc1.rack4", true, true},
		{"jobs.>", false, true},
		{"jobs.*", false, true},
		{"jobs.*.rack4", false, true},
		{"jobs.>.x", false, false}, // > only last
		{"jobs.a>", false, false},  // a wildcard is a whole token
		{"jobs.", false, false},
		{"jobs..a", false, false},
		{"jobs.a b", false, false},
		{"other.a", false, false}, // outside the stream
		{"jobs", false, false},
	} {
		if err := CheckSubject(tt.subject, false); (err == nil) != tt.publish {
			t.Errorf("CheckSubject(%q, publish) = %v, want ok=%v", tt.subject, err, tt.publish)
		}
		if err := CheckSubject(tt.subject, true); (err == nil) != tt.subscribe {
			t.Errorf("CheckSubject(%q, subscribe) = %v, want ok=%v", tt.subject, err, tt.subscribe)
		}
	}
}

// Consumer names allow no '.', '*', '>' or white space; two subjects
// must never share a consumer.
func TestDurableName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)
	seen := map[string]string{}
	for _, s := range []string{"jobs.default", "jobs.a.b", "jobs.a_b", "jobs.>", "jobs.*", "jobs.*.b", "jobs.any.b"} {
		n := durableName(s)
		if !valid.MatchString(n) {
			t.Errorf("durableName(%q) = %q: not a valid consumer name", s, n)
		}
		if other, ok := seen[n]; ok {
			t.Errorf("durableName(%q) = durableName(%q) = %q", s, other, n)
		}
		seen[n] = s
	}
}

// A file ID changes with any of path, size and modification time, and
// no other way.
func TestFileID(t *testing.T) {
	at := time.Unix(1_700_000_000, 123)
	base := fileID("/data/a.pcap", 100, at)
	if base != fileID("/data/a.pcap", 100, at) {
		t.Error("fileID is not deterministic")
	}
	for name, id := range map[string]string{
		"path":  fileID("/data/b.pcap", 100, at),
		"size":  fileID("/data/a.pcap", 101, at),
		"mtime": fileID("/data/a.pcap", 100, at.Add(time.Nanosecond)),
	} {
		if id == base {
			t.Errorf("another %s, the same ID", name)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(base) {
		t.Errorf("fileID = %q: want 32 hex digits (a KV key token)", base)
	}
}

func TestSplitKey(t *testing.T) {
	for _, tt := range []struct {
		key, kind, id string
		ok            bool
	}{
		{"J1.files.abc", "files", "abc", true},
		{"J1.done.abc", "done", "abc", true},
		{"J1.failed.abc", "failed", "abc", true},
		{"J2.done.abc", "", "", false},
		{"J1.done.", "", "", false},
		{"J1", "", "", false},
		{"J10.done.abc", "", "", false},
	} {
		kind, id, ok := splitKey("J1", tt.key)
		if ok != tt.ok || ok && (kind != tt.kind || id != tt.id) {
			t.Errorf("splitKey(J1, %q) = %q, %q, %v; want %q, %q, %v", tt.key, kind, id, ok, tt.kind, tt.id, tt.ok)
		}
	}
}
