package confine

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/exposure"
)

// KernelProbe is a real, harmless call whose success says a path to
// kernel code is open from here: the object it makes (a socket, an
// io_uring, a filesystem context) is closed at once by the probe child.
type KernelProbe struct {
	Name, Call, Syscall string
	// Args are the values a seccomp filter sees (arg0 first).
	Args []uint64
}

// KernelProbes are the calls the exposure table's needs name.
var KernelProbes = []KernelProbe{
	{"netlink-netfilter", "socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)", "socket", []uint64{16, 3, 12}},
	{"netlink-route", "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", "socket", []uint64{16, 3, 0}},
	{"netlink-generic", "socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)", "socket", []uint64{16, 3, 16}},
	{"packet", "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))", "socket", []uint64{17, 3, 0x300}},
	{"io_uring", "io_uring_setup(1, &params)", "io_uring_setup", []uint64{1, 0}},
	{"fsopen", `fsopen("tmpfs", FSOPEN_CLOEXEC)`, "fsopen", nil},
	{"splice", "splice(-1, NULL, -1, NULL, 0, 0) (EBADF when allowed)", "splice", nil},
}

// UsernsProbe names the probe child started in a new user, network and
// mount namespace (clone with CLONE_NEWUSER): whether it starts says
// whether this process can create a user namespace.
const UsernsProbe = "userns"

// KernelProbeResult is one kernel probe: run here, and again inside a new
// user namespace when here it was refused and a user namespace can be had.
type KernelProbeResult struct {
	Name     string        `json:"name"`
	Call     string        `json:"call"`
	Here     ProbeOutcome  `json:"here"`
	InUserns *ProbeOutcome `json:"in_userns,omitempty"`
}

// ProbeOutcome is how one run of a kernel probe ended.
type ProbeOutcome struct {
	// Result is "ok" (the call succeeded, or failed only on its harmless
	// arguments), "refused" (an errno), "killed" or "error".
	Result    string `json:"result"`
	Errno     int    `json:"errno,omitempty"`
	ErrnoName string `json:"errno_name,omitempty"`
	Note      string `json:"note,omitempty"`
}

func (o ProbeOutcome) String() string {
	switch o.Result {
	case "refused":
		return "refused with " + o.ErrnoName
	case "ok":
		return "allowed"
	}
	if o.Note != "" {
		return o.Result + " (" + o.Note + ")"
	}
	return o.Result
}

// outcomeOf classifies a probe child's ending; wantErrno is an errno that
// still means the call ran (splice's EBADF).
func outcomeOf(o Outcome, wantErrno syscall.Errno) ProbeOutcome {
	switch {
	case o.Failed:
		return ProbeOutcome{Result: "error", Note: o.Note}
	case o.Killed:
		return ProbeOutcome{Result: "killed", Note: o.Note}
	case o.Errno == 0 || o.Errno == wantErrno:
		return ProbeOutcome{Result: "ok"}
	}
	return ProbeOutcome{Result: "refused", Errno: int(o.Errno), ErrnoName: ErrnoName(o.Errno)}
}

// KernelFilter answers the exposure evaluation's questions from what the
// probes did here: the kernel probes, the user-namespace probe and the
// syscall probes.
type KernelFilter struct {
	Userns  ProbeOutcome
	Kernel  []KernelProbeResult
	Syscall []ProbeResult
}

// Name implements exposure.Filter.
func (f *KernelFilter) Name() string { return "this process (probed)" }

// Decide implements exposure.Filter: a call the probes tried is allowed when
// it ran here or in a new user namespace; one they did not try counts as
// allowed and is said to be assumed.
func (f *KernelFilter) Decide(name string, args [6]uint64) (bool, string, bool) {
	if (name == "unshare" || name == "clone") && args[0]&0x10000000 != 0 {
		if f.Userns.Result == "ok" {
			return true, "a child started in a new user namespace", true
		}
		return false, "probe: a child in a new user namespace was " + f.Userns.String(), true
	}
	for _, k := range f.Kernel {
		probe, _ := lookupKernelProbe(k.Name)
		if probe.Syscall != name || !argsMatch(probe.Args, args) {
			continue
		}
		if k.Here.Result == "ok" {
			return true, "probe: " + k.Call + " allowed", true
		}
		if k.InUserns != nil && k.InUserns.Result == "ok" {
			return true, "probe: " + k.Call + " allowed in a new user namespace", true
		}
		return false, "probe: " + k.Call + " " + k.Here.String(), true
	}
	for _, p := range f.Syscall {
		if p.Syscall != name {
			continue
		}
		switch p.Result {
		case ResultAllowed, ResultDenied:
			return true, "probe: " + name + " reaches the kernel", true
		case ResultBlocked, ResultENOSYS, ResultKilled:
			return false, "probe: " + name + " " + p.Result, true
		}
		return true, "probe: " + name + " " + p.Result, false
	}
	return true, "not probed", false
}

func lookupKernelProbe(name string) (KernelProbe, bool) {
	for _, p := range KernelProbes {
		if p.Name == name {
			return p, true
		}
	}
	return KernelProbe{}, false
}

func argsMatch(want []uint64, got [6]uint64) bool {
	for i, w := range want {
		if got[i] != w {
			return false
		}
	}
	return true
}

// KernelSubject is this process as the exposure evaluation sees it.
func (c *Report) KernelSubject(f exposure.Filter, devices []string) *exposure.Subject {
	var set caps.Set
	if v, err := strconv.ParseUint(strings.TrimSpace(c.Capabilities.Effective.Hex), 16, 64); err == nil {
		set = caps.Set(v)
	}
	return &exposure.Subject{Name: fmt.Sprintf("this process (pid %d)", c.PID), Filter: f, Caps: set, InUserns: !c.UserNS.Initial, Devices: devices}
}
