package detectors

import "testing"

// FuzzMeasureSubdomain: the name measures take any bytes a capture holds
// without panicking, and their counts stay consistent.
func FuzzMeasureSubdomain(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a.b", "4.3.2.1.zen", "z0pla\xc1\xe2\xf3\x84", "d3k8x7q2m1abcd.cloudfront.net", "\xff.com"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, sub []byte) {
		st := measureSubdomain(sub)
		if st.labels < 1 || st.labelChars > len(sub) || st.encoded > st.labels || st.maxLabel > len(sub) {
			t.Errorf("measureSubdomain(%q) = %+v", sub, st)
		}
		if st.entropy < 0 || st.entropy > 8 {
			t.Errorf("entropy %v of %q", st.entropy, sub)
		}
		if k := labelEncoding(sub); k < encNone || k >= encCount {
			t.Errorf("labelEncoding(%q) = %d", sub, k)
		}
		_ = endsInTLD(sub)
	})
}
