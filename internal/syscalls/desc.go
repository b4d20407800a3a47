package syscalls

import (
	"sort"
	"strings"
)

// Desc is what Palisade knows about one syscall it decodes: Falco's names
// for its arguments, what the kernel side reads and resolves for it, and
// what it does to the process and fd tables. Arguments are numbered 0-5
// in the syscall's own order. The capture, the state table, the recorder
// and watch --list-syscalls all read this one table (descriptors.go).
type Desc struct {
	Name string
	// Args are Falco's argument names by position and how each renders;
	// an Arg with no name skips its position (a pointer with nothing to show).
	Args []Arg
	// RetFDFirst: events list the returned fd as their first argument
	// (the open family, as Falco does).
	RetFDFirst bool

	// What the kernel reads at the call's exit.
	Capture Capture
	Paths   map[int]int // path argument -> its dirfd argument (AtCwd: none)
	Strs    []int       // plain user strings (symlink targets, names, fs types)
	FDs     []int       // fd arguments to describe (file path or socket tuple)
	Addr    *Sockaddr   // a sockaddr argument, nil for none
	Struct  *Struct     // a struct argument to copy, nil for none

	// What it does to the process and fd tables.
	Effect Effect
	// State: the process and fd tables go wrong without it, so watch
	// captures it whatever the rules select.
	State bool
	// Open is set for the open(2) family: where its open flags are.
	Open *OpenFlags
	// Cloexec says what marks the descriptor the call makes close-on-exec;
	// nil when nothing does.
	Cloexec *Cloexec
	// FDType is the Falco fd type (event.FDType's name) of the descriptor
	// the call makes when the kernel's name for it says nothing.
	FDType string
	// Creates and Writes are the path arguments a successful call creates
	// (or puts in place) and modifies.
	Creates, Writes []int
}

// AtCwd is the dirfd of a path argument that resolves against the cwd.
const AtCwd = -1

// Capture flags: what the kernel records besides the arguments.
type Capture uint16

const (
	CaptureRetFD   Capture = 1 << iota // describe the returned fd
	CaptureCwd                         // the cwd after the call (chdir)
	CaptureEnter                       // never returns: recorded at entry only
	CaptureExec                        // a successful call resets the registers (exec)
	CaptureFullID                      // namespace ids and cgroup even in lean records
	CaptureMinimal                     // only the numbers: no ids, creds or comm
	CaptureMsghdr                      // a struct msghdr's address (sendmsg)
	CaptureFDPair                      // describe the two fds an int[2] argument returns
)

// Sockaddr locates a struct sockaddr argument and its length.
type Sockaddr struct {
	Arg, Len int
	LenPtr   bool // Len points at the length (recvfrom's socklen_t *)
}

// Struct is a struct argument of Len bytes the kernel copies.
type Struct struct{ Arg, Len int }

// OpenFlags says where an open-family call's flags are.
type OpenFlags struct {
	Arg     int    // the flags argument; InStruct: open_how.flags; NoArg: none
	Implied uint64 // flags the call implies (creat)
}

// NoArg and InStruct are argument positions that are not arguments.
const (
	NoArg    = -1
	InStruct = -2
)

// Cloexec says which argument's bit marks a new descriptor close-on-exec.
type Cloexec struct {
	Arg    int    // NoArg when only Always applies
	Bit    uint64 // 0 means O_CLOEXEC (which SOCK_, EFD_, TFD_, SFD_, IN_ and EPOLL_CLOEXEC equal)
	Always bool   // the descriptor always is (pidfd_open, bpf, io_uring_setup)
}

// Arg is one argument's Falco name and how its value renders.
type Arg struct {
	Name string
	Kind ArgKind
}

// ArgKind says how an argument's value renders.
type ArgKind uint8

const (
	ArgInt           ArgKind = iota // decimal
	ArgFD                           // a descriptor: the low 32 bits, signed
	ArgPath                         // the kernel's path, else the user string
	ArgString                       // the user string as passed
	ArgOpenFlags                    // O_ flag names
	ArgCloneFlags                   // CLONE_ flag names
	ArgMode                         // octal permission mode
	ArgModeFlags                    // S_ flag names (chmod)
	ArgPtraceRequest                // PTRACE_ names
	ArgBPFCmd                       // BPF_ command names
	ArgSocketDomain                 // AF_ names
	ArgAddr                         // the sockaddr, when read
	// ArgStructCloneFlags: CLONE_ flag names of the u64 at the start of the
	// struct the kernel copied (clone3's clone_args.flags).
	ArgStructCloneFlags
	ArgKeyctlOp // KEYCTL_ operation names
)

// Effect is what a call does to the process and fd tables; the state
// table has one handler per effect.
type Effect uint8

const (
	EffectNone       Effect = iota
	EffectOpen              // a new file descriptor from a path
	EffectMemfd             // a new memfd
	EffectClose             // closes its fd argument
	EffectCloseRange        // closes or marks close-on-exec a range of fds
	EffectDup               // copies a descriptor
	EffectFcntl             // F_DUPFD, F_SETFD
	EffectPipe              // two pipe ends in an int[2]
	EffectSocketpair        // two sockets in an int[2]
	EffectAnonFD            // a new anonymous-inode descriptor
	EffectSignalfd          // a new signalfd, or a new mask for one
	EffectIOUring           // a new io_uring descriptor, or a ring index
	EffectBPF               // some bpf(2) commands return a descriptor
	EffectSocket            // a new socket
	EffectConnect           // names a socket's peer
	EffectAccept            // a new connected socket
	EffectBind              // names a socket's local end (bind, listen)
	EffectSocketIO          // data on a socket, maybe naming its peer (UDP)
	EffectPlace             // puts a file in place (rename, link)
	EffectChdir             // changes the cwd
	EffectExec              // a new image
	EffectFork              // a new process
	EffectFDArg             // acts on its fd argument
	EffectCreds             // changes the thread's credentials (set*id, capset)
	numEffects
)

// NumEffects is the number of Effect values, for tables indexed by them.
const NumEffects = int(numEffects)

var byName = func() map[string]*Desc {
	m := make(map[string]*Desc, len(descriptors))
	for i := range descriptors {
		m[descriptors[i].Name] = &descriptors[i]
	}
	return m
}()

// Describe returns the descriptor of a syscall by name (the 64-bit name:
// setuid, not setuid32), or nil when Palisade does not decode it.
func Describe(name string) *Desc { return byName[name] }

// Descriptors returns every descriptor, in the table's order. The caller must
// not modify them.
func Descriptors() []Desc { return descriptors }

// BaseName is the name a syscall's descriptor and rules know it by:
// 32-bit ABIs give the calls with 32-bit ids a "32" suffix (setuid32,
// chown32) that rules do not use.
func BaseName(name string) string {
	switch name {
	case "setuid32", "setgid32", "setreuid32", "setregid32", "setresuid32", "setresgid32", "chown32", "lchown32", "fchown32", "setfsuid32", "setfsgid32":
		return strings.TrimSuffix(name, "32")
	}
	return name
}

// Decoded returns arch's numbers of every syscall Palisade decodes, sorted:
// what a rule that matches every event type selects. Calls recorded at
// entry (exit, exit_group) are left out: sched_process_exit reports every
// exit without a sys_enter program.
func Decoded(arch string) []int {
	var out []int
	for i := range descriptors {
		d := &descriptors[i]
		if d.Capture&CaptureEnter != 0 {
			continue
		}
		if nr, ok := Number(arch, d.Name); ok {
			out = append(out, nr)
		}
	}
	sort.Ints(out)
	return out
}

// Captured is one syscall of a capture set and why it is in it.
type Captured struct {
	Name  string
	Nr    int
	Rules bool // a rule's event types name it (or a rule matches every type)
	State bool // the process and fd tables need it
}

// CaptureSet is what watch selects on arch for rules whose event types
// are types (all: some rule matches every type): the syscalls the types
// name plus those the state needs, ordered by number, and the types that
// are not syscalls on arch.
func CaptureSet(arch string, types []string, all bool) (set []Captured, notSyscalls []string) {
	inRules := map[string]bool{}
	for _, n := range types {
		if _, ok := Number(arch, n); ok {
			inRules[n] = true
		} else {
			notSyscalls = append(notSyscalls, n)
		}
	}
	var nrs []int
	if all {
		nrs = Decoded(arch)
	} else {
		seen := map[int]bool{}
		add := func(n string) {
			if nr, ok := Number(arch, n); ok && !seen[nr] {
				seen[nr] = true
				nrs = append(nrs, nr)
			}
		}
		for _, n := range types {
			add(n)
		}
		for i := range descriptors {
			if descriptors[i].State {
				add(descriptors[i].Name)
			}
		}
		sort.Ints(nrs)
	}
	for _, nr := range nrs {
		n, _ := Name(arch, nr)
		d := Describe(n)
		set = append(set, Captured{Name: n, Nr: nr, Rules: all || inRules[n], State: d != nil && d.State})
	}
	return set, notSyscalls
}

// Numbers are the syscall numbers of a capture set.
func Numbers(set []Captured) []int {
	out := make([]int, len(set))
	for i, c := range set {
		out[i] = c.Nr
	}
	return out
}

// Of returns a call's open flags from its arguments and the struct the
// kernel copied (little-endian open_how); 0 when they are not there.
func (o *OpenFlags) Of(args *[6]uint64, st []byte) uint64 {
	switch {
	case o == nil:
		return 0
	case o.Arg >= 0 && o.Arg < len(args):
		return args[o.Arg]
	case o.Arg == InStruct && len(st) >= 8:
		return uint64(st[0]) | uint64(st[1])<<8 | uint64(st[2])<<16 | uint64(st[3])<<24 |
			uint64(st[4])<<32 | uint64(st[5])<<40 | uint64(st[6])<<48 | uint64(st[7])<<56
	}
	return o.Implied
}
