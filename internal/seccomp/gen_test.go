package seccomp

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// family lists the arches a host of this kind may filter.
func family(host string) []string {
	if host == "aarch64" {
		return []string{"aarch64", "arm"}
	}
	return []string{"x86_64", "x86", "x32"}
}

var interesting = []uint64{
	0, 1, 2, 3, 0x7f, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	0x100000000, 0x100000001, 0x1ffffffff, 0xffffffff00000000, 0x8000000000000000, 0xffffffffffffffff,
	0x7e020000, 0x10000, 0x20008,
}

func pickValue(rng *rand.Rand) uint64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Uint64()
	case 1:
		return uint64(rng.Uint32())
	}
	return interesting[rng.IntN(len(interesting))]
}

var allOps = []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}

type genOpts struct {
	// libseccomp restricts what the generated profiles may contain.
	forLibseccomp bool
}

// randomSpec builds a random but valid Docker profile for a host family.
func randomSpec(rng *rand.Rand, host string, o genOpts) mobyseccomp.Seccomp {
	fam := family(host)
	var spec mobyseccomp.Seccomp
	arches := []specs.Arch{specs.Arch(syscalls.ScmpName(host))}
	for _, a := range fam[1:] {
		if rng.IntN(3) > 0 {
			arches = append(arches, specs.Arch(syscalls.ScmpName(a)))
		}
	}
	spec.Architectures = arches
	actions := []struct {
		name  specs.LinuxSeccompAction
		errno bool
	}{
		{specs.ActAllow, false}, {specs.ActAllow, false}, {specs.ActErrno, true}, {specs.ActErrno, true},
		{specs.ActKillProcess, false}, {specs.ActKillThread, false}, {specs.ActTrap, false},
		{specs.ActTrace, true}, {specs.ActLog, false},
	}
	if !o.forLibseccomp {
		actions = append(actions, struct {
			name  specs.LinuxSeccompAction
			errno bool
		}{specs.ActNotify, false})
	}
	pick := func() (specs.LinuxSeccompAction, *uint) {
		a := actions[rng.IntN(len(actions))]
		if a.errno && rng.IntN(4) > 0 {
			n := uint(rng.IntN(200) + 1)
			return a.name, &n
		}
		return a.name, nil
	}
	spec.DefaultAction, spec.DefaultErrnoRet = pick()
	if rng.IntN(4) == 0 {
		spec.DefaultAction, spec.DefaultErrnoRet = specs.ActAllow, nil
	}
	var pool []string
	for _, a := range fam {
		for _, s := range syscalls.List(a) {
			if o.forLibseccomp && !libseccompComparable(a, s.Name) {
				continue
			}
			pool = append(pool, s.Name)
		}
	}
	uncond := map[string]string{} // name -> action it is unconditionally given
	condAct := map[string]string{}
	// shape of a syscall's conditional rules, for libseccomp: "multi" for
	// one rule with conditions on several arguments, "single:N" for any
	// number of one-condition rules on argument N.
	shape := map[string]string{}
	nRules := rng.IntN(40) + 1
	for range nRules {
		act, errno := pick()
		key := string(act)
		if errno != nil {
			key += string(rune(*errno))
		}
		var call mobyseccomp.Syscall
		call.Action, call.ErrnoRet = act, errno
		nargs := 0
		if rng.IntN(2) == 0 {
			nargs = rng.IntN(4) + 1
		}
		used := map[uint]bool{}
		for range nargs {
			idx := uint(rng.IntN(6))
			if o.forLibseccomp {
				// libseccomp 2.5.4 mishandles repeated indexes across the
				// rules runc splits them into; use each index once.
				for used[idx] {
					idx = uint(rng.IntN(6))
				}
				used[idx] = true
			}
			a := specs.LinuxSeccompArg{Index: idx, Op: allOps[rng.IntN(len(allOps))], Value: pickValue(rng)}
			if o.forLibseccomp && isRangeOp(a.Op) {
				// libseccomp 2.5.4 mis-merges 64-bit range comparisons of
				// one argument across rules (TestLibseccompRangeMergeBug);
				// keep their operands within 32 bits for the cross-check.
				a.Value = uint64(uint32(a.Value))
			}
			if a.Op == specs.OpMaskedEqual {
				a.ValueTwo = pickValue(rng)
				if rng.IntN(2) == 0 {
					a.ValueTwo = a.Value & pickValue(rng)
				}
			}
			call.Args = append(call.Args, a)
		}
		ruleShape := ""
		switch {
		case nargs == 1:
			ruleShape = fmt.Sprintf("single:%d", call.Args[0].Index)
		case nargs > 1:
			ruleShape = "multi"
		}
		for range rng.IntN(5) + 1 {
			n := pool[rng.IntN(len(pool))]
			if rng.IntN(3) == 0 {
				n = pool[rng.IntN(min(40, len(pool)))] // collide on common syscalls
			}
			if prev, ok := uncond[n]; ok && nargs == 0 && prev != key {
				continue
			}
			if o.forLibseccomp {
				// One action per syscall, and conditional rules shaped as
				// Docker's own profile shapes them (see shape above):
				// libseccomp 2.5.4 loses track of the loaded argument when
				// it merges rules testing different arguments
				// (TestLibseccompAccumulatorBug).
				if prev, ok := condAct[n]; ok && prev != key {
					continue
				}
				if prev, ok := uncond[n]; ok && prev != key {
					continue
				}
				if ruleShape != "" {
					if prev, ok := shape[n]; ok && (prev == "multi" || prev != ruleShape) {
						continue
					}
					shape[n] = ruleShape
				}
			}
			if slices.Contains(call.Names, n) {
				continue
			}
			call.Names = append(call.Names, n)
			if nargs == 0 {
				uncond[n] = key
			}
			condAct[n] = key
		}
		if len(call.Names) == 0 {
			continue
		}
		c := call
		spec.Syscalls = append(spec.Syscalls, &c)
	}
	return spec
}

// resolveSpec round-trips a spec through JSON, Parse and Resolve.
func resolveSpec(t testing.TB, spec mobyseccomp.Seccomp, host string) *Resolved {
	t.Helper()
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("random.json", data)
	if err != nil {
		t.Fatalf("parse generated profile: %v\n%s", err, data)
	}
	r, err := Resolve(p, Env{Arch: host, Caps: caps.DockerDefault(), Kernel: testKernel})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// probeNumbers lists syscall numbers worth checking for an arch: all it
// knows, the profile's ENOSYS boundary, the range edges and some strays.
func probeNumbers(arch string, rng *rand.Rand) []uint32 {
	var out []uint32
	for _, s := range syscalls.List(arch) {
		out = append(out, uint32(s.Nr))
	}
	base := uint32(0)
	if arch == "x32" {
		base = syscalls.X32Bit
	}
	last := uint32(syscalls.List(arch)[len(syscalls.List(arch))-1].Nr)
	for _, n := range []uint32{base, base + 1, last + 1, last + 2, base + 1023, base + 1024, base + 4096, syscalls.X32Bit - 1, syscalls.X32Bit, syscalls.X32Bit + 1, syscalls.X32Bit + 512, 0x0f0000, 0x0f0005, 0x0f0006, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xc0000001, 0xfffffffe, 0xffffffff} {
		out = append(out, n)
	}
	for range 8 {
		out = append(out, base+uint32(rng.IntN(600)), rng.Uint32())
	}
	return out
}

// argVectors builds argument vectors around every condition of the rules
// that may decide nr: each compared value, its neighbours, values that
// differ only in the upper or lower half, and mixes of those.
func argVectors(r *Resolved, arch string, nr uint32, rng *rand.Rand) [][6]uint64 {
	cands := [6][]uint64{}
	for _, rule := range r.Rules {
		hit := false
		for _, n := range rule.Names {
			if x, ok := syscalls.Number(arch, n); ok && uint32(x) == nr {
				hit = true
			}
		}
		if !hit {
			continue
		}
		for _, c := range rule.Conds {
			v := c.Value
			if c.Op == specs.OpMaskedEqual {
				v = c.ValueTwo
				cands[c.Index] = append(cands[c.Index], v, v|^c.Value, v^(c.Value&-c.Value), v|(c.Value&^v), v^(1<<32), v^1)
			}
			cands[c.Index] = append(cands[c.Index], v, v-1, v+1, v^(1<<32), v^0xffffffff00000000, v+1<<32, v-1<<32, uint64(uint32(v)), v|0xffffffff)
		}
	}
	out := [][6]uint64{{}}
	for i, cs := range cands {
		for _, v := range cs {
			var a [6]uint64
			a[i] = v
			out = append(out, a)
		}
	}
	has := false
	for _, cs := range cands {
		has = has || len(cs) > 0
	}
	if has {
		for range 24 {
			var a [6]uint64
			for i, cs := range cands {
				if len(cs) > 0 && rng.IntN(3) > 0 {
					a[i] = cs[rng.IntN(len(cs))]
				}
			}
			out = append(out, a)
		}
	}
	return out
}

// netBPFRun runs the program in golang.org/x/net/bpf's VM. That VM loads
// big-endian words, so each 32-bit field is stored big-endian; the words
// are the same ones the kernel's native-endian loads see.
func netBPFRun(t testing.TB, vm *bpf.VM, d SeccompData) Action {
	t.Helper()
	b := make([]byte, 64)
	le := d.Bytes()
	for i := 0; i < 64; i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(le[i:]))
	}
	v, err := vm.Run(b)
	if err != nil {
		t.Fatalf("x/net/bpf vm: %v", err)
	}
	return Action(uint32(v))
}

// checkEquivalent runs prog over every probe of every arch (and foreign
// arches) and demands the reference evaluator's action. It returns the
// number of vectors checked.
func checkEquivalent(t testing.TB, r *Resolved, prog *Program, opt Options, rng *rand.Rand) int {
	t.Helper()
	vm, err := bpf.NewVM(prog.Instructions())
	if err != nil {
		t.Fatalf("x/net/bpf rejects the program: %v", err)
	}
	checked := 0
	tokens := map[uint32][]string{}
	for _, a := range syscalls.Arches() {
		tok, _ := syscalls.AuditArch(a)
		tokens[tok] = append(tokens[tok], a)
	}
	tokens[0xdeadbeef] = []string{"x86_64"} // a foreign arch
	for tok, arches := range tokens {
		for _, arch := range arches {
			for _, nr := range probeNumbers(arch, rng) {
				for _, args := range argVectors(r, arch, nr, rng) {
					d := SeccompData{Nr: nr, Arch: tok, Args: args}
					want := Evaluate(r, d, opt)
					got, _, looked, err := run(prog.Raw, d)
					if err != nil {
						t.Fatalf("run: %v", err)
					}
					if got != want {
						t.Fatalf("%s (arch %#x) nr %#x args %#x: compiled %s, reference %s", arch, tok, nr, args, got, want)
					}
					if vmGot := netBPFRun(t, vm, d); vmGot != want {
						t.Fatalf("%s nr %#x args %#x: x/net/bpf VM %s, reference %s", arch, nr, args, vmGot, want)
					}
					if looked && !dependsOnArgs(r, arch, tok, nr) {
						t.Fatalf("%s nr %#x: decided by number alone but the filter reads arguments (defeats the kernel's action cache)", arch, nr)
					}
					checked++
				}
			}
		}
	}
	return checked
}

// dependsOnArgs reports whether any conditional rule can decide nr.
func dependsOnArgs(r *Resolved, arch string, tok uint32, nr uint32) bool {
	if tok == syscalls.AuditArchX86_64 && nr >= syscalls.X32Bit {
		arch = "x32"
	}
	uncond := false
	cond := false
	for _, rule := range r.Rules {
		if rule.Action == r.Default {
			continue
		}
		for _, n := range rule.Names {
			if x, ok := syscalls.Number(arch, n); ok && uint32(x) == nr {
				if len(rule.Conds) == 0 {
					uncond = true
				} else {
					cond = true
				}
			}
			if mux, _, ok := multiplexed(arch, n); ok {
				if x, ok := syscalls.Number(arch, mux); ok && uint32(x) == nr {
					cond = true // the call number in arg0 is always checked
				}
			}
		}
	}
	return cond && !uncond
}

// libseccompComparable filters the names random profiles for the libseccomp
// cross-check may use; the libseccomp test file replaces it.
var libseccompComparable = func(arch, name string) bool { return true }

func isRangeOp(op specs.LinuxSeccompOperator) bool {
	switch op {
	case specs.OpLessThan, specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual:
		return true
	}
	return false
}
