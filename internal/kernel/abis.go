package kernel

import (
	"runtime"
	"strings"

	"github.com/palisade-sec/palisade/internal/kernel/abi"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// SyscallABIs reports which syscall ABIs besides x86_64 this kernel takes.
// Each one is a way in for a program: i386 (32-bit programs, int $0x80,
// socketcall) and x32 (bit 30 of the number). Palisade decodes both, so
// this is information, not a failure; an x32 ABI that is on is a warning,
// because almost nothing needs it and seccomp profiles must then list it.
func SyscallABIs() Check {
	c := Check{Name: "syscall-abis", Status: OK}
	// The probes are the capture arch's (int $0x80, the x32 bit).
	native := syscalls.CaptureArch().Name
	if syscalls.Native() != native {
		c.Detail = runtime.GOARCH + " only"
		return c
	}
	parts := []string{native}
	if ok, why := abi.IA32(); ok {
		parts = append(parts, "i386 (32-bit programs run; their syscalls and socketcall are decoded)")
	} else {
		parts = append(parts, "no i386: "+why+" (ia32 emulation off)")
	}
	if ok, why := abi.X32(); ok {
		parts = append(parts, "x32 (decoded)")
		c.Status = Warn
		c.Fix = "x32 is rarely needed: boot with syscall.x32=n (Debian) or a kernel without CONFIG_X86_X32_ABI; until then keep SCMP_ARCH_X32 in seccomp profiles' architectures so x32 numbers are filtered too"
	} else {
		parts = append(parts, "no x32: "+why)
	}
	c.Detail = strings.Join(parts, "; ")
	return c
}
