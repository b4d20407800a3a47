package execdeny

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestGeneratedUpToDate regenerates the BPF object and its Go wrapper from
// bpf/execdeny.c with the //go:generate line and compares them with the
// committed ones.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the BPF object")
	}
	testutil.RequireInstalled(t,
		testutil.Need{Name: "clang", Package: "clang"},
		testutil.Need{Name: "llvm-strip", Package: "llvm"},
		testutil.Need{Name: "/usr/include/bpf/bpf_helpers.h", Package: "libbpf-dev"},
	)
	src, err := os.ReadFile("execdeny.go")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate go run github.com/cilium/ebpf/cmd/bpf2go "); ok {
			args = strings.Fields(rest)
		}
	}
	if args == nil {
		t.Fatal("no bpf2go //go:generate line in execdeny.go")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bpf2go")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cilium/ebpf/cmd/bpf2go").CombinedOutput(); err != nil {
		t.Fatalf("build bpf2go: %v\n%s", err, out)
	}
	// The package's layout: this package's bpf/ and the capture's
	// vmlinux.h beside it, so paths in the object's line info match.
	work := filepath.Join(dir, "execdeny")
	for _, f := range []struct{ from, to string }{
		{"bpf/execdeny.c", filepath.Join(work, "bpf", "execdeny.c")},
		{"../ebpf/bpf/vmlinux.h", filepath.Join(dir, "ebpf", "bpf", "vmlinux.h")},
	} {
		b, err := os.ReadFile(f.from)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(f.to), 0o755)
		if err := os.WriteFile(f.to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOPACKAGE=execdeny")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, out)
	}
	for _, f := range []string{"execdeny_x86_bpfel.go", "execdeny_x86_bpfel.o"} {
		want, err := os.ReadFile(filepath.Join(work, f))
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, have) {
			t.Errorf("%s is stale: run go generate ./internal/kernel/execdeny/ and commit it", f)
		}
	}
}
