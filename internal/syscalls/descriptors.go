package syscalls

// Shorthands for the table below.
const (
	retFD   = CaptureRetFD
	fullID  = CaptureFullID
	minimal = CaptureMinimal
)

func args(a ...Arg) []Arg { return a }

var (
	skip     = Arg{}
	fd       = func(n string) Arg { return Arg{n, ArgFD} }
	path     = func(n string) Arg { return Arg{n, ArgPath} }
	str      = func(n string) Arg { return Arg{n, ArgString} }
	num      = func(n string) Arg { return Arg{n, ArgInt} }
	mode     = Arg{"mode", ArgMode}
	modeBits = Arg{"mode", ArgModeFlags}
	oflags   = Arg{"flags", ArgOpenFlags}
	cflags   = Arg{"flags", ArgCloneFlags}
	flags    = Arg{"flags", ArgInt}
	addr     = Arg{"addr", ArgAddr}
	// cloexec: the call's O_CLOEXEC-valued flag in argument i.
	cloexec = func(i int) *Cloexec { return &Cloexec{Arg: i} }
	always  = &Cloexec{Arg: NoArg, Always: true}
)

// at is a path argument p resolved against dirfd argument d (AtCwd: the cwd).
func at(pd ...int) map[int]int {
	m := map[int]int{}
	for i := 0; i+1 < len(pd); i += 2 {
		m[pd[i]] = pd[i+1]
	}
	return m
}

// descriptors is every syscall Palisade decodes. A syscall a rule selects
// that is absent from here is captured with its raw arguments and return
// value only.
var descriptors = []Desc{
	// exec family: a successful exec resets the registers; the exec record
	// carries filename, argv, exe and cwd. A failed one keeps its path.
	{Name: "execve", Args: args(path("filename")), Paths: at(0, AtCwd), Capture: CaptureExec | fullID, Effect: EffectExec, State: true},
	{Name: "execveat", Args: args(fd("dirfd"), path("filename"), skip, skip, flags), Paths: at(1, 0), Capture: CaptureExec | fullID, Effect: EffectExec, State: true},

	// clone/fork family: flags and the child's pid (the return value).
	{Name: "clone", Args: args(cflags), Capture: fullID, Effect: EffectFork, State: true},
	{Name: "fork", Capture: fullID, Effect: EffectFork, State: true},
	{Name: "vfork", Capture: fullID, Effect: EffectFork, State: true},
	{Name: "clone3", Args: args(Arg{"flags", ArgStructCloneFlags}), Struct: &Struct{0, 64}, Capture: fullID, Effect: EffectFork, State: true},

	// open family: the opened file's path from the kernel at exit.
	{Name: "open", Args: args(path("name"), oflags, mode), RetFDFirst: true, Paths: at(0, AtCwd), Capture: retFD, Effect: EffectOpen, State: true,
		Open: &OpenFlags{Arg: 1}},
	{Name: "creat", Args: args(path("name"), mode), RetFDFirst: true, Paths: at(0, AtCwd), Capture: retFD, Effect: EffectOpen, State: true,
		Open: &OpenFlags{Arg: NoArg, Implied: 0x241}}, // O_CREAT|O_WRONLY|O_TRUNC
	{Name: "openat", Args: args(fd("dirfd"), path("name"), oflags, mode), RetFDFirst: true, Paths: at(1, 0), Capture: retFD, Effect: EffectOpen, State: true,
		Open: &OpenFlags{Arg: 2}},
	{Name: "openat2", Args: args(fd("dirfd"), path("name"), skip, skip), RetFDFirst: true, Paths: at(1, 0), Struct: &Struct{2, 24}, Capture: retFD,
		Effect: EffectOpen, State: true, Open: &OpenFlags{Arg: InStruct}},
	{Name: "open_by_handle_at", Args: args(fd("mountfd"), skip, oflags), RetFDFirst: true, FDs: []int{0}, Capture: retFD, Effect: EffectOpen, State: true},
	{Name: "name_to_handle_at", Args: args(fd("dirfd"), path("path")), Paths: at(1, 0)},

	// close and dup family: fd numbers are in the arguments and result,
	// and nothing else is needed: minimal records.
	{Name: "close", Args: args(fd("fd")), Capture: minimal, Effect: EffectClose, State: true},
	{Name: "close_range", Capture: minimal, Effect: EffectCloseRange, State: true},
	{Name: "dup", Args: args(fd("fd")), Capture: minimal, Effect: EffectDup, State: true},
	{Name: "dup2", Args: args(fd("oldfd"), fd("newfd")), Capture: minimal, Effect: EffectDup, State: true},
	{Name: "dup3", Args: args(fd("oldfd"), fd("newfd"), flags), Capture: minimal, Effect: EffectDup, State: true, Cloexec: cloexec(2)},
	{Name: "fcntl", Args: args(fd("fd"), num("cmd")), Capture: minimal, Effect: EffectFcntl, State: true},

	// descriptors of other kinds: the kernel names the new file
	// (pipe:[INO], anon_inode:[eventfd]) so that its fd.type is known.
	{Name: "pipe", Struct: &Struct{0, 8}, Capture: CaptureFDPair, Effect: EffectPipe, State: true, FDType: "pipe"},
	{Name: "pipe2", Struct: &Struct{0, 8}, Capture: CaptureFDPair, Effect: EffectPipe, State: true, FDType: "pipe", Cloexec: cloexec(1)},
	{Name: "eventfd", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "event"},
	{Name: "eventfd2", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "event", Cloexec: cloexec(1)},
	{Name: "epoll_create", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "eventpoll"},
	{Name: "epoll_create1", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "eventpoll", Cloexec: cloexec(0)},
	{Name: "timerfd_create", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "timerfd", Cloexec: cloexec(1)},
	{Name: "signalfd", Capture: retFD, Effect: EffectSignalfd, State: true, FDType: "signalfd"},
	{Name: "signalfd4", Capture: retFD, Effect: EffectSignalfd, State: true, FDType: "signalfd", Cloexec: cloexec(3)},
	{Name: "inotify_init", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "inotify"},
	{Name: "inotify_init1", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "inotify", Cloexec: cloexec(0)},
	{Name: "pidfd_open", Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "pidfd", Cloexec: always},
	// pidfd_getfd's descriptor is whatever the other process had.
	{Name: "pidfd_getfd", Capture: retFD, Effect: EffectAnonFD, State: true, Cloexec: always},
	// io_uring_params.flags (offset 8): with IORING_SETUP_REGISTERED_FD_ONLY
	// the result is a ring index, not a descriptor.
	{Name: "io_uring_setup", Struct: &Struct{1, 12}, Capture: retFD, Effect: EffectIOUring, State: true, FDType: "io_uring", Cloexec: always},

	// sockets
	{Name: "socket", Args: args(Arg{"domain", ArgSocketDomain}, num("type"), num("proto")), Effect: EffectSocket, State: true, Cloexec: cloexec(1)},
	{Name: "socketpair", Struct: &Struct{3, 8}, Capture: CaptureFDPair, Effect: EffectSocketpair, State: true, Cloexec: cloexec(1)},
	{Name: "connect", Args: args(fd("fd"), addr), FDs: []int{0}, Addr: &Sockaddr{Arg: 1, Len: 2}, Effect: EffectConnect, State: true},
	{Name: "bind", Args: args(fd("fd"), addr), FDs: []int{0}, Addr: &Sockaddr{Arg: 1, Len: 2}, Effect: EffectBind, State: true},
	{Name: "listen", Args: args(fd("fd"), num("backlog")), FDs: []int{0}, Effect: EffectBind},
	{Name: "accept", Args: args(fd("fd")), Capture: retFD, Effect: EffectAccept, State: true},
	{Name: "accept4", Args: args(fd("fd"), skip, skip, flags), Capture: retFD, Effect: EffectAccept, State: true, Cloexec: cloexec(3)},
	{Name: "sendto", Args: args(fd("fd"), skip, num("size"), flags, addr), FDs: []int{0}, Addr: &Sockaddr{Arg: 4, Len: 5}, Effect: EffectSocketIO},
	{Name: "recvfrom", Args: args(fd("fd"), skip, num("size"), flags, addr), FDs: []int{0}, Addr: &Sockaddr{Arg: 4, Len: 5, LenPtr: true},
		Effect: EffectSocketIO},
	{Name: "sendmsg", Args: args(fd("fd"), skip, flags), FDs: []int{0}, Capture: CaptureMsghdr, Effect: EffectSocketIO},
	{Name: "sendmmsg", FDs: []int{0}, Capture: CaptureMsghdr, Effect: EffectSocketIO},
	{Name: "recvmsg", FDs: []int{0}, Capture: CaptureMsghdr, Effect: EffectSocketIO},
	{Name: "shutdown", Args: args(fd("fd"), num("how")), FDs: []int{0}, Effect: EffectSocketIO},

	// file system changes
	{Name: "unlink", Args: args(path("path")), Paths: at(0, AtCwd), Writes: []int{0}},
	{Name: "unlinkat", Args: args(fd("dirfd"), path("name"), flags), Paths: at(1, 0), Writes: []int{1}},
	{Name: "rename", Args: args(path("oldpath"), path("newpath")), Paths: at(0, AtCwd, 1, AtCwd), Effect: EffectPlace, Writes: []int{0}, Creates: []int{1}},
	{Name: "renameat", Args: args(fd("olddirfd"), path("oldpath"), fd("newdirfd"), path("newpath")), Paths: at(1, 0, 3, 2), Effect: EffectPlace,
		Writes: []int{1}, Creates: []int{3}},
	{Name: "renameat2", Args: args(fd("olddirfd"), path("oldpath"), fd("newdirfd"), path("newpath"), flags), Paths: at(1, 0, 3, 2), Effect: EffectPlace,
		Writes: []int{1}, Creates: []int{3}},
	{Name: "mkdir", Args: args(path("path"), mode), Paths: at(0, AtCwd), Creates: []int{0}},
	{Name: "mkdirat", Args: args(fd("dirfd"), path("path"), mode), Paths: at(1, 0), Creates: []int{1}},
	{Name: "rmdir", Args: args(path("path")), Paths: at(0, AtCwd), Writes: []int{0}},
	{Name: "mknod", Paths: at(0, AtCwd), Creates: []int{0}},
	{Name: "mknodat", Paths: at(1, 0), Creates: []int{1}},
	{Name: "link", Args: args(path("oldpath"), path("newpath")), Paths: at(0, AtCwd, 1, AtCwd), Effect: EffectPlace, Creates: []int{1}},
	{Name: "linkat", Args: args(fd("olddir"), path("oldpath"), fd("newdir"), path("newpath"), flags), Paths: at(1, 0, 3, 2), Effect: EffectPlace,
		Creates: []int{3}},
	{Name: "symlink", Args: args(str("target"), path("linkpath")), Strs: []int{0}, Paths: at(1, AtCwd), Creates: []int{1}},
	{Name: "symlinkat", Args: args(str("target"), fd("linkdirfd"), path("linkpath")), Strs: []int{0}, Paths: at(2, 1), Creates: []int{2}},
	{Name: "chmod", Args: args(path("filename"), modeBits), Paths: at(0, AtCwd), Writes: []int{0}},
	{Name: "fchmod", Args: args(fd("fd"), modeBits), FDs: []int{0}, Effect: EffectFDArg, Writes: []int{0}},
	{Name: "fchmodat", Args: args(fd("dirfd"), path("filename"), modeBits), Paths: at(1, 0), Writes: []int{1}},
	{Name: "fchmodat2", Args: args(fd("dirfd"), path("filename"), modeBits, flags), Paths: at(1, 0), Writes: []int{1}},
	{Name: "chown", Args: args(path("path"), num("uid"), num("gid")), Paths: at(0, AtCwd), Writes: []int{0}},
	{Name: "lchown", Args: args(path("path"), num("uid"), num("gid")), Paths: at(0, AtCwd), Writes: []int{0}},
	{Name: "fchown", Args: args(fd("fd"), num("uid"), num("gid")), FDs: []int{0}, Effect: EffectFDArg, Writes: []int{0}},
	{Name: "fchownat", Args: args(fd("dirfd"), path("pathname"), num("uid"), num("gid"), flags), Paths: at(1, 0), Writes: []int{1}},
	{Name: "truncate", Args: args(path("path"), num("length")), Paths: at(0, AtCwd), Writes: []int{0}},
	{Name: "chdir", Args: args(path("path")), Paths: at(0, AtCwd), Capture: CaptureCwd, Effect: EffectChdir, State: true},
	{Name: "fchdir", Args: args(fd("fd")), FDs: []int{0}, Capture: CaptureCwd, Effect: EffectChdir, State: true},
	{Name: "chroot", Args: args(path("path")), Paths: at(0, AtCwd)},
	{Name: "pivot_root", Args: args(path("new_root"), path("put_old")), Paths: at(0, AtCwd, 1, AtCwd)},

	// mounts: source and fs type are plain strings, the target a path.
	{Name: "mount", Args: args(str("dev"), path("dir"), str("type"), flags), Strs: []int{0, 2}, Paths: at(1, AtCwd)},
	{Name: "umount2", Args: args(path("name"), flags), Paths: at(0, AtCwd)},
	// umount is i386's alone: its records are named, never selected natively.
	{Name: "umount", Args: args(path("name")), Paths: at(0, AtCwd)},
	{Name: "move_mount", Paths: at(1, 0, 3, 2)},
	{Name: "fsopen", Strs: []int{0}},
	{Name: "open_tree", RetFDFirst: true, Paths: at(1, 0), Capture: retFD, Effect: EffectOpen, State: true},
	{Name: "mount_setattr", Paths: at(1, 0)},

	// credentials and capabilities
	{Name: "setuid", Args: args(num("uid")), Effect: EffectCreds, State: true},
	{Name: "setgid", Args: args(num("gid")), Effect: EffectCreds, State: true},
	{Name: "setreuid", Args: args(num("ruid"), num("euid")), Effect: EffectCreds, State: true},
	{Name: "setregid", Args: args(num("rgid"), num("egid")), Effect: EffectCreds, State: true},
	{Name: "setresuid", Args: args(num("ruid"), num("euid"), num("suid")), Effect: EffectCreds, State: true},
	{Name: "setresgid", Args: args(num("rgid"), num("egid"), num("sgid")), Effect: EffectCreds, State: true},
	{Name: "setfsuid", Args: args(num("uid")), Effect: EffectCreds, State: true},
	{Name: "setfsgid", Args: args(num("gid")), Effect: EffectCreds, State: true},
	{Name: "setgroups"},
	{Name: "capset", Args: args(skip, skip), Struct: &Struct{1, 24}, Effect: EffectCreds, State: true},

	// process control and kernel attack surface
	{Name: "ptrace", Args: args(Arg{"request", ArgPtraceRequest}, num("pid"))},
	{Name: "process_vm_writev", Args: args(num("pid"))},
	{Name: "kill", Args: args(num("pid"), num("sig"))},
	{Name: "tgkill", Args: args(num("tgid"), num("tid"), num("sig"))},
	{Name: "prctl", Args: args(num("option"), num("arg2"))},
	{Name: "bpf", Args: args(Arg{"cmd", ArgBPFCmd}), Effect: EffectBPF, FDType: "bpf", Cloexec: always},
	{Name: "perf_event_open", Args: args(skip, num("pid"), num("cpu"), fd("group_fd"), flags)},
	{Name: "memfd_create", Args: args(path("name"), flags), Strs: []int{0}, Capture: retFD, Effect: EffectMemfd, State: true, FDType: "memfd",
		Cloexec: &Cloexec{Arg: 1, Bit: 1}}, // MFD_CLOEXEC
	{Name: "unshare", Args: args(cflags), Capture: fullID},
	{Name: "setns", Args: args(fd("fd"), Arg{"nstype", ArgCloneFlags}), FDs: []int{0}, Capture: fullID, Effect: EffectFDArg},
	{Name: "userfaultfd", Args: args(flags), Capture: retFD, Effect: EffectAnonFD, State: true, FDType: "userfaultfd", Cloexec: cloexec(0)},
	{Name: "init_module", Args: args(skip, num("len"), str("uargs")), Strs: []int{2}},
	{Name: "finit_module", Args: args(fd("fd"), str("uargs"), flags), FDs: []int{0}, Strs: []int{1}, Effect: EffectFDArg},
	{Name: "delete_module", Args: args(path("name"), flags), Strs: []int{0}},
	{Name: "seccomp", Args: args(num("op"), flags)},
	// keyrings: the key type and description are user strings.
	{Name: "keyctl", Args: args(Arg{"operation", ArgKeyctlOp})},
	{Name: "add_key", Args: args(str("type"), str("description"), skip, num("plen"), num("keyring")), Strs: []int{0, 1}},
	{Name: "request_key", Args: args(str("type"), str("description"), str("callout_info"), num("dest_keyring")), Strs: []int{0, 1, 2}},

	// never return: an entry record is all there is.
	{Name: "exit", Capture: CaptureEnter},
	{Name: "exit_group", Capture: CaptureEnter},
}
