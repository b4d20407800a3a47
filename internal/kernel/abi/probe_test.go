package abi

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// The x32 answer from the child matches an x32 call made here (safe in a
// test process: no seccomp filter kills it).
func TestX32MatchesDirectCall(t *testing.T) {
	// An architecture guard: the i386 and x32 ABIs exist only on x86_64.
	if runtime.GOARCH != "amd64" {
		t.Skip("x86_64 only")
	}
	_, _, e := unix.RawSyscall(x32Bit|unix.SYS_GETPID, 0, 0, 0)
	direct := e != unix.ENOSYS
	ok, why := X32()
	t.Logf("x32: direct call errno %v; probe %v %q", e, ok, why)
	if ok != direct {
		t.Errorf("probe says x32 %v (%s), a direct call says %v", ok, why, direct)
	}
	if !ok && why != "ENOSYS" {
		t.Errorf("x32 refused with %q, want ENOSYS", why)
	}
}

// The i386 probe answers either way without killing this process, and
// when it says yes, int $0x80 works here too.
func TestIA32Probe(t *testing.T) {
	// An architecture guard: the i386 and x32 ABIs exist only on x86_64.
	if runtime.GOARCH != "amd64" {
		t.Skip("x86_64 only")
	}
	ok, why := IA32()
	t.Logf("i386: %v %q", ok, why)
	if !ok && why == "" {
		t.Error("refused without a reason")
	}
	if ok {
		if got := Int80(getuid32, 0, 0, 0); got != uintptr(unix.Getuid()) {
			t.Errorf("int $0x80 getuid32 = %d, want %d", got, unix.Getuid())
		}
	}
}

// The two i386 probes agree: a kernel that runs a 32-bit program takes int
// $0x80 from a 64-bit one, and one that refuses 32-bit programs (ENOEXEC)
// does not take int $0x80 either.
func TestExecI386AgreesWithInt80(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86_64 only")
	}
	runs, how := ExecI386()
	ok, why := IA32()
	t.Logf("32-bit ELF runs: %v %q; int $0x80: %v %q", runs, how, ok, why)
	if runs != ok {
		t.Errorf("a 32-bit program runs=%v (%s) but int $0x80 ok=%v (%s)", runs, how, ok, why)
	}
	if !runs && how == "" {
		t.Error("refused without a reason")
	}
	absent, reason := NoI386()
	if absent != (!runs && !ok && how == "execve of a 32-bit ELF: ENOEXEC") || (absent && reason == "") {
		t.Errorf("NoI386 = %v %q, inconsistent with the probes", absent, reason)
	}
}
