package testutil

import (
	"os"
	"testing"
)

func TestStrictFromEnv(t *testing.T) {
	old, had := os.LookupEnv("PALISADE_STRICT")
	defer func() {
		if had {
			os.Setenv("PALISADE_STRICT", old)
		} else {
			os.Unsetenv("PALISADE_STRICT")
		}
	}()
	os.Setenv("PALISADE_STRICT", "1")
	if !Strict() {
		t.Fatal("PALISADE_STRICT=1 must be strict")
	}
	os.Setenv("PALISADE_STRICT", "")
	if Strict() {
		t.Fatal("empty PALISADE_STRICT must not be strict")
	}
}

// fakeTB records whether a requirement skipped or failed the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

func TestMissingSkipsOrFails(t *testing.T) {
	t.Setenv("PALISADE_STRICT", "")
	f := &fakeTB{}
	missing(f, "x")
	if !f.skipped || f.failed {
		t.Fatalf("non-strict: skipped=%v failed=%v, want skip", f.skipped, f.failed)
	}
	t.Setenv("PALISADE_STRICT", "1")
	f = &fakeTB{}
	missing(f, "x")
	if !f.failed || f.skipped {
		t.Fatalf("strict: skipped=%v failed=%v, want fail", f.skipped, f.failed)
	}
}
