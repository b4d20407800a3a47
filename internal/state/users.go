package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/passwd"
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
	// uids and gids map host ids into the namespace's user namespace
	// (nil on the host). They are read with the names, once per mount
	// namespace: a container has one of each.
	uids, gids IDMap
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
	dir := filepath.Join(c.procRoot, strconv.FormatUint(uint64(pid), 10))
	// The process must still be in ns: a runtime's init that has joined a
	// container's mount namespace but not yet pivoted into its root, or an
	// ancestor on the host, would name the container's users from the
	// host's /etc/passwd (and cache that under the container's namespace).
	if ns != 0 {
		if in := nsInode(dir, "mnt"); in != 0 && in != ns {
			return &idNames{}
		}
	}
	root := filepath.Join(dir, "root")
	n := &idNames{users: map[int64]userEntry{}, groups: map[int64]string{},
		uids: readIDMap(filepath.Join(dir, "uid_map")), gids: readIDMap(filepath.Join(dir, "gid_map"))}
	users, usersErr := passwd.ReadUsers(filepath.Join(root, "etc", "passwd"))
	for _, u := range users {
		if _, dup := n.users[u.UID]; !dup {
			n.users[u.UID] = userEntry{name: u.Name, home: u.Home, shell: u.Shell}
		}
	}
	groups, _ := passwd.ReadGroups(filepath.Join(root, "etc", "group"))
	for _, g := range groups {
		if _, dup := n.groups[g.GID]; !dup {
			n.groups[g.GID] = g.Name
		}
	}
	// Cached only when the names were really read: a process that exited
	// before this read still shows its uid_map but no root, and caching its
	// empty names would leave the whole container unnamed.
	_, rootErr := os.Stat(root)
	read := rootErr == nil && (usersErr == nil || errors.Is(usersErr, fs.ErrNotExist))
	if ns != 0 && read && (len(n.users) > 0 || len(n.groups) > 0 || n.uids != nil) {
		if len(c.byNS) >= maxCachedNS {
			c.byNS = map[uint32]*idNames{}
		}
		c.byNS[ns] = n
	}
	return n
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

// fill sets the user of p from its host uid: the uid its user namespace
// sees, and the name, home and shell that uid has in its own /etc/passwd.
func (c *userCache) fill(p *event.Process, ns, pid uint32, hostUID int64) {
	n := c.lookupNames(p, ns, pid)
	p.HostUID, p.UID = hostUID, n.uids.Inside(hostUID)
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

func (c *userCache) fillGroup(p *event.Process, ns, pid uint32, hostGID int64) {
	n := c.lookupNames(p, ns, pid)
	p.HostGID, p.GID = hostGID, n.gids.Inside(hostGID)
	p.GroupName = n.groups[p.GID]
	if p.GroupName == "" && p.GID == 0 {
		p.GroupName = "root"
	}
}
