package detectors

import "testing"

func TestCappedSet(t *testing.T) {
	s := newCappedSet[int](3)
	var added []bool
	for _, k := range []int{1, 2, 1, 3, 4, 5, 2} {
		added = append(added, s.add(k))
	}
	want := []bool{true, true, false, true, false, false, false}
	for i := range want {
		if added[i] != want[i] {
			t.Fatalf("add results %v, want %v", added, want)
		}
	}
	if s.len() != 3 || !s.capped {
		t.Errorf("len %d capped %v, want 3 true", s.len(), s.capped)
	}
	u := newCappedSet[string](2)
	u.add("a")
	u.add("a")
	if u.len() != 1 || u.capped {
		t.Errorf("a repeated member: len %d capped %v, want 1 false", u.len(), u.capped)
	}
}
