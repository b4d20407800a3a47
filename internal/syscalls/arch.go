package syscalls

import (
	"runtime"
	"strings"
)

// Arch is what Palisade knows about one architecture (syscall ABI). The
// table below is the one place these facts live: syscall tables, seccomp
// (profile names, audit tokens, argument widths, compat ABIs), the
// recorder and the capture read it.
type Arch struct {
	Name    string   // canonical: libseccomp's name (seccomp_arch_resolve_name)
	Aliases []string // other spellings accepted: Go's GOARCH, uname -m
	Docker  string   // Docker's name for it (a profile's archMap, the daemon's platform)
	Scmp    string   // the SCMP_ARCH_ name Docker profiles and libseccomp use
	Audit   uint32   // AUDIT_ARCH_* (seccomp_data.arch)
	// NrBase is set in every syscall number of the ABI (x32's bit 30): it
	// tells the ABI apart from the one it shares an audit token with.
	NrBase int
	Regs64 bool // 64-bit registers: syscall arguments are 64 bits wide (x32 too)
	// Args64: libseccomp, and so Docker, compares arguments in 64 bits;
	// on x86, arm and x32 it compares only the low 32 bits (the kernel
	// reads x32's int arguments from the low half as well).
	Args64 bool
	Host   string // the 64-bit arch whose kernels run this ABI (itself for one)
	Compat string // the 32-bit compat ABI a kernel of this arch takes
	Shares string // the ABI sharing this arch's audit token, told apart by its NrBase
	// CompatCommon: kernels of this arch take its compat ABIs unless built
	// or booted without them, so a profile that leaves them out is worth a
	// note (x86_64's i386 and x32; many arm64 CPUs have no 32-bit mode).
	CompatCommon bool
	// Multiplexed: the socket and ipc calls are also reachable through
	// socketcall(2) and ipc(2), the call number in arg0.
	Multiplexed bool
	// Capture: Palisade's eBPF capture program is built for this arch
	// (internal/kernel/ebpf, bpf2go -target amd64); records of its Compat
	// and Shares ABIs are decoded beside the native ones.
	Capture bool
}

// X32Bit is set in every x32 syscall number.
const X32Bit = 0x40000000

// Audit architecture tokens (seccomp_data.arch) from linux/audit.h.
const (
	AuditArchX86_64  uint32 = 0xc000003e
	AuditArchI386    uint32 = 0x40000003
	AuditArchAARCH64 uint32 = 0xc00000b7
	AuditArchARM     uint32 = 0x40000028
)

// arches is every architecture with a syscall table, 64-bit families first.
var arches = []Arch{
	{Name: "x86_64", Aliases: []string{"amd64"}, Docker: "amd64", Scmp: "SCMP_ARCH_X86_64", Audit: AuditArchX86_64,
		Regs64: true, Args64: true, Host: "x86_64", Compat: "x86", Shares: "x32", CompatCommon: true, Capture: true},
	{Name: "x86", Aliases: []string{"i386", "i686", "386"}, Docker: "x86", Scmp: "SCMP_ARCH_X86", Audit: AuditArchI386,
		Host: "x86_64", Multiplexed: true},
	{Name: "x32", Docker: "x32", Scmp: "SCMP_ARCH_X32", Audit: AuditArchX86_64, NrBase: X32Bit, Regs64: true, Host: "x86_64"},
	{Name: "aarch64", Aliases: []string{"arm64"}, Docker: "arm64", Scmp: "SCMP_ARCH_AARCH64", Audit: AuditArchAARCH64,
		Regs64: true, Args64: true, Host: "aarch64", Compat: "arm"},
	{Name: "arm", Docker: "arm", Scmp: "SCMP_ARCH_ARM", Audit: AuditArchARM, Host: "aarch64"},
}

var archBySpelling = func() map[string]*Arch {
	m := map[string]*Arch{}
	for i := range arches {
		a := &arches[i]
		for _, s := range append([]string{a.Name, a.Scmp}, a.Aliases...) {
			m[strings.ToLower(s)] = a
		}
	}
	return m
}()

// LookupArch returns the architecture any accepted spelling names
// (x86_64, amd64, SCMP_ARCH_X86_64, i386, 386, arm64, ...).
func LookupArch(name string) (*Arch, bool) {
	a, ok := archBySpelling[strings.ToLower(strings.TrimSpace(name))]
	return a, ok
}

// Arches lists the canonical architecture names, 64-bit families first.
func Arches() []string {
	out := make([]string, len(arches))
	for i := range arches {
		out[i] = arches[i].Name
	}
	return out
}

// ArchByAudit returns the architecture whose audit token is tok and whose
// numbers carry no NrBase (x86_64, not x32, for x86_64's token).
func ArchByAudit(tok uint32) (*Arch, bool) {
	for i := range arches {
		if arches[i].Audit == tok && arches[i].NrBase == 0 {
			return &arches[i], true
		}
	}
	return nil, false
}

// CaptureArch is the architecture Palisade's eBPF capture is built for.
func CaptureArch() *Arch {
	for i := range arches {
		if arches[i].Capture {
			return &arches[i]
		}
	}
	panic("syscalls: no architecture marked Capture") // the table is static: TestArchTable
}

// Canonical turns any accepted spelling of an architecture (x86_64, amd64,
// SCMP_ARCH_X86_64, i386, 386, arm64, ...) into its canonical name.
func Canonical(arch string) (string, bool) {
	if a, ok := LookupArch(arch); ok {
		return a.Name, true
	}
	return "", false
}

// ScmpName is the Docker/libseccomp spelling of an architecture.
func ScmpName(arch string) string {
	if a, ok := LookupArch(arch); ok {
		return a.Scmp
	}
	return ""
}

// AuditArch is the seccomp_data.arch value for an architecture. x32 shares
// x86_64's token and is told apart by X32Bit in the number.
func AuditArch(arch string) (uint32, bool) {
	if a, ok := LookupArch(arch); ok {
		return a.Audit, true
	}
	return 0, false
}

// Is64Bit reports whether the arch passes 64-bit syscall arguments (x32
// does: its registers are 64 bits wide).
func Is64Bit(arch string) bool {
	a, ok := LookupArch(arch)
	return ok && a.Regs64
}

// Native is the canonical name of the architecture this binary runs on, or
// "" when the tables do not cover it.
func Native() string {
	c, _ := Canonical(runtime.GOARCH)
	return c
}

// ArchList renders names as a choice for messages: "a, b or c".
func ArchList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
