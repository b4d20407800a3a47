package confine

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/selinux"
)

// Finding is one open breakout path or missing confinement, named by the
// internal/audit check slug where one applies so the two commands agree.
type Finding struct {
	Check    string         `json:"check"`
	Severity audit.Severity `json:"severity"`
	Title    string         `json:"title"`
	Detail   string         `json:"detail"`
	// Fix is phrased for `docker run`; `palisade audit` gives it for compose
	// files, Kubernetes manifests and OCI configs.
	Fix string `json:"fix"`

	// socket is the path of the runtime socket a runtime-socket-mount
	// finding is about, so a mount and a connection to it make one finding.
	socket    string
	reachable bool
}

// ReleaseAgentCheck is the slug for a writable cgroup v1 release_agent,
// which internal/audit cannot see from a configuration.
const ReleaseAgentCheck = "cgroup-release-agent-writable"

func auditFinding(slug, detail, arg string) Finding {
	k, ok := audit.LookupCheck(slug)
	if !ok {
		panic("confine: unknown audit check " + slug) // a typo in this package
	}
	return Finding{Check: slug, Severity: k.Severity, Title: k.Title, Detail: detail, Fix: k.Fix(audit.SourceDocker, arg)}
}

// SortFindings orders findings worst first, then by check and detail.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Detail < b.Detail
	})
}

// Pseudo filesystems a runtime mounts for every container; they are host
// exposure only when they appear where the runtime would not put them.
var containerFS = map[string]bool{
	"overlay": true, "fuse-overlayfs": true, "fuse.fuse-overlayfs": true, "aufs": true,
	"tmpfs": true, "devpts": true, "mqueue": true, "cgroup": true, "cgroup2": true,
	"shm": true, "ramfs": true, "nsfs": true, "binfmt_misc": true,
}

func under(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// MountFindings reports host filesystems visible in a container's mount
// table. Root is the bound path inside its own filesystem, so for a bind
// from the host's root filesystem it is the host path; a bind from another
// filesystem (a tmpfs /run, a separate /var) shows the path inside that one.
// Mounts below a reported mount (the host's /proc under a host / bind) are
// not reported again. The root filesystem being writable is reported too.
func MountFindings(mounts []Mount) []Finding {
	ms := append([]Mount(nil), mounts...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].MountPoint < ms[j].MountPoint })
	var out []Finding
	var reported []string
	for _, m := range ms {
		if m.MountPoint == "/" {
			if !m.ReadOnly {
				out = append(out, auditFinding("writable-root-fs", "the root filesystem ("+m.FSType+") is mounted read-write", ""))
			}
			continue
		}
		skip := false
		for _, r := range reported {
			if under(m.MountPoint, r) {
				skip = true
			}
		}
		if skip {
			continue
		}
		slug, what := classifyMount(m)
		if slug == "" {
			continue
		}
		detail := fmt.Sprintf("%s is mounted at %s", what, m.MountPoint)
		switch {
		case slug == "runtime-socket-mount" && m.ReadOnly:
			detail += " read-only; that does not help, the socket still takes API calls"
		case m.ReadOnly:
			detail += " read-only"
		}
		arg := m.Root
		if m.Anonymous() || slug == "runtime-socket-mount" {
			arg = m.MountPoint
		}
		f := auditFinding(slug, detail, arg)
		if slug == "runtime-socket-mount" {
			f.socket = m.MountPoint
		}
		out = append(out, f)
		reported = append(reported, m.MountPoint)
	}
	return out
}

// classifyMount says which check a mount triggers and describes it.
func classifyMount(m Mount) (slug, what string) {
	base := path.Base(m.MountPoint)
	if strings.HasSuffix(base, ".sock") {
		if k, why := audit.MountKind("/" + base); k == "runtime-socket-mount" {
			return k, fmt.Sprintf("%s (%s)", m.Root, why)
		}
	}
	switch m.FSType {
	case "proc":
		if !under(m.MountPoint, "/proc") {
			return "sensitive-host-mount", "a procfs (the host's /proc when bound from it)"
		}
		return "", ""
	case "sysfs":
		if !under(m.MountPoint, "/sys") {
			return "sensitive-host-mount", "a sysfs (the host's /sys when bound from it)"
		}
		return "", ""
	case "devtmpfs":
		return "sensitive-host-mount", "the host's device tree (devtmpfs)"
	}
	if containerFS[m.FSType] || m.Anonymous() {
		return "", ""
	}
	if m.Root == "/" {
		return "host-root-mount", fmt.Sprintf("the whole %s filesystem on %s (the host's / when that is its root device)", m.FSType, m.Source)
	}
	k, why := audit.MountKind(m.Root)
	if k == "" {
		return "", ""
	}
	return k, fmt.Sprintf("%s (%s) from %s", m.Root, why, m.Source)
}

// Posture is what /proc/self/status and the LSM interfaces say about the
// process.
type Posture struct {
	EffectiveUID     int
	NoNewPrivs       bool
	SeccompMode      string // disabled, strict, filter
	AppArmorInKernel bool
	AppArmorProfile  string
	SELinuxEnabled   bool
	SELinuxLabel     string
	// InitialUserNS is true when uid_map and gid_map are the identity map:
	// the process shares the host's user namespace.
	InitialUserNS bool
	// Effective, Permitted and Bounding are capability names as
	// /proc/PID/status decodes them (lower case, no cap_ prefix).
	Effective, Permitted, Bounding []string
}

// Capabilities with a known path from a container to the host: those
// internal/audit's dangerous-capability check reports, spelled as
// /proc/PID/status decodes them.
var dangerousCaps = func() []string {
	var out []string
	for _, c := range audit.CapabilitiesReportedAs("dangerous-capability") {
		out = append(out, strings.ToLower(c))
	}
	return out
}()

// PostureFindings reports missing confinement: root in the host user
// namespace, dangerous capabilities, no_new_privs off, no seccomp, an
// unconfined AppArmor profile or SELinux type.
func PostureFindings(p Posture) []Finding {
	var out []Finding
	if p.EffectiveUID == 0 && p.InitialUserNS {
		out = append(out, auditFinding("runs-as-root", "effective uid 0 in the host's user namespace: root here is root on the host", ""))
	}
	if p.InitialUserNS {
		f := auditFinding("host-userns", "uid_map and gid_map are the identity map: ids here are the host's ids", "")
		f.Fix += ", and if the daemon maps no user namespaces at all, enable them (dockerd --userns-remap=default) or run Docker rootless"
		out = append(out, f)
	}
	has := func(set []string, c string) bool {
		for _, s := range set {
			if s == c {
				return true
			}
		}
		return false
	}
	// Capabilities in the same sets make one finding, not one line each.
	var capOrder []string
	capsBySets := map[string][]string{}
	for _, c := range dangerousCaps {
		var sets []string
		if has(p.Effective, c) {
			sets = append(sets, "effective")
		}
		if has(p.Permitted, c) {
			sets = append(sets, "permitted")
		}
		inBnd := has(p.Bounding, c)
		if len(sets) == 0 && !(inBnd && !p.NoNewPrivs) {
			continue
		}
		where := fmt.Sprintf("in the %s set", strings.Join(sets, " and "))
		if len(sets) == 0 {
			where = "only in the bounding set"
		} else if inBnd {
			where = fmt.Sprintf("in the %s and bounding sets", strings.Join(sets, ", "))
		}
		if capsBySets[where] == nil {
			capOrder = append(capOrder, where)
		}
		capsBySets[where] = append(capsBySets[where], strings.ToUpper(c))
	}
	for _, where := range capOrder {
		caps := capsBySets[where]
		names := "CAP_" + strings.Join(caps, ", CAP_")
		verb, it := "is", "it"
		if len(caps) > 1 {
			verb, it = "are", "them"
		}
		detail := fmt.Sprintf("%s %s %s", names, verb, where)
		if where == "only in the bounding set" {
			detail += ", and with no_new_privs off a setuid or file-capability program can raise " + it
		}
		if !p.InitialUserNS {
			detail += " (of a non-initial user namespace: it acts only on what that namespace owns)"
		}
		out = append(out, auditFinding("dangerous-capability", detail, strings.Join(caps, " --cap-add ")))
	}
	if !p.NoNewPrivs {
		out = append(out, auditFinding("no-new-privileges-missing", "no_new_privs is off: setuid programs and file capabilities can raise privilege", ""))
	}
	if p.SeccompMode == "disabled" {
		out = append(out, auditFinding("seccomp-unconfined", "no seccomp filter: every syscall reaches the kernel", ""))
	}
	if p.AppArmorInKernel && p.AppArmorProfile == "unconfined" {
		out = append(out, auditFinding("apparmor-unconfined", "AppArmor is in the kernel but this process is unconfined", ""))
	}
	if p.SELinuxEnabled {
		parts := strings.Split(p.SELinuxLabel, ":")
		if len(parts) >= 3 && selinux.HostDomain(parts[2]) != "" {
			out = append(out, auditFinding("selinux-disabled", fmt.Sprintf("SELinux type %s is not confined: %s", parts[2], selinux.HostDomain(parts[2])), parts[2]))
		}
	}
	return out
}

// SocketCheck is the result of trying one container-runtime socket path.
type SocketCheck struct {
	Path string `json:"path"`
	// Connected is true when a connect(2) to it succeeded.
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
}

// RuntimeSocketPaths are the API sockets of Docker, containerd, CRI-O and
// Podman at their default places.
var RuntimeSocketPaths = []string{
	"/var/run/docker.sock", "/run/docker.sock",
	"/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock",
	"/run/crio/crio.sock", "/var/run/crio/crio.sock",
	"/run/podman/podman.sock", "/var/run/podman/podman.sock",
	"/run/dockershim.sock", "/var/run/cri-dockerd.sock",
}

// SocketFindings reports each runtime socket that accepted a connection.
func SocketFindings(cs []SocketCheck) []Finding {
	var out []Finding
	for _, c := range cs {
		if c.Connected {
			f := auditFinding("runtime-socket-mount", c.Path+" accepts connections: its API can start a privileged container", c.Path)
			f.socket, f.reachable = c.Path, true
			out = append(out, f)
		}
	}
	return out
}

// MergeSocketFindings adds the reachable-socket findings to fs, folding
// each into the finding already made for the same socket file (its mount,
// or the same socket reached by another path, /var/run being /run), so one
// socket is one finding.
func MergeSocketFindings(fs, sockets []Finding) []Finding {
	canonical := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	seen := map[string]int{}
	for i, f := range fs {
		if f.socket != "" {
			seen[canonical(f.socket)] = i
		}
	}
	for _, s := range sockets {
		p := canonical(s.socket)
		if i, ok := seen[p]; ok {
			if !fs[i].reachable {
				fs[i].Detail += "; it accepts connections: its API can start a privileged container"
				fs[i].reachable = true
			}
			continue
		}
		seen[p] = len(fs)
		fs = append(fs, s)
	}
	return fs
}

// WriteCheck is the result of opening one sensitive kernel file for writing.
type WriteCheck struct {
	Path     string `json:"path"`
	Writable bool   `json:"writable"`
	Error    string `json:"error,omitempty"`
}

// ProcSysPaths are files under /proc whose write access is a known escape:
// core_pattern and modprobe name programs the host kernel runs as root.
var ProcSysPaths = []string{"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sysrq-trigger"}

// ReleaseAgentPaths lists the release_agent file of every cgroup v1
// hierarchy mounted at its root: writing it names a program the host runs
// as root when a cgroup empties.
func ReleaseAgentPaths(mounts []Mount) []string {
	var out []string
	for _, m := range mounts {
		if m.FSType == "cgroup" && m.Root == "/" {
			out = append(out, path.Join(m.MountPoint, "release_agent"))
		}
	}
	return out
}

// WriteFindings reports writable /proc/sys files (unmasked-proc) and
// writable release_agent files.
func WriteFindings(procSys, releaseAgents []WriteCheck) []Finding {
	var out []Finding
	for _, c := range procSys {
		if c.Writable {
			out = append(out, auditFinding("unmasked-proc", c.Path+" can be opened for writing", ""))
		}
	}
	var agents []string
	for _, c := range releaseAgents {
		if c.Writable {
			agents = append(agents, c.Path)
		}
	}
	if len(agents) > 0 {
		what := agents[0] + " can"
		if len(agents) > 1 {
			what = fmt.Sprintf("%d release_agent files (%s) can", len(agents), strings.Join(agents, ", "))
		}
		out = append(out, Finding{
			Check: ReleaseAgentCheck, Severity: audit.SeverityCritical,
			Title:  "cgroup release_agent writable",
			Detail: what + " be opened for writing: the host kernel runs the program named there as root when a cgroup empties",
			Fix: "do not bind the host's cgroup v1 hierarchies (or its /, whose submounts a :ro bind leaves writable before Docker 25) into the container, " +
				"drop --privileged and CAP_SYS_ADMIN, or move the host to cgroup v2, which has no release_agent",
		})
	}
	return out
}
