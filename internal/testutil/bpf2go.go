package testutil

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const bpf2goLine = "//go:generate go run github.com/cilium/ebpf/cmd/bpf2go "

// CheckBPF2Go checks that the committed bpf2go output of the package in dir
// (outputs: file names such as "capture_x86_bpfel.go" and ".o") is what its
// //go:generate line makes of the C source. It runs bpf2go from that line
// in a copy of the source and of every -I directory, laid out as in the
// repository so paths in the object's line info match. Builds use the
// committed object and need no clang; this check needs the whole BPF
// toolchain, names every missing piece and its Debian package, and is
// skipped under -short (compiling BPF takes seconds).
func CheckBPF2Go(t *testing.T, dir string, outputs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("compiles the BPF object")
	}
	RequireInstalled(t,
		Need{Name: "clang", Package: "clang"},
		Need{Name: "llvm-strip", Package: "llvm"}, // bpf2go strips DWARF with it
		Need{Name: "/usr/include/bpf/bpf_helpers.h", Package: "libbpf-dev"},
	)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(RepoRoot(t), abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("%s is not inside the repository", abs)
	}
	gofile, args, pkg := findBPF2Go(t, abs)
	inputs, err := bpf2goInputs(args)
	if err != nil {
		t.Fatalf("%s: %v", gofile, err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bpf2go")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cilium/ebpf/cmd/bpf2go").CombinedOutput(); err != nil {
		t.Fatalf("build bpf2go: %v\n%s", err, out)
	}
	work := filepath.Join(tmp, "repo", rel)
	for _, in := range inputs {
		copyInput(t, filepath.Join(abs, in), filepath.Join(work, in), filepath.Join(tmp, "repo"))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOPACKAGE="+pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, out)
	}
	for _, f := range outputs {
		want, err := os.ReadFile(filepath.Join(work, f))
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile(filepath.Join(abs, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, have) {
			t.Errorf("%s is stale: run go generate ./%s/ and commit it", f, filepath.ToSlash(rel))
		}
	}
}

// findBPF2Go returns the one non-test Go file in dir with a bpf2go
// //go:generate line, that line's arguments and the file's package name.
func findBPF2Go(t *testing.T, dir string) (file string, args []string, pkg string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		a := bpf2goArgs(string(src))
		if a == nil {
			continue
		}
		if args != nil {
			t.Fatalf("bpf2go //go:generate lines in both %s and %s", file, name)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		file, args, pkg = name, a, f.Name.Name
	}
	if args == nil {
		t.Fatalf("no bpf2go //go:generate line in %s/*.go", dir)
	}
	return file, args, pkg
}

// bpf2goArgs returns the arguments of src's bpf2go //go:generate line, or
// nil when it has none.
func bpf2goArgs(src string) []string {
	for _, line := range strings.Split(src, "\n") {
		if rest, ok := strings.CutPrefix(line, bpf2goLine); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

// bpf2goInputs returns what bpf2go reads, relative to the package: the C
// source (the argument after the identifier) and every file of each -I
// directory in the compiler flags after "--".
func bpf2goInputs(args []string) ([]string, error) {
	var inputs []string
	cflags := false
	for _, a := range args {
		switch {
		case a == "--":
			cflags = true
		case !cflags && strings.HasSuffix(a, ".c"):
			inputs = append(inputs, a)
		case cflags && strings.HasPrefix(a, "-I"):
			inputs = append(inputs, filepath.Clean(strings.TrimPrefix(a, "-I")))
		}
	}
	if len(inputs) == 0 || !strings.HasSuffix(inputs[0], ".c") {
		return nil, errors.New("the bpf2go line names no .c source")
	}
	return inputs, nil
}

// copyInput copies the file from (or, when from is a directory, its
// regular files) to to, refusing a destination outside root.
func copyInput(t *testing.T, from, to, root string) {
	t.Helper()
	if !strings.HasPrefix(filepath.Clean(to)+string(filepath.Separator), root+string(filepath.Separator)) {
		t.Fatalf("%s lies outside the repository", from)
	}
	if fi, err := os.Stat(from); err != nil {
		t.Fatal(err)
	} else if fi.IsDir() {
		entries, err := os.ReadDir(from)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				copyInput(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()), root)
			}
		}
		return
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
