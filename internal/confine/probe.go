package confine

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// Probe is one dangerous syscall called with arguments that make it fail
// even when nothing blocks it, so probing changes nothing.
type Probe struct {
	Syscall string
	// Args is the call as C, and Why says why it cannot succeed or change
	// anything when the kernel runs it.
	Args, Why string
	// Expect are the errnos the kernel returns when it runs the call.
	// Success is true for a query that succeeds when allowed.
	Expect  []syscall.Errno
	Success bool
	// CapGate names the capability the kernel checks before it looks at the
	// arguments; without it the kernel itself returns EPERM, which a
	// seccomp filter's EPERM cannot be told apart from.
	CapGate string
	// CapGateUntil, when set, is the first kernel ("6.9") that checks the
	// arguments before the capability; from it on the gate does not apply.
	CapGateUntil string
}

// Probes are run in this order. Each call's arguments are invalid in a way
// the kernel checks before it does anything (verified on Linux 6.18 by
// TestProbesAllowedWithoutFilter, which runs them all unfiltered).
var Probes = []Probe{
	{Syscall: "mount", Args: `mount("none", (char *)1, (char *)1, 0, NULL)`,
		Why:    "the filesystem type is an unmapped address; the kernel copies it first and fails with EFAULT",
		Expect: []syscall.Errno{syscall.EFAULT}},
	{Syscall: "umount2", Args: `umount2((char *)1, 0x80000000)`,
		Why:    "unknown flag bit (EINVAL, checked first) and an unmapped target (EFAULT)",
		Expect: []syscall.Errno{syscall.EINVAL, syscall.EFAULT}},
	{Syscall: "unshare", Args: `unshare(CLONE_NEWUSER|CLONE_NEWNS|0x1)`,
		Why:    "0x1 is a CSIGNAL bit unshare rejects with EINVAL before creating any namespace; a filter that looks at the flags still sees NEWUSER|NEWNS",
		Expect: []syscall.Errno{syscall.EINVAL}},
	{Syscall: "setns", Args: `setns(-1, 0)`,
		Why:    "fd -1 is never open: EBADF",
		Expect: []syscall.Errno{syscall.EBADF}},
	{Syscall: "ptrace", Args: `ptrace(PTRACE_PEEKDATA, 0, NULL, NULL)`,
		Why:    "pid 0 names no tracee: ESRCH; a read request, so nothing could change even if it did",
		Expect: []syscall.Errno{syscall.ESRCH}},
	{Syscall: "keyctl", Args: `keyctl(0x7fffffff, 0, 0, 0, 0)`,
		Why:    "no such operation: EOPNOTSUPP",
		Expect: []syscall.Errno{syscall.EOPNOTSUPP}},
	{Syscall: "add_key", Args: `add_key((char *)1, NULL, NULL, 0, 0)`,
		Why:    "the key type is an unmapped address: EFAULT",
		Expect: []syscall.Errno{syscall.EFAULT}},
	{Syscall: "bpf", Args: `bpf(BPF_PROG_LOAD, (void *)1, 8)`,
		Why:    "the attribute is an unmapped address; the kernel copies it before any command runs: EFAULT",
		Expect: []syscall.Errno{syscall.EFAULT, syscall.E2BIG}},
	{Syscall: "perf_event_open", Args: `perf_event_open((void *)1, 0, -1, -1, 0)`,
		Why:    "the attribute is an unmapped address, copied first: EFAULT",
		Expect: []syscall.Errno{syscall.EFAULT}},
	{Syscall: "userfaultfd", Args: `userfaultfd(UFFD_USER_MODE_ONLY|0x40000000)`,
		Why:    "unknown flag bit: EINVAL (user-mode-only passes the vm.unprivileged_userfaultfd gate on 5.11+)",
		Expect: []syscall.Errno{syscall.EINVAL}, CapGate: "sys_ptrace", CapGateUntil: "5.11"},
	{Syscall: "open_by_handle_at", Args: `open_by_handle_at(-1, (void *)1, 0)`,
		Why:    "the handle is an unmapped address: EFAULT (kernels before 6.9 check CAP_DAC_READ_SEARCH first)",
		Expect: []syscall.Errno{syscall.EFAULT, syscall.EBADF}, CapGate: "dac_read_search", CapGateUntil: "6.9"},
	{Syscall: "init_module", Args: `init_module(NULL, 0, "")`,
		Why:    "a zero-length image is rejected (ENOEXEC) or not readable (EFAULT) before anything loads; the kernel checks CAP_SYS_MODULE first",
		Expect: []syscall.Errno{syscall.ENOEXEC, syscall.EFAULT, syscall.EINVAL}, CapGate: "sys_module"},
	{Syscall: "kexec_load", Args: `kexec_load(0, 0xffff, NULL, 0x8000)`,
		Why:    "an unknown flag bit and too many segments: EINVAL; the kernel checks CAP_SYS_BOOT first",
		Expect: []syscall.Errno{syscall.EINVAL}, CapGate: "sys_boot"},
	{Syscall: "io_uring_setup", Args: `io_uring_setup(0, (void *)1)`,
		Why:    "the parameters are an unmapped address: EFAULT (or EINVAL for zero entries); kernel.io_uring_disabled=2 makes the kernel refuse with EPERM",
		Expect: []syscall.Errno{syscall.EFAULT, syscall.EINVAL}},
	{Syscall: "clone3", Args: `clone3((void *)1, 0)`,
		Why:    "a size below CLONE_ARGS_SIZE_VER0 is rejected with EINVAL before the arguments are read",
		Expect: []syscall.Errno{syscall.EINVAL}},
	{Syscall: "personality", Args: `personality(0xffffffff)`,
		Why:     "0xffffffff only queries the current persona (the control: every profile allows it)",
		Success: true},
}

// LookupProbe returns the probe for a syscall name.
func LookupProbe(name string) (Probe, bool) {
	for _, p := range Probes {
		if p.Syscall == name {
			return p, true
		}
	}
	return Probe{}, false
}

// Outcome is what running one probe in a child process gave.
type Outcome struct {
	Errno syscall.Errno // 0 when the call succeeded
	// Killed is true when the child died of SIGSYS, reported a SIGSYS
	// (seccomp trap) or hung (a killed thread); Note says which.
	Killed bool
	// Failed is true when the child could not run the probe at all.
	Failed bool
	Note   string
}

// Probe results.
const (
	ResultAllowed = "allowed" // the kernel ran the call and rejected its arguments
	ResultBlocked = "blocked" // a seccomp filter returned an errno (EPERM or its own)
	ResultENOSYS  = "enosys"  // ENOSYS: a filter's answer, or the kernel lacks the call
	ResultKilled  = "killed"  // the seccomp filter killed or trapped the caller
	ResultDenied  = "denied"  // EPERM with no filter: a capability or LSM check refused
	ResultUnclear = "unclear" // EPERM under a filter for a call the kernel gates on a capability not held
	ResultError   = "error"   // the probe could not run
)

// ProbeResult is one row of the probe table.
type ProbeResult struct {
	Syscall string `json:"syscall"`
	Result  string `json:"result"`
	// Errno is the error number returned (0 on success, kill or error).
	Errno     int    `json:"errno"`
	ErrnoName string `json:"errno_name,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Env is what classification needs to know about the probing process.
type Env struct {
	// Filtered is true when a seccomp filter (or strict mode) is in force.
	Filtered bool
	// Effective are the effective capability names.
	Effective []string
	// Kernel is the running kernel's release (uname -r); "" means old.
	Kernel string
}

// gated reports whether the kernel's own capability check comes before the
// probe's arguments are looked at, and the capability is not held.
func (e Env) gated(p Probe) bool {
	if p.CapGate == "" || contains(e.Effective, p.CapGate) {
		return false
	}
	return p.CapGateUntil == "" || kernelBefore(e.Kernel, p.CapGateUntil)
}

// kernelBefore compares "major.minor" prefixes of kernel releases.
func kernelBefore(release, version string) bool {
	parse := func(s string) (int, int, bool) {
		a, rest, _ := strings.Cut(s, ".")
		b := rest
		for i, r := range rest {
			if r < '0' || r > '9' {
				b = rest[:i]
				break
			}
		}
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		return x, y, err1 == nil && err2 == nil
	}
	rx, ry, ok := parse(release)
	vx, vy, _ := parse(version)
	if !ok {
		return true
	}
	return rx < vx || (rx == vx && ry < vy)
}

// Classify turns a probe's outcome into a result. Without a filter no errno
// can come from seccomp, so an EPERM there is a capability, sysctl or LSM
// denial ("denied"), never "blocked". Under a filter, an EPERM for a call the
// kernel gates on a capability not held is "unclear".
func Classify(p Probe, o Outcome, env Env) ProbeResult {
	filtered := env.Filtered
	r := ProbeResult{Syscall: p.Syscall, Errno: int(o.Errno), Note: o.Note}
	if o.Errno != 0 {
		r.ErrnoName = ErrnoName(o.Errno)
	}
	switch {
	case o.Failed:
		r.Result = ResultError
		return r
	case o.Killed:
		r.Result = ResultKilled
		return r
	case o.Errno == 0:
		r.Result = ResultAllowed
		if !p.Success {
			r.Note = "unexpected success"
		}
		return r
	case o.Errno == syscall.ENOSYS:
		r.Result = ResultENOSYS
		if !filtered {
			r.Note = "no filter: the kernel lacks this syscall"
		}
		return r
	}
	for _, e := range p.Expect {
		if e == o.Errno {
			r.Result = ResultAllowed
			return r
		}
	}
	eperm := o.Errno == syscall.EPERM || o.Errno == syscall.EACCES
	switch {
	case !filtered && eperm:
		r.Result = ResultDenied
		r.Note = "no seccomp filter: a capability, sysctl or LSM check refused"
		if env.gated(p) {
			r.Note = "no seccomp filter: the kernel requires CAP_" + strings.ToUpper(p.CapGate)
		}
	case !filtered:
		r.Result = ResultAllowed
		r.Note = "no seccomp filter; unexpected errno from the kernel"
	case eperm && env.gated(p):
		r.Result = ResultUnclear
		r.Note = "the filter or the kernel's own CAP_" + strings.ToUpper(p.CapGate) + " check (not held) refused"
	case eperm:
		r.Result = ResultBlocked
	default:
		r.Result = ResultBlocked
		r.Note = "the filter returned its own errno"
	}
	return r
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

var errnoNames = map[syscall.Errno]string{
	syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT", syscall.ESRCH: "ESRCH", syscall.EINTR: "EINTR",
	syscall.EIO: "EIO", syscall.ENOEXEC: "ENOEXEC", syscall.EBADF: "EBADF", syscall.EAGAIN: "EAGAIN",
	syscall.ENOMEM: "ENOMEM", syscall.EACCES: "EACCES", syscall.EFAULT: "EFAULT", syscall.EBUSY: "EBUSY",
	syscall.EEXIST: "EEXIST", syscall.ENODEV: "ENODEV", syscall.EINVAL: "EINVAL", syscall.ENOSPC: "ENOSPC",
	syscall.EROFS: "EROFS", syscall.E2BIG: "E2BIG", syscall.ENOSYS: "ENOSYS", syscall.EOPNOTSUPP: "EOPNOTSUPP",
	syscall.EKEYREJECTED: "EKEYREJECTED", syscall.ENOKEY: "ENOKEY",
}

// ErrnoName is the C name of an errno, or "errno N".
func ErrnoName(e syscall.Errno) string {
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return "errno " + strconv.Itoa(int(e))
}

// ParseChildOutput reads what a probe child printed: "errno N" or "ok N".
func ParseChildOutput(out string) (syscall.Errno, error) {
	f := strings.Fields(out)
	if len(f) != 2 || (f[0] != "errno" && f[0] != "ok") {
		return 0, fmt.Errorf("probe child printed %q, want \"errno N\" or \"ok N\"", out)
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("probe child printed %q: %w", out, err)
	}
	if f[0] == "ok" {
		return 0, nil
	}
	if n <= 0 || n > 4095 {
		return 0, fmt.Errorf("probe child printed errno %d", n)
	}
	return syscall.Errno(n), nil
}
