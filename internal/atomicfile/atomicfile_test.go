package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	if err := Write(path, 0o640, func(w io.Writer) error { _, err := io.WriteString(w, "first"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("content %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	// A writer that fails half-way leaves the old file and no temporary.
	boom := errors.New("boom")
	err := Write(path, 0o644, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	if err != boom {
		t.Fatalf("error %v, want the writer's own", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	if err := Write(filepath.Join(dir, "no", "such", "dir"), 0o644, func(io.Writer) error { return nil }); err == nil || err.Error()[:6] != "write " {
		t.Errorf("missing directory: %v", err)
	}
}

// A write through a closed gate leaves the file as it was and no
// temporary; Close says whether a write had already replaced its file.
func TestGate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	os.WriteFile(path, []byte("old"), 0o644)
	var g Gate
	write := func(s string) error {
		return WriteGated(&g, path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, s); return err })
	}
	if err := write("first"); err != nil {
		t.Fatal(err)
	}
	if !g.Close() {
		t.Errorf("Close after a committed write: committed false")
	}
	if err := write("second"); !errors.Is(err, ErrGateClosed) {
		t.Errorf("write after Close: %v, want ErrGateClosed", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "first" {
		t.Errorf("file holds %q, want the committed write's %q", data, "first")
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".out.json.tmp*")); len(tmps) != 0 {
		t.Errorf("temporaries left: %v", tmps)
	}
	var fresh Gate
	if fresh.Close() {
		t.Errorf("Close of a gate nothing was written through: committed true")
	}
}
