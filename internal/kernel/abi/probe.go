package abi

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// probeEnv names the ABI a re-run of this program is to try: "i386" or
// "x32". The child exits 0 when the call returned a result, 38 (ENOSYS)
// when the kernel does not have the ABI; a kernel without ia32 emulation
// kills it instead.
const probeEnv = "PALISADE_ABI_PROBE"

const (
	getuid32 = 199        // i386
	x32Bit   = 0x40000000 // set in every x32 syscall number
)

func init() {
	switch os.Getenv(probeEnv) {
	case "i386":
		if r := int64(Int80(getuid32, 0, 0, 0)); r == -int64(unix.ENOSYS) {
			os.Exit(int(unix.ENOSYS))
		}
		os.Exit(0)
	case "x32":
		if _, _, e := unix.RawSyscall(x32Bit|unix.SYS_GETPID, 0, 0, 0); e == unix.ENOSYS {
			os.Exit(int(unix.ENOSYS))
		}
		os.Exit(0)
	}
}

// ask re-runs this program to try one call in the ABI and says whether it
// worked and, when not, why.
func ask(abi, what string) (bool, string) {
	if runtime.GOARCH != "amd64" {
		return false, what + ": an x86_64 ABI, not on " + runtime.GOARCH
	}
	exe, err := os.Executable()
	if err != nil {
		return false, "cannot find this program to probe " + what + ": " + err.Error()
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), probeEnv+"="+abi)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return true, ""
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == int(unix.ENOSYS) {
		return false, "ENOSYS"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if strings.Contains(first, "fault") {
		return false, "the call faults (" + first + ")"
	}
	return false, "a process making one " + what + " call failed: " + err.Error() + ": " + first
}

var (
	ia32 = sync.OnceValues(func() (bool, string) {
		return ask("i386", "int $0x80")
	})
	x32 = sync.OnceValues(func() (bool, string) {
		return ask("x32", "x32")
	})
)

// IA32 reports whether this kernel takes i386 syscalls (32-bit programs,
// int $0x80), asked once of a child process; when not, why says how it
// refused. A kernel booted with ia32_emulation=off, built without
// CONFIG_IA32_EMULATION, or run under a hypervisor that lacks it, kills
// the caller with SIGSEGV.
func IA32() (ok bool, why string) { return ia32() }

// X32 reports whether this kernel takes x32 syscalls (bit 30 of the
// number), asked once of a child process; when not, why says how it
// refused (ENOSYS: x32 is off unless the kernel has CONFIG_X86_X32_ABI
// and, on Debian's kernels, was booted with syscall.x32=y).
func X32() (ok bool, why string) { return x32() }
