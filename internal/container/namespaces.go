package container

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/palisade-sec/palisade/internal/event"
)

// Inits is an engine that can list its running containers' init
// processes: a rootless Docker daemon or podman, whose containers have no
// cgroup of their own on cgroup v1 (the daemon runs with cgroup driver
// "none"), so that only their namespaces tie a process to them.
type Inits interface {
	// InitPIDs maps each running container's full id to the host pid of
	// its init process.
	InitPIDs(ctx context.Context) (map[string]int, error)
}

// InitPIDs implements Inits: the running containers, each inspected once
// for State.Pid (the list does not carry it). The pid is the host's: the
// rootless daemon shares the host's pid namespace (rootlesskit without
// --pidns, as dockerd-rootless.sh starts it).
func (d *Docker) InitPIDs(ctx context.Context) (map[string]int, error) {
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return nil, err
	}
	d.initMu.Lock()
	known := d.inits
	d.initMu.Unlock()
	out := make(map[string]int, len(res.Items))
	for _, c := range res.Items {
		// A restarted container keeps its id and gets a new init: a
		// remembered pid counts while it lives.
		if pid, ok := known[c.ID]; ok && alive(pid) {
			out[c.ID] = pid
			continue
		}
		in, err := d.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil || in.Container.State == nil || in.Container.State.Pid <= 0 {
			continue // stopped or removed since the list
		}
		out[c.ID] = in.Container.State.Pid
	}
	d.initMu.Lock()
	d.inits = out // containers no longer listed are dropped
	d.initMu.Unlock()
	return out, nil
}

func alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// nsKey is a namespace by kind ('p' pid, 'm' mount) and inode.
type nsKey struct {
	kind byte
	ino  uint32
}

// nsOwner is the container whose init holds a namespace.
type nsOwner struct {
	ref Ref
}

// Namespaces are the host's own pid and mount namespace inodes: a process
// in them is never tied to a container by namespace.
type Namespaces struct{ PID, Mnt uint32 }

// HostNamespaces reads the agent's own namespaces under procRoot ("/proc"):
// the agent runs in the host's.
func HostNamespaces(procRoot string) Namespaces {
	return Namespaces{PID: nsInode(procRoot, "self", "pid"), Mnt: nsInode(procRoot, "self", "mnt")}
}

// UseProc makes the namespace index read processes under procRoot instead
// of /proc (an agent in a container with the host's /proc mounted
// elsewhere; tests), the host's namespaces being procRoot/self's.
func (r *Resolver) UseProc(procRoot string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.procRoot, r.hostNS = procRoot, HostNamespaces(procRoot)
	r.byNS, r.nsMiss = map[nsKey]nsOwner{}, map[nsKey]time.Time{}
}

// nsInode is the inode of /proc/PID/ns/KIND, 0 when it cannot be read.
func nsInode(procRoot, pid, kind string) uint32 {
	fi, err := os.Stat(filepath.Join(procRoot, pid, "ns", kind))
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	return uint32(st.Ino)
}

// ByNamespace names the container whose init process holds the pid
// namespace pidNS or, when that is unknown or the host's (a container run
// with --pid host), the mount namespace mntNS; nil when none does. It is
// the fallback for a process whose cgroup says host: a rootless engine on
// cgroup v1 creates no cgroup for its containers. Rootless engines that
// list their containers' init pids (Inits) are asked when a namespace is
// first seen, at most once per retry interval; a namespace no container
// holds is remembered as such for the same while.
func (r *Resolver) ByNamespace(ctx context.Context, pidNS, mntNS uint32) *event.Container {
	ref, ok := r.namespaceOwner(ctx, pidNS, mntNS)
	if !ok {
		return nil
	}
	return r.Get(ctx, ref)
}

func (r *Resolver) namespaceOwner(ctx context.Context, pidNS, mntNS uint32) (Ref, bool) {
	var keys []nsKey
	r.mu.Lock()
	host := r.hostNS
	if pidNS != 0 && pidNS != host.PID {
		keys = append(keys, nsKey{'p', pidNS})
	}
	if mntNS != 0 && mntNS != host.Mnt {
		keys = append(keys, nsKey{'m', mntNS})
	}
	if len(keys) == 0 || !r.hasInits {
		r.mu.Unlock()
		return Ref{}, false
	}
	for _, k := range keys {
		if o, ok := r.byNS[k]; ok {
			r.mu.Unlock()
			return o.ref, true
		}
	}
	// Unknown: ask the engines again unless this namespace was looked
	// for within the retry interval (a sandbox or `unshare` on the host
	// would otherwise cost a round of inspects per process).
	now := time.Now()
	stale := false
	for _, k := range keys {
		if t, ok := r.nsMiss[k]; !ok || now.Sub(t) >= r.retry {
			stale = true
		}
	}
	if !stale {
		r.mu.Unlock()
		return Ref{}, false
	}
	r.mu.Unlock()
	r.refreshNamespaces(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if o, ok := r.byNS[k]; ok {
			return o.ref, true
		}
	}
	if len(r.nsMiss) >= maxNSMisses {
		clear(r.nsMiss)
	}
	for _, k := range keys {
		r.nsMiss[k] = now
	}
	return Ref{}, false
}

// maxNSMisses bounds the namespaces remembered as no container's.
const maxNSMisses = 4096

// refreshNamespaces rebuilds the namespace index from every rootless
// engine that lists its containers' inits. Containers already indexed
// keep their entries while their init is alive (the inode is read once);
// the index holds only running containers.
func (r *Resolver) refreshNamespaces(ctx context.Context) {
	r.mu.Lock()
	var engines []*engineState
	for _, e := range r.engines {
		if _, ok := e.Daemon.(Inits); ok && e.Owner() >= 0 {
			engines = append(engines, e)
		}
	}
	procRoot := r.procRoot
	r.mu.Unlock()
	next := map[nsKey]nsOwner{}
	for _, e := range engines {
		if e.isDown() {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, r.timeout)
		pids, err := e.Daemon.(Inits).InitPIDs(ictx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				r.markDown(e, err)
			}
			continue
		}
		for id, pid := range pids {
			ref := Ref{ID: id, Runtime: e.Runtime(), User: e.Owner()}
			p := strconv.Itoa(pid)
			if ino := nsInode(procRoot, p, "pid"); ino != 0 {
				next[nsKey{'p', ino}] = nsOwner{ref}
			}
			if ino := nsInode(procRoot, p, "mnt"); ino != 0 {
				next[nsKey{'m', ino}] = nsOwner{ref}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A namespace that is the host's is never a container's, even if an
	// engine says so (a container run with --pid host shares it).
	delete(next, nsKey{'p', r.hostNS.PID})
	delete(next, nsKey{'m', r.hostNS.Mnt})
	r.byNS = next
}

// ShimRef reads the container a runtime's per-container monitor process
// serves from its command line: containerd's shim (`containerd-shim-runc-v2
// -namespace moby -id ID ...`; namespace moby is Docker's) or podman's
// conmon (`conmon ... -c ID` or `--cid ID`). name is the process's comm,
// args its argv[1:], uid the host uid it runs as (the rootless engine's
// owner). The ref is Unverified: a command line proves nothing, so the
// container is one only if its engine knows the id.
func ShimRef(name string, args []string, uid int64) (Ref, bool) {
	flag := func(names ...string) string {
		for i, a := range args {
			for _, n := range names {
				if a == n && i+1 < len(args) {
					return args[i+1]
				}
				if v, ok := strings.CutPrefix(a, n+"="); ok {
					return v
				}
			}
		}
		return ""
	}
	switch {
	case strings.HasPrefix(name, "containerd-shim"):
		id, ns := flag("-id", "--id"), flag("-namespace", "--namespace")
		if id == "" || ns == "" {
			return Ref{}, false
		}
		if dockerNamespaces[ns] {
			return Ref{ID: id, Runtime: RuntimeDocker, User: int(uid), Unverified: true}, true
		}
		return Ref{ID: id, Runtime: RuntimeContainerd, Namespace: ns, User: int(uid), Unverified: true}, true
	case name == "conmon":
		if id := flag("-c", "--cid"); id != "" {
			return Ref{ID: id, Runtime: RuntimePodman, User: int(uid), Unverified: true}, true
		}
	}
	return Ref{}, false
}

// Rootless reports whether a rootless engine that may run containers
// without cgroups is known: only then is a process whose cgroup says host
// worth a second look.
func (r *Resolver) Rootless() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hasInits
}

// InHostNamespaces reports whether pidNS and mntNS (0: unknown) are the
// host's own.
func (r *Resolver) InHostNamespaces(pidNS, mntNS uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return (pidNS == 0 || pidNS == r.hostNS.PID) && (mntNS == 0 || mntNS == r.hostNS.Mnt)
}
