//go:build libseccomp && cgo

package libseccompref

/*
#cgo LDFLAGS: -lseccomp
#include <errno.h>
#include <stdlib.h>
#include <seccomp.h>

*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/net/bpf"
)

// Cond is one argument comparison; Op is the Docker name (SCMP_CMP_EQ...).
type Cond struct {
	Index           uint
	Op              string
	Value, ValueTwo uint64
}

// Rule is one profile entry after includes/excludes.
type Rule struct {
	Names  []string
	Action uint32
	Conds  []Cond
}

// Filter is what runc hands libseccomp.
type Filter struct {
	Default uint32
	BadArch uint32
	// Arches are canonical names (x86_64, x86, x32, aarch64, arm).
	Arches []string
	Rules  []Rule
	// Tree asks for libseccomp's binary-tree layout (SCMP_FLTATR_CTL_OPTIMIZE=2)
	// instead of its default linear chain.
	Tree bool
}

// archToken asks libseccomp for its token of a canonical arch name: the
// canonical names are libseccomp's own.
func archToken(arch string) (C.uint32_t, error) {
	cs := C.CString(arch)
	defer C.free(unsafe.Pointer(cs))
	tok := C.seccomp_arch_resolve_name(cs)
	if tok == 0 {
		return 0, fmt.Errorf("libseccomp does not know arch %q", arch)
	}
	return tok, nil
}

var ops = map[string]C.enum_scmp_compare{
	"SCMP_CMP_NE": C.SCMP_CMP_NE, "SCMP_CMP_LT": C.SCMP_CMP_LT, "SCMP_CMP_LE": C.SCMP_CMP_LE,
	"SCMP_CMP_EQ": C.SCMP_CMP_EQ, "SCMP_CMP_GE": C.SCMP_CMP_GE, "SCMP_CMP_GT": C.SCMP_CMP_GT,
	"SCMP_CMP_MASKED_EQ": C.SCMP_CMP_MASKED_EQ,
}

// Version is the libseccomp release linked in.
func Version() string {
	v := C.seccomp_version()
	return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.micro)
}

// Number resolves a syscall name on an arch as libseccomp sees it
// (negative numbers are libseccomp's pseudo-syscalls).
func Number(arch, name string) (int, bool) {
	tok, err := archToken(arch)
	if err != nil {
		return 0, false
	}
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	nr := C.seccomp_syscall_resolve_name_arch(tok, cs)
	if nr == C.__NR_SCMP_ERROR {
		return 0, false
	}
	return int(nr), true
}

// Name resolves a number on an arch.
func Name(arch string, nr int) (string, bool) {
	tok, err := archToken(arch)
	if err != nil {
		return "", false
	}
	cs := C.seccomp_syscall_resolve_num_arch(tok, C.int(nr))
	if cs == nil {
		return "", false
	}
	defer C.free(unsafe.Pointer(cs))
	return C.GoString(cs), true
}

// Build compiles the filter with libseccomp the way runc does and returns
// the exported BPF program.
func Build(f Filter) ([]bpf.RawInstruction, error) {
	ctx := C.seccomp_init(C.uint32_t(f.Default))
	if ctx == nil {
		return nil, fmt.Errorf("seccomp_init failed")
	}
	defer C.seccomp_release(ctx)
	if rc := C.seccomp_attr_set(ctx, C.SCMP_FLTATR_ACT_BADARCH, C.uint32_t(f.BadArch)); rc < 0 {
		return nil, fmt.Errorf("set bad arch action: errno %d", -rc)
	}
	if f.Tree {
		if rc := C.seccomp_attr_set(ctx, C.SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0 {
			return nil, fmt.Errorf("set optimize: errno %d", -rc)
		}
	}
	native := C.seccomp_arch_native()
	keepNative := false
	for _, a := range f.Arches {
		tok, err := archToken(a)
		if err != nil {
			return nil, err
		}
		if tok == native {
			keepNative = true
			continue
		}
		if rc := C.seccomp_arch_add(ctx, tok); rc < 0 && rc != -C.EEXIST {
			return nil, fmt.Errorf("add arch %s: errno %d", a, -rc)
		}
	}
	if !keepNative {
		if rc := C.seccomp_arch_remove(ctx, native); rc < 0 {
			return nil, fmt.Errorf("remove native arch: errno %d", -rc)
		}
	}
	for _, r := range f.Rules {
		if r.Action == f.Default {
			continue // libseccomp refuses these; runc skips them
		}
		groups := splitConds(r.Conds)
		for _, name := range r.Names {
			cs := C.CString(name)
			nr := C.seccomp_syscall_resolve_name(cs)
			C.free(unsafe.Pointer(cs))
			if nr == C.__NR_SCMP_ERROR {
				continue // runc ignores names libseccomp does not know
			}
			for _, g := range groups {
				var args []C.struct_scmp_arg_cmp
				for _, c := range g {
					op, ok := ops[c.Op]
					if !ok {
						return nil, fmt.Errorf("op %q", c.Op)
					}
					args = append(args, C.struct_scmp_arg_cmp{arg: C.uint(c.Index), op: op, datum_a: C.scmp_datum_t(c.Value), datum_b: C.scmp_datum_t(c.ValueTwo)})
				}
				var p *C.struct_scmp_arg_cmp
				if len(args) > 0 {
					p = (*C.struct_scmp_arg_cmp)(C.malloc(C.size_t(len(args)) * C.size_t(unsafe.Sizeof(args[0]))))
					copy(unsafe.Slice(p, len(args)), args)
				}
				rc := C.seccomp_rule_add_array(ctx, C.uint32_t(r.Action), nr, C.uint(len(args)), p)
				if p != nil {
					C.free(unsafe.Pointer(p))
				}
				if rc < 0 {
					return nil, fmt.Errorf("add rule %s: errno %d", name, -rc)
				}
			}
		}
	}
	tmp, err := os.CreateTemp("", "libseccomp-bpf-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if rc := C.seccomp_export_bpf(ctx, C.int(tmp.Fd())); rc < 0 {
		return nil, fmt.Errorf("export bpf: errno %d", -rc)
	}
	data, err := os.ReadFile(tmp.Name())
	if err != nil {
		return nil, err
	}
	prog := make([]bpf.RawInstruction, len(data)/8)
	for i := range prog {
		b := data[8*i:]
		prog[i] = bpf.RawInstruction{Op: binary.LittleEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:])}
	}
	return prog, nil
}

// splitConds applies runc's rule for repeated argument indexes.
func splitConds(conds []Cond) [][]Cond {
	seen := map[uint]bool{}
	for _, c := range conds {
		if seen[c.Index] {
			out := make([][]Cond, len(conds))
			for i, c := range conds {
				out[i] = []Cond{c}
			}
			return out
		}
		seen[c.Index] = true
	}
	return [][]Cond{conds}
}
