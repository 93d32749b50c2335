package filter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agents-of-shield/reconpcap/filter"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		in      string
		want    filter.Options
		wantErr string
	}{
		{"", filter.Options{}, ""},
		{"host=10.0.0.5 proto=TCP dport=22 flags=syn,!ack payload=yes", filter.Options{Host: "10.0.0.5", Proto: "TCP", DstPort: 22, Flags: "syn,!ack", Payload: true}, ""},
		{"since=1795437071.708167 until=2026-11-23T12:00:00Z frames=5-", filter.Options{
			Since: time.Unix(1795437071, 708167000).UTC(), Until: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), FirstFrame: 5}, ""},
		{"frames=-9 domain=example.com src=10.0.0.0/8", filter.Options{LastFrame: 9, Domain: "example.com", Src: "10.0.0.0/8"}, ""},
		{"frames=7", filter.Options{FirstFrame: 7, LastFrame: 7}, ""},
		{"port=0", filter.Options{}, "not a port"},
		{"port=65536", filter.Options{}, "not a port"},
		{"host", filter.Options{}, "key=value"},
		{"host=a host=b", filter.Options{}, "twice"},
		{"since=yesterday", filter.Options{}, "neither"},
		{"since=1.1234567891", filter.Options{}, "neither"},
		{"frames=-", filter.Options{}, "not a frame range"},
		{"frames=0", filter.Options{}, "not a frame number"},
		{"colour=red", filter.Options{}, "unknown key"},
	}
	for _, tt := range tests {
		got, err := filter.ParseOptions(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseOptions(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseOptions(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseOptions(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
