package exposure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/palisade-sec/palisade/internal/caps"
)

// Filter answers whether a syscall with given arguments reaches the kernel
// from the subject: a seccomp profile evaluated by internal/seccomp, or
// probes run from inside.
type Filter interface {
	// Decide reports whether the call gets through, and how the filter
	// decided ("seccomp docker-default: errno 1"). known is false when the
	// filter cannot say (a call no probe covered); the call then counts as
	// allowed.
	Decide(syscall string, args [6]uint64) (allowed bool, how string, known bool)
	// Name is how messages refer to the filter ("seccomp profile docker-default").
	Name() string
}

// Subject is one process's view of the kernel: a container's, or an
// unprivileged process's on the host.
type Subject struct {
	Name string
	// Filter is nil when no seccomp filter applies.
	Filter Filter
	// Caps are the capabilities the subject's root can hold (the bounding
	// set).
	Caps caps.Set
	// InUserns is true when the subject already runs in a user namespace
	// other than the host's (rootless engines, userns-remap): its
	// capabilities count only inside it.
	InUserns bool
	// Devices are device paths the subject can open; Privileged subjects
	// have every device.
	Devices    []string
	Privileged bool
}

// Outcomes of a bug for a subject.
const (
	Reachable     = "reachable"    // version affected and every need met
	Blocked       = "blocked"      // a need is not met (whatever the version)
	Fixed         = "fixed"        // the kernel or runtime has the fix
	NotAffected   = "not-affected" // the kernel predates the bug, or another vendor's bug
	VendorCheck   = "vendor-check" // a distribution build in the affected range: its advisory decides
	UnknownResult = "unknown"      // the version could not be read: never counted as safe
)

// Result is one bug's outcome for one subject.
type Result struct {
	Bug     *Bug   `json:"bug"`
	Outcome string `json:"outcome"`
	// Version says what the version comparison found.
	Version string `json:"version"`
	// Reachable is whether every need is met, whatever the version: the
	// code the bug is in can be reached (the attack surface).
	Reachable bool `json:"code_reachable"`
	// Via lists how each need is met; BlockedBy what stops the unmet ones.
	Via       []string `json:"via,omitempty"`
	BlockedBy []string `json:"blocked_by,omitempty"`
	// Unknown lists needs assumed met because the host would not say.
	Unknown []string `json:"assumed,omitempty"`
	// Fixes close the bug: the upgrade first, then each need's closer.
	Fixes []string `json:"fixes,omitempty"`
}

// Evaluate runs every bug of the table against the host and the subject.
func Evaluate(t *Table, h *Host, s *Subject) []Result {
	out := make([]Result, 0, len(t.Bugs))
	for _, b := range t.Bugs {
		out = append(out, EvaluateBug(b, h, s))
	}
	return out
}

// EvaluateBug is Evaluate for one bug.
func EvaluateBug(b *Bug, h *Host, s *Subject) Result {
	r := Result{Bug: b}
	state, detail, upgrade := versionState(b, h)
	r.Version = detail
	r.Reachable = true
	for _, n := range b.Needs {
		m := meet(n, h, s)
		switch {
		case !m.ok:
			r.Reachable = false
			for _, why := range append([]string{m.why}, m.also...) {
				if !slices.Contains(r.BlockedBy, why) {
					r.BlockedBy = append(r.BlockedBy, why)
				}
			}
		case m.assumed:
			r.Unknown = append(r.Unknown, m.why)
		case m.why != "":
			r.Via = append(r.Via, m.why)
		}
		if m.fix != "" && !slices.Contains(r.Fixes, m.fix) {
			r.Fixes = append(r.Fixes, m.fix)
		}
	}
	if upgrade != "" {
		r.Fixes = append([]string{upgrade}, r.Fixes...)
	}
	switch {
	case state == Fixed || state == NotAffected:
		r.Outcome = state // Fixes keep the closers of the bug's code
	case !r.Reachable:
		r.Outcome = Blocked
	default:
		r.Outcome = state // Reachable, VendorCheck or UnknownResult
	}
	return r
}

// versionState compares the running version with the bug's: the outcome
// the version alone gives, a sentence, and the upgrade that fixes it.
func versionState(b *Bug, h *Host) (state, detail, upgrade string) {
	if b.Component == ComponentRunc {
		return runcState(b, h.Runc)
	}
	k := h.Kernel
	if b.Vendor != "" {
		if k.Vendor != b.Vendor {
			who := "an upstream kernel"
			if k.Vendor != "" {
				who = "a " + k.Vendor + " kernel"
			}
			return NotAffected, fmt.Sprintf("only %s kernels carry it; this is %s", b.Vendor, who), ""
		}
		return VendorCheck, fmt.Sprintf("a %s kernel (%s): only %s's advisory says which builds are fixed", k.Vendor, k.Release, k.Vendor),
			"install your vendor's fixed kernel (" + advisory(b) + ")"
	}
	if !k.Known {
		return UnknownResult, fmt.Sprintf("kernel version %q could not be read: treated as affected", k.Release),
			"find the kernel's upstream version; the fix is in " + fixList(b)
	}
	v := k.Version
	if b.introduced != nil && v.Compare(*b.introduced) < 0 {
		return NotAffected, fmt.Sprintf("kernel %s predates the bug (introduced in %s)", v, b.introduced), ""
	}
	if b.mainline != nil && v.Compare(*b.mainline) >= 0 {
		return Fixed, fmt.Sprintf("kernel %s ≥ fixed %s", v, b.mainline), ""
	}
	var branchFix *Version
	for _, s := range b.stable {
		if s.Branch() == v.Branch() {
			branchFix = &s
			if v.Compare(s) >= 0 {
				return Fixed, fmt.Sprintf("kernel %s ≥ fixed %s", v, s), ""
			}
		}
	}
	up := fmt.Sprintf("upgrade the kernel to %s or later", b.mainline)
	if branchFix != nil {
		up = fmt.Sprintf("upgrade the kernel to %s (the %s branch's fix) or %s or later", branchFix, v.Branch(), b.mainline)
	}
	affected := fmt.Sprintf("kernel %s < fixed %s", v, b.mainline)
	if branchFix != nil {
		affected = fmt.Sprintf("kernel %s < fixed %s", v, branchFix)
	} else if len(b.stable) > 0 || b.Confidence != "high" {
		affected += fmt.Sprintf(" (no %s fix is in the table)", v.Branch())
	}
	if k.Vendor != "" {
		return VendorCheck, fmt.Sprintf("%s upstream, but a %s kernel: backports possible, check your vendor's advisory (%s)", affected, k.Vendor, advisory(b)), up
	}
	return Reachable, affected, up
}

func fixList(b *Bug) string {
	if len(b.Fixed) == 0 {
		return "the vendor's kernel"
	}
	return strings.Join(b.Fixed, ", ")
}

func advisory(b *Bug) string {
	for _, s := range b.Sources {
		if !strings.Contains(s, "git.kernel.org") && !strings.Contains(s, "/commit/") {
			return s
		}
	}
	return "https://nvd.nist.gov/vuln/detail/" + b.ID
}

func runcState(b *Bug, rv *RuntimeVersion) (state, detail, upgrade string) {
	up := fmt.Sprintf("upgrade runc to %s or later", b.Fixed[0])
	switch {
	case rv == nil:
		return UnknownResult, "the engine did not report a runc version: treated as affected", up
	case !rv.Known:
		return UnknownResult, fmt.Sprintf("runc version %q is not a release version (a commit id?): treated as affected", rv.Raw), up
	case b.runcIntro != nil && rv.Compare(*b.runcIntro) < 0:
		return NotAffected, fmt.Sprintf("runc %s predates the bug (introduced in %s)", rv.Raw, b.Introduced), ""
	case rv.Compare(*b.runcFixed) >= 0:
		return Fixed, fmt.Sprintf("runc %s ≥ fixed %s", rv.Raw, b.Fixed[0]), ""
	case rv.Vendor != "":
		return VendorCheck, fmt.Sprintf("runc %s < fixed %s upstream, but a %s package: backports possible, check your vendor's advisory (%s)", rv.Raw, b.Fixed[0], rv.Vendor, advisory(b)),
			fmt.Sprintf("install %s's fixed runc package (its advisory for %s), or runc %s or later", rv.Vendor, b.ID, b.Fixed[0])
	}
	return Reachable, fmt.Sprintf("runc %s < fixed %s", rv.Raw, b.Fixed[0]), up
}

// met is how one need fares: ok, why (how it is met or what blocks it),
// assumed (met only because the host would not say), and what closes it.
type met struct {
	ok, assumed bool
	why, fix    string
	// also are further reasons, shared with other needs (the user
	// namespace a capability would come from).
	also []string
}

func meet(n Need, h *Host, s *Subject) met {
	switch n.Kind {
	case NeedSyscall:
		return meetSyscall(n, h, s)
	case NeedCap:
		return meetCap(n, h, s)
	case NeedUserns:
		return meetUserns(h, s)
	case NeedModule:
		return meetModule(n.Module, n.Config, h)
	case NeedConfig:
		return meetModule("", n.Config, h)
	case NeedCgroup:
		switch h.CgroupV1 {
		case "no":
			return met{why: "the host mounts no cgroup v1 hierarchy (cgroup v2 only)"}
		case "":
			return met{ok: true, assumed: true, why: "cgroup version unknown (assumed v1)"}
		}
		return met{ok: true, why: "cgroup v1 is mounted", fix: "move the host to cgroup v2 (systemd.unified_cgroup_hierarchy=1)"}
	case NeedDevice:
		if s.Privileged || slices.Contains(s.Devices, n.Device) {
			return met{ok: true, why: n.Device + " is available", fix: "do not pass " + n.Device + " into the container"}
		}
		return met{why: "no " + n.Device + " in " + s.Name}
	case NeedBPF:
		return meetBPF(h, s)
	case NeedTrigger:
		return met{ok: true, why: n.Trigger}
	}
	return met{why: "unknown need " + n.Kind}
}

// everyday are syscalls ordinary programs cannot do without; a seccomp rule
// refusing them is no fix.
var everyday = map[string]bool{"mmap": true, "madvise": true, "splice": true, "pipe2": true, "ioctl": true, "setsockopt": true}

const (
	cloneNewUser = 0x10000000
	sigchld      = 17
)

// meetUserns asks whether the subject can create a user namespace: the
// filter must let unshare or clone with CLONE_NEWUSER through, and the
// sysctls must allow it.
func meetUserns(h *Host, s *Subject) met {
	if v, ok := h.sysctl("user.max_user_namespaces"); ok && v == 0 {
		return met{why: "sysctl user.max_user_namespaces=0"}
	}
	if v, ok := h.sysctl("kernel.unprivileged_userns_clone"); ok && v == 0 && !initCap(s, "SYS_ADMIN") {
		return met{why: "sysctl kernel.unprivileged_userns_clone=0 (and no CAP_SYS_ADMIN)"}
	}
	fix := "set sysctl user.max_user_namespaces=0 on the host (or kernel.unprivileged_userns_clone=0 where it exists)"
	if s.Filter == nil {
		return met{ok: true, why: "user namespaces: no seccomp filter", fix: fix}
	}
	calls := []struct {
		name string
		args [6]uint64
		c    string
	}{
		{"unshare", [6]uint64{cloneNewUser}, "unshare(CLONE_NEWUSER)"},
		{"clone", [6]uint64{cloneNewUser | sigchld}, "clone(CLONE_NEWUSER)"},
	}
	var blocked []string
	for _, c := range calls {
		ok, how, known := s.Filter.Decide(c.name, c.args)
		if ok {
			why := fmt.Sprintf("%s allows %s", s.Filter.Name(), c.c)
			if !known {
				return met{ok: true, assumed: true, why: why + " (not probed: assumed)", fix: fix}
			}
			return met{ok: true, why: why, fix: fix + "; or keep a seccomp rule that refuses " + c.c + " (Docker's default profile does without CAP_SYS_ADMIN)"}
		}
		blocked = append(blocked, fmt.Sprintf("%s (%s)", c.c, how))
	}
	return met{why: s.Filter.Name() + " blocks " + strings.Join(blocked, " and ")}
}

// initCap reports a capability held in the host's user namespace.
func initCap(s *Subject, name string) bool {
	n, _ := caps.Number(name)
	return !s.InUserns && s.Caps.Has(n)
}

func meetCap(n Need, h *Host, s *Subject) met {
	num, _ := caps.Number(n.Cap)
	cname := "CAP_" + n.Cap
	if s.Caps.Has(num) && (n.InUserns || !s.InUserns) {
		where := ""
		if s.InUserns {
			where = " (in its user namespace)"
		}
		return met{ok: true, why: s.Name + " holds " + cname + where, fix: "drop " + cname}
	}
	if !n.InUserns {
		return met{why: "no " + cname + " in the host's user namespace"}
	}
	u := meetUserns(h, s)
	if !u.ok {
		return met{why: "no " + cname + ", nor a user namespace to hold it in", also: []string{u.why}}
	}
	return met{ok: true, assumed: u.assumed, why: cname + " inside a new user namespace (" + u.why + ")", fix: u.fix}
}

func meetSyscall(n Need, h *Host, s *Subject) met {
	var args [6]uint64
	copy(args[:], n.Args)
	if n.Syscall == "io_uring_setup" {
		if v, ok := h.sysctl("kernel.io_uring_disabled"); ok && (v == 2 || v == 1 && !initCap(s, "SYS_ADMIN")) {
			return met{why: fmt.Sprintf("sysctl kernel.io_uring_disabled=%d", v)}
		}
	}
	closer := "a seccomp rule that refuses " + n.Call()
	switch {
	case everyday[n.Syscall]:
		closer = "" // no workload does without it: only the kernel fix closes it
	case n.Syscall == "io_uring_setup":
		closer = "set sysctl kernel.io_uring_disabled=2, or a seccomp rule that refuses io_uring_setup (Docker's default profile does)"
	}
	if s.Filter == nil {
		return met{ok: true, why: n.Call() + ": no seccomp filter", fix: closer}
	}
	ok, how, known := s.Filter.Decide(n.Syscall, args)
	switch {
	case !ok:
		return met{why: fmt.Sprintf("%s blocks %s (%s)", s.Filter.Name(), n.Call(), how)}
	case !known:
		return met{ok: true, assumed: true, why: n.Call() + " not probed (assumed allowed)", fix: closer}
	}
	return met{ok: true, why: fmt.Sprintf("%s allows %s", s.Filter.Name(), n.Call()), fix: closer}
}

func meetBPF(h *Host, s *Subject) met {
	if initCap(s, "SYS_ADMIN") || initCap(s, "BPF") {
		return met{ok: true, why: s.Name + " holds CAP_BPF or CAP_SYS_ADMIN", fix: "drop CAP_SYS_ADMIN and CAP_BPF"}
	}
	v, ok := h.sysctl("kernel.unprivileged_bpf_disabled")
	switch {
	case ok && v != 0:
		return met{why: fmt.Sprintf("sysctl kernel.unprivileged_bpf_disabled=%d", v)}
	case !ok && h.Sysctls != nil && !slices.Contains(h.Unreadable, "kernel.unprivileged_bpf_disabled"):
		return met{ok: true, why: "unprivileged bpf() allowed (no kernel.unprivileged_bpf_disabled)", fix: "upgrade to a kernel with kernel.unprivileged_bpf_disabled and set it to 2"}
	case !ok:
		return met{ok: true, assumed: true, why: "kernel.unprivileged_bpf_disabled unreadable (assumed 0)"}
	}
	return met{ok: true, why: "sysctl kernel.unprivileged_bpf_disabled=0", fix: "set sysctl kernel.unprivileged_bpf_disabled=2"}
}

// meetModule asks whether the code of a module (or a kernel option) is in
// the running kernel or can be loaded into it on demand.
func meetModule(module, config string, h *Host) met {
	name := config
	if module != "" {
		name = "module " + module
		if h.Loaded[module] {
			return met{ok: true, why: name + " is loaded", fix: "unload " + module + " and blacklist it (install " + module + " /bin/false in /etc/modprobe.d)"}
		}
		if h.Builtin[module] {
			return met{ok: true, why: name + " is built in", fix: ""}
		}
	}
	setting, configKnown := "", h.Config != nil
	if configKnown {
		setting = h.Config[config]
	}
	switch {
	case setting == "y":
		return met{ok: true, why: fmt.Sprintf("%s is built in (%s=y)", name, config)}
	case configKnown && setting == "":
		return met{why: fmt.Sprintf("the kernel is built without %s", config)}
	}
	if module == "" {
		if setting == "m" {
			return met{ok: true, why: config + "=m"}
		}
		return met{ok: true, assumed: true, why: config + ": kernel configuration unknown (assumed set)"}
	}
	loadable := setting == "m" || h.Available[module]
	if !loadable && h.Available != nil && !configKnown {
		return met{why: name + " is neither loaded, built in nor installed"}
	}
	if v, ok := h.sysctl("kernel.modules_disabled"); ok && v == 1 && h.ModulesKnown {
		return met{why: name + " not loaded and kernel.modules_disabled=1"}
	}
	fix := "blacklist " + module + " (install " + module + " /bin/false in /etc/modprobe.d) or set kernel.modules_disabled=1 once boot has loaded what it needs"
	if loadable {
		return met{ok: true, why: name + " is not loaded but loads on demand", fix: fix}
	}
	return met{ok: true, assumed: true, why: name + ": presence unknown (assumed loadable)", fix: fix}
}
