package state

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
)

// userCache reads user and group names from each mount namespace's own
// /etc/passwd and /etc/group (through /proc/PID/root), so a container's
// uid 33 is named as the container names it.
type userCache struct {
	procRoot string
	byNS     map[uint32]*idNames
}

type idNames struct {
	users  map[int64]userEntry
	groups map[int64]string
}

type userEntry struct{ name, home, shell string }

// maxCachedNS bounds the cache; namespaces churn with containers.
const maxCachedNS = 4096

func newUserCache(procRoot string) *userCache {
	return &userCache{procRoot: procRoot, byNS: map[uint32]*idNames{}}
}

func (c *userCache) names(ns, pid uint32) *idNames {
	if n, ok := c.byNS[ns]; ok && ns != 0 {
		return n
	}
	root := filepath.Join(c.procRoot, strconv.FormatUint(uint64(pid), 10), "root")
	n := &idNames{users: map[int64]userEntry{}, groups: map[int64]string{}}
	readColon(filepath.Join(root, "etc", "passwd"), func(f []string) {
		if len(f) >= 7 {
			if id, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				if _, dup := n.users[id]; !dup {
					n.users[id] = userEntry{name: f[0], home: f[5], shell: f[6]}
				}
			}
		}
	})
	readColon(filepath.Join(root, "etc", "group"), func(f []string) {
		if len(f) >= 3 {
			if id, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				if _, dup := n.groups[id]; !dup {
					n.groups[id] = f[0]
				}
			}
		}
	})
	if ns != 0 && (len(n.users) > 0 || len(n.groups) > 0) {
		if len(c.byNS) >= maxCachedNS {
			c.byNS = map[uint32]*idNames{}
		}
		c.byNS[ns] = n
	}
	return n
}

func readColon(path string, fn func([]string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

// lookupNames finds the id tables for a process: its own root, else an
// ancestor's (a short-lived process may be gone before its first record is
// read; its parent in the same container usually is not).
func (c *userCache) lookupNames(p *event.Process, ns, pid uint32) *idNames {
	n := c.names(ns, pid)
	for a := p.Parent; len(n.users) == 0 && a != nil && a.Container == p.Container; a = a.Parent {
		n = c.names(ns, uint32(a.PID))
	}
	return n
}

func (c *userCache) fill(p *event.Process, ns, pid uint32) {
	n := c.lookupNames(p, ns, pid)
	if u, ok := n.users[p.UID]; ok {
		p.UserName, p.UserHome, p.UserShell = u.name, u.home, u.shell
	} else if p.UID == 0 {
		p.UserName, p.UserHome, p.UserShell = "root", "/root", ""
	} else {
		p.UserName, p.UserHome, p.UserShell = "", "", ""
	}
	// As Falco does: root by its uid even without a passwd entry, and no
	// name left over from an earlier login uid.
	p.LoginName = ""
	if p.LoginUID >= 0 {
		if u, ok := n.users[p.LoginUID]; ok {
			p.LoginName = u.name
		} else if p.LoginUID == 0 {
			p.LoginName = "root"
		}
	}
}

func (c *userCache) fillGroup(p *event.Process, ns, pid uint32) {
	n := c.lookupNames(p, ns, pid)
	p.GroupName = n.groups[p.GID]
	if p.GroupName == "" && p.GID == 0 {
		p.GroupName = "root"
	}
}
