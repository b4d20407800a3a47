package audit

import (
	"fmt"
	"sort"
)

// Capability grades. Every Linux capability has a row: what holding it
// allows (from capabilities(7)), the check an added one is reported under,
// and whether it is in the default set Docker, containerd and CRI-O give a
// container (moby's oci/caps/defaults.go; the same fourteen in containerd's
// and CRI-O's defaults). Pod Security Standards set the lines between
// grades: baseline allows adding only the default set minus NET_RAW, and
// restricted only NET_BIND_SERVICE.
//
//   - dangerous-capability (high): alone enough for a known escape or for
//     host-wide damage.
//   - risky-capability (medium): outside what baseline allows; acts on state
//     the container shares with the host (clock, kernel log, audit, memory,
//     scheduling) or is a known exploit prerequisite.
//   - added-capability (low): allowed by baseline but not by restricted.
//   - no finding: NET_BIND_SERVICE, which restricted allows.
type capability struct {
	grade string // check slug, "" for none
	why   string
	// dflt marks the runtimes' default set.
	dflt bool
}

const (
	gradeHigh   = "dangerous-capability"
	gradeMedium = "risky-capability"
	gradeLow    = "added-capability"
)

var capabilities = map[string]capability{
	"ALL":             {gradeHigh, "every capability", false},
	"SYS_ADMIN":       {gradeHigh, "mount, BPF, namespaces and cgroup release_agent escapes", false},
	"SYS_PTRACE":      {gradeHigh, "attach to and inject code into other processes", false},
	"SYS_MODULE":      {gradeHigh, "load kernel modules", false},
	"DAC_READ_SEARCH": {gradeHigh, "open_by_handle_at reads host files (the shocker escape)", false},
	"NET_ADMIN":       {gradeHigh, "reconfigure networking and firewall, sniff or hijack traffic", false},
	"SYS_RAWIO":       {gradeHigh, "raw I/O ports and /dev/mem access", false},
	"BPF":             {gradeHigh, "load BPF programs that read kernel memory", false},
	"PERFMON":         {gradeHigh, "perf and BPF tracing of the whole host", false},
	"SYS_BOOT":        {gradeHigh, "reboot the host or kexec a new kernel", false},
	"MAC_ADMIN":       {gradeHigh, "change or unload MAC (AppArmor/SELinux) policy", false},
	"MAC_OVERRIDE":    {gradeHigh, "bypass MAC policy", false},

	"NET_RAW":            {gradeMedium, "raw and packet sockets: spoof ARP and DNS on the node's bridge; a prerequisite of packet-socket kernel exploits (CVE-2020-14386)", true},
	"SYS_TIME":           {gradeMedium, "set the system clock, which is not namespaced: certificate and token validity and log timelines shift for the whole host", false},
	"SYSLOG":             {gradeMedium, "read and clear the kernel log, which shows kernel addresses that defeat KASLR", false},
	"AUDIT_CONTROL":      {gradeMedium, "change or switch off the host's kernel audit rules", false},
	"AUDIT_READ":         {gradeMedium, "read the host's audit log over a multicast netlink socket", false},
	"SYS_RESOURCE":       {gradeMedium, "override resource limits, quotas and reserved filesystem space shared with the host", false},
	"SYS_PACCT":          {gradeMedium, "switch process accounting on or off for the whole host", false},
	"SYS_NICE":           {gradeMedium, "real-time scheduling and CPU affinity that starve host processes", false},
	"SYS_TTY_CONFIG":     {gradeMedium, "vhangup and configure terminals", false},
	"IPC_LOCK":           {gradeMedium, "lock memory without limit, starving the host", false},
	"IPC_OWNER":          {gradeMedium, "bypass permission checks on System V IPC objects", false},
	"LINUX_IMMUTABLE":    {gradeMedium, "set immutable and append-only flags, making planted files hard to remove", false},
	"CHECKPOINT_RESTORE": {gradeMedium, "checkpoint/restore operations: choose PIDs and read other processes' memory maps", false},

	"CHOWN":         {gradeLow, "change any file's owner", true},
	"DAC_OVERRIDE":  {gradeLow, "bypass file read, write and execute permission checks", true},
	"FOWNER":        {gradeLow, "bypass checks that need the file's owner (chmod, utime)", true},
	"FSETID":        {gradeLow, "keep setuid and setgid bits when modifying files", true},
	"KILL":          {gradeLow, "signal any process in the namespace", true},
	"SETGID":        {gradeLow, "switch to any group id", true},
	"SETUID":        {gradeLow, "switch to any user id", true},
	"SETPCAP":       {gradeLow, "change capability bounding sets and securebits", true},
	"SETFCAP":       {gradeLow, "set file capabilities", true},
	"MKNOD":         {gradeLow, "create device nodes (the device cgroup still decides access)", true},
	"AUDIT_WRITE":   {gradeLow, "write records to the kernel audit log", true},
	"SYS_CHROOT":    {gradeLow, "chroot and change mount namespaces with setns", true},
	"LEASE":         {gradeLow, "take leases on files the process does not own", false},
	"WAKE_ALARM":    {gradeLow, "set alarms that wake the system", false},
	"BLOCK_SUSPEND": {gradeLow, "keep the system from suspending", false},
	"NET_BROADCAST": {gradeLow, "broadcast and multicast (unused by the kernel)", false},

	"NET_BIND_SERVICE": {"", "bind ports below 1024, in the container's own network namespace; restricted allows it", true},
}

// CapabilityCheck names the check an added capability is reported under
// ("" for NET_BIND_SERVICE and for names that are not capabilities).
func CapabilityCheck(name string) string { return capabilities[NormalizeCap(name)].grade }

// CapabilitiesReportedAs lists, sorted, the capabilities an addition of
// which the named check reports ("ALL" is not a capability and is left out).
func CapabilitiesReportedAs(check string) []string {
	var out []string
	for name, k := range capabilities {
		if k.grade == check && name != "ALL" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// capHits reports every added capability of the given grade, once each.
// For OCI, where CapAdd is every capability the process holds, the
// runtimes' default set is what capabilities-not-dropped reports instead.
func capHits(c *Container, grade string) []hit {
	var hs []hit
	seen := map[string]bool{}
	for _, raw := range c.CapAdd {
		cp := NormalizeCap(raw)
		k, ok := capabilities[cp]
		if !ok || k.grade != grade || seen[cp] || (c.Source == SourceOCI && k.dflt) {
			continue
		}
		seen[cp] = true
		hs = append(hs, hit{detail: "grants CAP_" + cp + " (" + k.why + ")", arg: cp, field: FieldCapAdd})
	}
	return hs
}

// unknownCaps reports added capability names that are not Linux
// capabilities; runtimes refuse to start such a container.
func unknownCaps(c *Container) []hit {
	fix := map[Source]string{
		SourceDocker:     "correct or remove --cap-add %s",
		SourceCompose:    "correct or remove %s in cap_add",
		SourceKubernetes: "correct or remove %s in securityContext.capabilities.add",
		SourceOCI:        "correct or remove %s in process.capabilities",
	}[c.Source]
	var hs []hit
	for _, raw := range c.CapAdd {
		if _, ok := capabilities[NormalizeCap(raw)]; !ok {
			hs = append(hs, hit{detail: "capability " + raw + " is not a Linux capability: the runtime refuses the container", arg: fmt.Sprintf(fix, raw), field: FieldCapAdd})
		}
	}
	return hs
}
