package syscalls

import (
	"strings"
	"testing"
)

// The architecture table is consistent: every arch has a syscall table
// whose numbers carry its NrBase, its spellings lead back to it, the
// arches it names exist and fit (a host is 64-bit, a sharer has the same
// token), audit tokens say 64-bit exactly for 64-bit registers, and one
// arch is the capture's.
func TestArchTable(t *testing.T) {
	captures := 0
	for _, a := range arches {
		list := List(a.Name)
		if len(list) == 0 {
			t.Errorf("%s: no syscall table", a.Name)
		}
		for _, s := range list {
			if s.Nr&a.NrBase != a.NrBase {
				t.Errorf("%s: %s = %#x lacks the NrBase %#x", a.Name, s.Name, s.Nr, a.NrBase)
				break
			}
		}
		for _, s := range append([]string{a.Name, a.Scmp, strings.ToLower(a.Scmp), " " + a.Name}, a.Aliases...) {
			if c, ok := Canonical(s); !ok || c != a.Name {
				t.Errorf("%q -> %q %v, want %s", s, c, ok, a.Name)
			}
		}
		if a.Scmp != "SCMP_ARCH_"+strings.ToUpper(a.Name) || a.Docker == "" {
			t.Errorf("%s: names %q %q", a.Name, a.Scmp, a.Docker)
		}
		if (a.Audit&0x80000000 != 0) != a.Regs64 { // __AUDIT_ARCH_64BIT
			t.Errorf("%s: audit token %#x, 64-bit registers %v", a.Name, a.Audit, a.Regs64)
		}
		if a.Args64 && !a.Regs64 {
			t.Errorf("%s: 64-bit argument compares on 32-bit registers", a.Name)
		}
		h, ok := LookupArch(a.Host)
		if !ok || h.Host != h.Name || !h.Regs64 {
			t.Errorf("%s: host %q is not a 64-bit host arch", a.Name, a.Host)
		}
		if a.Compat != "" {
			if c, ok := LookupArch(a.Compat); !ok || c.Host != a.Name || c.Regs64 {
				t.Errorf("%s: compat %q is not a 32-bit ABI it hosts", a.Name, a.Compat)
			}
		}
		if a.Shares != "" {
			if s, ok := LookupArch(a.Shares); !ok || s.Audit != a.Audit || s.NrBase == 0 || s.Host != a.Name {
				t.Errorf("%s: shares its token with %q, which does not fit", a.Name, a.Shares)
			}
		}
		if b, ok := ArchByAudit(a.Audit); !ok || (b.Name != a.Name && a.NrBase == 0) {
			t.Errorf("%s: ArchByAudit(%#x) = %v", a.Name, a.Audit, b)
		}
		if a.Capture {
			captures++
		}
	}
	if captures != 1 || CaptureArch().Compat == "" {
		t.Errorf("%d capture arches (compat %q), want one with a compat ABI", captures, CaptureArch().Compat)
	}
	if _, ok := LookupArch("mips"); ok {
		t.Error("mips has no table here")
	}
	if got := ArchList(Arches()); got != "x86_64, x86, x32, aarch64 or arm" {
		t.Errorf("ArchList = %q", got)
	}
}
