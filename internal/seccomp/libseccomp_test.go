//go:build libseccomp

package seccomp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/seccomp/libseccompref"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

func init() {
	libseccompComparable = func(arch, name string) bool {
		ours, ok := syscalls.Number(arch, name)
		if !ok {
			return false
		}
		if theirs, ok := libseccompref.Number(arch, name); !ok || theirs != ours {
			return false
		}
		// Pseudo numbers above -10000 are libseccomp's multiplexed names
		// (socket and ipc families on x86); Palisade models those, and must
		// know every one libseccomp has.
		for _, a := range syscalls.Arches() {
			if n, ok := libseccompref.Number(a, name); ok && n < 0 && n > -10000 {
				if _, _, modelled := multiplexed(a, name); !modelled {
					return false
				}
			}
		}
		return true
	}
}

func toLibseccomp(r *Resolved, opt Options, tree bool) libseccompref.Filter {
	f := libseccompref.Filter{Default: uint32(r.Default), BadArch: uint32(opt.BadArch), Arches: r.Arches, Tree: tree}
	for _, rule := range r.Rules {
		lr := libseccompref.Rule{Names: rule.Names, Action: uint32(rule.Action)}
		for _, c := range rule.Conds {
			lr.Conds = append(lr.Conds, libseccompref.Cond{Index: c.Index, Op: string(c.Op), Value: c.Value, ValueTwo: c.ValueTwo})
		}
		f.Rules = append(f.Rules, lr)
	}
	return f
}

// comparable reports whether both syscall tables agree on what nr is.
func comparableNr(tok uint32, arch string, nr uint32) bool {
	if tok == syscalls.AuditArchX86_64 && nr >= syscalls.X32Bit {
		arch = "x32"
	}
	ours, ok1 := syscalls.Name(arch, int(nr))
	theirs, ok2 := libseccompref.Name(arch, int(nr))
	if ok1 != ok2 {
		return false
	}
	return !ok1 || ours == theirs
}

// crossCheck compares our program with libseccomp's on every probe whose
// number both tables agree on; it returns compared and skipped counts.
func crossCheck(t *testing.T, r *Resolved, ours, theirs []bpf.RawInstruction, rng *rand.Rand) (int, int) {
	t.Helper()
	compared, skipped := 0, 0
	tokens := map[uint32][]string{}
	for _, a := range syscalls.Arches() {
		tok, _ := syscalls.AuditArch(a)
		tokens[tok] = append(tokens[tok], a)
	}
	tokens[0xdeadbeef] = []string{"x86_64"}
	for tok, arches := range tokens {
		for _, arch := range arches {
			for _, nr := range probeNumbers(arch, rng) {
				if !comparableNr(tok, arch, nr) {
					skipped++
					continue
				}
				for _, args := range argVectors(r, arch, nr, rng) {
					d := SeccompData{Nr: nr, Arch: tok, Args: args}
					a, _, err := Run(ours, d)
					if err != nil {
						t.Fatal(err)
					}
					b, _, err := Run(theirs, d)
					if err != nil {
						t.Fatalf("libseccomp program: %v", err)
					}
					if a != b {
						name, _ := syscalls.Name(arch, int(nr))
						var rules []string
						for _, rule := range r.Rules {
							if slices.Contains(rule.Names, name) {
								rules = append(rules, fmt.Sprintf("%s %v", rule.Action, rule.Conds))
							}
						}
						t.Fatalf("%s (arch %#x) nr %#x (%s) args %#x: palisade %s, libseccomp %s, reference %s\ndefault %s, rules: %s",
							arch, tok, nr, name, args, a, b, Evaluate(r, d, Options{NoENOSYS: true}), r.Default, strings.Join(rules, "; "))
					}
					compared++
				}
			}
		}
	}
	return compared, skipped
}

// Every name libseccomp multiplexes on x86 is modelled with its call number.
func TestLibseccompMultiplexedNames(t *testing.T) {
	for _, name := range syscalls.AllNames() {
		n, ok := libseccompref.Number("x86", name)
		_, call, modelled := multiplexed("x86", name)
		switch {
		case ok && n < 0 && n > -200:
			if !modelled || uint64(-n-100) != call {
				t.Errorf("%s: libseccomp socketcall pseudo %d, palisade call %d modelled %v", name, n, call, modelled)
			}
		case ok && n <= -200 && n > -10000:
			if !modelled || uint64(-n-200) != call {
				t.Errorf("%s: libseccomp ipc pseudo %d, palisade call %d modelled %v", name, n, call, modelled)
			}
		case modelled:
			t.Errorf("%s: palisade multiplexes it, libseccomp says %d %v", name, n, ok)
		}
	}
}

func TestLibseccompTablesAgree(t *testing.T) {
	for _, arch := range syscalls.Arches() {
		mismatch := 0
		for _, s := range syscalls.List(arch) {
			if n, ok := libseccompref.Number(arch, s.Name); ok && n >= 0 && n != s.Nr {
				t.Errorf("%s %s: palisade %#x, libseccomp %#x", arch, s.Name, s.Nr, n)
				mismatch++
			}
		}
		for nr := 0; nr < 1024; nr++ {
			n := nr
			if arch == "x32" {
				n |= syscalls.X32Bit
			}
			if name, ok := libseccompref.Name(arch, n); ok {
				if ours, ok := syscalls.Number(arch, name); !ok || ours != n {
					t.Errorf("%s: libseccomp knows %s=%#x, palisade has %#x %v", arch, name, n, ours, ok)
				}
			}
		}
	}
}

func TestLibseccompDockerDefault(t *testing.T) {
	opt := Options{NoENOSYS: true}
	for _, host := range []string{"x86_64", "aarch64"} {
		for _, cs := range []caps.Set{caps.DockerDefault(), 0, caps.All} {
			for _, tree := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d-caps/tree=%v", host, cs.Len(), tree), func(t *testing.T) {
					p, err := LoadBuiltin("docker-default")
					if err != nil {
						t.Fatal(err)
					}
					r, err := Resolve(p, Env{Arch: host, Caps: cs, Kernel: testKernel})
					if err != nil {
						t.Fatal(err)
					}
					ours := mustCompile(t, r, opt)
					theirs, err := libseccompref.Build(toLibseccomp(r, opt, tree))
					if err != nil {
						t.Fatal(err)
					}
					n, skipped := crossCheck(t, r, ours.Raw, theirs, rand.New(rand.NewPCG(5, 6)))
					t.Logf("palisade %d insns, libseccomp %d; %d vectors identical, %d numbers skipped (tables differ)", ours.Len(), len(theirs), n, skipped)
					if n < 1000 {
						t.Fatalf("only %d vectors compared", n)
					}
				})
			}
		}
	}
}

func TestLibseccompRandomProfiles(t *testing.T) {
	count := 200
	if testing.Short() {
		count = 30
	}
	total := 0
	for i := range count {
		host := []string{"x86_64", "aarch64"}[i%2]
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		spec := randomSpec(rng, host, genOpts{forLibseccomp: true})
		r := resolveSpec(t, spec, host)
		opt := Options{NoENOSYS: true}
		if i%3 == 0 {
			opt.BadArch = ActKillProcess
		}
		ours, err := Compile(r, opt)
		if err != nil {
			t.Fatalf("profile %d: %v", i, err)
		}
		theirs, err := libseccompref.Build(toLibseccomp(r, opt, i%2 == 0))
		if err != nil {
			t.Fatalf("profile %d: libseccomp: %v", i, err)
		}
		n, _ := crossCheck(t, r, ours.Raw, theirs, rng)
		total += n
	}
	t.Logf("%d random profiles, %d vectors identical (libseccomp %s)", count, total, libseccompref.Version())
}

// BenchmarkLibseccompVsPalisade builds Docker's default profile (x86_64 +
// x86 + x32, Docker's 14 capabilities) with both compilers in one run and
// reports size, executed instructions per allowed native syscall and build
// time.
func BenchmarkLibseccompVsPalisade(b *testing.B) {
	r := dockerDefault(b, "x86_64")
	report := func(b *testing.B, prog []bpf.RawInstruction) {
		st, err := Measure(&Program{Raw: prog, Arches: r.Arches})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Instructions), "insns")
		b.ReportMetric(st.AvgExecutedAllowed, "avg-exec")
		b.ReportMetric(float64(st.MaxExecutedAllowed), "max-exec")
	}
	b.Run("palisade", func(b *testing.B) {
		var p *Program
		start, n := cpuTime(), 0
		for b.Loop() {
			p = mustCompile(b, r, Options{})
			n++
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(n), "cpu-ns/op")
		report(b, p.Raw)
	})
	for _, tree := range []bool{false, true} {
		name := "libseccomp-chain"
		if tree {
			name = "libseccomp-tree"
		}
		b.Run(name, func(b *testing.B) {
			f := toLibseccomp(r, Options{}, tree)
			var prog []bpf.RawInstruction
			start, n := cpuTime(), 0
			for b.Loop() {
				var err error
				if prog, err = libseccompref.Build(f); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(n), "cpu-ns/op")
			report(b, prog)
		})
	}
}

// libseccompBug runs one profile through both compilers and the reference;
// Palisade must match the reference, and libseccomp's answer is logged.
func libseccompBug(t *testing.T, src string, host string, d SeccompData) {
	t.Helper()
	p, err := Parse("bug.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(p, Env{Arch: host, Kernel: testKernel})
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{NoENOSYS: true}
	want := Evaluate(r, d, opt)
	ours, _, err := Run(mustCompile(t, r, opt).Raw, d)
	if err != nil {
		t.Fatal(err)
	}
	if ours != want {
		t.Fatalf("palisade %s, reference %s", ours, want)
	}
	prog, err := libseccompref.Build(toLibseccomp(r, opt, false))
	if err != nil {
		t.Fatal(err)
	}
	theirs, _, err := Run(prog, d)
	if err != nil {
		t.Fatal(err)
	}
	if theirs != want {
		t.Logf("libseccomp %s answers %s where the profile says %s (palisade: %s)", libseccompref.Version(), theirs, want, ours)
	} else {
		t.Logf("libseccomp %s agrees here (%s)", libseccompref.Version(), theirs)
	}
}

// Two range rules on one 64-bit argument: libseccomp 2.5.4 compares the
// low word against the other rule's high word.
func TestLibseccompRangeMergeBug(t *testing.T) {
	libseccompBug(t, `{"defaultAction": "SCMP_ACT_LOG", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
		{"names": ["mlockall"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 3, "value": 3401888840198530858, "op": "SCMP_CMP_GT"}]},
		{"names": ["mlockall"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 3, "value": 1838021386, "op": "SCMP_CMP_LT"}]}]}`,
		"x86_64", SeccompData{Nr: 151, Arch: syscalls.AuditArchX86_64, Args: [6]uint64{3: 0x6d8dfb0a}})
}

// A rule on two arguments and a rule on another: after the first rule
// fails on its second argument, libseccomp 2.5.4 tests the next rule's
// operand against the wrong loaded argument.
func TestLibseccompAccumulatorBug(t *testing.T) {
	libseccompBug(t, `{"defaultAction": "SCMP_ACT_TRACE", "defaultErrnoRet": 22, "architectures": ["SCMP_ARCH_X86"], "syscalls": [
		{"names": ["nanosleep"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1235055115, "op": "SCMP_CMP_LE"}, {"index": 2, "value": 3998375355, "op": "SCMP_CMP_LT"}]},
		{"names": ["nanosleep"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2311182900, "op": "SCMP_CMP_GT"}]}]}`,
		"x86", SeccompData{Nr: 162, Arch: syscalls.AuditArchI386, Args: [6]uint64{2: 0xee525dbb}})
}

// The committed syscall tables are what the generator produces here.
func TestLibseccompGeneratedTablesUpToDate(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tables.go")
	cmd := exec.Command("go", "run", "./internal/syscalls/gen_tables.go", "-o", out)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "internal", "syscalls", "tables_generated.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/syscalls/tables_generated.go is stale: run go generate ./internal/syscalls")
	}
}
