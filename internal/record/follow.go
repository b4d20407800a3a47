package record

import (
	"strings"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// Follower decides which kernel records belong to the recorded workload:
// a launched command's process tree, or a container's cgroup.
type Follower struct {
	root uint32 // launch mode: the command's pid
	// procs are followed processes; false until the process has exec'd
	// (the launched child runs the recorder's fork code before its exec).
	procs       map[uint32]bool
	containerID string // container mode
	seen        int
}

// FollowChild follows the launched process root and all its descendants,
// from root's first exec on (before it, root runs the launcher's code).
// Records written before the caller learnt root's pid are still in the
// ring buffer, so nothing is missed as long as capture started first.
func FollowChild(root uint32) *Follower {
	return &Follower{root: root, procs: map[uint32]bool{root: false}, seen: 1}
}

// FollowContainer follows the processes of container id (a full or short
// Docker id): pids are the ones in it when recording starts; processes that
// exec or fork inside its cgroup later (docker exec) join, as do children
// of followed processes. Matching is by pid and cgroup path, so it works on
// cgroup v1 hosts, where cgroup ids cannot tell containers apart.
func FollowContainer(id string, pids ...uint32) *Follower {
	f := &Follower{containerID: id, procs: map[uint32]bool{}}
	for _, p := range pids {
		f.procs[p] = true
	}
	f.seen = len(f.procs)
	return f
}

// Live is how many followed processes have not exited.
func (f *Follower) Live() int { return len(f.procs) }

// Seen is how many processes were followed in all.
func (f *Follower) Seen() int { return f.seen }

// Follow reports whether r belongs to the workload, updating the set of
// followed processes from fork, exec and exit records.
func (f *Follower) Follow(r *ebpf.Record) bool {
	if f.containerID != "" {
		return f.followContainer(r)
	}
	execd, ok := f.procs[r.PID]
	if !ok {
		return false
	}
	switch r.Kind {
	case ebpf.KindExec:
		f.procs[r.PID] = true
		return true
	case ebpf.KindFork:
		if r.Fork != nil && !r.Fork.Thread {
			if _, known := f.procs[r.Fork.PID]; !known {
				f.seen++
			}
			f.procs[r.Fork.PID] = true
		}
		return execd
	case ebpf.KindExit:
		if r.Exit != nil && r.Exit.GroupDead {
			delete(f.procs, r.PID)
		}
		return execd
	}
	return execd
}

func (f *Follower) followContainer(r *ebpf.Record) bool {
	if _, ok := f.procs[r.PID]; !ok {
		if r.Kind != ebpf.KindExec && r.Kind != ebpf.KindFork || r.Cgroup == "" {
			return false
		}
		if id, _, ok := container.IDFromCgroup(r.Cgroup); !ok || !sameContainer(id, f.containerID) {
			return false
		}
		f.procs[r.PID] = true
		f.seen++
	}
	switch r.Kind {
	case ebpf.KindFork:
		if r.Fork != nil && !r.Fork.Thread {
			if _, ok := f.procs[r.Fork.PID]; !ok {
				f.procs[r.Fork.PID] = true
				f.seen++
			}
		}
	case ebpf.KindExit:
		if r.Exit != nil && r.Exit.GroupDead {
			delete(f.procs, r.PID)
		}
	}
	return true
}

// sameContainer compares ids that may be short (12 hex digits) or full.
func sameContainer(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a)
}
