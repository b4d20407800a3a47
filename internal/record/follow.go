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
// Docker id): pids are the ones in it when recording starts; programs
// exec'd inside its cgroup later (docker exec) join from their exec on, and
// children of followed processes join at once. The runtime's own processes
// (runc init, until it execs the program) are left out. Matching is by pid and cgroup path, so it works on
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
	execd, ok := f.procs[r.PID]
	if !ok {
		if r.Cgroup == "" {
			return false
		}
		if id, _, ok := container.IDFromCgroup(r.Cgroup); !ok || !sameContainer(id, f.containerID) {
			return false
		}
		switch {
		case r.Kind == ebpf.KindExec:
			// A program started in the container (docker exec): its own
			// calls from the exec on.
			f.procs[r.PID] = true
			f.seen++
			return true
		case r.Kind == ebpf.KindFork && r.Fork != nil && !r.Fork.Thread:
			// Forked inside the cgroup by a process that is not the
			// workload: the runtime (runc init joining for docker exec).
			// Its calls before the exec are runc's, made before the
			// seccomp filter exists; following them would put keyctl,
			// setns and friends in the profile.
			if _, known := f.procs[r.Fork.PID]; !known {
				f.procs[r.Fork.PID] = false
			}
		}
		return false
	}
	switch r.Kind {
	case ebpf.KindExec:
		if !execd {
			f.procs[r.PID] = true
			f.seen++
		}
		return true
	case ebpf.KindFork:
		if r.Fork != nil && !r.Fork.Thread {
			if _, known := f.procs[r.Fork.PID]; !known {
				f.procs[r.Fork.PID] = execd
				if execd {
					f.seen++
				}
			}
		}
	case ebpf.KindExit:
		if r.Exit != nil && r.Exit.GroupDead {
			delete(f.procs, r.PID)
		}
	}
	return execd
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
