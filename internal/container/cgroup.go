package container

import (
	"strconv"
	"strings"
)

// Runtimes as container.type names them (Falco's spellings).
const (
	RuntimeDocker     = "docker"
	RuntimePodman     = "podman"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	// RuntimeCRI is a container under kubelet's cgroups whose layout does not say
	// which CRI runtime runs it (containerd's CRI and cri-dockerd both write
	// a bare id with the cgroupfs driver); the engine that knows the id
	// decides. Falco uses the same word for a CRI runtime it cannot name.
	RuntimeCRI = "cri"
	// RuntimeUnknown is an id no layout places (a 64-hex leaf under a custom
	// cgroup parent): every engine is asked, and if none knows it
	// container.type is <NA>, as Falco leaves it empty.
	RuntimeUnknown = ""
)

// Ref is what a cgroup path says about the container a process runs in.
type Ref struct {
	ID        string // as the runtime names it: 64 hex, or a containerd container name
	Runtime   string // RuntimeDocker, RuntimePodman, RuntimeContainerd, RuntimeCRIO, RuntimeCRI or RuntimeUnknown
	Namespace string // containerd namespace (/<namespace>/<id> layout)
	PodUID    string // Kubernetes pod uid (kubepods paths, both cgroup drivers)
	// User is the owner of a rootless engine (the UID of user@UID.service
	// on cgroup v2), -1 for rootful engines.
	User int
	// Unverified marks a layout that does not prove a container by itself
	// (containerd's /<namespace>/<name> with a non-hex name): it is one only
	// when an engine knows it, and otherwise the process is on the host.
	Unverified bool
}

// ShortID is the id as container.id shows it: 12 characters of a hex id,
// a containerd name whole.
func (r Ref) ShortID() string {
	if isHexID(r.ID) {
		return r.ID[:12]
	}
	return r.ID
}

// key names the container in the resolver's cache: containerd names are
// unique only within their namespace.
// Engines' event streams give full ids, callers may hold short ones.
func (r Ref) key() string {
	if len(r.ID) >= 12 && isHex(r.ID) {
		return r.ID[:12]
	}
	return r.Namespace + "/" + r.ID
}

// leafPrefixes are the unit names runtimes give a container's cgroup; the
// 64-hex id follows, then ".scope" with the systemd driver.
var leafPrefixes = []struct{ prefix, runtime string }{
	{"docker-", RuntimeDocker},             // dockerd, systemd driver (rootful and rootless)
	{"libpod-", RuntimePodman},             // podman, both managers (libpod-conmon-<id> is conmon: not hex)
	{"crio-", RuntimeCRIO},                 // CRI-O, both drivers (crio-conmon-<id> is conmon: not hex)
	{"cri-containerd-", RuntimeContainerd}, // containerd's CRI, systemd driver
	{"nerdctl-", RuntimeContainerd},        // nerdctl, systemd driver
}

// ParseCgroup reads one cgroup path (a line of /proc/PID/cgroup without
// its hierarchy prefix, or a cgroup v2 path). ok is false for host
// processes.
//
// Layouts recognised (the id is in the innermost component that has one;
// sub-cgroups below it, such as podman's /container, are the same
// container):
//
//	/docker/<id>                                         dockerd, cgroupfs driver
//	/system.slice/docker-<id>.scope                      dockerd, systemd driver
//	/user.slice/user-U.slice/user@U.service/user.slice/docker-<id>.scope   rootless dockerd (U is User)
//	/machine.slice/libpod-<id>.scope[/container]         podman, systemd manager (rootless: under user@U.service)
//	/libpod_parent/libpod-<id>                           podman, cgroupfs manager
//	/kubepods/<qos>/pod<uid>/<id>                        CRI (containerd or cri-dockerd), cgroupfs driver
//	/kubepods/<qos>/pod<uid>/crio-<id>                   CRI-O, cgroupfs driver
//	/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope   containerd CRI, systemd
//	/kubepods.slice/.../crio-<id>.scope                  CRI-O, systemd driver
//	/<namespace>/<id>                                    containerd (ctr, nerdctl), cgroupfs
//	/system.slice/nerdctl-<id>.scope                     nerdctl, systemd driver
//
// A pod uid comes from pod<uid> (cgroupfs) or kubepods-...-pod<uid>.slice
// (systemd, whose unit names spell the uid's dashes as underscores).
func ParseCgroup(path string) (ref Ref, ok bool) {
	path = strings.TrimRight(path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	ref, ok = parseLeaf(parts)
	if !ok {
		return Ref{}, false
	}
	ref.User = -1
	kube := false
	for _, p := range parts {
		switch {
		case strings.Contains(p, "kubepods"):
			kube = true
			if uid, found := podUIDFromSlice(p); found {
				ref.PodUID = uid
			}
		case kube && strings.HasPrefix(p, "pod") && isPodUID(p[3:]):
			ref.PodUID = p[3:]
		case strings.HasPrefix(p, "user@") && strings.HasSuffix(p, ".service"):
			if uid, err := strconv.Atoi(p[5 : len(p)-8]); err == nil && uid >= 0 {
				ref.User = uid
			}
		}
	}
	return ref, true
}

// parseLeaf finds the id and runtime, walking up from the leaf.
func parseLeaf(parts []string) (Ref, bool) {
	for i := len(parts) - 1; i >= 0; i-- {
		p := strings.TrimSuffix(parts[i], ".scope")
		for _, lp := range leafPrefixes {
			if rest, found := strings.CutPrefix(p, lp.prefix); found && isHexID(rest) {
				return Ref{ID: rest, Runtime: lp.runtime}, true
			}
		}
		if !isHexID(p) {
			continue
		}
		ref := Ref{ID: p, Runtime: RuntimeUnknown}
		if i == 0 {
			return ref, true
		}
		parent := parts[i-1]
		switch {
		case parent == "docker":
			ref.Runtime = RuntimeDocker
		case strings.HasPrefix(parent, "pod") && isPodUID(parent[3:]) && underKubepods(parts[:i]):
			ref.Runtime = RuntimeCRI
		case i == 1 && isContainerdName(parent) && !isSystemdUnit(parent) && !notContainerdParents[parent]:
			ref.Runtime, ref.Namespace = RuntimeContainerd, parent
		}
		return ref, true
	}
	// containerd's cgroupfs layout with a name that is not hex (ctr run
	// IMAGE NAME): exactly /<namespace>/<name>, never a systemd unit.
	if len(parts) == 2 && isContainerdName(parts[0]) && isContainerdName(parts[1]) &&
		!isSystemdUnit(parts[0]) && !isSystemdUnit(parts[1]) && !notContainerdParents[parts[0]] {
		return Ref{ID: parts[1], Runtime: RuntimeContainerd, Namespace: parts[0], Unverified: true}, true
	}
	return Ref{}, false
}

// notContainerdParents are two-level layouts other managers write.
var notContainerdParents = map[string]bool{"docker": true, "lxc": true, "libpod_parent": true, "kubepods": true, "machine": true}

func underKubepods(parts []string) bool {
	for _, p := range parts {
		if strings.Contains(p, "kubepods") {
			return true
		}
	}
	return false
}

// podUIDFromSlice reads kubelet's systemd slice name for a pod:
// kubepods-pod<uid>.slice (guaranteed) or kubepods-<qos>-pod<uid>.slice.
func podUIDFromSlice(p string) (string, bool) {
	name, found := strings.CutSuffix(p, ".slice")
	if !found {
		return "", false
	}
	i := strings.LastIndexByte(name, '-')
	if i < 0 || !strings.HasPrefix(name[i+1:], "pod") {
		return "", false
	}
	uid := strings.ReplaceAll(name[i+4:], "_", "-")
	return uid, isPodUID(uid)
}

// isPodUID accepts a UUID (API pods) or 32 hex digits (static pods, whose
// uid is a hash of their manifest).
func isPodUID(s string) bool {
	if len(s) != 36 && len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c == '-' && len(s) == 36 && (i == 8 || i == 13 || i == 18 || i == 23):
		default:
			return false
		}
	}
	return true
}

// isContainerdName follows containerd's identifier rule: alphanumerics
// joined by single '.', '_' or '-', at most 76 characters.
func isContainerdName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	prevSep := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		switch {
		case alnum:
			prevSep = false
		case c == '.' || c == '_' || c == '-':
			if prevSep {
				return false
			}
			prevSep = true
		default:
			return false
		}
	}
	return !prevSep
}

func isSystemdUnit(s string) bool {
	for _, suf := range []string{".slice", ".scope", ".service", ".mount", ".socket", ".swap"} {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}

func isHexID(s string) bool { return len(s) == 64 && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseProcCgroup reads /proc/PID/cgroup contents: the cgroup v2 line
// ("0::/...") or, on v1 and hybrid hosts, the first hierarchy whose path
// names a container.
func ParseProcCgroup(content string) (Ref, bool) {
	for _, line := range strings.Split(content, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if ref, ok := ParseCgroup(parts[2]); ok {
			return ref, true
		}
	}
	return Ref{}, false
}

// IDFromCgroup is ParseCgroup for callers that compare ids only: the
// short id and the runtime.
func IDFromCgroup(path string) (id, runtime string, ok bool) {
	ref, ok := ParseCgroup(path)
	return ref.ShortID(), ref.Runtime, ok
}

// FullIDFromCgroup is IDFromCgroup with the whole id; a layout only an
// engine can confirm (Ref.Unverified) is not an id.
func FullIDFromCgroup(path string) (id, runtime string, ok bool) {
	ref, ok := ParseCgroup(path)
	if !ok || ref.Unverified {
		return "", "", false
	}
	return ref.ID, ref.Runtime, true
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

// IDFromProcCgroup is ParseProcCgroup for callers that compare ids only.
func IDFromProcCgroup(content string) (id, runtime string, ok bool) {
	ref, ok := ParseProcCgroup(content)
	return ref.ShortID(), ref.Runtime, ok
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
