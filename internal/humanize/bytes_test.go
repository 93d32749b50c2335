package humanize

import (
	"math"
	"testing"
)

func TestBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 bytes"},
		{1, "1 bytes"},
		{999, "999 bytes"},
		{1000, "1.0 kB"},
		{1500, "1.5 kB"},
		{999_949, "999.9 kB"},
		{1_000_000, "1.00 MB"},
		{4_000_000, "4.00 MB"},
		{11_500_000, "11.50 MB"},
		{2_500_000_000, "2.50 GB"},
		{1_200_000_000_000, "1.20 TB"},
		{math.MaxUint64, "18446744.07 TB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(uint64 %d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestBytesTypes: every integer type gives the same words for the same count.
func TestBytesTypes(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Bytes(int64(4_000_000)), "4.00 MB"},
		{Bytes(int(1500)), "1.5 kB"},
		{Bytes(uint32(999)), "999 bytes"},
		{Bytes(int32(2_000_000_000)), "2.00 GB"},
		{Bytes(uint(0)), "0 bytes"},
		{Bytes(int64(-5)), "-5 bytes"},
		{Bytes(int64(math.MinInt64)), "-9223372036854775808 bytes"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
