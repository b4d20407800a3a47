package fields

import (
	"strconv"
	"strings"
	"sync"

	"github.com/palisade-sec/palisade/internal/event"
)

func procStr(name, desc string, fn func(p *event.Process) (string, bool)) {
	strI(name, desc, func(e *event.Event, _ int) (string, bool) {
		if e.Proc == nil {
			return "", false
		}
		return fn(e.Proc)
	})
}

func procNum(name, desc string, fn func(p *event.Process) (int64, bool)) {
	numI(name, desc, Int, func(e *event.Event, _ int) (int64, bool) {
		if e.Proc == nil {
			return 0, false
		}
		return fn(e.Proc)
	})
}

func procBool(name, desc string, fn func(p *event.Process) (bool, bool)) {
	boolean(name, desc, func(e *event.Event) (bool, bool) {
		if e.Proc == nil {
			return false, false
		}
		return fn(e.Proc)
	})
}

// parentStr applies fn to the parent process.
func parentStr(name, desc string, fn func(p *event.Process) (string, bool)) {
	procStr(name, desc, func(p *event.Process) (string, bool) {
		if p.Parent == nil {
			return "", false
		}
		return fn(p.Parent)
	})
}

// ancestorStr registers a field with an optional index: [N] is the N-th
// ancestor (0 = the process itself); without an index the field matches any
// ancestor (parent and up).
func ancestorStr(name, desc string, fn func(p *event.Process) (string, bool)) {
	register(&Field{Name: name, Kind: String, Desc: desc, Arg: OptionalIndex, Multi: true, make: func(_ string, idx int) Extractor {
		if idx >= 0 {
			return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
				if a := e.Proc.Ancestor(idx); a != nil {
					return fn(a)
				}
				return "", false
			}}
		}
		return Extractor{Str: func(e *event.Event, i int) (string, bool) {
			if a := e.Proc.Ancestor(i + 1); a != nil {
				return fn(a)
			}
			return "", false
		}}
	}})
}

func ancestorNum(name, desc string, fn func(p *event.Process) (int64, bool)) {
	register(&Field{Name: name, Kind: Int, Desc: desc, Arg: OptionalIndex, Multi: true, make: func(_ string, idx int) Extractor {
		if idx >= 0 {
			return Extractor{Int: func(e *event.Event, _ int) (int64, bool) {
				if a := e.Proc.Ancestor(idx); a != nil {
					return fn(a)
				}
				return 0, false
			}}
		}
		return Extractor{Int: func(e *event.Event, i int) (int64, bool) {
			if a := e.Proc.Ancestor(i + 1); a != nil {
				return fn(a)
			}
			return 0, false
		}}
	}})
}

func nonEmpty(s string) (string, bool) { return s, s != "" }

func init() {
	strI("proc.name", "process name (the task's comm, without path)", func(e *event.Event, _ int) (string, bool) {
		if e.Proc == nil {
			return "", false
		}
		return e.Proc.Name, true
	})
	procStr("proc.exe", "first command-line argument (argv[0], as invoked)", func(p *event.Process) (string, bool) { return p.Exe, true })
	procStr("proc.exepath", "full path of the executable", func(p *event.Process) (string, bool) { return nonEmpty(p.ExePath) })
	procStr("proc.args", "command-line arguments after argv[0], joined by spaces", func(p *event.Process) (string, bool) { return p.ArgsString(), true })
	procStr("proc.cmdline", "process name and arguments", func(p *event.Process) (string, bool) { return p.Cmdline(), true })
	procStr("proc.cwd", "current working directory, with a trailing slash as Falco gives it (/dev/shm/)", func(p *event.Process) (string, bool) {
		if p.Cwd != "" && !strings.HasSuffix(p.Cwd, "/") {
			return p.Cwd + "/", true // a replay file written before the state added the slash
		}
		return nonEmpty(p.Cwd)
	})
	procNum("proc.pid", "process id (host namespace)", func(p *event.Process) (int64, bool) { return p.PID, true })
	procNum("proc.vpid", "process id in its own pid namespace", func(p *event.Process) (int64, bool) { return p.VPID, true })
	procNum("proc.ppid", "parent process id", func(p *event.Process) (int64, bool) { return p.PPID, true })
	procNum("proc.sid", "session id", func(p *event.Process) (int64, bool) { return p.SID, true })
	procNum("proc.vpgid", "process group id in its pid namespace", func(p *event.Process) (int64, bool) { return p.VPGID, true })
	procStr("proc.sname", "name of the session leader", func(p *event.Process) (string, bool) { return nonEmpty(p.SessionLeaderName) })
	procStr("proc.vpgid.name", "name of the process group leader", func(p *event.Process) (string, bool) { return nonEmpty(p.GroupLeaderName) })
	procStr("proc.vpgid.exe", "argv[0] of the process group leader", func(p *event.Process) (string, bool) { return nonEmpty(p.GroupLeaderExe) })
	procBool("proc.is_vpgid_leader", "true if the process leads its process group", func(p *event.Process) (bool, bool) { return p.VPGID == p.VPID, true })
	procBool("proc.is_sid_leader", "true if the process leads its session", func(p *event.Process) (bool, bool) { return p.SID == p.PID, true })
	procNum("proc.tty", "controlling terminal (0 if none)", func(p *event.Process) (int64, bool) { return p.TTY, true })
	procNum("proc.start_ts", "process start time, Unix ns", func(p *event.Process) (int64, bool) { return p.StartTime, p.StartTime != 0 })
	num("proc.duration", "ns since the process started", func(e *event.Event) (int64, bool) {
		if e.Proc == nil || e.Proc.StartTime == 0 {
			return 0, false
		}
		return e.Time - e.Proc.StartTime, true
	})
	num("proc.ppid.duration", "ns since the parent process started", func(e *event.Event) (int64, bool) {
		if e.Proc == nil || e.Proc.Parent == nil || e.Proc.Parent.StartTime == 0 {
			return 0, false
		}
		return e.Time - e.Proc.Parent.StartTime, true
	})
	procBool("proc.cred_unexplained", "true if a thread of the process (or of one it was forked from) gained uid or euid 0 without an exec, set*id or capset call that grants it: a kernel exploit's outcome", func(p *event.Process) (bool, bool) { return p.CredUnexplained, true })
	procNum("proc.prev_uid", "with proc.cred_unexplained, the kernel uid the thread had before the unexplained change (absent otherwise)", func(p *event.Process) (int64, bool) { return p.PrevHostUID, p.CredUnexplained })
	procBool("proc.is_exe_upper_layer", "true if the executable is in the container's writable (upper) layer", func(p *event.Process) (bool, bool) { return p.ExeUpperLayer, true })
	procBool("proc.is_exe_from_memfd", "true if the executable was run from a memfd (fileless)", func(p *event.Process) (bool, bool) { return p.ExeFromMemfd, true })
	procBool("proc.is_exe_writable", "true if the executable is writable by the process's user", func(p *event.Process) (bool, bool) { return p.ExeWritable, true })
	procNum("proc.exe_ino", "inode of the executable (not collected: absent)", func(*event.Process) (int64, bool) { return 0, false })
	procNum("proc.exe_ino.ctime", "ctime of the executable (not collected: absent)", func(*event.Process) (int64, bool) { return 0, false })
	procNum("proc.exe_ino.mtime", "mtime of the executable (not collected: absent)", func(*event.Process) (int64, bool) { return 0, false })
	procNum("proc.exe_ino.ctime_duration_proc_start", "ns between the executable's ctime and process start (not collected: absent)", func(*event.Process) (int64, bool) { return 0, false })

	strI("proc.pname", "parent process name", func(e *event.Event, _ int) (string, bool) {
		if e.Proc == nil || e.Proc.Parent == nil {
			return "", false
		}
		return e.Proc.Parent.Name, true
	})
	parentStr("proc.pexe", "parent's argv[0]", func(p *event.Process) (string, bool) { return p.Exe, true })
	parentStr("proc.pexepath", "parent's executable path", func(p *event.Process) (string, bool) { return nonEmpty(p.ExePath) })
	parentStr("proc.pcmdline", "parent's name and arguments", func(p *event.Process) (string, bool) { return p.Cmdline(), true })
	num("proc.pvpid", "parent's pid in its pid namespace", func(e *event.Event) (int64, bool) {
		if e.Proc == nil || e.Proc.Parent == nil {
			return 0, false
		}
		return e.Proc.Parent.VPID, true
	})
	ancestorStr("proc.aname", "ancestor name: [N] is the N-th ancestor (0 = self); without [N] any ancestor matches", func(p *event.Process) (string, bool) { return p.Name, true })
	ancestorNum("proc.apid", "ancestor pid: [N] as for proc.aname", func(p *event.Process) (int64, bool) { return p.PID, true })
	ancestorStr("proc.aexe", "ancestor argv[0]: [N] as for proc.aname", func(p *event.Process) (string, bool) { return p.Exe, true })
	ancestorStr("proc.aexepath", "ancestor executable path: [N] as for proc.aname", func(p *event.Process) (string, bool) { return nonEmpty(p.ExePath) })
	ancestorStr("proc.acmdline", "ancestor command line: [N] as for proc.aname", func(p *event.Process) (string, bool) { return p.Cmdline(), true })

	procNum("thread.tid", "thread id", func(p *event.Process) (int64, bool) { return p.TID, true })
	procNum("thread.vtid", "thread id in its pid namespace", func(p *event.Process) (int64, bool) { return p.VTID, true })
	procStr("thread.cap_permitted", "permitted capabilities, as CAP_ names separated by spaces", func(p *event.Process) (string, bool) { return CapNames(p.CapPermitted), true })
	procStr("thread.cap_effective", "effective capabilities", func(p *event.Process) (string, bool) { return CapNames(p.CapEffective), true })
	procStr("thread.cap_inheritable", "inheritable capabilities", func(p *event.Process) (string, bool) { return CapNames(p.CapInheritable), true })

	procNum("user.uid", "user id, as the process's user namespace sees it (0 for root in a rootless or userns-remapped container)", func(p *event.Process) (int64, bool) { return p.UID, true })
	procNum("user.host_uid", "user id on the host, outside every user namespace (the same as user.uid on the host)", func(p *event.Process) (int64, bool) { return p.HostUID, true })
	procStr("user.name", "user name (from the container's own /etc/passwd)", func(p *event.Process) (string, bool) { return nonEmpty(p.UserName) })
	procStr("user.homedir", "user's home directory", func(p *event.Process) (string, bool) { return nonEmpty(p.UserHome) })
	procStr("user.shell", "user's login shell", func(p *event.Process) (string, bool) { return nonEmpty(p.UserShell) })
	procNum("user.loginuid", "audit login uid (-1 when the process never logged in)", func(p *event.Process) (int64, bool) { return p.LoginUID, true })
	procStr("user.loginname", "name of the login user; <NA> when there is none or it has no name, as Falco gives it", func(p *event.Process) (string, bool) {
		if p.LoginName == "" {
			return NA, true
		}
		return p.LoginName, true
	})
	procNum("group.gid", "group id, as the process's user namespace sees it", func(p *event.Process) (int64, bool) { return p.GID, true })
	procNum("group.host_gid", "group id on the host, outside every user namespace", func(p *event.Process) (int64, bool) { return p.HostGID, true })
	procStr("group.name", "group name (from the container's own /etc/group)", func(p *event.Process) (string, bool) { return nonEmpty(p.GroupName) })

	// proc.env takes an optional [NAME].
	register(&Field{Name: "proc.env", Kind: String, Arg: OptionalKey, Desc: "environment variables joined by spaces; proc.env[NAME] is one variable's value (live: the first 4 KiB, collected only when an enabled rule reads proc.env, for processes that exec after the agent starts)", make: func(arg string, _ int) Extractor {
		if arg == "" {
			return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
				if e.Proc == nil {
					return "", false
				}
				return e.Proc.EnvString(), true
			}}
		}
		return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
			if e.Proc == nil {
				return "", false
			}
			return e.Proc.EnvVar(arg)
		}}
	}})
}

// capNames are the Linux capability names by number.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
	"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
	"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

var (
	capCacheMu sync.RWMutex
	capCache   = map[uint64]string{}
)

// CapNames renders a capability mask as space-separated CAP_ names. Masks
// repeat across processes, so renderings are cached.
func CapNames(mask uint64) string {
	capCacheMu.RLock()
	s, ok := capCache[mask]
	capCacheMu.RUnlock()
	if ok {
		return s
	}
	var parts []string
	for i := 0; i < 64; i++ {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		if i < len(capNames) {
			parts = append(parts, capNames[i])
		} else {
			parts = append(parts, "CAP_"+strconv.Itoa(i))
		}
	}
	s = strings.Join(parts, " ")
	capCacheMu.Lock()
	if len(capCache) < 4096 {
		capCache[mask] = s
	}
	capCacheMu.Unlock()
	return s
}
