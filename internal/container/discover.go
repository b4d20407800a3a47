package container

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Socket is an Engine API endpoint found on the host.
type Socket struct {
	Host    string // unix:///run/podman/podman.sock, or DOCKER_HOST as given
	Runtime string // RuntimeDocker, RuntimePodman (both the Docker Engine API), RuntimeContainerd (its gRPC API) or RuntimeCRI (a CRI endpoint)
	Owner   int    // uid of a rootless engine's user, -1 rootful
	// Hint is container.type for a CRI endpoint's containers until it says
	// which runtime it is (from the socket's path: containerd, cri-o).
	Hint string
}

// FindSockets lists the engines' API sockets under root ("/" on a host;
// tests pass a directory): DOCKER_HOST (docker), CONTAINER_HOST (podman)
// and CONTAINERD_ADDRESS (containerd) from env when set, the rootful
// Docker, podman and containerd sockets (containerd's own, and the one
// Debian's dockerd starts), and each user's rootless Docker and podman
// ones under /run/user/UID. A path is listed once,
// however it is reached, and only while a socket is there.
func FindSockets(root string, env func(string) string) []Socket { return findSockets(root, env, nil) }

// FindSocketsWith is FindSockets with CRI endpoints named on the command
// line (--cri-socket).
func FindSocketsWith(root string, env func(string) string, criSockets []string) []Socket {
	return findSockets(root, env, criSockets)
}

func findSockets(root string, env func(string) string, criSockets []string) []Socket {
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
		if s.Runtime == RuntimeCRI {
			// containerd serves its own API and the CRI on one socket.
			key = "cri " + key
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
	add(Socket{Host: at("/run/k3s/containerd/containerd.sock"), Runtime: RuntimeContainerd, Owner: -1})
	// CRI endpoints: crictl's variable, the flag, CRI-O's socket, and
	// containerd's (whose CRI plugin may be off: Discover asks).
	for _, h := range append([]string{env("CONTAINER_RUNTIME_ENDPOINT")}, criSockets...) {
		if h != "" {
			if !strings.Contains(h, "://") {
				h = "unix://" + h
			}
			add(Socket{Host: h, Runtime: RuntimeCRI, Owner: -1, Hint: criHint(h)})
		}
	}
	if h := env("CONTAINERD_ADDRESS"); h != "" {
		if !strings.Contains(h, "://") {
			h = "unix://" + h
		}
		add(Socket{Host: h, Runtime: RuntimeCRI, Owner: -1, Hint: RuntimeContainerd})
	}
	add(Socket{Host: at("/var/run/crio/crio.sock"), Runtime: RuntimeCRI, Owner: -1, Hint: RuntimeCRIO})
	add(Socket{Host: at("/run/crio/crio.sock"), Runtime: RuntimeCRI, Owner: -1, Hint: RuntimeCRIO})
	add(Socket{Host: at("/run/containerd/containerd.sock"), Runtime: RuntimeCRI, Owner: -1, Hint: RuntimeContainerd})
	add(Socket{Host: at("/run/k3s/containerd/containerd.sock"), Runtime: RuntimeCRI, Owner: -1, Hint: RuntimeContainerd})
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
// /run/user/UID, or else from the socket file's owner when that is not
// root; -1 for a rootful or remote address.
func ownerOf(host string) int {
	p, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return -1
	}
	rest, ok := strings.CutPrefix(filepath.Clean(p), "/run/user/")
	if !ok {
		// A rootless daemon whose XDG_RUNTIME_DIR is elsewhere (hosts
		// without systemd-logind): its socket belongs to its user.
		if fi, err := os.Stat(p); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				return int(st.Uid)
			}
		}
		return -1
	}
	uid, err := strconv.Atoi(strings.SplitN(rest, "/", 2)[0])
	if err != nil {
		return -1
	}
	return uid
}

// criHint is container.type for a CRI socket's containers until the
// runtime names itself: what its path says.
func criHint(host string) string {
	switch {
	case strings.Contains(host, "crio"):
		return RuntimeCRIO
	case strings.Contains(host, "containerd"):
		return RuntimeContainerd
	}
	return RuntimeCRI
}

// criProbeTimeout bounds Discover's question to a CRI endpoint.
const criProbeTimeout = time.Second

// Discover connects to every socket FindSockets lists on this host. A
// CRI endpoint is kept only when it answers Version (a containerd whose
// CRI plugin is off does not), and then containerd's own API on the same
// socket leaves the CRI's containers to it.
func Discover() []Daemon { return discover(nil, nil, nil) }

// DiscoverWith is Discover with more CRI endpoints (watch --cri-socket):
// paths or unix:// addresses. The function it returns remembers the
// sockets it has dialled or probed: called again (the resolver looks for
// new engines every 10 s) it returns only engines on sockets it has not
// seen, or that were made anew (a restarted daemon), without connecting
// to the others again.
func DiscoverWith(criSockets []string) func() []Daemon {
	criSockets = append([]string(nil), criSockets...)
	var mu sync.Mutex
	seen := map[string]bool{}
	// The containerd found on each socket, kept so that a CRI on the same
	// socket that answers only a later probe is still handed to it.
	ctrd := map[string]*Containerd{}
	return func() []Daemon {
		mu.Lock()
		defer mu.Unlock()
		return discover(criSockets, seen, ctrd)
	}
}

// socketKey names a socket for DiscoverWith's memory: its API and
// address, and for a unix socket the file's identity, which a daemon
// that restarts makes anew.
func socketKey(s Socket) string {
	key := s.Runtime + " " + s.Host
	if p, ok := strings.CutPrefix(s.Host, "unix://"); ok {
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			key += fmt.Sprintf(" %d:%d", st.Dev, st.Ino)
		}
	}
	return key
}

// discover dials the engines on the sockets found; with seen, it skips
// and records the sockets it has already dialled or probed, and ctrd
// (nil: this call's only) keeps the containerd dialled on each socket.
func discover(criSockets []string, seen map[string]bool, ctrd map[string]*Containerd) []Daemon {
	var cri, out []Daemon
	if ctrd == nil {
		ctrd = map[string]*Containerd{}
	}
	for _, s := range findSockets("/", os.Getenv, criSockets) {
		key := ""
		if seen != nil {
			if key = socketKey(s); seen[key] {
				continue
			}
			seen[key] = true
		}
		path, unix := strings.CutPrefix(s.Host, "unix://")
		switch s.Runtime {
		case RuntimeContainerd:
			if unix {
				if c, err := DialContainerd(path, s.Owner); err == nil {
					ctrd[s.Host] = c
					out = append(out, c)
				}
			}
			continue
		case RuntimeCRI:
			if !unix {
				continue
			}
			c, err := DialCRI(path, s.Hint)
			if err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), criProbeTimeout)
			_, err = c.Version(ctx)
			cancel()
			if err != nil {
				c.Close()
				// Only a containerd whose CRI plugin is off says so for
				// good; a timeout or a daemon still starting is asked again.
				if seen != nil && status.Code(err) != codes.Unimplemented {
					delete(seen, key)
				}
				continue
			}
			if d := ctrd[s.Host]; d != nil {
				d.criOnSocket(c)
			}
			cri = append(cri, c)
			continue
		}
		if d, err := DialDocker(s.Host, s.Runtime, s.Owner); err == nil {
			out = append(out, d)
		}
	}
	// The CRI first: it knows more of a pod's containers than containerd's
	// labels say; the bundles last, for what no engine can say.
	return append(append(cri, out...), DiscoverBundles()...)
}
