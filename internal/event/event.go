package event

import (
	"net/netip"
	"strings"
	"sync"
)

// Dir is the direction of a syscall event: Falco's '>' (enter) or '<' (exit).
type Dir byte

// Event directions.
const (
	DirExit  Dir = '<'
	DirEnter Dir = '>'
)

// SourceSyscall is the only event source Palisade produces today; rules with
// other sources are loaded but never see events.
const SourceSyscall = "syscall"

// Event is one kernel event with its context. Pointers are shared between
// events (one Process per thread, one Container per container) and must be
// treated as read-only once the event is handed to the engine.
type Event struct {
	Num      uint64
	Time     int64 // Unix nanoseconds
	CPU      int32
	Type     Type
	Dir      Dir
	Res      int64 // return value (exit events); negative errno on failure
	HasRes   bool
	Args     []Arg
	Proc     *Process
	FD       *FD
	Hostname string
	// IOUring: the open this event stands for was made through io_uring
	// (evt.is_io_uring), not by a syscall of the process.
	IOUring bool
	// Baseline answers the baseline.* fields for the event's workload; nil
	// when no baselines are loaded or the workload has none (yet).
	Baseline Baseline
}

// BaselineItem is what a baseline.* field asks about an event.
type BaselineItem uint8

// Baseline items (internal/baseline answers them).
const (
	BaselineExe     BaselineItem = iota // the program an exec ran
	BaselineSyscall                     // the event's syscall on its arch
	BaselineFile                        // the file an open for writing opened
	BaselineDest                        // the remote address a connect reached
	BaselinePort                        // the local port a listen (or bind) took
	BaselineCap                         // the capability a cap_capable event checked
)

// Baseline is the baseline bound to an event's workload (internal/baseline
// implements it). Known reports whether the event's item is in it; ok is
// false when the event has no such item (an open that is not a write).
type Baseline interface {
	Known(item BaselineItem, e *Event) (known, ok bool)
	Name() string
}

// Arg is one syscall parameter as Falco names it (evt.arg.NAME / evt.arg[N]).
// Str is the rendered value (flags as "O_RDONLY|O_CLOEXEC", paths as text);
// Int is the numeric value when HasInt.
type Arg struct {
	Name   string
	Str    string
	Int    int64
	HasInt bool
}

// ArgByName returns the named argument.
func (e *Event) ArgByName(name string) (*Arg, bool) {
	for i := range e.Args {
		if e.Args[i].Name == name {
			return &e.Args[i], true
		}
	}
	return nil, false
}

// Failed reports whether the syscall returned an error.
func (e *Event) Failed() bool { return e.HasRes && e.Res < 0 }

// Process is a thread and its process: Falco's proc.*, thread.*, user.* and
// group.* fields come from here.
type Process struct {
	PID, TID, VPID, VTID int64
	PPID                 int64
	SID, VPGID           int64
	Name                 string   // comm
	Exe                  string   // argv[0]
	ExePath              string   // full path of the executable
	Args                 []string // argv[1:]
	Env                  []string // NAME=VALUE
	Cwd                  string
	TTY                  int64
	UID, GID             int64 // as the process's user namespace sees them (root in a rootless container is 0)
	HostUID, HostGID     int64 // the kernel's, outside every user namespace (the same on the host)
	LoginUID             int64 // -1 when unset (4294967295 in the kernel)
	UserName             string
	UserHome, UserShell  string
	LoginName            string
	GroupName            string
	StartTime            int64 // Unix ns
	CapPermitted         uint64
	CapEffective         uint64
	CapInheritable       uint64
	ExeUpperLayer        bool
	ExeFromMemfd         bool
	ExeWritable          bool
	// CredUnexplained: a thread of this process (or of the one it was
	// forked from) gained uid or euid 0 with no exec, set*id or capset
	// call that grants it (proc.cred_unexplained); PrevHostUID is the
	// kernel uid it had before (meaningful only with CredUnexplained).
	CredUnexplained   bool
	PrevHostUID       int64
	SessionLeaderName string // proc.sname
	GroupLeaderName   string // proc.vpgid.name
	GroupLeaderExe    string // proc.vpgid.exe
	Parent            *Process
	Container         *Container
	FDTypes           []string // types of the process's open fds, by fd number (fd.types)

	cmdlineOnce sync.Once
	cmdline     string
	argsJoined  string
	envJoined   string
}

// Cmdline is Falco's proc.cmdline: the name followed by the arguments.
func (p *Process) Cmdline() string {
	p.cmdlineOnce.Do(p.fillJoined)
	return p.cmdline
}

// ArgsString is Falco's proc.args: the arguments joined by spaces.
func (p *Process) ArgsString() string {
	p.cmdlineOnce.Do(p.fillJoined)
	return p.argsJoined
}

// EnvString is Falco's proc.env: the environment joined by spaces.
func (p *Process) EnvString() string {
	p.cmdlineOnce.Do(p.fillJoined)
	return p.envJoined
}

func (p *Process) fillJoined() {
	p.argsJoined = strings.Join(p.Args, " ")
	if p.argsJoined == "" {
		p.cmdline = p.Name
	} else {
		p.cmdline = p.Name + " " + p.argsJoined
	}
	p.envJoined = strings.Join(p.Env, " ")
}

// Env returns the value of one environment variable.
func (p *Process) EnvVar(name string) (string, bool) {
	for _, kv := range p.Env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}

// Ancestor returns the n-th ancestor (0 is the process itself).
func (p *Process) Ancestor(n int) *Process {
	for ; p != nil && n > 0; n-- {
		p = p.Parent
	}
	return p
}

// FDType is the kind of object a file descriptor refers to, as Falco names it.
type FDType uint8

// File descriptor types.
const (
	FDUnknown FDType = iota
	FDFile
	FDDirectory
	FDIPv4
	FDIPv6
	FDUnix
	FDPipe
	FDEvent
	FDSignalfd
	FDEventPoll
	FDInotify
	FDTimerfd
	FDNetlink
	FDBPF
	FDUserfaultfd
	FDIOUring
	FDMemfd
	FDPidfd
)

var fdTypeNames = [...]string{"", "file", "directory", "ipv4", "ipv6", "unix", "pipe", "event", "signalfd", "eventpoll", "inotify", "timerfd", "netlink", "bpf", "userfaultfd", "io_uring", "memfd", "pidfd"}
var fdTypeChars = [...]string{"", "f", "d", "4", "6", "u", "p", "e", "s", "l", "i", "t", "n", "b", "u", "r", "m", "P"}

func (t FDType) String() string {
	if int(t) < len(fdTypeNames) {
		return fdTypeNames[t]
	}
	return ""
}

// Char is Falco's fd.typechar.
func (t FDType) Char() string {
	if int(t) < len(fdTypeChars) {
		return fdTypeChars[t]
	}
	return ""
}

// ParseFDType maps a Falco fd type name to its FDType.
func ParseFDType(s string) (FDType, bool) {
	for i, n := range fdTypeNames {
		if i > 0 && n == s {
			return FDType(i), true
		}
	}
	return FDUnknown, false
}

// FD is the file descriptor an event touched. For sockets the client side
// (C) is the side that connected and the server side (S) the side that
// accepted; Local reports which side this process is.
type FD struct {
	Num         int64
	Type        FDType
	Name        string // path, or "cip:cport->sip:sport" for sockets
	NameRaw     string
	L4Proto     string // tcp, udp, icmp, raw
	CIP, SIP    netip.Addr
	CPort       uint16
	SPort       uint16
	IsServer    bool // this process is the server side (accept/listen)
	Connected   bool
	NameChanged bool
	Dev, Ino    uint64
	// Shared is the state table's bookkeeping: the FD is in more than one
	// process's table (inherited across fork), so it is never recycled.
	Shared bool
	// CloseOnExec: the descriptor was opened with O_CLOEXEC (or marked so
	// with fcntl); an exec closes it.
	CloseOnExec bool
	// OutsideRoot: the kernel found the file outside the process's root
	// (a container process holding a host file): fd.outside_root.
	OutsideRoot bool
	// Nlink is the link count of a regular file at its open (fd.nlink):
	// more than 1 when other names reach the same inode.
	Nlink uint32
	// Identity is the protected name of the opened inode (fd.identity):
	// /etc/shadow when /etc/shadow's inode was opened, under any name.
	Identity string
}

// Directory is Falco's fd.directory: the directory of a file path, or the
// path itself when the fd is a directory. It is a substring of Name,
// computed on each call (no allocation, no per-fd cache to keep).
func (f *FD) Directory() string {
	d, _ := f.splitName()
	return d
}

// Filename is Falco's fd.filename: the last path element of a file.
func (f *FD) Filename() string {
	_, n := f.splitName()
	return n
}

func (f *FD) splitName() (dir, file string) {
	if f.Type == FDDirectory {
		return f.Name, ""
	}
	if f.Type != FDFile && f.Type != FDMemfd {
		return "", ""
	}
	i := strings.LastIndexByte(f.Name, '/')
	switch {
	case i < 0:
		return "", f.Name
	case i == 0:
		return "/", f.Name[1:]
	default:
		return f.Name[:i], f.Name[i+1:]
	}
}

// IsSocket reports whether the fd is an IP socket.
func (f *FD) IsIP() bool { return f.Type == FDIPv4 || f.Type == FDIPv6 }

// LocalIP and friends resolve Falco's local/remote view from the server flag.
func (f *FD) LocalIP() netip.Addr {
	if f.IsServer {
		return f.SIP
	}
	return f.CIP
}

// RemoteIP is the peer's address.
func (f *FD) RemoteIP() netip.Addr {
	if f.IsServer {
		return f.CIP
	}
	return f.SIP
}

// LocalPort is this process's port.
func (f *FD) LocalPort() uint16 {
	if f.IsServer {
		return f.SPort
	}
	return f.CPort
}

// RemotePort is the peer's port.
func (f *FD) RemotePort() uint16 {
	if f.IsServer {
		return f.CPort
	}
	return f.SPort
}

// Container is the container a process runs in. The host is represented by
// a Container with ID "host" so rules can write `container.id != host`.
type Container struct {
	ID              string
	Name            string
	Image           string
	ImageID         string
	ImageRepository string
	ImageTag        string
	ImageDigest     string
	Type            string // docker, podman, containerd, cri-o, cri, host; "" unknown (docs/runtimes.md)
	Privileged      bool
	HasPrivileged   bool
	Labels          map[string]string
	Mounts          []Mount
	StartTime       int64 // Unix ns, 0 when unknown
	HostPID         bool
	HostNetwork     bool
	HostIPC         bool
	K8sNamespace    string
	K8sPodName      string
	K8sPodUID       string
}

// Mount is one container mount.
type Mount struct {
	Source      string
	Dest        string
	Mode        string
	RW          bool
	Propagation string
}

// Host is the shared Container value for processes outside any container.
var Host = &Container{ID: "host", Name: "host", Type: "host"}

// IsHost reports whether c is the host (or unknown).
func (c *Container) IsHost() bool { return c == nil || c.ID == "host" }
