package spelling

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"proc.nmae", "proc.name", 2}, {"kitten", "sitting", 3}, {"same", "same", 0}} {
		if got := Distance(tc.a, tc.b); got != tc.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}

func TestClosest(t *testing.T) {
	if got, ok := Closest("netwrok", []string{"name", "network", "files"}, 3); !ok || got != "network" {
		t.Errorf("Closest = %q %v", got, ok)
	}
	if _, ok := Closest("zzzzzz", []string{"name", "network"}, 3); ok {
		t.Error("a far word must not be suggested")
	}
	if got, _ := Closest("ab", []string{"ac", "aa"}, 3); got != "aa" {
		t.Errorf("ties go to the first in order: %q", got)
	}
}
