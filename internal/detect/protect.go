package detect

import (
	"os"
	"path"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// The rule lists whose files are protected by identity: opens of their
// inodes are named (fd.identity) under any name, and never shed.
var (
	protectedFileLists = []string{"sensitive_file_names", "user_database_files"}
	// The files directly in these directories (not below them).
	protectedDirLists = []string{"sensitive_directories", "binary_directories"}
)

// maxDirEntries bounds the files protected per directory, so that a huge
// /usr/lib costs a bounded scan.
const maxDirEntries = 4096

// ProtectedNames is the set of names protected by identity.
type ProtectedNames struct {
	Files []string // absolute names
	Dirs  []string // directories whose files are protected
}

// ProtectedFrom reads the protected names from the rules' lists
// (sensitive_file_names, user_database_files, sensitive_directories,
// binary_directories), so that a user's override of a list moves the
// protection with it. Nil rules give none.
func ProtectedFrom(rs *rules.Ruleset) ProtectedNames {
	var p ProtectedNames
	if rs == nil {
		return p
	}
	seen := map[string]bool{}
	for _, l := range rs.Lists {
		dst := &p.Files
		switch {
		case contains(protectedFileLists, l.Name):
		case contains(protectedDirLists, l.Name):
			dst = &p.Dirs
		default:
			continue
		}
		for _, it := range l.Items {
			if path.IsAbs(it) && !seen[l.Name+"\x00"+it] {
				seen[l.Name+"\x00"+it] = true
				*dst = append(*dst, path.Clean(it))
			}
		}
	}
	return p
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type inodeKey struct {
	dev uint32
	ino uint64
}

// protector keeps the identities of the protected files of every root
// seen (the host's, each container's), in user space for fd.identity and
// in the kernel so that their opens are never shed.
type protector struct {
	names  ProtectedNames
	kernel func(...ebpf.FileID) error // nil: user space only

	mu      sync.RWMutex
	byInode map[inodeKey]string
	roots   map[string]int64 // container ids (and "host"): scanned (-1), or the last pid tried
	full    bool             // the kernel map is full
	hostDev uint64           // the host root's identity, to tell a container's root from it
	hostIno uint64
}

func newProtector(names ProtectedNames, kernel func(...ebpf.FileID) error) *protector {
	p := &protector{names: names, kernel: kernel, byInode: map[inodeKey]string{}, roots: map[string]int64{}}
	var st unix.Stat_t
	if unix.Stat("/", &st) == nil {
		p.hostDev, p.hostIno = st.Dev, st.Ino
	}
	return p
}

// Identify is state.Options.Identify: the protected name of an inode.
func (p *protector) Identify(dev uint32, ino uint64) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.byInode[inodeKey{dev, ino}]
}

// scanHost protects the host's files.
func (p *protector) scanHost() {
	p.mu.Lock()
	p.roots[hostID] = -1
	p.mu.Unlock()
	p.scan("/")
}

// scanContainer protects the files of container id, seen in host process
// pid, unless they are protected already. A process still in the host's
// root (the runtime's init before its pivot_root) does not count; each
// process is looked at once. It says whether the container's files are
// protected.
func (p *protector) scanContainer(id string, pid int64) bool {
	p.mu.Lock()
	last := p.roots[id]
	if last < 0 {
		p.mu.Unlock()
		return true
	}
	if last == pid {
		p.mu.Unlock()
		return false
	}
	p.roots[id] = pid
	p.mu.Unlock()
	root := procRoot(pid)
	var st unix.Stat_t
	if unix.Stat(root, &st) != nil || (st.Dev == p.hostDev && st.Ino == p.hostIno) {
		return false
	}
	p.mu.Lock()
	p.roots[id] = -1
	p.mu.Unlock()
	p.scan(root)
	return true
}

// scan protects the files of the tree at root ("/" for the host,
// /proc/PID/root for a container) and returns how many it found. Names
// are resolved inside root (RESOLVE_IN_ROOT): a container's absolute
// symlinks stay in the container.
func (p *protector) scan(root string) int {
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(rootFD)
	openIn := func(name string, flags uint64) (int, error) {
		return unix.Openat2(rootFD, name, &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	}
	var ids []ebpf.FileID
	add := func(name string) {
		var st unix.Stat_t
		fd, err := openIn(name, unix.O_PATH)
		if err != nil {
			return
		}
		err = unix.Fstat(fd, &st)
		unix.Close(fd)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return
		}
		id := ebpf.FileID{Ino: st.Ino, Dev: ebpf.KernelDev(st.Dev)}
		p.mu.Lock()
		if _, ok := p.byInode[inodeKey{id.Dev, id.Ino}]; !ok {
			p.byInode[inodeKey{id.Dev, id.Ino}] = name
			ids = append(ids, id)
		}
		p.mu.Unlock()
	}
	for _, f := range p.names.Files {
		add(f)
	}
	for _, d := range p.names.Dirs {
		fd, err := openIn(d, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			continue
		}
		f := os.NewFile(uintptr(fd), d)
		names, _ := f.Readdirnames(maxDirEntries)
		f.Close()
		for _, n := range names {
			add(path.Join(d, n))
		}
	}
	if p.kernel != nil && len(ids) > 0 && !p.full {
		if err := p.kernel(ids...); err != nil {
			p.full = true
		}
	}
	return len(ids)
}

// procRoot is the root directory of a host process, as seen from the host.
func procRoot(pid int64) string { return "/proc/" + strconv.FormatInt(pid, 10) + "/root" }

// shedOpens are the opens the kernel may shed under pressure: only the
// read-only ones of unprotected inodes (and failed ones) go.
var shedOpens = []string{"open", "openat", "openat2"}

// shedStateOnly are state-only calls whose loss costs the state little: a
// missed close leaves an entry the next open of the number replaces, the
// others type pseudo files that no rule reads.
var shedStateOnly = []string{"close", "close_range", "fcntl", "epoll_create", "epoll_create1", "inotify_init",
	"inotify_init1", "timerfd_create", "eventfd", "eventfd2", "signalfd", "signalfd4"}

// ShedSet picks, from a capture set, the syscalls whose records the kernel
// drops first under pressure: the open family (read-only opens of
// unprotected files only), and the low-value state-only calls that no
// rule names. Everything a rule names otherwise (execve, connect, dup,
// ptrace, ...) is never shed.
func ShedSet(set []syscalls.Captured) []int {
	var out []int
	for _, c := range set {
		if contains(shedOpens, c.Name) || (!c.Rules && contains(shedStateOnly, c.Name)) {
			out = append(out, c.Nr)
		}
	}
	return out
}
