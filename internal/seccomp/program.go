package seccomp

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	mobyseccomp "github.com/moby/profiles/seccomp"
	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// MarshalBinary encodes the program as seccomp(2) takes it: an array of
// struct sock_filter, 8 bytes per instruction, in host byte order.
func (p *Program) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, 8*len(p.Raw))
	for _, ins := range p.Raw {
		var rec [8]byte
		binary.NativeEndian.PutUint16(rec[0:], ins.Op)
		rec[2], rec[3] = ins.Jt, ins.Jf
		binary.NativeEndian.PutUint32(rec[4:], ins.K)
		out = append(out, rec[:]...)
	}
	return out, nil
}

// MarshalJSON encodes the program as {"arches", "instructions", "program"},
// each instruction {code, jt, jf, k} as struct sock_filter holds it.
func (p *Program) MarshalJSON() ([]byte, error) {
	type insn struct {
		Code uint16 `json:"code"`
		Jt   uint8  `json:"jt"`
		Jf   uint8  `json:"jf"`
		K    uint32 `json:"k"`
	}
	v := struct {
		Arches       []string `json:"arches"`
		Instructions int      `json:"instructions"`
		Program      []insn   `json:"program"`
	}{Arches: p.Arches, Instructions: p.Len()}
	for _, ins := range p.Raw {
		v.Program = append(v.Program, insn{ins.Op, ins.Jt, ins.Jf, ins.K})
	}
	return json.Marshal(v)
}

// WriteListing writes the program as assembly, one numbered instruction a
// line; loads name the seccomp_data field they read and returns the action.
func (p *Program) WriteListing(w io.Writer) error {
	for i, ins := range p.Instructions() {
		text := fmt.Sprint(ins)
		if ins, ok := ins.(interface{ String() string }); ok {
			text = ins.String()
		}
		if _, err := fmt.Fprintf(w, "%04d  %s%s\n", i, text, annotate(p.Raw[i].Op, p.Raw[i].K)); err != nil {
			return err
		}
	}
	return nil
}

// annotate names the seccomp_data field or action an instruction uses.
func annotate(op uint16, k uint32) string {
	switch op {
	case 0x20: // BPF_LD|BPF_W|BPF_ABS
		switch {
		case k == offNr:
			return "  ; nr"
		case k == offArch:
			return "  ; arch"
		case k >= offArgs:
			half := "lo"
			if (k-offArgs)%8 == 4 {
				half = "hi"
			}
			return fmt.Sprintf("  ; arg%d %s", (k-offArgs)/8, half)
		}
	case 0x06: // BPF_RET|BPF_K
		return "  ; " + Action(k).String()
	}
	return ""
}

// RunChecked runs the compiled program p on d and checks its answer
// against the reference evaluator over r, the profile p was compiled from:
// an error means a compiler bug.
func RunChecked(r *Resolved, p *Program, d SeccompData) (Action, error) {
	act, _, err := Run(p.Raw, d)
	if err != nil {
		return 0, fmt.Errorf("run filter: %w", err)
	}
	if ref := Evaluate(r, d, Options{}); ref != act {
		return 0, fmt.Errorf("compiled filter says %s, profile says %s (please report this)", act, ref)
	}
	return act, nil
}

// ParseKernelVersion reads MAJOR.MINOR (6.1) as a profile's minKernel does.
func ParseKernelVersion(s string) (mobyseccomp.KernelVersion, error) {
	var kv mobyseccomp.KernelVersion
	if err := json.Unmarshal([]byte(strconv.Quote(s)), &kv); err != nil {
		return kv, fmt.Errorf("want MAJOR.MINOR like 6.1, got %q", s)
	}
	return kv, nil
}

// HostKernel is the running kernel's version, for minKernel.
func HostKernel() (mobyseccomp.KernelVersion, error) {
	var uts unix.Utsname
	var kv mobyseccomp.KernelVersion
	if err := unix.Uname(&uts); err != nil {
		return kv, err
	}
	_, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &kv.Kernel, &kv.Major)
	return kv, err
}

// LookupSyscall finds a syscall of arch by name, or by number (decimal or
// 0x hex, the arch's number base added: x32's bit), and returns its number
// and name (the number as given when the table has no name for it).
func LookupSyscall(arch, nameOrNumber string) (nr int, name string, err error) {
	if nr, ok := syscalls.Number(arch, nameOrNumber); ok {
		return nr, nameOrNumber, nil
	}
	n, err := strconv.ParseUint(nameOrNumber, 0, 32)
	if err != nil {
		return 0, "", fmt.Errorf("%s has no syscall %q", arch, nameOrNumber)
	}
	nr = int(n)
	if a, ok := syscalls.LookupArch(arch); ok {
		nr |= a.NrBase // a bare x32 number gets x32's bit
	}
	if known, ok := syscalls.Name(arch, nr); ok {
		return nr, known, nil
	}
	return nr, nameOrNumber, nil
}
