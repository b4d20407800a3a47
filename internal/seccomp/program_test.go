package seccomp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

func TestProgramMarshalAndListing(t *testing.T) {
	prog := mustCompile(t, dockerDefault(t, "x86_64"), Options{})
	raw, err := prog.MarshalBinary()
	if err != nil || len(raw) != 8*prog.Len() {
		t.Fatalf("%d bytes for %d instructions, %v", len(raw), prog.Len(), err)
	}
	for i, ins := range prog.Raw {
		rec := raw[8*i:]
		if binary.NativeEndian.Uint16(rec) != ins.Op || rec[2] != ins.Jt || rec[3] != ins.Jf || binary.NativeEndian.Uint32(rec[4:]) != ins.K {
			t.Fatalf("instruction %d encoded as %x", i, rec[:8])
		}
	}
	var b bytes.Buffer
	if err := prog.WriteListing(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != prog.Len() || !strings.HasPrefix(lines[0], "0000  ") || !strings.HasSuffix(lines[0], "; arch") {
		t.Fatalf("listing starts %q, %d lines for %d instructions", lines[0], len(lines), prog.Len())
	}
	for _, want := range []string{"; nr", "; arg0 lo", "; SCMP_ACT_ALLOW", "; SCMP_ACT_ERRNO(1)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("listing lacks %q", want)
		}
	}
}

func TestRunChecked(t *testing.T) {
	r := dockerDefault(t, "x86_64")
	prog := mustCompile(t, r, Options{})
	tok, _ := syscalls.AuditArch("x86_64")
	act, err := RunChecked(r, prog, SeccompData{Nr: uint32(mustNumber(t, "x86_64", "mount")), Arch: tok})
	if err != nil || act.String() != "SCMP_ACT_ERRNO(1)" {
		t.Errorf("mount: %s %v", act, err)
	}
	// A program that answers differently from the profile is a compiler bug.
	other := mustCompile(t, dockerDefault(t, "aarch64"), Options{})
	if _, err := RunChecked(r, other, SeccompData{Nr: uint32(mustNumber(t, "x86_64", "read")), Arch: tok}); err == nil || !strings.Contains(err.Error(), "please report this") {
		t.Errorf("mismatch not caught: %v", err)
	}
}

func TestParseKernelVersion(t *testing.T) {
	kv, err := ParseKernelVersion("6.1")
	if err != nil || kv.Kernel != 6 || kv.Major != 1 {
		t.Errorf("6.1: %+v %v", kv, err)
	}
	if _, err := ParseKernelVersion("six"); err == nil || err.Error() != `want MAJOR.MINOR like 6.1, got "six"` {
		t.Errorf("six: %v", err)
	}
	if kv, err := HostKernel(); err != nil || kv.Kernel < 3 {
		t.Errorf("host kernel %+v %v", kv, err)
	}
}

func TestLookupSyscall(t *testing.T) {
	for _, tc := range []struct {
		arch, in string
		nr       int
		name     string
	}{
		{"x86_64", "mount", 165, "mount"},
		{"x86_64", "0xa5", 165, "mount"},
		{"x86_64", "999", 999, "999"},
		{"x32", "0", syscalls.X32Bit, "read"},
	} {
		nr, name, err := LookupSyscall(tc.arch, tc.in)
		if err != nil || nr != tc.nr || name != tc.name {
			t.Errorf("LookupSyscall(%s, %q) = %d %q %v, want %d %q", tc.arch, tc.in, nr, name, err, tc.nr, tc.name)
		}
	}
	if _, _, err := LookupSyscall("x86_64", "mountt"); err == nil || err.Error() != `x86_64 has no syscall "mountt"` {
		t.Errorf("unknown name: %v", err)
	}
}

func TestProgramMarshalJSON(t *testing.T) {
	prog := mustCompile(t, dockerDefault(t, "x86_64"), Options{})
	b, err := json.Marshal(prog)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Arches       []string
		Instructions int
		Program      []struct {
			Code   uint16
			Jt, Jf uint8
			K      uint32
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Arches) == 0 || v.Instructions != prog.Len() || len(v.Program) != prog.Len() {
		t.Fatalf("arches %v, %d instructions, %d in program", v.Arches, v.Instructions, len(v.Program))
	}
	for i, ins := range prog.Raw {
		if p := v.Program[i]; p.Code != ins.Op || p.Jt != ins.Jt || p.Jf != ins.Jf || p.K != ins.K {
			t.Fatalf("instruction %d: %+v, want %+v", i, p, ins)
		}
	}
}
