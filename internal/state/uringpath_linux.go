//go:build linux

package state

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

const (
	atFDCWD = -100
	// maxProcSelfHops bounds the /proc/self/{root,cwd,fd/N} prefixes a
	// name is rewritten through.
	maxProcSelfHops = 4
	resolveScoped   = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
)

// isProcfs says whether /proc in the tree at rootFD is a procfs (a
// /proc/self there means the process); a variable for the tests, whose
// roots have none.
var isProcfs = func(rootFD int) bool {
	fd, err := unix.Openat2(rootFD, "/proc", &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveScoped})
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var fs unix.Statfs_t
	return unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}

// resolveInProc finds the regular file name (relative to dfd, or to the
// cwd for AT_FDCWD) reaches in process pid: inside its root
// (procRoot/PID/root, RESOLVE_IN_ROOT: absolute symlinks and .. stay in
// it), following no magic link; a leading /proc/self/root, cwd or fd/N
// (or thread-self) is that process's, rewritten here. nofollow is the
// open's O_NOFOLLOW. It opens nothing but O_PATH descriptors, closed
// before it returns.
func resolveInProc(procRoot string, pid uint32, dfd int32, name string, nofollow bool) (resolvedFile, bool) {
	base := procRoot + "/" + strconv.FormatUint(uint64(pid), 10)
	rootFD, err := unix.Open(base+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return resolvedFile{}, false // gone
	}
	defer unix.Close(rootFD)
	rootHost, err := fdPath(rootFD)
	if err != nil {
		return resolvedFile{}, false
	}
	p := name
	if !strings.HasPrefix(p, "/") {
		link := "cwd"
		if dfd != atFDCWD {
			if dfd < 0 {
				return resolvedFile{}, false
			}
			link = "fd/" + strconv.Itoa(int(dfd))
		}
		dir, ok := dirInRoot(rootFD, rootHost, base, link)
		if !ok {
			return resolvedFile{}, false
		}
		p = dir + "/" + p
	}
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	for hop := 0; ; hop++ {
		fd, err := unix.Openat2(rootFD, p, &unix.OpenHow{Flags: flags, Resolve: resolveScoped})
		if err == nil {
			return describeOpened(fd, rootHost)
		}
		if hop == maxProcSelfHops {
			return resolvedFile{}, false
		}
		link, rest, ok := procSelf(p)
		if !ok || !isProcfs(rootFD) {
			return resolvedFile{}, false
		}
		dir := ""
		if link != "root" {
			if dir, ok = dirInRoot(rootFD, rootHost, base, link); !ok {
				return resolvedFile{}, false
			}
		}
		p = dir + "/" + rest
	}
}

// procSelf splits an absolute name that starts /proc/self/ or
// /proc/thread-self/ followed by root, cwd or fd/N into that link ("root",
// "cwd", "fd/N") and the rest, as written (its .. resolved from the
// link's target, not lexically).
func procSelf(p string) (link, rest string, ok bool) {
	comps := strings.Split(p, "/")
	i := 0
	next := func() string {
		for i < len(comps) {
			c := comps[i]
			i++
			if c != "" && c != "." {
				return c
			}
		}
		return ""
	}
	if next() != "proc" {
		return "", "", false
	}
	if c := next(); c != "self" && c != "thread-self" {
		return "", "", false
	}
	switch c := next(); c {
	case "root", "cwd":
		link = c
	case "fd":
		n := next()
		if _, err := strconv.ParseUint(n, 10, 31); err != nil {
			return "", "", false
		}
		link = "fd/" + n
	default:
		return "", "", false
	}
	return link, strings.Join(comps[i:], "/"), true
}

// dirInRoot is the path, in the root at rootFD (rootHost as the agent
// sees it), of the directory base/link (the process's cwd or fd N): only
// when it is inside the root and that path names the same directory.
func dirInRoot(rootFD int, rootHost, base, link string) (string, bool) {
	dfd, err := unix.Open(base+"/"+link, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(dfd)
	hp, err := fdPath(dfd)
	if err != nil {
		return "", false
	}
	rel, ok := underRoot(hp, rootHost)
	if !ok {
		return "", false
	}
	check, err := unix.Openat2(rootFD, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: resolveScoped})
	if err != nil {
		return "", false
	}
	defer unix.Close(check)
	var a, b unix.Stat_t
	if unix.Fstat(dfd, &a) != nil || unix.Fstat(check, &b) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		return "", false
	}
	return rel, true
}

// describeOpened describes the regular file at fd (closing it), named by
// its path in the root rootHost.
func describeOpened(fd int, rootHost string) (resolvedFile, bool) {
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return resolvedFile{}, false
	}
	f := resolvedFile{dev: ebpf.KernelDev(st.Dev), ino: st.Ino, nlink: uint32(st.Nlink)}
	if hp, err := fdPath(fd); err == nil && st.Nlink > 0 {
		if rel, ok := underRoot(hp, rootHost); ok {
			f.name = rel
		}
	}
	return f, true
}

// fdPath is the path of the agent's descriptor fd, as the agent sees it.
func fdPath(fd int) (string, error) {
	return os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
}

// underRoot maps hp (a path the agent sees) into the root rootHost.
func underRoot(hp, rootHost string) (string, bool) {
	switch {
	case !strings.HasPrefix(hp, "/"):
		return "", false
	case rootHost == "/":
		return hp, true
	case hp == rootHost:
		return "/", true
	case strings.HasPrefix(hp, rootHost+"/"):
		return hp[len(rootHost):], true
	}
	return "", false
}
