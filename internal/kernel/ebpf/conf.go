package ebpf

import (
	"fmt"
	"sort"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Descriptor flags, matching enum conf_flag in bpf/capture.c.
const (
	cfRetFD      = 1
	cfCwd        = 2
	cfEnter      = 4
	cfZeroOnOK   = 8
	cfAddrlenPtr = 16
	cfFullID     = 32
	cfMin        = 64
	cfMsghdr     = 128

	cf2Socketcall = 1 // enum conf_flag2
	cf2FDPair     = 2

	argNone = 0xff
	cwd     = -1 // a path argument without a dirfd resolves against the cwd
)

// argSpec says what the kernel side reads for one syscall. Arguments are
// numbered 0-5 in the syscall's own order.
type argSpec struct {
	flags     uint8
	flags2    uint8
	paths     map[int]int // path argument -> its dirfd argument (cwd = none)
	strs      []int       // plain user strings (symlink targets, names, fs types)
	fds       []int       // fd arguments to describe (file path or socket tuple)
	addr      int         // sockaddr argument, -1 none
	addrlen   int         // its length argument, -1 none
	structArg int         // struct argument to copy, -1 none
	structLen int
}

func spec(f func(*argSpec)) argSpec {
	s := argSpec{addr: -1, addrlen: -1, structArg: -1}
	if f != nil {
		f(&s)
	}
	return s
}

func generic() argSpec { return spec(nil) }

// minimal records carry no identity beyond tid and pid (cfMin).
func minimal() argSpec { return spec(func(s *argSpec) { s.flags = cfMin }) }

// retFD describes the fd the call returns (cfRetFD).
func retFD() argSpec { return spec(func(s *argSpec) { s.flags = cfRetFD }) }

// fdPair copies the int[2] at argument i that the call fills with two new
// fds, and has the kernel describe both (cf2FDPair).
func fdPair(i int) argSpec {
	return spec(func(s *argSpec) { s.structArg, s.structLen, s.flags2 = i, 8, cf2FDPair })
}

func paths(p map[int]int, flags uint8) argSpec {
	return spec(func(s *argSpec) { s.paths, s.flags = p, flags })
}

// argSpecs is what Palisade knows how to decode, by syscall name. A
// selected syscall absent from here is captured with its raw arguments and
// return value only.
var argSpecs = map[string]argSpec{
	// exec family: a successful exec resets the registers; the exec record
	// carries filename, argv, exe and cwd. A failed one keeps its path.
	"execve":   paths(map[int]int{0: cwd}, cfZeroOnOK|cfFullID),
	"execveat": paths(map[int]int{1: 0}, cfZeroOnOK|cfFullID),

	// clone/fork family: flags and the child's pid (the return value).
	"clone":  spec(func(s *argSpec) { s.flags = cfFullID }),
	"fork":   spec(func(s *argSpec) { s.flags = cfFullID }),
	"vfork":  spec(func(s *argSpec) { s.flags = cfFullID }),
	"clone3": spec(func(s *argSpec) { s.structArg, s.structLen, s.flags = 0, 64, cfFullID }),

	// open family: the opened file's path from the kernel at exit.
	"open":              paths(map[int]int{0: cwd}, cfRetFD),
	"creat":             paths(map[int]int{0: cwd}, cfRetFD),
	"openat":            paths(map[int]int{1: 0}, cfRetFD),
	"openat2":           spec(func(s *argSpec) { s.paths, s.flags, s.structArg, s.structLen = map[int]int{1: 0}, cfRetFD, 2, 24 }),
	"open_by_handle_at": spec(func(s *argSpec) { s.fds, s.flags = []int{0}, cfRetFD }),
	"name_to_handle_at": paths(map[int]int{1: 0}, 0),

	// close and dup family: fd numbers are in the arguments and result,
	// and nothing else is needed: minimal records (Record.Minimal).
	"close":       minimal(),
	"close_range": minimal(),
	"dup":         minimal(),
	"dup2":        minimal(),
	"dup3":        minimal(),
	"fcntl":       minimal(),

	// descriptors of other kinds: the kernel names the new file
	// (pipe:[INO], anon_inode:[eventfd]) so that its fd.type is known.
	"pipe":           fdPair(0),
	"pipe2":          fdPair(0),
	"eventfd":        retFD(),
	"eventfd2":       retFD(),
	"epoll_create":   retFD(),
	"epoll_create1":  retFD(),
	"timerfd_create": retFD(),
	"signalfd":       retFD(),
	"signalfd4":      retFD(),
	"inotify_init":   retFD(),
	"inotify_init1":  retFD(),
	"pidfd_open":     retFD(),
	"pidfd_getfd":    retFD(),
	// io_uring_params.flags (offset 8): with IORING_SETUP_REGISTERED_FD_ONLY
	// the result is a ring index, not a descriptor.
	"io_uring_setup": spec(func(s *argSpec) { s.flags, s.structArg, s.structLen = cfRetFD, 1, 12 }),

	// sockets
	"socket":     generic(),
	"socketpair": fdPair(3),
	"connect":    spec(func(s *argSpec) { s.fds, s.addr, s.addrlen = []int{0}, 1, 2 }),
	"bind":       spec(func(s *argSpec) { s.fds, s.addr, s.addrlen = []int{0}, 1, 2 }),
	"listen":     spec(func(s *argSpec) { s.fds = []int{0} }),
	"accept":     retFD(),
	"accept4":    retFD(),
	"sendto":     spec(func(s *argSpec) { s.fds, s.addr, s.addrlen = []int{0}, 4, 5 }),
	"recvfrom":   spec(func(s *argSpec) { s.fds, s.addr, s.addrlen, s.flags = []int{0}, 4, 5, cfAddrlenPtr }),
	"sendmsg":    spec(func(s *argSpec) { s.fds, s.flags = []int{0}, cfMsghdr }),
	"sendmmsg":   spec(func(s *argSpec) { s.fds, s.flags = []int{0}, cfMsghdr }),
	"recvmsg":    spec(func(s *argSpec) { s.fds, s.flags = []int{0}, cfMsghdr }),
	"shutdown":   spec(func(s *argSpec) { s.fds = []int{0} }),

	// file system changes
	"unlink":     paths(map[int]int{0: cwd}, 0),
	"unlinkat":   paths(map[int]int{1: 0}, 0),
	"rename":     paths(map[int]int{0: cwd, 1: cwd}, 0),
	"renameat":   paths(map[int]int{1: 0, 3: 2}, 0),
	"renameat2":  paths(map[int]int{1: 0, 3: 2}, 0),
	"mkdir":      paths(map[int]int{0: cwd}, 0),
	"mkdirat":    paths(map[int]int{1: 0}, 0),
	"rmdir":      paths(map[int]int{0: cwd}, 0),
	"mknod":      paths(map[int]int{0: cwd}, 0),
	"mknodat":    paths(map[int]int{1: 0}, 0),
	"link":       paths(map[int]int{0: cwd, 1: cwd}, 0),
	"linkat":     paths(map[int]int{1: 0, 3: 2}, 0),
	"symlink":    spec(func(s *argSpec) { s.strs, s.paths = []int{0}, map[int]int{1: cwd} }),
	"symlinkat":  spec(func(s *argSpec) { s.strs, s.paths = []int{0}, map[int]int{2: 1} }),
	"chmod":      paths(map[int]int{0: cwd}, 0),
	"fchmod":     spec(func(s *argSpec) { s.fds = []int{0} }),
	"fchmodat":   paths(map[int]int{1: 0}, 0),
	"fchmodat2":  paths(map[int]int{1: 0}, 0),
	"chown":      paths(map[int]int{0: cwd}, 0),
	"lchown":     paths(map[int]int{0: cwd}, 0),
	"fchown":     spec(func(s *argSpec) { s.fds = []int{0} }),
	"fchownat":   paths(map[int]int{1: 0}, 0),
	"truncate":   paths(map[int]int{0: cwd}, 0),
	"chdir":      paths(map[int]int{0: cwd}, cfCwd),
	"fchdir":     spec(func(s *argSpec) { s.fds, s.flags = []int{0}, cfCwd }),
	"chroot":     paths(map[int]int{0: cwd}, 0),
	"pivot_root": paths(map[int]int{0: cwd, 1: cwd}, 0),

	// mounts: source and fs type are plain strings, the target a path.
	"mount":         spec(func(s *argSpec) { s.strs, s.paths = []int{0, 2}, map[int]int{1: cwd} }),
	"umount2":       paths(map[int]int{0: cwd}, 0),
	"umount":        paths(map[int]int{0: cwd}, 0),
	"move_mount":    paths(map[int]int{1: 0, 3: 2}, 0),
	"fsopen":        spec(func(s *argSpec) { s.strs = []int{0} }),
	"open_tree":     paths(map[int]int{1: 0}, cfRetFD),
	"mount_setattr": paths(map[int]int{1: 0}, 0),

	// credentials and capabilities
	"setuid":    generic(),
	"setgid":    generic(),
	"setreuid":  generic(),
	"setregid":  generic(),
	"setresuid": generic(),
	"setresgid": generic(),
	"setfsuid":  generic(),
	"setfsgid":  generic(),
	"setgroups": generic(),
	"capset":    spec(func(s *argSpec) { s.structArg, s.structLen = 1, 24 }),

	// process control and kernel attack surface
	"ptrace":            generic(),
	"process_vm_writev": generic(),
	"kill":              generic(),
	"tgkill":            generic(),
	"prctl":             generic(),
	"bpf":               generic(),
	"perf_event_open":   generic(),
	"memfd_create":      spec(func(s *argSpec) { s.strs, s.flags = []int{0}, cfRetFD }),
	"unshare":           spec(func(s *argSpec) { s.flags = cfFullID }),
	"setns":             spec(func(s *argSpec) { s.fds, s.flags = []int{0}, cfFullID }),
	"userfaultfd":       retFD(),
	"init_module":       spec(func(s *argSpec) { s.strs = []int{2} }),
	"finit_module":      spec(func(s *argSpec) { s.fds, s.strs = []int{0}, []int{1} }),
	"delete_module":     spec(func(s *argSpec) { s.strs = []int{0} }),
	"seccomp":           generic(),
	"keyctl":            generic(),

	// never return: an entry record is all there is.
	"exit":       spec(func(s *argSpec) { s.flags = cfEnter }),
	"exit_group": spec(func(s *argSpec) { s.flags = cfEnter }),
}

// conf turns an argSpec into the kernel's descriptor.
func (s argSpec) conf() scConf {
	c := scConf{On: 1, Flags: s.flags, Flags2: s.flags2, AddrArg: argNone, AddrlenArg: argNone, StructArg: argNone}
	for i := range c.Dirfd {
		c.Dirfd[i] = argNone
	}
	for p, d := range s.paths {
		c.PathMask |= 1 << p
		if d >= 0 {
			c.Dirfd[p] = uint8(d)
		}
	}
	for _, i := range s.strs {
		c.StrMask |= 1 << i
	}
	for _, i := range s.fds {
		c.FdMask |= 1 << i
	}
	if s.addr >= 0 {
		c.AddrArg = uint8(s.addr)
	}
	if s.addrlen >= 0 {
		c.AddrlenArg = uint8(s.addrlen)
	}
	if s.structArg >= 0 {
		c.StructArg, c.StructLen = uint8(s.structArg), uint8(s.structLen)
	}
	return c
}

const (
	nativeArch = "x86_64"
	compatArch = "x86"
	compatBase = 512
	numSlots   = 1024
)

// DefaultSyscalls returns the native numbers of every syscall Palisade
// knows how to decode: the set Falco's stable and incubating rules and the
// process/fd state need. exit and exit_group are left out (sched_process_exit
// reports every exit) so that no sys_enter program runs by default.
func DefaultSyscalls() []int {
	var out []int
	for name, s := range argSpecs {
		if s.flags&cfEnter != 0 {
			continue
		}
		if nr, ok := syscalls.Number(nativeArch, name); ok {
			out = append(out, nr)
		}
	}
	sort.Ints(out)
	return out
}

// buildConfs computes the whole descriptor table for a set of native
// syscall numbers. Each selected syscall is also selected in the 32-bit
// compat ABI under the same name (or its 32-bit-uid "...32" variant), so
// int 0x80 cannot slip past the filter.
func buildConfs(native []int) ([numSlots]scConf, error) {
	var t [numSlots]scConf
	for _, nr := range native {
		if nr < 0 || nr >= compatBase {
			return t, fmt.Errorf("syscall number %d out of range [0,%d)", nr, compatBase)
		}
		name, ok := syscalls.Name(nativeArch, nr)
		s, known := argSpecs[name]
		if !ok || !known {
			s = generic()
		}
		t[nr] = s.conf()
		if !ok {
			continue
		}
		for _, n := range []string{name, name + "32"} {
			if cnr, ok := syscalls.Number(compatArch, n); ok && cnr < compatBase {
				t[compatBase+cnr] = s.conf()
			}
		}
	}
	// i386 socketcall(2) multiplexes the socket calls: select it when any
	// of them is, so that the kernel decodes it as the call it stands for.
	for _, nr := range socketcallTable() {
		if nr != 0 && t[nr].On != 0 {
			if cnr, ok := syscalls.Number(compatArch, "socketcall"); ok && cnr < compatBase {
				t[compatBase+cnr] = scConf{On: 1, Flags2: cf2Socketcall, AddrArg: argNone, AddrlenArg: argNone,
					StructArg: argNone, Dirfd: [6]uint8{argNone, argNone, argNone, argNone, argNone, argNone}}
			}
			break
		}
	}
	return t, nil
}

// socketcallCalls names the call behind each socketcall(2) call number
// (SYS_SOCKET = 1 .. SYS_SENDMMSG = 20, linux/net.h); send and recv are
// sendto and recvfrom without an address, as the kernel runs them.
var socketcallCalls = [...]string{1: "socket", "bind", "connect", "listen", "accept", "getsockname",
	"getpeername", "socketpair", "sendto", "recvfrom", "sendto", "recvfrom", "shutdown", "setsockopt",
	"getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg"}

// x32Table is the kernel's x32_nr: for x32 syscall number 512 + i (the
// x32-specific entry points), the native number of the call of the same
// name; 0 where there is none. It has the kernel array's 64 slots.
func x32Table() [64]uint16 {
	var t [64]uint16
	for i := range t {
		name, ok := syscalls.Name("x32", syscalls.X32Bit|(compatBase+i))
		if !ok {
			continue
		}
		if nr, ok := syscalls.Number(nativeArch, name); ok {
			t[i] = uint16(nr)
		}
	}
	return t
}

// socketcallTable is the kernel's socketcall_nr: the native number of the
// call behind each socketcall(2) call number.
// It has the kernel array's 32 slots; those past SYS_SENDMMSG stay 0.
func socketcallTable() [32]uint16 {
	var t [32]uint16
	for i, name := range socketcallCalls {
		if nr, ok := syscalls.Number(nativeArch, name); ok && name != "" {
			t[i] = uint16(nr)
		}
	}
	return t
}

// filterBits is the kernel's fast filter for a descriptor table: bit nr is
// set when nr is selected in either ABI.
func filterBits(t *[numSlots]scConf) [compatBase / 64]uint64 {
	var bits [compatBase / 64]uint64
	for i := range compatBase {
		if t[i].On != 0 || t[compatBase+i].On != 0 {
			bits[i/64] |= 1 << (i % 64)
		}
	}
	return bits
}
