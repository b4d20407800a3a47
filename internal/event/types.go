package event

import "sync"

// Type identifies an event type (a syscall name such as "openat", or a
// pseudo-event such as "procexit"). Types are small integers so the rules
// engine can index rules by them in a slice.
type Type uint16

// typeRegistry interns event type names. Known names are registered at
// init; names first seen in rules or replay files are added on demand.
type typeRegistry struct {
	mu     sync.RWMutex
	byName map[string]Type
	names  []string
	known  []bool
}

var types = &typeRegistry{byName: map[string]Type{}, names: []string{""}, known: []bool{false}}

// TypeOf returns the Type for a name, interning it if new.
func TypeOf(name string) Type {
	types.mu.RLock()
	t, ok := types.byName[name]
	types.mu.RUnlock()
	if ok {
		return t
	}
	return types.add(name, false)
}

// LookupType returns the Type for a name without interning.
func LookupType(name string) (Type, bool) {
	types.mu.RLock()
	defer types.mu.RUnlock()
	t, ok := types.byName[name]
	return t, ok
}

func (r *typeRegistry) add(name string, known bool) Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.byName[name]; ok {
		if known {
			r.known[t] = true
		}
		return t
	}
	t := Type(len(r.names))
	r.names = append(r.names, name)
	r.known = append(r.known, known)
	r.byName[name] = t
	return t
}

// String returns the event type's name.
func (t Type) String() string {
	types.mu.RLock()
	defer types.mu.RUnlock()
	if int(t) < len(types.names) {
		return types.names[t]
	}
	return ""
}

// Known reports whether the type is one Palisade can produce (a syscall or a
// pseudo-event), as opposed to a name only seen in a rule.
func (t Type) Known() bool {
	types.mu.RLock()
	defer types.mu.RUnlock()
	return int(t) < len(types.known) && types.known[t]
}

// NumTypes is the number of interned types; valid Types are below it.
func NumTypes() int {
	types.mu.RLock()
	defer types.mu.RUnlock()
	return len(types.names)
}

// KnownTypes lists every known event type name.
func KnownTypes() []string {
	types.mu.RLock()
	defer types.mu.RUnlock()
	var out []string
	for i, n := range types.names {
		if types.known[i] {
			out = append(out, n)
		}
	}
	return out
}

// RegisterType marks a name as a known event type.
func RegisterType(name string) Type { return types.add(name, true) }

func init() {
	for _, n := range knownEventNames {
		RegisterType(n)
	}
}

// knownEventNames are the syscalls (x86_64 names, as Falco uses them) and
// pseudo-events that Palisade can produce or that Falco's rules name.
var knownEventNames = []string{
	// process lifecycle
	"execve", "execveat", "clone", "clone3", "fork", "vfork", "procexit", "exit", "exit_group", "switch",
	// files
	"open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at", "close", "close_range", "dup", "dup2", "dup3",
	"read", "pread64", "readv", "preadv", "write", "pwrite64", "writev", "pwritev", "sendfile",
	"unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat",
	"symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown",
	"truncate", "ftruncate", "fcntl", "ioctl", "mmap", "mprotect", "munmap", "memfd_create", "pipe", "pipe2",
	"eventfd", "eventfd2", "signalfd", "signalfd4", "inotify_init", "inotify_init1", "timerfd_create",
	"epoll_create", "epoll_create1", "chdir", "fchdir", "chroot", "pivot_root", "stat", "fstat", "lstat",
	"newfstatat", "statx", "access", "faccessat", "faccessat2", "getdents", "getdents64", "readlink", "readlinkat",
	"utimensat", "setxattr", "fsetxattr", "lsetxattr", "removexattr", "flock", "splice", "copy_file_range",
	"mknod", "mknodat", "quotactl", "fsconfig", "fsopen", "fsmount", "move_mount", "open_tree", "mount_setattr",
	// network
	"socket", "socketpair", "connect", "accept", "accept4", "bind", "listen", "sendto", "sendmsg", "sendmmsg",
	"recvfrom", "recvmsg", "recvmmsg", "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
	// credentials and privileges
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
	"capset", "capget", "prctl", "seccomp", "personality", "setpgid", "setsid", "setrlimit", "prlimit64",
	// namespaces, mounts, kernel
	"unshare", "setns", "mount", "umount", "umount2", "ptrace", "process_vm_readv", "process_vm_writev",
	"init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "userfaultfd", "kexec_load",
	"kexec_file_load", "reboot", "keyctl", "add_key", "request_key", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "kill", "tkill", "tgkill", "pidfd_open", "pidfd_getfd", "syslog", "iopl", "ioperm",
	"swapon", "swapoff", "sethostname", "setdomainname", "settimeofday", "clock_settime", "adjtimex",
	"getppid", "getpid", "gettid", "nanosleep", "futex", "brk", "poll", "ppoll", "select", "pselect6",
	"epoll_wait", "epoll_pwait", "wait4", "waitid", "lseek", "getuid", "geteuid", "getgid", "getegid",
	"getcwd", "uname", "sysinfo", "set_tid_address", "arch_prctl", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sched_yield", "getrandom", "madvise", "mlock", "munlock", "mremap", "msync",
	"container", "cap_capable", "asyncevent", "pluginevent", "procinfo", "signaldeliver", "page_fault", "cpu_hotplug",
}
