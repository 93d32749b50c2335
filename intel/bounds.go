package intel

import (
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what a Result carries: answers come from outside services and
// list files, and a Result may be handed to a model, so every string is
// cleaned and cut and every list is capped.
const (
	maxCategories  = 16
	maxCategoryLen = 64
	maxDetails     = 16
	maxDetailLen   = 200
	maxLinkLen     = 256
	maxErrorLen    = 300
)

// clean removes control and format characters (newlines, ANSI escapes,
// bidirectional overrides) and truncates s to at most n bytes on a rune
// boundary, marking the cut with "...".
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			if r == '\n' || r == '\t' || r == '\r' {
				return ' '
			}
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// bound cleans a verdict in place so that whatever a provider returned,
// the Result stays small and printable.
func (v *Verdict) bound() {
	v.Score = min(max(v.Score, 0), 100)
	v.Reports = max(v.Reports, 0)
	v.Link = clean(v.Link, maxLinkLen)
	seen := make(map[string]bool, len(v.Categories))
	cats := v.Categories[:0:0]
	for _, c := range v.Categories {
		c = clean(c, maxCategoryLen)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		cats = append(cats, c)
		if len(cats) == maxCategories {
			break
		}
	}
	if len(cats) == 0 {
		cats = nil
	}
	v.Categories = cats
	if len(v.Details) > 0 {
		keys := slices.Sorted(maps.Keys(v.Details))
		d := make(map[string]string, min(len(keys), maxDetails))
		for _, k := range keys {
			ck, cv := clean(k, maxCategoryLen), clean(v.Details[k], maxDetailLen)
			if ck == "" || cv == "" {
				continue
			}
			d[ck] = cv
			if len(d) == maxDetails {
				break
			}
		}
		v.Details = d
		if len(d) == 0 {
			v.Details = nil
		}
	}
}
