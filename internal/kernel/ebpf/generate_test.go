package ebpf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// The committed bpf2go output must be what the //go:generate line makes of
// bpf/capture.c. Builds use the committed object and need no clang; this
// test needs the whole BPF toolchain, so it names every missing piece and
// its Debian package, and CI (.ci/run) installs them.
func TestGeneratedUpToDate(t *testing.T) {
	// -short is for a quick edit-test loop: compiling BPF takes seconds.
	if testing.Short() {
		t.Skip("compiles the BPF object")
	}
	testutil.RequireInstalled(t,
		testutil.Need{Name: "clang", Package: "clang"},
		testutil.Need{Name: "llvm-strip", Package: "llvm"}, // bpf2go strips DWARF with it
		testutil.Need{Name: "/usr/include/bpf/bpf_helpers.h", Package: "libbpf-dev"},
	)
	src, err := os.ReadFile("gen.go")
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
		t.Fatal("no bpf2go //go:generate line in gen.go")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bpf2go")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/cilium/ebpf/cmd/bpf2go").CombinedOutput(); err != nil {
		t.Fatalf("build bpf2go: %v\n%s", err, out)
	}
	// Same relative layout as the package, so paths in the object's line
	// info match.
	work := filepath.Join(dir, "pkg")
	if err := os.MkdirAll(filepath.Join(work, "bpf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"capture.c", "vmlinux.h"} {
		b, err := os.ReadFile(filepath.Join("bpf", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "bpf", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOPACKAGE=ebpf")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, out)
	}
	for _, f := range []string{"capture_x86_bpfel.go", "capture_x86_bpfel.o"} {
		want, err := os.ReadFile(filepath.Join(work, f))
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, have) {
			t.Errorf("%s is stale: run go generate ./internal/kernel/ebpf/ and commit it", f)
		}
	}
}
