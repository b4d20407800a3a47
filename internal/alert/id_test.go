package alert

import (
	"regexp"
	"sort"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-([78])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	var ids []string
	for i := 0; i < 10000; i++ {
		id := NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if m := uuidRE.FindStringSubmatch(id); m == nil || m[1] != "7" {
			t.Fatalf("NewID = %q, not a UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	// The millisecond prefix makes later IDs sort after earlier ones.
	if !sort.StringsAreSorted(ids) {
		t.Error("IDs of increasing times do not sort in time order")
	}
	if got := NewID(t0)[:13]; got != "01a24914-5900" {
		t.Errorf("time prefix %q, want 01a24914-5900 (Unix ms of %v)", got, t0)
	}
}

func TestDerivedID(t *testing.T) {
	a, b := DerivedID("silent", "node-1", "5"), DerivedID("silent", "node-1", "5")
	if a != b || !uuidRE.MatchString(a) {
		t.Fatalf("DerivedID not stable or not UUID-shaped: %q %q", a, b)
	}
	// Parts are separated, so moving a boundary changes the ID.
	if DerivedID("ab", "c") == DerivedID("a", "bc") || DerivedID("silent", "node-2", "5") == a {
		t.Error("different parts gave the same ID")
	}
}
