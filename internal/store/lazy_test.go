package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// OpenLazy checks an SQLite store at once but opens it on first use.
func TestOpenLazy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "alerts.db")
	st, err := OpenLazy(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := st.(*lazyStore)
	if !ok || l.Opened() {
		t.Fatalf("OpenLazy gave %T, opened %v; want an unopened lazy store", st, ok && l.Opened())
	}
	a := alert.Alert{Time: time.Unix(1700000000, 0).UTC(), Rule: "r", Priority: alert.Warning, Output: "o", Source: "syscall", Hostname: "h"}
	if err := st.Insert(ctx, []alert.Alert{a, a}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Count(ctx); err != nil || n != 2 || !l.Opened() {
		t.Fatalf("after insert: count %d, %v, opened %v", n, err, l.Opened())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened eagerly, the alerts are there.
	again, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if n, _ := again.Count(ctx); n != 2 {
		t.Errorf("reopened: %d alerts, want 2", n)
	}
	// A store that was never used closes without opening.
	idle, err := OpenLazy(ctx, "sqlite:"+filepath.Join(t.TempDir(), "idle.db"))
	if err != nil || idle.Close() != nil || idle.(*lazyStore).st != nil {
		t.Errorf("idle lazy store: %v", err)
	}
}

// Problems that can be seen without opening the database are reported at
// once: no path, a directory that cannot be made.
func TestOpenLazyErrors(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"sqlite:", "sqlite:/proc/palisade-no/alerts.db", "bogus:x"} {
		if _, err := OpenLazy(ctx, url); err == nil {
			t.Errorf("OpenLazy(%q): no error", url)
		}
	}
}
