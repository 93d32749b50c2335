package mcpserver

import (
	"path/filepath"
	"testing"
)

// TestPagesFillTheBound checks the size bound trims a page to what fits
// rather than halving it: a larger limit never returns fewer items than a
// smaller one, and a trimmed page holds nearly the bound.
func TestPagesFillTheBound(t *testing.T) {
	dir := t.TempDir()
	writeScanCapture(t, filepath.Join(dir, "traffic.pcap"), 300, 12)
	s, c := newTestServer(t, Config{Roots: []string{dir}})
	bound := s.Config().MaxResultBytes

	prev := 0
	for _, limit := range []int{5, 20, 50, 200, MaxLimit} {
		res := call(t, c, "list_findings", map[string]any{"limit": limit})
		n := len(text(t, res))
		got := decode[ListFindingsResult](t, c, "list_findings", map[string]any{"limit": limit})
		if got.Returned < prev {
			t.Errorf("limit %d returned %d items, fewer than a smaller limit's %d", limit, got.Returned, prev)
		}
		if n > bound {
			t.Errorf("limit %d: %d bytes, over the bound %d", limit, n, bound)
		}
		if got.Truncated {
			if n < bound*9/10 {
				t.Errorf("limit %d: trimmed to %d items, %d bytes: under 90%% of the bound %d", limit, got.Returned, n, bound)
			}
			// One more item would not have fitted.
			more := decode[ListFindingsResult](t, c, "list_findings", map[string]any{"limit": got.Returned + 1})
			if !more.Truncated {
				t.Errorf("limit %d: trimmed to %d items although %d fit", limit, got.Returned, got.Returned+1)
			}
		} else if got.Returned != min(limit, got.Total) {
			t.Errorf("limit %d: %d items without trimming, total %d", limit, got.Returned, got.Total)
		}
		prev = got.Returned
	}
}
