package syscalls

import (
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Syscall is one entry of an architecture's table.
type Syscall struct {
	Name string
	Nr   int
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

// Arches lists the canonical architecture names, 64-bit families first.
func Arches() []string { return []string{"x86_64", "x86", "x32", "aarch64", "arm"} }

var aliases = map[string]string{
	"x86_64": "x86_64", "amd64": "x86_64", "scmp_arch_x86_64": "x86_64",
	"x86": "x86", "i386": "x86", "i686": "x86", "386": "x86", "scmp_arch_x86": "x86",
	"x32": "x32", "scmp_arch_x32": "x32",
	"aarch64": "aarch64", "arm64": "aarch64", "scmp_arch_aarch64": "aarch64",
	"arm": "arm", "scmp_arch_arm": "arm",
}

// Canonical turns any accepted spelling of an architecture (x86_64, amd64,
// SCMP_ARCH_X86_64, i386, 386, arm64, ...) into its canonical name.
func Canonical(arch string) (string, bool) {
	c, ok := aliases[strings.ToLower(strings.TrimSpace(arch))]
	return c, ok
}

// ScmpName is the Docker/libseccomp spelling of a canonical arch name.
func ScmpName(arch string) string {
	if c, ok := Canonical(arch); ok {
		return "SCMP_ARCH_" + strings.ToUpper(c)
	}
	return ""
}

// AuditArch is the seccomp_data.arch value for an architecture. x32 shares
// x86_64's token and is told apart by X32Bit in the number.
func AuditArch(arch string) (uint32, bool) {
	c, _ := Canonical(arch)
	switch c {
	case "x86_64", "x32":
		return AuditArchX86_64, true
	case "x86":
		return AuditArchI386, true
	case "aarch64":
		return AuditArchAARCH64, true
	case "arm":
		return AuditArchARM, true
	}
	return 0, false
}

// Is64Bit reports whether the arch passes 64-bit syscall arguments (x32
// does: its registers are 64 bits wide).
func Is64Bit(arch string) bool {
	c, _ := Canonical(arch)
	return c == "x86_64" || c == "x32" || c == "aarch64"
}

// Native is the canonical name of the architecture this binary runs on, or
// "" when the tables do not cover it.
func Native() string {
	c, _ := Canonical(runtime.GOARCH)
	return c
}

type index struct {
	byName map[string]int
	slot   map[string]int
	byNr   map[int]string
	list   []Syscall
	names  []string
}

// indexes builds each architecture's lookup maps on first use: a process
// usually needs one or two of the five tables.
var indexes = func() map[string]func() *index {
	out := make(map[string]func() *index, len(tables))
	for arch, list := range tables {
		out[arch] = sync.OnceValue(func() *index {
			ix := &index{byName: make(map[string]int, len(list)), slot: make(map[string]int, len(list)), byNr: make(map[int]string, len(list)), list: list}
			for i, s := range list {
				ix.slot[s.Name] = i
				ix.byName[s.Name] = s.Nr
				ix.byNr[s.Nr] = s.Name
				ix.names = append(ix.names, s.Name)
			}
			return ix
		})
	}
	return out
}()

func lookup(arch string) *index {
	if ix, ok := indexes[arch]; ok {
		return ix()
	}
	c, ok := Canonical(arch)
	if !ok {
		return nil
	}
	return indexes[c]()
}

// Number returns the syscall number of name on arch.
func Number(arch, name string) (int, bool) {
	ix := lookup(arch)
	if ix == nil {
		return 0, false
	}
	nr, ok := ix.byName[name]
	return nr, ok
}

// Name returns the name of syscall number nr on arch.
func Name(arch string, nr int) (string, bool) {
	ix := lookup(arch)
	if ix == nil {
		return "", false
	}
	n, ok := ix.byNr[nr]
	return n, ok
}

// List returns arch's table ordered by number. The caller must not modify it.
func List(arch string) []Syscall {
	if ix := lookup(arch); ix != nil {
		return ix.list
	}
	return nil
}

// Names returns arch's syscall names ordered by number. The caller must not
// modify it.
func Names(arch string) []string {
	if ix := lookup(arch); ix != nil {
		return ix.names
	}
	return nil
}

// Known reports whether name is a syscall on at least one architecture.
func Known(name string) bool {
	if ix := lookup(Native()); ix != nil {
		if _, ok := ix.byName[name]; ok {
			return true
		}
	}
	// Other architectures are scanned rather than indexed, so that asking
	// does not build their tables.
	for _, list := range tables {
		for _, s := range list {
			if s.Name == name {
				return true
			}
		}
	}
	return false
}

// AllNames returns every name known on any architecture, sorted.
func AllNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range tables {
		for _, s := range list {
			n := s.Name
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

var otherArch = func() map[string]bool {
	m := make(map[string]bool, len(otherArchNames))
	for _, n := range otherArchNames {
		m[n] = true
	}
	return m
}()

// KnownElsewhere reports whether name is a syscall only on an architecture
// without a table here (mips, ppc, s390x, riscv64, ...).
func KnownElsewhere(name string) bool { return otherArch[name] }

// Index returns the position of name in List(arch), so callers can keep
// per-syscall data in a slice ordered by number.
func Index(arch, name string) (int, bool) {
	ix := lookup(arch)
	if ix == nil {
		return 0, false
	}
	i, ok := ix.slot[name]
	return i, ok
}

// Slots returns the name -> Index map of arch for callers that look up many
// names (the seccomp compiler). The caller must not modify it.
func Slots(arch string) map[string]int {
	if ix := lookup(arch); ix != nil {
		return ix.slot
	}
	return nil
}
