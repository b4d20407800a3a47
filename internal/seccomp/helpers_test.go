package seccomp

import (
	"fmt"

	"github.com/palisade-sec/palisade/internal/syscalls"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/palisade-sec/palisade/internal/caps"
)

var testKernel = mobyseccomp.KernelVersion{Kernel: 6, Major: 18}

// dockerDefault resolves Docker's default profile for an x86_64 (or other)
// host with Docker's 14 default capabilities.
func dockerDefault(t testing.TB, host string) *Resolved {
	t.Helper()
	p, err := LoadBuiltin("docker-default")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(p, Env{Arch: host, Caps: caps.DockerDefault(), Kernel: testKernel})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustCompile(t testing.TB, r *Resolved, opt Options) *Program {
	t.Helper()
	p, err := Compile(r, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustNumber(t testing.TB, arch, name string) int {
	t.Helper()
	nr, ok := syscalls.Number(arch, name)
	if !ok {
		t.Fatalf("%s has no %s", arch, name)
	}
	return nr
}

func auditOf(t testing.TB, arch string) uint32 {
	t.Helper()
	tok, ok := syscalls.AuditArch(arch)
	if !ok {
		t.Fatalf("no audit arch for %s", arch)
	}
	return tok
}

func fmtSscanf(release string, kv *mobyseccomp.KernelVersion) (int, error) {
	return fmt.Sscanf(release, "%d.%d", &kv.Kernel, &kv.Major)
}
