package container

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Socket is an Engine API endpoint found on the host.
type Socket struct {
	Host    string // unix:///run/podman/podman.sock, or DOCKER_HOST as given
	Runtime string // RuntimeDocker, RuntimePodman (both the Docker Engine API) or RuntimeContainerd (its gRPC API)
	Owner   int    // uid of a rootless engine's user, -1 rootful
}

// FindSockets lists the engines' API sockets under root ("/" on a host;
// tests pass a directory): DOCKER_HOST (docker), CONTAINER_HOST (podman)
// and CONTAINERD_ADDRESS (containerd) from env when set, the rootful
// Docker, podman and containerd sockets (containerd's own, and the one
// Debian's dockerd starts), and each user's rootless Docker and podman
// ones under /run/user/UID. A path is listed once,
// however it is reached, and only while a socket is there.
func FindSockets(root string, env func(string) string) []Socket {
	var out []Socket
	seen := map[string]bool{}
	add := func(s Socket) {
		key := s.Host
		if p, ok := strings.CutPrefix(s.Host, "unix://"); ok {
			if fi, err := os.Stat(p); err != nil || fi.Mode()&fs.ModeSocket == 0 {
				return
			}
			if real, err := filepath.EvalSymlinks(p); err == nil {
				key = real
			}
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	for _, v := range []struct{ name, runtime string }{{"DOCKER_HOST", RuntimeDocker}, {"CONTAINER_HOST", RuntimePodman}, {"CONTAINERD_ADDRESS", RuntimeContainerd}} {
		if h := env(v.name); h != "" {
			if v.runtime == RuntimeContainerd && !strings.Contains(h, "://") {
				h = "unix://" + h // containerd's variable is a path
			}
			add(Socket{Host: h, Runtime: v.runtime, Owner: ownerOf(h)})
		}
	}
	at := func(p string) string { return "unix://" + filepath.Join(root, p) }
	add(Socket{Host: at("/var/run/docker.sock"), Runtime: RuntimeDocker, Owner: -1})
	add(Socket{Host: at("/run/docker.sock"), Runtime: RuntimeDocker, Owner: -1})
	add(Socket{Host: at("/run/podman/podman.sock"), Runtime: RuntimePodman, Owner: -1})
	add(Socket{Host: at("/run/containerd/containerd.sock"), Runtime: RuntimeContainerd, Owner: -1})
	add(Socket{Host: at("/var/run/docker/containerd/containerd.sock"), Runtime: RuntimeContainerd, Owner: -1})
	users, _ := os.ReadDir(filepath.Join(root, "/run/user"))
	for _, u := range users {
		uid, err := strconv.Atoi(u.Name())
		if err != nil || uid < 0 {
			continue
		}
		dir := "/run/user/" + u.Name()
		add(Socket{Host: at(dir + "/docker.sock"), Runtime: RuntimeDocker, Owner: uid})
		add(Socket{Host: at(dir + "/podman/podman.sock"), Runtime: RuntimePodman, Owner: uid})
	}
	return out
}

// ownerOf reads the owner of a rootless socket from its path under
// /run/user/UID; -1 for any other address.
func ownerOf(host string) int {
	p, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return -1
	}
	rest, ok := strings.CutPrefix(filepath.Clean(p), "/run/user/")
	if !ok {
		return -1
	}
	uid, err := strconv.Atoi(strings.SplitN(rest, "/", 2)[0])
	if err != nil {
		return -1
	}
	return uid
}

// Discover connects to every socket FindSockets lists on this host.
func Discover() []Daemon {
	var out []Daemon
	for _, s := range FindSockets("/", os.Getenv) {
		if s.Runtime == RuntimeContainerd {
			if path, ok := strings.CutPrefix(s.Host, "unix://"); ok {
				if c, err := DialContainerd(path, s.Owner); err == nil {
					out = append(out, c)
				}
			}
			continue
		}
		if d, err := DialDocker(s.Host, s.Runtime, s.Owner); err == nil {
			out = append(out, d)
		}
	}
	return out
}
