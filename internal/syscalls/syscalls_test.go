package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestKnownNumbers(t *testing.T) {
	tests := []struct {
		arch, name string
		nr         int
	}{
		{"x86_64", "read", 0},
		{"x86_64", "openat", unix.SYS_OPENAT},
		{"amd64", "execve", 59},
		{"SCMP_ARCH_X86_64", "clone3", 435},
		{"x86", "socketcall", 102},
		{"i386", "socket", 359},
		{"x86", "_llseek", 140},
		{"x32", "read", X32Bit | 0},
		{"x32", "rt_sigaction", X32Bit | 512},
		{"aarch64", "openat", 56},
		{"arm64", "newfstatat", 79},
		{"arm", "cacheflush", 0x0f0002},
		{"arm", "arm_fadvise64_64", 270},
		{"x86_64", "cachestat", 451},
		{"aarch64", "cachestat", 451},
	}
	for _, tt := range tests {
		nr, ok := Number(tt.arch, tt.name)
		if !ok || nr != tt.nr {
			t.Errorf("Number(%q, %q) = %#x, %v; want %#x", tt.arch, tt.name, nr, ok, tt.nr)
		}
		name, ok := Name(tt.arch, tt.nr)
		if !ok || name != tt.name {
			t.Errorf("Name(%q, %#x) = %q, %v; want %q", tt.arch, tt.nr, name, ok, tt.name)
		}
	}
}

func TestAbsent(t *testing.T) {
	for _, c := range []struct{ arch, name string }{
		{"x86_64", "chown32"}, {"aarch64", "open"}, {"x32", "map_shadow_stack"}, {"sparc", "read"}, {"x86_64", "no_such_call"},
	} {
		if nr, ok := Number(c.arch, c.name); ok {
			t.Errorf("Number(%q, %q) = %d, want absent", c.arch, c.name, nr)
		}
	}
	if _, ok := Name("x86_64", 100000); ok {
		t.Error("Name(x86_64, 100000) found")
	}
}

func TestTablesConsistent(t *testing.T) {
	for _, arch := range Arches() {
		list := List(arch)
		if len(list) < 300 {
			t.Fatalf("%s: only %d syscalls", arch, len(list))
		}
		seenName := map[string]bool{}
		for i, s := range list {
			if i > 0 && list[i-1].Nr >= s.Nr {
				t.Errorf("%s: not strictly ordered at %s", arch, s.Name)
			}
			if seenName[s.Name] {
				t.Errorf("%s: duplicate %s", arch, s.Name)
			}
			seenName[s.Name] = true
			if arch == "x32" && s.Nr&X32Bit == 0 {
				t.Errorf("x32 %s lacks the x32 bit", s.Name)
			}
		}
		if got := Names(arch); len(got) != len(list) {
			t.Errorf("%s: Names has %d entries, List %d", arch, len(got), len(list))
		}
	}
}

// The native arch's table agrees with the x/sys constants Go itself uses.
func TestAgreesWithXSys(t *testing.T) {
	// An architecture guard: the constants compared are x/sys's amd64 ones.
	if Native() != "x86_64" {
		t.Skip("checked on x86_64")
	}
	for name, nr := range map[string]int{"write": unix.SYS_WRITE, "mount": unix.SYS_MOUNT, "bpf": unix.SYS_BPF, "keyctl": unix.SYS_KEYCTL, "io_uring_setup": unix.SYS_IO_URING_SETUP, "unshare": unix.SYS_UNSHARE} {
		if got, _ := Number("x86_64", name); got != nr {
			t.Errorf("%s = %d, x/sys says %d", name, got, nr)
		}
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"SCMP_ARCH_X86": "x86", "amd64": "x86_64", "ARM64": "aarch64", "scmp_arch_x32": "x32", "arm": "arm"} {
		if got, ok := Canonical(in); !ok || got != want {
			t.Errorf("Canonical(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := Canonical("mips"); ok {
		t.Error("mips accepted")
	}
	if a, _ := AuditArch("x32"); a != AuditArchX86_64 {
		t.Errorf("x32 audit arch %#x", a)
	}
	if ScmpName("amd64") != "SCMP_ARCH_X86_64" {
		t.Error(ScmpName("amd64"))
	}
}

func TestKnownElsewhere(t *testing.T) {
	if !KnownElsewhere("s390_runtime_instr") && !KnownElsewhere("riscv_flush_icache") {
		t.Error("no other-arch names")
	}
	if KnownElsewhere("read") || KnownElsewhere("no_such_call") {
		t.Error("read or a made-up name counted as other-arch")
	}
}

func TestIndex(t *testing.T) {
	for _, arch := range Arches() {
		for i, s := range List(arch) {
			if j, ok := Index(arch, s.Name); !ok || j != i {
				t.Fatalf("Index(%s, %s) = %d, %v; want %d", arch, s.Name, j, ok, i)
			}
		}
	}
}
