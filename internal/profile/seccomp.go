package profile

import (
	"fmt"
	"slices"
	"sort"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Runtimes name the launchers whose calls after the filter is installed a
// profile must also allow, or the workload never starts.
var Runtimes = []string{"runc", "runc-nnp", "palisade-run", "none"}

// runtimeCalls are those calls. runc: measured by TestRuncCallsAfterSeccomp
// (runc 1.1.5 under Docker 20.10, the calls of runc init's filtered thread
// from prctl(PR_SET_SECCOMP) to execve, with and without no-new-privileges,
// several runs), plus the calls the Go runtime may make on that locked
// thread when it is scheduled or signalled (rt_sigreturn, sched_yield,
// nanosleep, tgkill, gettid, epoll_pwait, mmap, munmap, madvise).
// palisade-run: internal/seccomp/launch's shim, which without
// no_new_privs installs the filter before dropping capabilities and
// switching user (see docs/run.md), and the same Go runtime calls.
var runtimeCalls = map[string][]string{
	"runc": {
		"capget", "capset", "chdir", "close", "epoll_ctl", "execve", "faccessat2", "fchown",
		"fcntl", "fstat", "fstatfs", "futex", "getcwd", "getdents64", "getpid", "getppid",
		"newfstatat", "openat", "prctl", "read", "setgid", "setgroups", "setuid", "write",
		// Go runtime on the filtered thread
		"rt_sigreturn", "sched_yield", "nanosleep", "tgkill", "gettid", "epoll_pwait", "mmap", "munmap", "madvise", "clone",
	},
	// runc-nnp: runc with no-new-privileges, where it installs the filter
	// as late as it can (measured the same way), plus rt_sigreturn,
	// sched_yield and nanosleep for the Go runtime on that thread. Only
	// valid for containers started with no-new-privileges.
	"runc-nnp": {
		"close", "epoll_ctl", "execve", "fstatfs", "futex", "getdents64", "getpid", "openat", "write",
		"rt_sigreturn", "sched_yield", "nanosleep",
	},
	"palisade-run": {
		"execve", "prctl", "capget", "capset", "setgroups", "setresgid", "setresuid",
		"futex", "rt_sigreturn", "sched_yield", "nanosleep", "tgkill", "gettid", "getpid", "mmap", "munmap", "madvise", "clone",
	},
	"none": nil,
}

// RuntimeCalls returns the calls a runtime makes after installing the filter.
func RuntimeCalls(runtime string) ([]string, error) {
	c, ok := runtimeCalls[runtime]
	if !ok {
		return nil, fmt.Errorf("unknown runtime %q (want one of %v)", runtime, Runtimes)
	}
	return slices.Clone(c), nil
}

const (
	errnoEPERM  = 1
	errnoENOSYS = 38
)

// SeccompResult is a generated profile and how it was made.
type SeccompResult struct {
	Profile *mobyseccomp.Seccomp
	// Allowed is every syscall name allowed on the native arch, with or
	// without argument conditions.
	Allowed []string
	Notes   []string
}

// Seccomp builds a Docker seccomp profile from r for runtime (see Runtimes):
// default SCMP_ACT_ERRNO (EPERM), the arches the recording saw, the
// recorded syscalls allowed, sorted. Where Docker's default profile filters
// arguments the recorded values are used instead: socket by the families
// used, clone without namespace flags (when none were used), clone3 answered
// ENOSYS so libc falls back to the filtered clone, unshare and personality
// by the values used.
func Seccomp(r *record.Recording, runtime string) (*SeccompResult, error) {
	extra, err := RuntimeCalls(runtime)
	if err != nil {
		return nil, err
	}
	arches := r.Arches()
	if len(arches) == 0 {
		return nil, fmt.Errorf("the recording has no syscalls: nothing to allow")
	}
	// A recording is made by the capture: its native arch comes first.
	if native := syscalls.CaptureArch().Name; arches[0] != native {
		arches = append([]string{native}, arches...)
	}
	names := map[string]bool{}
	for _, a := range arches {
		for _, n := range r.SyscallNames(a) {
			names[n] = true
		}
	}
	res := &SeccompResult{}
	for _, n := range extra {
		if !names[n] {
			names[n] = true
		}
	}
	if runtime != "none" {
		res.Notes = append(res.Notes, fmt.Sprintf("added what %s calls after installing the filter (%d syscalls; --runtime none leaves them out)", runtime, len(extra)))
	}
	var rules []*mobyseccomp.Syscall
	argRule := func(name string, action specs.LinuxSeccompAction, errno *uint, args ...*specs.LinuxSeccompArg) {
		rules = append(rules, &mobyseccomp.Syscall{LinuxSyscall: specs.LinuxSyscall{Names: []string{name}, Action: action, ErrnoRet: errno, Args: derefArgs(args)}})
	}
	filtered := map[string]bool{}
	// socket: only the families used (x86 socketcall cannot be filtered).
	if names["socket"] && len(r.Args["socket"]) > 0 {
		filtered["socket"] = true
		for _, fam := range r.Args["socket"] {
			argRule("socket", specs.ActAllow, nil, &specs.LinuxSeccompArg{Index: 0, Value: fam, Op: specs.OpEqualTo})
		}
	}
	// clone3's flags sit behind a pointer: answer ENOSYS, as Docker does,
	// so glibc retries with clone, whose flags can be checked.
	cloneNS := slices.ContainsFunc(append(slices.Clone(r.Args["clone"]), r.Args["clone3"]...), func(v uint64) bool { return v != 0 })
	if names["clone3"] {
		if cloneNS {
			res.Notes = append(res.Notes, "clone3 allowed unconditionally: the recording created namespaces with clone/clone3")
		} else {
			filtered["clone3"] = true
			names["clone"] = true
			argRule("clone3", specs.ActErrno, uintPtr(errnoENOSYS))
			res.Notes = append(res.Notes, "clone3 answers ENOSYS (libc falls back to clone, which is filtered); clone allowed without namespace flags")
		}
	}
	if names["clone"] && !cloneNS {
		filtered["clone"] = true
		argRule("clone", specs.ActAllow, nil, &specs.LinuxSeccompArg{Index: 0, Value: record.NamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual})
	}
	for _, n := range []string{"unshare", "personality"} {
		if names[n] && len(r.Args[n]) > 0 {
			filtered[n] = true
			for _, v := range r.Args[n] {
				argRule(n, specs.ActAllow, nil, &specs.LinuxSeccompArg{Index: 0, Value: v, Op: specs.OpEqualTo})
			}
		}
	}
	var plain []string
	for n := range names {
		if !filtered[n] {
			plain = append(plain, n)
		}
	}
	sort.Strings(plain)
	p := &mobyseccomp.Seccomp{}
	p.DefaultAction = specs.ActErrno
	p.DefaultErrnoRet = uintPtr(errnoEPERM)
	for _, a := range arches {
		p.Architectures = append(p.Architectures, specs.Arch(syscalls.ScmpName(a)))
	}
	p.Syscalls = append([]*mobyseccomp.Syscall{{LinuxSyscall: specs.LinuxSyscall{Names: plain, Action: specs.ActAllow}}}, rules...)
	res.Profile = p
	for n := range names {
		if _, ok := syscalls.Number(syscalls.CaptureArch().Name, n); ok && (n != "clone3" || !filtered["clone3"]) {
			res.Allowed = append(res.Allowed, n)
		}
	}
	sort.Strings(res.Allowed)
	if len(r.Unnamed) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("syscall numbers without a name were seen (%v): a profile cannot allow them by name, so they get EPERM", r.Unnamed))
	}
	if r.Lost > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the recording lost %d kernel records: syscalls may be missing", r.Lost))
	}
	return res, nil
}

func derefArgs(args []*specs.LinuxSeccompArg) []specs.LinuxSeccompArg {
	out := make([]specs.LinuxSeccompArg, 0, len(args))
	for _, a := range args {
		out = append(out, *a)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func uintPtr(v uint) *uint { return &v }

func fillEnv(env seccomp.Env) seccomp.Env {
	if env.Arch == "" {
		env.Arch = syscalls.CaptureArch().Name // where recordings are made
	}
	if env.Caps == 0 {
		env.Caps = caps.DockerDefault()
	}
	return env
}

// Checked is a generated profile after internal/seccomp parsed, resolved
// and compiled it.
type Checked struct {
	JSON     []byte
	Resolved *seccomp.Resolved
	Program  *seccomp.Program
	// Allowed is how many native syscalls the profile allows with all-zero
	// arguments (Docker's default: 301 on x86_64 with its 14 capabilities).
	Allowed int
}

// SeccompJSON encodes res's profile and proves it valid: it is parsed,
// resolved for env (Docker's rules) and compiled by internal/seccomp.
func SeccompJSON(res *SeccompResult, env seccomp.Env) (*Checked, error) {
	p := &seccomp.Profile{Source: "generated", Spec: *res.Profile}
	data, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	parsed, err := seccomp.Parse("generated profile", data)
	if err != nil {
		return nil, fmt.Errorf("generated profile does not parse: %w", err)
	}
	env = fillEnv(env)
	rs, err := seccomp.Resolve(parsed, env)
	if err != nil {
		return nil, fmt.Errorf("resolve generated profile: %w", err)
	}
	prog, err := seccomp.Compile(rs, seccomp.Options{})
	if err != nil {
		return nil, fmt.Errorf("compile generated profile: %w", err)
	}
	return &Checked{JSON: data, Resolved: rs, Program: prog, Allowed: AllowedCount(rs, env.Arch)}, nil
}
