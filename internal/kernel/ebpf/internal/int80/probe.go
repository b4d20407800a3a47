package int80

import (
	"os"
	"os/exec"
	"strings"
	"sync"
)

// probeEnv, when set, makes a process importing this package try one
// int $0x80 call at start and exit: 0 if it returned, killed by SIGSEGV if
// the kernel refused it.
const probeEnv = "PALISADE_INT80_PROBE"

func init() {
	if os.Getenv(probeEnv) == "1" {
		Syscall(getuid32, 0, 0, 0)
		os.Exit(0)
	}
}

// getuid32 is the i386 number of getuid32.
const getuid32 = 199

var available = sync.OnceValues(func() (bool, string) {
	exe, err := os.Executable()
	if err != nil {
		return false, "cannot find this program to probe int $0x80: " + err.Error()
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), probeEnv+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return false, "this kernel refuses 32-bit syscalls (booted with ia32_emulation=off, or under a hypervisor without them): a process making one int $0x80 call failed: " + err.Error() + ": " + first
	}
	return true, ""
})

// Available reports whether this kernel takes 32-bit syscalls at all: a
// kernel booted with ia32_emulation=off (or built without
// CONFIG_IA32_EMULATION, or under a hypervisor that lacks them) kills the
// caller of int $0x80 with SIGSEGV. The answer comes from a child process
// (this program re-run with PALISADE_INT80_PROBE=1), asked once.
// When false, why says so.
func Available() (ok bool, why string) {
	return available()
}
