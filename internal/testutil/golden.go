package testutil

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata/, docs/fields.md) with what the tests produce")

// Update reports whether the test binary runs with -update: tests rewrite
// their golden files instead of comparing with them.
func Update() bool { return *update }

// Golden compares got with the golden file at path or, under -update,
// writes got there first. A difference names the file, the first line
// that differs and the way to accept the change.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the test made (go test -update rewrites it; review the diff):\n%s", path, firstDifference(got, want))
	}
}

// firstDifference says where got and want part: the first line that
// differs, with its number, quoted (golden files may hold control bytes).
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		gl, wl := "(end of output)", "(end of file)"
		if i < len(g) {
			gl = strconv.Quote(g[i])
		}
		if i < len(w) {
			wl = strconv.Quote(w[i])
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  got  %s\n  want %s", i+1, gl, wl)
		}
	}
	return "no line differs"
}
