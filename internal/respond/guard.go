package respond

import (
	"fmt"
	"path"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
)

// runtimeNames are the processes of container runtimes and the kubelet:
// killing one takes down every container it runs, so no response may.
var runtimeNames = []string{"dockerd", "containerd", "containerd-shim*", "runc", "runc:*", "crun", "conmon", "crio",
	"podman", "kubelet", "docker-proxy", "docker-init", "tini", "catatonit"}

// IsRuntimeProcess reports whether name (a comm or an executable's base
// name) is a container runtime's or the kubelet's.
func IsRuntimeProcess(name string) bool {
	return anyGlob(runtimeNames, name)
}

// Guard holds the facts the guard rails need: who the agent is and what
// the configuration allows. A rule file cannot change them.
type Guard struct {
	Self      int64          // the agent's pid
	Ancestors map[int64]bool // the agent's ancestors' pids, init included
	// OwnContainer is the id (short) of the container the agent runs in,
	// "" on the host.
	OwnContainer string
	AllowHost    bool
}

// Refuse returns why action must not be taken on p (its process, or its
// container), or "" if it may.
func (g *Guard) Refuse(action Action, p *event.Process) string {
	if action == Log {
		return ""
	}
	if p == nil {
		return "the event has no process"
	}
	c := p.Container
	if action.onContainer() {
		if c.IsHost() {
			return "the process is not in a container"
		}
		if g.OwnContainer != "" && sameContainer(c.ID, g.OwnContainer) {
			return "the agent's own container"
		}
		return ""
	}
	switch {
	case p.PID <= 1:
		return fmt.Sprintf("pid %d is the host's init", p.PID)
	case p.PID == g.Self:
		return "the agent itself"
	case g.Ancestors[p.PID]:
		return fmt.Sprintf("pid %d is an ancestor of the agent", p.PID)
	}
	if !c.IsHost() && g.OwnContainer != "" && sameContainer(c.ID, g.OwnContainer) {
		return "a process of the agent's own container"
	}
	if c.IsHost() {
		// Runtime processes live outside containers; inside one a name is
		// the attacker's choice and would buy immunity.
		for _, n := range []string{p.Name, path.Base(p.ExePath), path.Base(p.Exe)} {
			if n != "" && n != "." && n != "/" && IsRuntimeProcess(n) {
				return fmt.Sprintf("%q is a container runtime or kubelet process", n)
			}
		}
		if !g.AllowHost {
			return "host process (not in a container) and responses.allow_host is off"
		}
	}
	return ""
}

func sameContainer(a, b string) bool {
	n := min(len(a), len(b), 12)
	return n > 0 && strings.EqualFold(a[:n], b[:n])
}
