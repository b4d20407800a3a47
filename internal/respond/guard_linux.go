package respond

import (
	"os"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/container"
)

// SelfGuard is the Guard of this process: its pid, its ancestors (read from
// /proc now: they do not change while it runs, except by re-parenting to
// an ancestor already listed) and its own container.
func SelfGuard(allowHost bool) Guard {
	g := Guard{Self: int64(os.Getpid()), Ancestors: map[int64]bool{1: true}, AllowHost: allowHost}
	for pid, n := os.Getppid(), 0; pid > 1 && n < 4096; n++ {
		g.Ancestors[int64(pid)] = true
		pid = parentOf(pid)
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			if ref, ok := container.ParseCgroup(parts[2]); ok && ref.ID != "" && !ref.Unverified {
				g.OwnContainer = ref.ShortID()
				break
			}
		}
	}
	return g
}

// parentOf reads a process's parent pid from /proc; 0 if it is gone.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
