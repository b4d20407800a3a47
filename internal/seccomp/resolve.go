package seccomp

import (
	"fmt"
	"slices"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Env is what Docker evaluates a profile's includes/excludes against.
type Env struct {
	// Arch is the host's canonical architecture (x86_64, aarch64, x86, arm).
	Arch string
	// Caps is the container's bounding capability set.
	Caps caps.Set
	// Kernel is the host kernel "major.minor".
	Kernel mobyseccomp.KernelVersion
}

// Cond is one argument comparison of a rule.
type Cond struct {
	Index    uint
	Op       specs.LinuxSeccompOperator
	Value    uint64
	ValueTwo uint64
}

func (c Cond) String() string {
	op := strings.TrimPrefix(string(c.Op), "SCMP_CMP_")
	if c.Op == specs.OpMaskedEqual {
		return fmt.Sprintf("arg%d & %#x == %#x", c.Index, c.Value, c.ValueTwo)
	}
	sym := map[string]string{"EQ": "==", "NE": "!=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}[op]
	return fmt.Sprintf("arg%d %s %#x", c.Index, sym, c.Value)
}

// Rule is one syscalls[] entry that applies in an Env.
type Rule struct {
	// Entry is the index in the profile's syscalls list.
	Entry  int
	Names  []string
	Action Action
	Conds  []Cond
	Pos    Position
}

// Resolved is a profile after Docker's includes/excludes for one Env.
type Resolved struct {
	Source     string
	Env        Env
	Default    Action
	DefaultPos Position
	// Arches are canonical names, the host's first; Unsupported lists listed
	// architectures this package cannot compile for (they never match on the
	// host families it supports).
	Arches      []string
	Unsupported []string
	Rules       []Rule
	Flags       []string
	// Excluded are the syscalls[] indexes dropped by includes/excludes.
	Excluded []int
}

// dockerNative is the name Docker's arch filters use for a canonical arch.
func dockerNative(arch string) string {
	if a, ok := syscalls.LookupArch(arch); ok {
		return a.Docker
	}
	return ""
}

// HostFor returns the host arch that runs binaries of arch: x86 and x32 run
// on x86_64 hosts, arm on aarch64.
func HostFor(arch string) string {
	if a, ok := syscalls.LookupArch(arch); ok {
		return a.Host
	}
	return ""
}

// hostArches are the arches a profile can be resolved for: all but those
// told apart only by their numbers (x32).
func hostArches() []string {
	var out []string
	for _, n := range syscalls.Arches() {
		if a, _ := syscalls.LookupArch(n); a.NrBase == 0 {
			out = append(out, n)
		}
	}
	return out
}

// Resolve applies archMap and includes/excludes exactly as Docker's
// setupSeccomp does (github.com/moby/profiles/seccomp), for env instead of
// the running host.
func Resolve(p *Profile, env Env) (*Resolved, error) {
	host, ok := syscalls.Canonical(env.Arch)
	if !ok || !slices.Contains(hostArches(), host) {
		return nil, fmt.Errorf("unsupported host architecture %q (want %s)", env.Arch, syscalls.ArchList(hostArches()))
	}
	env.Arch = host
	s := &p.Spec
	def, err := ParseAction(string(s.DefaultAction), s.DefaultErrnoRet)
	if err != nil {
		return nil, &srcpos.Error{Pos: p.At("defaultAction"), Msg: err.Error()}
	}
	r := &Resolved{Source: p.Source, Env: env, Default: def, DefaultPos: p.At("defaultAction"), Arches: []string{host}}
	var listed []specs.Arch
	if len(s.Architectures) > 0 {
		listed = s.Architectures
	} else {
		for _, m := range s.ArchMap {
			if m.Arch == specs.Arch(syscalls.ScmpName(host)) {
				listed = append([]specs.Arch{m.Arch}, m.SubArches...)
				break
			}
		}
	}
	// libseccomp always filters the native arch; the listed ones come on top.
	for _, a := range listed {
		c, ok := syscalls.Canonical(string(a))
		if !ok {
			if !slices.Contains(r.Unsupported, string(a)) {
				r.Unsupported = append(r.Unsupported, string(a))
			}
			continue
		}
		if !slices.Contains(r.Arches, c) {
			r.Arches = append(r.Arches, c)
		}
	}
	for _, f := range s.Flags {
		r.Flags = append(r.Flags, string(f))
	}
	native := dockerNative(host)
	hasCap := func(name string) bool {
		n, ok := caps.Number(name)
		return ok && strings.HasPrefix(name, "CAP_") && env.Caps.Has(n)
	}
	kernelAtLeast := func(v mobyseccomp.KernelVersion) bool {
		k := env.Kernel
		return k.Kernel > v.Kernel || k.Kernel == v.Kernel && k.Major >= v.Major
	}
	for i, call := range s.Syscalls {
		if call == nil {
			continue
		}
		if ex := call.Excludes; ex != nil {
			if len(ex.Arches) > 0 && slices.Contains(ex.Arches, native) ||
				slices.ContainsFunc(ex.Caps, hasCap) ||
				ex.MinKernel != nil && kernelAtLeast(*ex.MinKernel) {
				r.Excluded = append(r.Excluded, i)
				continue
			}
		}
		if in := call.Includes; in != nil {
			if len(in.Arches) > 0 && !slices.Contains(in.Arches, native) ||
				len(in.Caps) > 0 && !allOf(in.Caps, hasCap) ||
				in.MinKernel != nil && !kernelAtLeast(*in.MinKernel) {
				r.Excluded = append(r.Excluded, i)
				continue
			}
		}
		act, err := ParseAction(string(call.Action), call.ErrnoRet)
		if err != nil {
			return nil, &srcpos.Error{Pos: p.At(fmt.Sprintf("syscalls/%d/action", i)), Msg: err.Error()}
		}
		names := call.Names
		if call.Name != "" {
			names = []string{call.Name}
		}
		rule := Rule{Entry: i, Names: names, Action: act, Pos: p.At(fmt.Sprintf("syscalls/%d", i))}
		for _, a := range call.Args {
			rule.Conds = append(rule.Conds, Cond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo})
		}
		r.Rules = append(r.Rules, rule)
	}
	return r, nil
}

func allOf(list []string, f func(string) bool) bool {
	for _, x := range list {
		if !f(x) {
			return false
		}
	}
	return true
}

func capsNumber(name string) (int, bool) {
	if !strings.HasPrefix(name, "CAP_") {
		return 0, false
	}
	return caps.Number(name)
}

// OCI returns the resolved profile in the runtime-spec form Docker hands
// to runc: architectures listed, includes/excludes already applied.
func (r *Resolved) OCI() specs.LinuxSeccomp {
	out := specs.LinuxSeccomp{DefaultAction: actionName(r.Default)}
	if d := r.Default.Data(); r.Default.Kind() == ActErrno || r.Default.Kind() == ActTrace {
		v := uint(d)
		out.DefaultErrnoRet = &v
	}
	for _, a := range r.Arches {
		out.Architectures = append(out.Architectures, specs.Arch(syscalls.ScmpName(a)))
	}
	for _, f := range r.Flags {
		out.Flags = append(out.Flags, specs.LinuxSeccompFlag(f))
	}
	for _, rule := range r.Rules {
		call := specs.LinuxSyscall{Names: rule.Names, Action: actionName(rule.Action)}
		if k := rule.Action.Kind(); k == ActErrno || k == ActTrace {
			v := uint(rule.Action.Data())
			call.ErrnoRet = &v
		}
		for _, c := range rule.Conds {
			call.Args = append(call.Args, specs.LinuxSeccompArg{Index: c.Index, Value: c.Value, ValueTwo: c.ValueTwo, Op: c.Op})
		}
		out.Syscalls = append(out.Syscalls, call)
	}
	return out
}

func actionName(a Action) specs.LinuxSeccompAction {
	s := a.String()
	if i := strings.IndexByte(s, '('); i > 0 {
		s = s[:i]
	}
	return specs.LinuxSeccompAction(s)
}
