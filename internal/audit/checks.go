package audit

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Check is one breakout-vector or hardening check.
type Check struct {
	Slug     string
	Severity Severity
	Title    string
	// Breakout is the escape or damage the setting enables, in one sentence.
	Breakout string
	// Fixes are phrased in each source's own terms; %s is the finding's
	// argument (a path, a capability, a volume). A source without an entry
	// cannot express the setting and is never checked for it.
	Fixes map[Source]string
	// PodScope findings belong to the group (a pod), not each container.
	PodScope bool
	eval     func(c *Container) []hit
	evalD    func(d *Daemon) []hit
}

// hit is one place a check fires: what was found, where, and the argument
// for the fix text.
type hit struct {
	detail, arg string
	// field locates the finding through the container's Lines; otherwise
	// line (and file, when not the container's) do.
	field Field
	line  int
	file  string
	// target, when set, replaces the container's target and group (a
	// compose project's volume, which belongs to no one service).
	target string
}

// Fix returns the fix for source s with arg filled in.
func (k *Check) Fix(s Source, arg string) string {
	f, ok := k.Fixes[s]
	if !ok {
		return ""
	}
	if strings.Contains(f, "%s") {
		return fmt.Sprintf(f, arg)
	}
	return f
}

// NormalizeCap upper-cases a capability name and strips a CAP_ prefix.
func NormalizeCap(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	return strings.TrimPrefix(n, "CAP_")
}

var runtimeSocketNames = map[string]bool{
	"docker.sock": true, "containerd.sock": true, "crio.sock": true, "podman.sock": true,
	"dockershim.sock": true, "cri-dockerd.sock": true, "containerd-shim.sock": true,
}

var runtimeSocketDirs = []string{
	"/var/run/docker", "/run/docker", "/var/run/containerd", "/run/containerd",
	"/var/run/crio", "/run/crio", "/var/run/podman", "/run/podman",
}

// Host paths whose exposure leaks host secrets or lets a writer replace what
// the host executes (the list, plus the binary and library trees CIS
// 5.6 names).
var sensitiveDirs = []string{
	"/etc", "/proc", "/sys", "/boot", "/dev", "/root", "/var/lib/docker",
	"/var/lib/kubelet", "/var/lib/containerd", "/usr", "/lib", "/lib64", "/bin", "/sbin",
}

// Directories whose children the runtime itself bind-mounts into containers
// (hosts files, named volumes, kubelet-managed volumes); such binds are not
// the user's doing and expose only the container's own data.
var runtimeManaged = []string{
	"/var/lib/docker/containers", "/var/lib/docker/volumes", "/var/lib/kubelet/pods",
	"/var/lib/containerd/io.containerd.grpc.v1.cri", "/run/containerd/io.containerd.grpc.v1.cri",
	"/var/run/containerd/io.containerd.grpc.v1.cri", "/var/lib/containers/storage/overlay-containers",
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// MountKind classifies a host path: the slug it triggers and why, or "".
func MountKind(hostPath string) (slug, why string) {
	if hostPath == "" {
		return "", ""
	}
	p := path.Clean("/" + hostPath)
	for _, d := range runtimeManaged {
		if rest, ok := strings.CutPrefix(p, d+"/"); ok && strings.Contains(rest, "/") {
			return "", ""
		}
	}
	switch {
	case p == "/":
		return "host-root-mount", "the host's whole filesystem"
	case runtimeSocketNames[path.Base(p)]:
		return "runtime-socket-mount", "a container runtime API socket"
	case p == "/run" || p == "/var/run" || p == "/var":
		return "runtime-socket-mount", "a directory holding container runtime sockets"
	}
	for _, d := range runtimeSocketDirs {
		if under(p, d) {
			return "runtime-socket-mount", "a container runtime's socket directory"
		}
	}
	if under(p, "/var/log") {
		return "sensitive-host-mount", "host logs under /var/log: a writer can plant symlinks the kubelet follows as root when it serves container logs"
	}
	if strings.HasPrefix(p, "/dev/") && !under(p, "/dev/shm") && !under(p, "/dev/pts") && !under(p, "/dev/mqueue") {
		return "device-access", "a host device node"
	}
	for _, d := range sensitiveDirs {
		if under(p, d) {
			return "sensitive-host-mount", "sensitive host path " + d
		}
		if strings.HasPrefix(d, p+"/") {
			return "sensitive-host-mount", "a directory containing " + d
		}
	}
	parts := strings.Split(p, "/")
	for _, part := range parts {
		if part == ".ssh" {
			return "sensitive-host-mount", "SSH keys"
		}
	}
	if p == "/home" || (len(parts) == 3 && parts[1] == "home") {
		return "sensitive-host-mount", "a home directory containing ~/.ssh"
	}
	return "", ""
}

func mountHits(c *Container, slug string) []hit {
	var hs []hit
	for _, m := range c.Mounts {
		k, why := MountKind(m.HostPath)
		if k != slug || (m.InProject && k == "sensitive-host-mount") {
			continue
		}
		d := fmt.Sprintf("bind mounts %s (%s) at %s", m.HostPath, why, m.Destination)
		if m.ReadOnly {
			if slug == "runtime-socket-mount" {
				d += "; read-only does not help, the socket still takes API calls"
			} else {
				d += " read-only"
			}
		}
		hs = append(hs, hit{detail: d, arg: mountRef(c, m), line: m.Line, file: m.File})
	}
	return hs
}

func mountRef(c *Container, m Mount) string {
	if c.Source == SourceKubernetes && m.Name != "" {
		return fmt.Sprintf("%q (hostPath %s)", m.Name, m.HostPath)
	}
	if m.HostPath != "" {
		return m.HostPath
	}
	return m.Destination
}

func flagAt(on bool, detail string, f Field) []hit {
	if !on {
		return nil
	}
	return []hit{{detail: detail, field: f}}
}

func flag(on bool, detail string, line int) []hit {
	if !on {
		return nil
	}
	return []hit{{detail: detail, line: line}}
}

var baseChecks = []*Check{
	{
		Slug: "runtime-socket-mount", Severity: SeverityCritical,
		Title:    "Container runtime socket mounted",
		Breakout: "Whoever reaches the runtime socket can start a privileged container with the host's / mounted, which is root on the host.",
		Fixes: map[Source]string{
			SourceDocker:     "remove the bind of %s (-v/--mount); if the workload must talk to the runtime, give it a filtering API proxy instead",
			SourceCompose:    "remove the volumes entry that binds %s; if the service must talk to the runtime, point it at a filtering API proxy instead",
			SourceKubernetes: "remove the hostPath volume %s and its volumeMounts",
			SourceOCI:        "remove the bind mount of %s from mounts",
		},
		eval: func(c *Container) []hit { return mountHits(c, "runtime-socket-mount") },
	},
	{
		Slug: "host-root-mount", Severity: SeverityCritical,
		Title:    "Host root filesystem mounted",
		Breakout: "A writable host / lets the container edit /etc/shadow, cron or systemd units; even read-only it exposes every secret on the host.",
		Fixes: map[Source]string{
			SourceDocker:     "remove the bind of / (-v /:...); bind only the directory the workload needs, read-only (:ro)",
			SourceCompose:    "remove the volumes entry that binds /; bind only the directory the service needs with read_only: true",
			SourceKubernetes: "remove the hostPath volume %s; use a narrower path with readOnly: true, or a PersistentVolume",
			SourceOCI:        "remove the bind mount of / from mounts",
		},
		eval: func(c *Container) []hit { return mountHits(c, "host-root-mount") },
	},
	{
		Slug: "sensitive-host-mount", Severity: SeverityHigh,
		Title:    "Sensitive host path mounted",
		Breakout: "Host configuration, kernel interfaces, credentials or other containers' data become readable (or writable) from inside the container.",
		Fixes: map[Source]string{
			SourceDocker:     "remove the bind of %s, or narrow it to the one file the workload needs and add :ro",
			SourceCompose:    "remove the volumes entry for %s, or narrow it to the one file the service needs with read_only: true",
			SourceKubernetes: "remove the hostPath volume %s, or narrow it and set readOnly: true on the volumeMount (prefer a ConfigMap/Secret)",
			SourceOCI:        "remove the bind mount of %s, or narrow it and add the ro option",
		},
		eval: func(c *Container) []hit { return mountHits(c, "sensitive-host-mount") },
	},
	{
		Slug: "host-path-volume", Severity: SeverityMedium, PodScope: true,
		Title:    "Sensitive host path declared as a volume",
		Breakout: "The host path is one volumeMount away: an ephemeral debug container or a one-line edit mounts it, and reviews that look only at containers miss it.",
		Fixes: map[Source]string{
			SourceKubernetes: "remove the unused hostPath volume %s from spec.volumes",
			SourceCompose:    "remove the unused top-level volume %s, whose driver_opts bind a host path",
		},
		eval: func(c *Container) []hit {
			var hs []hit
			for _, v := range c.Volumes {
				k, why := MountKind(v.HostPath)
				if k == "" || (v.InProject && k == "sensitive-host-mount") {
					continue
				}
				d := fmt.Sprintf("volume %q binds %s (%s) but no container mounts it", v.Name, v.HostPath, why)
				hs = append(hs, hit{detail: d, arg: fmt.Sprintf("%q (%s)", v.Name, v.HostPath), line: v.Line, file: v.File, target: v.Target})
			}
			return hs
		},
	},
	{
		Slug: "privileged", Severity: SeverityCritical,
		Title:    "Privileged container",
		Breakout: "A privileged container has every capability, every host device and no seccomp or AppArmor confinement; mounting the host disk is one command away.",
		Fixes: map[Source]string{
			SourceDocker:     "drop --privileged; add back only the capabilities (--cap-add) and devices (--device) the workload needs",
			SourceCompose:    "remove privileged: true; list only the capabilities (cap_add) and devices the service needs",
			SourceKubernetes: "set securityContext.privileged: false and add only the needed capabilities under securityContext.capabilities.add",
		},
		eval: func(c *Container) []hit { return flagAt(c.Privileged, "runs privileged", FieldPrivileged) },
	},
	{
		Slug: "dangerous-capability", Severity: SeverityHigh,
		Title:    "Dangerous capability granted",
		Breakout: "Each of these capabilities alone has a known path from the container to the host kernel or to other workloads.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --cap-add %s",
			SourceCompose:    "remove %s from cap_add",
			SourceKubernetes: "remove %s from securityContext.capabilities.add",
			SourceOCI:        "remove CAP_%s from every set in process.capabilities",
		},
		eval: func(c *Container) []hit { return capHits(c, gradeHigh) },
	},
	{
		Slug: "risky-capability", Severity: SeverityMedium,
		Title:    "Capability with host-wide effect granted",
		Breakout: "These capabilities act on state the container shares with the host (clock, kernel log, audit, memory, scheduling) or are prerequisites of known kernel exploits; Pod Security Standards (baseline) do not allow adding them.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --cap-add %s",
			SourceCompose:    "remove %s from cap_add",
			SourceKubernetes: "remove %s from securityContext.capabilities.add",
			SourceOCI:        "remove CAP_%s from every set in process.capabilities",
		},
		eval: func(c *Container) []hit { return capHits(c, gradeMedium) },
	},
	{
		Slug: "added-capability", Severity: SeverityLow,
		Title:    "Capability added",
		Breakout: "Each added capability widens what code running in the container can do to files and processes it shares; Pod Security Standards (restricted) allow adding only NET_BIND_SERVICE.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --cap-add %s unless the workload needs it",
			SourceCompose:    "remove %s from cap_add unless the service needs it",
			SourceKubernetes: "remove %s from securityContext.capabilities.add unless the container needs it",
			SourceOCI:        "remove CAP_%s from process.capabilities unless the workload needs it",
		},
		eval: func(c *Container) []hit { return capHits(c, gradeLow) },
	},
	{
		Slug: "capabilities-not-dropped", Severity: SeverityLow,
		Title:    "Default capabilities not dropped",
		Breakout: "The runtime's default set keeps CAP_NET_RAW (ARP and DNS spoofing on the bridge), CAP_MKNOD and others most workloads never use, widening every other escape.",
		Fixes: map[Source]string{
			SourceDocker:     "add --cap-drop ALL and --cap-add only what the workload needs",
			SourceCompose:    "set cap_drop: [ALL] and list only the needed capabilities in cap_add",
			SourceKubernetes: "set securityContext.capabilities.drop: [\"ALL\"] and add back only what the container needs",
			SourceOCI:        "remove %s from process.capabilities and keep only what the workload needs",
		},
		eval: func(c *Container) []hit {
			if c.DropsAll || c.Privileged {
				return nil
			}
			if c.Source == SourceOCI {
				if len(c.KeptCaps) == 0 {
					return nil
				}
				names := make([]string, len(c.KeptCaps))
				for i, k := range c.KeptCaps {
					names[i] = "CAP_" + k
				}
				list := strings.Join(names, ", ")
				return []hit{{detail: "capability sets keep " + list, arg: list, field: FieldCapDrop}}
			}
			return []hit{{detail: DefaultCapsKept, field: FieldCapDrop}}
		},
	},
	{
		Slug: "seccomp-unconfined", Severity: SeverityMedium,
		Title:    "Seccomp disabled",
		Breakout: "Without a seccomp filter every syscall reaches the kernel, including the rarely used ones most kernel-exploit escapes depend on.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --security-opt seccomp=unconfined (Docker's default profile then applies) or pass --security-opt seccomp=PROFILE.json",
			SourceCompose:    "remove seccomp:unconfined from security_opt, or set security_opt: [\"seccomp=PROFILE.json\"]",
			SourceKubernetes: "set securityContext.seccompProfile.type: RuntimeDefault (or Localhost with localhostProfile)",
			SourceOCI:        "add a linux.seccomp section (for example one made by `palisade profile seccomp`)",
		},
		eval: func(c *Container) []hit {
			switch {
			case c.Seccomp == "unconfined":
				return flagAt(true, "seccomp is explicitly unconfined", FieldSeccomp)
			case c.SeccompUnset:
				d := "no seccomp profile set"
				if c.Source == SourceKubernetes {
					d = "no seccompProfile set; the kubelet default is Unconfined unless --seccomp-default is on"
				}
				return flagAt(true, d, FieldSecurity)
			}
			return nil
		},
	},
	{
		Slug: "unreadable-security-setting", Severity: SeverityMedium,
		Title:    "Security setting cannot be read",
		Breakout: "What confines the container is unknown: the runtime rejects the setting, ignores it or falls back to a default that may be no confinement at all, so it cannot be counted as protection.",
		Fixes: map[Source]string{
			SourceDocker: "%s", SourceCompose: "%s", SourceKubernetes: "%s", SourceOCI: "%s",
		},
		eval: func(c *Container) []hit {
			hs := unknownCaps(c)
			for _, u := range c.Unreadable {
				h := hit{detail: u.Detail, arg: u.Fix, field: u.Field}
				if u.Line > 0 {
					h.field, h.line, h.file = 0, u.Line, c.FieldFiles[u.Field]
				}
				hs = append(hs, h)
			}
			return hs
		},
	},
	{
		Slug: "apparmor-unconfined", Severity: SeverityMedium,
		Title:    "AppArmor disabled",
		Breakout: "The runtime's AppArmor profile is what denies mount, writes to /proc/sys and /sys, and ptrace of the host; unconfined removes that layer.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --security-opt apparmor=unconfined (docker-default then applies) or pass apparmor=PROFILE",
			SourceCompose:    "remove apparmor:unconfined from security_opt, or name a profile with apparmor=PROFILE",
			SourceKubernetes: "set securityContext.appArmorProfile.type: RuntimeDefault (or Localhost) and drop any unconfined AppArmor annotation",
			SourceOCI:        "set process.apparmorProfile to a loaded profile",
		},
		eval: func(c *Container) []hit {
			return flagAt(strings.EqualFold(c.AppArmor, "unconfined"), "AppArmor profile is unconfined", FieldAppArmor)
		},
	},
	{
		Slug: "selinux-disabled", Severity: SeverityMedium,
		Title:    "SELinux separation disabled",
		Breakout: "Without the container_t label the process is not kept out of host files and other containers' files by SELinux.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --security-opt label=disable (and any label=type: naming a host domain such as spc_t)",
			SourceCompose:    "remove label:disable (or a label:type: naming a host domain such as spc_t) from security_opt",
			SourceKubernetes: "remove securityContext.seLinuxOptions.type %s and let the runtime assign container_t",
			SourceOCI:        "set process.selinuxLabel to a confined type such as container_t",
		},
		eval: func(c *Container) []hit {
			if c.SELinuxDisabled == "" {
				return nil
			}
			arg, _, _ := strings.Cut(strings.TrimPrefix(c.SELinuxDisabled, "SELinux type "), ":")
			return []hit{{detail: c.SELinuxDisabled, arg: arg, field: FieldSELinux}}
		},
	},
	{
		Slug: "selinux-custom-options", Severity: SeverityMedium,
		Title:    "Custom SELinux user, role or type",
		Breakout: "An SELinux user, role or process type other than the container types can grant transitions and access the container policy withholds; Pod Security Standards (baseline) forbid them.",
		Fixes: map[Source]string{
			SourceDocker:     "remove the --security-opt label=user:, label=role: and label=type: options (or use type:container_t)",
			SourceCompose:    "remove the label=user:, label=role: and label=type: entries from security_opt (or use type:container_t)",
			SourceKubernetes: "remove seLinuxOptions.user and .role, and set .type only to container_t, container_init_t, container_kvm_t or container_engine_t",
		},
		eval: func(c *Container) []hit {
			var hs []hit
			for _, d := range c.SELinuxCustom {
				hs = append(hs, hit{detail: d, field: FieldSELinuxOptions})
			}
			return hs
		},
	},
	{
		Slug: "no-new-privileges-missing", Severity: SeverityMedium,
		Title:    "no-new-privileges not set",
		Breakout: "A setuid binary or file capability in the image can raise the process's privileges after an attacker gets code execution.",
		Fixes: map[Source]string{
			SourceDocker:     "add --security-opt no-new-privileges",
			SourceCompose:    "add no-new-privileges:true to security_opt",
			SourceKubernetes: "set securityContext.allowPrivilegeEscalation: false",
			SourceOCI:        "set process.noNewPrivileges: true",
		},
		eval: func(c *Container) []hit {
			if c.NoNewPrivileges {
				return nil
			}
			d := "no-new-privileges is not set"
			if c.Source == SourceKubernetes {
				d = "allowPrivilegeEscalation is not false"
				if c.Privileged {
					d = "allowPrivilegeEscalation is always true for a privileged container"
				}
			}
			return flagAt(true, d, FieldNoNewPrivileges)
		},
	},
	{
		Slug: "runs-as-root", Severity: SeverityMedium,
		Title:    "Runs as root",
		Breakout: "uid 0 in the container is uid 0 on the host; any mount, device or kernel bug that crosses the boundary does so as root.",
		Fixes: map[Source]string{
			SourceDocker:     "run as an unprivileged user: --user 10001:10001 (or USER in the Dockerfile), or enable userns-remap on the daemon",
			SourceCompose:    "set user: \"10001:10001\" (or USER in the image)",
			SourceKubernetes: "set securityContext.runAsNonRoot: true and runAsUser to a non-zero uid (or hostUsers: false for a user namespace)",
			SourceOCI:        "set process.user.uid and gid to non-zero ids, or add a user namespace with uidMappings",
		},
		eval: func(c *Container) []hit { return flagAt(c.RunsAsRoot != "", c.RunsAsRoot, FieldUser) },
	},
	{
		Slug: "host-pid", Severity: SeverityHigh, PodScope: true,
		Title:    "Shares the host PID namespace",
		Breakout: "Host processes are visible and, with CAP_SYS_PTRACE or as root, reachable through /proc/PID/root and ptrace.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --pid host",
			SourceCompose:    "remove pid: host",
			SourceKubernetes: "remove hostPID: true",
			SourceOCI:        "add {\"type\": \"pid\"} to linux.namespaces",
		},
		eval: func(c *Container) []hit {
			return flagAt(c.HostPID, "shares the host PID namespace", FieldHostPID)
		},
	},
	{
		Slug: "host-network", Severity: SeverityHigh, PodScope: true,
		Title:    "Shares the host network namespace",
		Breakout: "Services bound to the host's loopback (kubelet, Docker API on 127.0.0.1, cloud metadata proxies) become reachable, and traffic can be sniffed.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --network host and publish only the needed ports (-p)",
			SourceCompose:    "remove network_mode: host and publish only the needed ports",
			SourceKubernetes: "remove hostNetwork: true; expose the port through a Service",
			SourceOCI:        "add {\"type\": \"network\"} to linux.namespaces",
		},
		eval: func(c *Container) []hit {
			return flagAt(c.HostNetwork, "shares the host network namespace", FieldHostNetwork)
		},
	},
	{
		Slug: "host-ipc", Severity: SeverityMedium, PodScope: true,
		Title:    "Shares the host IPC namespace",
		Breakout: "Host shared memory and message queues can be read and written, leaking or corrupting other processes' data.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --ipc host",
			SourceCompose:    "remove ipc: host",
			SourceKubernetes: "remove hostIPC: true",
			SourceOCI:        "add {\"type\": \"ipc\"} to linux.namespaces",
		},
		eval: func(c *Container) []hit {
			return flagAt(c.HostIPC, "shares the host IPC namespace", FieldHostIPC)
		},
	},
	{
		Slug: "host-uts", Severity: SeverityLow, PodScope: true,
		Title:    "Shares the host UTS namespace",
		Breakout: "The container can change the host's hostname, confusing logs and anything that trusts it.",
		Fixes: map[Source]string{
			SourceDocker:  "remove --uts host",
			SourceCompose: "remove uts: host",
			SourceOCI:     "add {\"type\": \"uts\"} to linux.namespaces",
		},
		eval: func(c *Container) []hit {
			return flagAt(c.HostUTS, "shares the host UTS namespace", FieldHostUTS)
		},
	},
	{
		Slug: "host-userns", Severity: SeverityMedium, PodScope: true,
		Title:    "Opts out of user-namespace remapping",
		Breakout: "On a daemon with userns-remap this container's root is the host's real root again.",
		Fixes: map[Source]string{
			SourceDocker:  "remove --userns host",
			SourceCompose: "remove userns_mode: host",
			SourceOCI:     "give the container its own user namespace with uidMappings instead of joining the host's",
		},
		eval: func(c *Container) []hit {
			return flagAt(c.HostUserns, "uses the host user namespace", FieldHostUserns)
		},
	},
	{
		Slug: "writable-root-fs", Severity: SeverityLow,
		Title:    "Root filesystem is writable",
		Breakout: "An attacker can drop tools and persist changes to binaries inside the container, which makes every further step easier.",
		Fixes: map[Source]string{
			SourceDocker:     "add --read-only (with --tmpfs /tmp for scratch space)",
			SourceCompose:    "set read_only: true (with tmpfs: [/tmp] for scratch space)",
			SourceKubernetes: "set securityContext.readOnlyRootFilesystem: true (mount an emptyDir for scratch space)",
			SourceOCI:        "set root.readonly: true",
		},
		eval: func(c *Container) []hit {
			return flagAt(!c.ReadOnlyRoot, "the root filesystem is writable", FieldReadOnlyRoot)
		},
	},
	{
		Slug: "no-memory-limit", Severity: SeverityLow,
		Title:    "No memory limit",
		Breakout: "One container can exhaust host memory and push the OOM killer onto other workloads or host daemons.",
		Fixes: map[Source]string{
			SourceDocker:     "add --memory (e.g. --memory 512m)",
			SourceCompose:    "set mem_limit (or deploy.resources.limits.memory)",
			SourceKubernetes: "set resources.limits.memory",
			SourceOCI:        "set linux.resources.memory.limit",
		},
		eval: func(c *Container) []hit {
			if c.Ephemeral {
				return nil
			}
			return flagAt(c.MemoryLimit <= 0, "no memory limit", FieldMemory)
		},
	},
	{
		Slug: "no-pids-limit", Severity: SeverityLow,
		Title:    "No PIDs limit",
		Breakout: "A fork bomb in the container exhausts the host's process table and takes the node down.",
		Fixes: map[Source]string{
			SourceDocker:  "add --pids-limit (e.g. --pids-limit 256)",
			SourceCompose: "set pids_limit (or deploy.resources.limits.pids)",
			SourceOCI:     "set linux.resources.pids.limit",
		},
		eval: func(c *Container) []hit { return flagAt(c.PidsLimit <= 0, "no pids limit", FieldPids) },
	},
	{
		Slug: "device-access", Severity: SeverityHigh,
		Title:    "Host device exposed",
		Breakout: "Raw access to a host disk or kernel device lets the container read or rewrite the host's filesystems underneath it.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --device %s (or the matching --device-cgroup-rule)",
			SourceCompose:    "remove %s from devices (or device_cgroup_rules)",
			SourceKubernetes: "remove the hostPath volume %s; use a device plugin for hardware the workload really needs",
			SourceOCI:        "remove %s from linux.devices and deny it in linux.resources.devices",
		},
		eval: func(c *Container) []hit {
			var hs []hit
			for _, d := range c.Devices {
				hs = append(hs, hit{detail: "has access to host device " + d.Host, arg: d.Host, line: d.Line, file: d.File})
			}
			for _, m := range c.Mounts {
				if k, _ := MountKind(m.HostPath); k == "device-access" {
					hs = append(hs, hit{detail: "bind mounts host device " + m.HostPath, arg: mountRef(c, m), line: m.Line, file: m.File})
				}
			}
			return hs
		},
	},
	{
		Slug: "unmasked-proc", Severity: SeverityHigh,
		Title:    "/proc and /sys not masked",
		Breakout: "Unmasked /proc/sys, /proc/sysrq-trigger and /sys/kernel let the container change host kernel settings, for example core_pattern to run a program as host root.",
		Fixes: map[Source]string{
			SourceDocker:     "remove --security-opt systempaths=unconfined",
			SourceCompose:    "remove systempaths=unconfined (or podman's unmask=) from security_opt",
			SourceKubernetes: "remove securityContext.procMount: Unmasked (Default masks /proc)",
			SourceOCI:        "restore linux.maskedPaths and linux.readonlyPaths (/proc/kcore, /proc/sys, /proc/sysrq-trigger, /sys/firmware...)",
		},
		eval: func(c *Container) []hit { return flagAt(c.UnmaskedProc != "", c.UnmaskedProc, FieldProcMount) },
	},
	{
		Slug: "shared-mount-propagation", Severity: SeverityMedium,
		Title:    "Shared mount propagation",
		Breakout: "Mounts made inside the container propagate to the host, so the container can shadow host paths other processes trust.",
		Fixes: map[Source]string{
			SourceDocker:     "mount %s with the default rprivate propagation (drop shared/rshared)",
			SourceCompose:    "remove bind.propagation: shared/rshared from the volume %s",
			SourceKubernetes: "set mountPropagation to HostToContainer or None on the volumeMount of %s",
			SourceOCI:        "use rprivate or rslave propagation for %s",
		},
		eval: func(c *Container) []hit {
			var hs []hit
			for _, m := range c.Mounts {
				p := strings.ToLower(m.Propagation)
				if p == "shared" || p == "rshared" || p == "bidirectional" {
					line := m.Line
					if m.PropagationLine > 0 {
						line = m.PropagationLine
					}
					hs = append(hs, hit{detail: fmt.Sprintf("mount at %s uses %s propagation", m.Destination, m.Propagation), arg: mountRef(c, m), line: line, file: m.File})
				}
			}
			if c.RootPropagation != "" {
				hs = append(hs, hit{detail: "root filesystem uses " + c.RootPropagation + " propagation", arg: "linux.rootfsPropagation", line: c.Line})
			}
			return hs
		},
	},
	{
		Slug: "daemon-not-rootless", Severity: SeverityMedium,
		Title:    "Docker daemon runs as root without user namespaces",
		Breakout: "Every container escape, and every user allowed to reach the socket, lands as real root on the host.",
		Fixes: map[Source]string{
			SourceDaemon: "run the daemon rootless (as an unprivileged user: dockerd-rootless-setuptool.sh install, then DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock), or enable remapping with \"userns-remap\": \"default\" in /etc/docker/daemon.json and restart dockerd",
		},
		evalD: func(d *Daemon) []hit {
			return flag(!d.Rootless && !d.UsernsRemap, "the daemon runs as root and does not remap container users", 0)
		},
	},
	{
		Slug: "daemon-tcp-unauthenticated", Severity: SeverityCritical,
		Title:    "Docker API on TCP without client certificates",
		Breakout: "Anyone who can reach the port can start a privileged container, which is root on the host.",
		Fixes: map[Source]string{
			SourceDaemon: "stop listening on %s, or require client certificates (dockerd --tlsverify --tlscacert --tlscert --tlskey, or \"tlsverify\": true in daemon.json); use ssh://host for remote access",
		},
		evalD: func(d *Daemon) []hit {
			var hs []hit
			for _, a := range d.TCP {
				hs = append(hs, hit{detail: "the Docker API is reachable at " + a + " without TLS client verification", arg: a})
			}
			return hs
		},
	},
	{
		Slug: "daemon-default-seccomp-disabled", Severity: SeverityHigh,
		Title:    "Daemon's default seccomp profile disabled",
		Breakout: "Every container started without its own profile reaches the full kernel syscall surface.",
		Fixes: map[Source]string{
			SourceDaemon: "remove \"seccomp-profile\": \"unconfined\" from /etc/docker/daemon.json (or --seccomp-profile from dockerd) so the built-in default applies; if seccomp is missing entirely, use a kernel built with CONFIG_SECCOMP",
		},
		evalD: func(d *Daemon) []hit {
			switch d.Seccomp {
			case "":
				return flag(true, "the daemon reports no seccomp support", 0)
			case "unconfined":
				return flag(true, "the daemon's default seccomp profile is unconfined", 0)
			}
			return nil
		},
	},
}

// checks are every check, in the order they are documented.
var checks = append(baseChecks, kernelChecks...)

// kernelChecks are the kernel-exposure checks (docs/kernel-exposure.md):
// only the live engine source fills Container.Kernel and Daemon.Runtime.
var kernelChecks = []*Check{
	{
		Slug: "kernel-bug-reachable", Severity: SeverityHigh,
		Title:    "Known container-breakout kernel bug reachable",
		Breakout: "The host kernel has a bug that has been used to escape containers or gain root in one, and this container meets every precondition for reaching it: one exploit is a host compromise.",
		Fixes:    map[Source]string{SourceDocker: "%s"},
		eval:     func(c *Container) []hit { return kernelHits(c, "reachable") },
	},
	{
		Slug: "kernel-bug-unverified", Severity: SeverityMedium,
		Title:    "Kernel bug reachable unless the vendor fixed it",
		Breakout: "The kernel's upstream version is in a breakout bug's affected range (or could not be read) and the container meets every precondition; whether the distribution backported the fix only its advisory says.",
		Fixes:    map[Source]string{SourceDocker: "%s"},
		eval: func(c *Container) []hit {
			return append(kernelHits(c, "vendor-check"), kernelHits(c, "unknown")...)
		},
	},
	{
		Slug: "kernel-attack-surface", Severity: SeverityLow,
		Title:    "Container reaches the code of past breakout bugs",
		Breakout: "Every precondition of these (fixed) breakout bugs holds for this container: the next bug in the same code (user namespaces, netfilter, io_uring, packet sockets) reaches the host kernel from it too.",
		Fixes:    map[Source]string{SourceDocker: "%s"},
		eval:     kernelSurface,
	},
	{
		Slug: "runtime-bug", Severity: SeverityHigh,
		Title:    "Container runtime has a known breakout bug",
		Breakout: "The runc version the daemon reports is in the affected range of a runtime breakout (or its version could not be read, or a distribution package may carry the fix).",
		Fixes:    map[Source]string{SourceDaemon: "%s"},
		evalD: func(d *Daemon) []hit {
			var hs []hit
			for _, k := range d.Runtime {
				if k.Outcome == "reachable" || k.Outcome == "vendor-check" || k.Outcome == "unknown" {
					hs = append(hs, hit{detail: k.Bug + " " + k.Name + " (" + k.Outcome + "): " + k.Detail, arg: k.Fix})
				}
			}
			return hs
		},
	},
}

func kernelHits(c *Container, outcome string) []hit {
	var hs []hit
	for _, k := range c.Kernel {
		if k.Outcome == outcome {
			hs = append(hs, hit{detail: k.Bug + " " + k.Name + ": " + k.Detail, arg: k.Fix, line: c.Line})
		}
	}
	return hs
}

// kernelSurface is one finding listing the fixed bugs whose code the
// container can reach, and what would close that code off.
func kernelSurface(c *Container) []hit {
	var ids, fixes []string
	for _, k := range c.Kernel {
		if (k.Outcome != "fixed" && k.Outcome != "not-affected") || !k.CodeReachable || k.Fix == "" {
			continue
		}
		ids = append(ids, k.Bug+" "+k.Name)
		for _, f := range strings.Split(k.Fix, "; ") {
			if f != "" && !slices.Contains(fixes, f) {
				fixes = append(fixes, f)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	detail := fmt.Sprintf("every precondition holds for %d fixed breakout bugs: %s", len(ids), strings.Join(ids, ", "))
	return []hit{{detail: detail, arg: strings.Join(fixes, "; "), line: c.Line}}
}

var checkBySlug = func() map[string]*Check {
	m := make(map[string]*Check, len(checks))
	for _, k := range checks {
		m[k.Slug] = k
	}
	return m
}()

// Checks returns every check in the order they are documented.
func Checks() []*Check { return checks }

// LookupCheck returns the check with the given slug.
func LookupCheck(slug string) (*Check, bool) {
	k, ok := checkBySlug[slug]
	return k, ok
}

// Finding is one problem in one container (or daemon).
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Target   string   `json:"target"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Fix      string   `json:"fix"`
	Detail   string   `json:"detail"`
	Breakout string   `json:"breakout"`
	Source   Source   `json:"source"`
	// Group is the workload, service or container the finding is shown under.
	Group string `json:"group"`
	// ContainerLine is where the container is defined; an inline ignore there
	// covers all its findings.
	ContainerLine int `json:"-"`
}

// Audit runs every applicable check over c.
func Audit(c *Container) []Finding {
	var out []Finding
	for _, k := range checks {
		if k.eval == nil || c.Skip[k.Slug] {
			continue
		}
		if _, ok := k.Fixes[c.Source]; !ok {
			continue
		}
		for _, h := range k.eval(c) {
			target, group := c.Target, c.group()
			if k.PodScope {
				target = group
			}
			if h.target != "" {
				target, group = h.target, h.target
			}
			line, file := h.line, h.file
			if h.field != 0 {
				line, file = c.line(h.field), c.FieldFiles[h.field]
			}
			if file == "" {
				file = c.File
			}
			out = append(out, Finding{
				Check: k.Slug, Severity: k.Severity, Title: k.Title, Target: target,
				File: file, Line: line, Fix: k.Fix(c.Source, h.arg), Detail: h.detail,
				Breakout: k.Breakout, Source: c.Source, Group: group, ContainerLine: c.Line,
			})
		}
	}
	return out
}

// AuditDaemon runs the daemon-level checks over d.
func AuditDaemon(d *Daemon) []Finding {
	var out []Finding
	for _, k := range checks {
		if k.evalD == nil {
			continue
		}
		for _, h := range k.evalD(d) {
			out = append(out, Finding{
				Check: k.Slug, Severity: k.Severity, Title: k.Title, Target: d.Target,
				Fix: k.Fix(SourceDaemon, h.arg), Detail: h.detail, Breakout: k.Breakout,
				Source: SourceDaemon, Group: d.Target,
			})
		}
	}
	return out
}

// Normalize sorts findings into a stable order, the most severe first in
// each group and then by line, and removes duplicates (pod-level settings
// reported by each of a pod's containers).
func Normalize(fs []Finding) []Finding {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Detail < b.Detail
	})
	out := fs[:0]
	for i, f := range fs {
		if i > 0 && sameFinding(out[len(out)-1], f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func sameFinding(a, b Finding) bool {
	return a.Check == b.Check && a.Target == b.Target && a.File == b.File && a.Line == b.Line && a.Detail == b.Detail
}

// Filter drops findings whose check is in ignore or below min severity.
func Filter(fs []Finding, ignore map[string]bool, min Severity) []Finding {
	out := fs[:0]
	for _, f := range fs {
		if ignore[f.Check] || f.Severity < min {
			continue
		}
		out = append(out, f)
	}
	return out
}
