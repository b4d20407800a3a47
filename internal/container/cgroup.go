package container

import "strings"

// IDFromCgroup extracts a container id and runtime from one cgroup path
// (a line of /proc/PID/cgroup without its hierarchy prefix, or a cgroup v2
// path). ok is false for host processes.
//
// Layouts recognised:
//
//	/system.slice/docker-<64hex>.scope           docker, systemd driver
//	/docker/<64hex>                               docker, cgroupfs driver
//	/kubepods/.../cri-containerd-<64hex>.scope   containerd CRI, systemd
//	/kubepods/burstable/pod<uid>/<64hex>          containerd/docker CRI, cgroupfs
//	/.../crio-<64hex>.scope, crio-conmon-...     CRI-O
//	/machine.slice/libpod-<64hex>.scope           podman
func IDFromCgroup(path string) (id, runtime string, ok bool) {
	if id, runtime, ok = FullIDFromCgroup(path); ok {
		id = id[:12]
	}
	return id, runtime, ok
}

// FullIDFromCgroup is IDFromCgroup with the whole 64-digit id.
func FullIDFromCgroup(path string) (id, runtime string, ok bool) {
	// Walk components from the leaf: the id is in the innermost one.
	parts := strings.Split(strings.TrimRight(path, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		p := strings.TrimSuffix(parts[i], ".scope")
		for _, pre := range []struct{ prefix, runtime string }{
			{"docker-", "docker"}, {"cri-containerd-", "containerd"}, {"crio-", "cri-o"},
			{"libpod-", "podman"}, {"containerd-", "containerd"},
		} {
			if rest, found := strings.CutPrefix(p, pre.prefix); found && isHexID(rest) {
				return rest, pre.runtime, true
			}
		}
		if isHexID(p) {
			rt := "docker"
			if i > 0 {
				switch {
				case parts[i-1] == "docker":
					rt = "docker"
				case strings.HasPrefix(parts[i-1], "pod"), strings.Contains(path, "kubepods"):
					rt = "containerd"
				case parts[i-1] == "libpod_parent" || strings.Contains(path, "libpod"):
					rt = "podman"
				}
			}
			return p, rt, true
		}
	}
	return "", "", false
}

// runtimeMarkers are the cgroup path components container runtimes and
// orchestrators create, in the order RuntimeFromCgroup tries them.
var runtimeMarkers = []string{"docker", "libpod", "crio", "cri-containerd", "containerd", "kubepods", "lxc", "machine.slice", "actions_job", "garden", "ecs"}

// RuntimeFromCgroup names the runtime whose cgroup a path lies in, from the
// first (outermost) component that is a runtime's marker or starts with one
// followed by "-" or ".": "docker" for /docker/ID, "kubepods" for
// /kubepods/burstable/pod.../ID, "lxc" for /lxc.payload.c1. It also knows
// runtimes whose paths carry no container id (LXC, Garden, ECS).
func RuntimeFromCgroup(path string) (marker string, ok bool) {
	for _, p := range strings.Split(path, "/") {
		for _, m := range runtimeMarkers {
			if rest, found := strings.CutPrefix(p, m); found && (rest == "" || rest[0] == '-' || rest[0] == '.') {
				return m, true
			}
		}
	}
	return "", false
}

func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IDFromProcCgroup reads the container id from /proc/PID/cgroup contents:
// the cgroup v2 line ("0::/...") or, on v1/hybrid hosts, any hierarchy.
func IDFromProcCgroup(content string) (id, runtime string, ok bool) {
	for _, line := range strings.Split(content, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if id, rt, ok := IDFromCgroup(parts[2]); ok {
			return id, rt, true
		}
	}
	return "", "", false
}

// SplitImage splits an image reference into repository and tag:
// "registry:5000/team/app:1.2@sha256:..." -> ("registry:5000/team/app", "1.2", "sha256:...").
func SplitImage(ref string) (repo, tag, digest string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	slash := strings.LastIndexByte(ref, '/')
	if c := strings.LastIndexByte(ref, ':'); c > slash {
		return ref[:c], ref[c+1:], digest
	}
	if digest == "" {
		tag = "latest"
	}
	return ref, tag, digest
}
