package exposure

// Host is what the exposure of every container on a machine shares: the
// kernel, its hardening sysctls, its modules and build options.
type Host struct {
	Kernel Kernel `json:"kernel"`
	// Sysctls holds the hardening sysctls that exist on the host (a missing
	// key is a sysctl this kernel does not have, which gates nothing).
	// Unreadable lists those that exist but could not be read.
	Sysctls    map[string]int `json:"sysctls"`
	Unreadable []string       `json:"unreadable_sysctls,omitempty"`
	// Config is the kernel build configuration (/proc/config.gz): symbol →
	// "y" or "m"; nil when unknown. A symbol missing from a known Config is
	// not set.
	Config map[string]string `json:"-"`
	// Loaded are the loaded modules (/proc/modules); ModulesKnown is false
	// when that could not be read. Builtin and Available come from
	// modules.builtin and modules.dep (nil when unknown).
	Loaded       map[string]bool `json:"-"`
	ModulesKnown bool            `json:"-"`
	Builtin      map[string]bool `json:"-"`
	Available    map[string]bool `json:"-"`
	// CgroupV1 is "yes" when a cgroup v1 hierarchy is mounted, "no" on a
	// cgroup v2-only host, "" when unknown.
	CgroupV1 string `json:"cgroup_v1,omitempty"`
	// Runc is the runtime version the engine reports (zero when unknown).
	Runc *RuntimeVersion `json:"runc,omitempty"`
}

// HardeningSysctls are the sysctls that close or narrow paths to kernel
// bugs, in the order reports print them.
var HardeningSysctls = []string{
	"kernel.unprivileged_userns_clone",
	"user.max_user_namespaces",
	"kernel.unprivileged_bpf_disabled",
	"kernel.io_uring_disabled",
	"vm.unprivileged_userfaultfd",
	"kernel.modules_disabled",
	"kernel.kptr_restrict",
	"kernel.dmesg_restrict",
	"kernel.perf_event_paranoid",
}

// sysctl returns a sysctl's value and whether the host has a readable one.
func (h *Host) sysctl(name string) (int, bool) {
	v, ok := h.Sysctls[name]
	return v, ok
}
