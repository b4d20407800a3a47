package record

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// ArgFilters are the syscalls whose argument values a Recording keeps, the
// ones Docker's default profile filters on: socket (arg0, the family),
// clone and clone3 (the namespace flags only), unshare (arg0) and
// personality (arg0).
var ArgFilters = []string{"socket", "clone", "clone3", "unshare", "personality"}

// NamespaceFlags are the clone flags that create namespaces (CLONE_NEWNS,
// CLONE_NEWCGROUP ... CLONE_NEWNET), the mask Docker's profile tests.
const NamespaceFlags = 0x7e020000

// Open flags (x86, asm-generic).
const (
	oAccMode   = 0x3
	oCreat     = 0x40
	oDirectory = 0x10000
	sockFlags  = 0x800 | 0x80000 // SOCK_NONBLOCK | SOCK_CLOEXEC
	eInProgres = -115
)

// Builder accumulates kernel records into a Recording. It keeps no pointer
// into the records it is given, so a caller may reuse one Record.
type Builder struct {
	rec   *Recording
	creds map[uint32][4]uint32 // tid -> uid, euid, gid, egid last seen
	sets  struct {
		read, write, create, exec, setid, prog map[string]bool
		uids, gids                             map[uint32]bool
		unnamed                                map[string]map[int]bool
		args                                   map[string]map[uint64]bool
	}
	procs map[uint32]bool
}

// NewBuilder starts an empty recording.
func NewBuilder() *Builder {
	b := &Builder{rec: New(), creds: map[uint32][4]uint32{}, procs: map[uint32]bool{}}
	b.sets.read, b.sets.write, b.sets.create, b.sets.exec = map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	b.sets.setid, b.sets.prog = map[string]bool{}, map[string]bool{}
	b.sets.uids, b.sets.gids = map[uint32]bool{}, map[uint32]bool{}
	b.sets.unnamed = map[string]map[int]bool{}
	b.sets.args = map[string]map[uint64]bool{}
	return b
}

// Calls returns how many syscalls have been added so far.
func (b *Builder) Calls() (total uint64, distinct int) {
	for _, m := range b.rec.Syscalls {
		for _, c := range m {
			total += c
		}
		distinct += len(m)
	}
	return total, distinct
}

// Add takes one record of the workload.
func (b *Builder) Add(r *ebpf.Record) {
	b.procs[r.PID] = true
	var prev [4]uint32
	var havePrev bool
	if !r.Minimal {
		// Minimal records (close, dup, fcntl) carry no ids.
		b.sets.uids[r.EUID] = true
		b.sets.gids[r.EGID] = true
		prev, havePrev = b.creds[r.TID]
		defer func() { b.creds[r.TID] = [4]uint32{r.UID, r.EUID, r.GID, r.EGID} }()
		if r.Kind == ebpf.KindExec && r.Exec != nil && r.Exec.Exe != "" && havePrev &&
			(r.EUID != prev[1] || r.EGID != prev[3]) && (r.EUID != r.UID || r.EGID != r.GID) {
			b.sets.setid[r.Exec.Exe] = true
		}
	}
	switch r.Kind {
	case ebpf.KindExec:
		if r.Exec != nil && r.Exec.Exe != "" {
			b.sets.exec[r.Exec.Exe] = true
		}
		if r.Exec != nil {
			argv0 := ""
			if len(r.Exec.Argv) > 0 {
				argv0 = r.Exec.Argv[0]
			}
			if p := event.ProgramPath(r.Exec.Filename, r.Exec.Exe, argv0, ""); p != "" {
				b.sets.prog[p] = true
			}
		}
		return
	case ebpf.KindFork:
		if r.Fork != nil {
			b.procs[r.Fork.PID] = true
			b.creds[r.Fork.TID] = [4]uint32{r.UID, r.EUID, r.GID, r.EGID}
		}
		return
	case ebpf.KindExit:
		delete(b.creds, r.TID)
		return
	case ebpf.KindCap:
		b.capCheck(r)
		return
	case ebpf.KindSyscall, ebpf.KindEnter:
	default:
		return
	}
	b.syscall(r, prev, havePrev)
}

// The capture's ABIs, from the architecture table: a record is numbered in
// the native one or, with Compat, its compat ABI.
var (
	nativeArch = syscalls.CaptureArch().Name
	compatArch = syscalls.CaptureArch().Compat
	x32Arch    = syscalls.CaptureArch().Shares
)

// syscall counts a syscall record under the ABI it was made through and
// takes what the call tells of the workload.
func (b *Builder) syscall(r *ebpf.Record, prev [4]uint32, havePrev bool) {
	arch := nativeArch
	if r.Compat {
		arch = compatArch
	}
	name, ok := syscalls.Name(arch, r.Nr)
	if !ok {
		if b.sets.unnamed[arch] == nil {
			b.sets.unnamed[arch] = map[int]bool{}
		}
		b.sets.unnamed[arch][r.Nr] = true
		return
	}
	// A socket call made through i386 socketcall(2), or any call made
	// through the x32 ABI, is named natively (its arguments are that
	// call's), but what the workload's seccomp profile must allow is
	// socketcall itself in the 32-bit ABI, or the call in the x32 ABI.
	counted, countArch := name, arch
	switch {
	case r.Socketcall:
		counted, countArch = "socketcall", compatArch
	case r.X32:
		countArch = x32Arch
	}
	if b.rec.Syscalls[countArch] == nil {
		b.rec.Syscalls[countArch] = map[string]uint64{}
	}
	b.rec.Syscalls[countArch][counted]++
	if r.Kind != ebpf.KindSyscall {
		return
	}
	b.effects(strings.TrimSuffix(name, "32"), r, prev, havePrev) // setuid32 and friends on x86
}

// effects takes what a successful (or failed) call of base tells of the
// workload: files from its descriptor, sockets, argument values, ids and
// the capabilities they prove.
func (b *Builder) effects(base string, r *ebpf.Record, prev [4]uint32, havePrev bool) {
	ok0 := r.Ret == 0
	if d := syscalls.Describe(base); d != nil {
		if d.Open != nil {
			// A pipe or socket reopened through /dev/stdout or /proc/self/fd/N
			// has a pseudo name (pipe:[INO]) that changes every run: not a file.
			if r.Ret >= 0 && strings.HasPrefix(r.RetPath, "/") {
				b.file(r.RetPath, d.Open.Of(&r.Args, r.Struct))
			}
			return
		}
		if ok0 {
			for _, i := range d.Writes {
				b.add(b.sets.write, r.Path[i])
			}
			for _, i := range d.Creates {
				b.add(b.sets.create, r.Path[i])
			}
		}
	}
	switch base {
	case "socket", "socketpair":
		if r.Ret >= 0 {
			d, t, p := int(int32(r.Args[0])), int(int32(r.Args[1]))&^sockFlags, int(int32(r.Args[2]))
			b.rec.Sockets = append(b.rec.Sockets, Socket{Family: FamilyName(d), Domain: d, Type: t, Protocol: p})
		}
		if base == "socket" {
			b.arg("socket", r.Args[0]&0xffffffff)
		}
	case "bind":
		if ok0 && r.Addr != nil {
			e := endpoint(r.Addr, r.Sock)
			b.rec.Bind = append(b.rec.Bind, e)
			if (r.Addr.Family == 2 || r.Addr.Family == 10) && r.Addr.Port > 0 && r.Addr.Port < 1024 {
				b.infer("NET_BIND_SERVICE", fmt.Sprintf("bind %s port %d as uid %d (needed unless net.ipv4.ip_unprivileged_port_start <= %d, as Docker sets it in containers)", e.Family, e.Port, r.EUID, e.Port))
			}
		}
	case "listen":
		if ok0 && r.Sock != nil {
			e := Endpoint{Family: FamilyName(int(r.Sock.Family)), Proto: proto(r.Sock)}
			if r.Sock.SrcIP.IsValid() {
				e.IP, e.Port = r.Sock.SrcIP.String(), r.Sock.SrcPort
			}
			b.rec.Listen = append(b.rec.Listen, e)
		}
	case "connect":
		if (ok0 || r.Ret == eInProgres) && r.Addr != nil {
			b.rec.Connect = append(b.rec.Connect, endpoint(r.Addr, r.Sock))
		}
	case "sendto":
		if r.Ret >= 0 && r.Addr != nil {
			b.rec.Connect = append(b.rec.Connect, endpoint(r.Addr, r.Sock))
		}
	case "clone":
		b.arg("clone", r.Args[0]&NamespaceFlags)
	case "clone3":
		if len(r.Struct) >= 8 {
			b.arg("clone3", binary.LittleEndian.Uint64(r.Struct)&NamespaceFlags)
		}
	case "unshare", "personality":
		b.arg(base, r.Args[0]&0xffffffff)
	case "mount", "umount2", "umount", "pivot_root", "sethostname", "setdomainname":
		if ok0 {
			b.infer("SYS_ADMIN", fmt.Sprintf("%s succeeded", base))
		}
	case "setuid", "setreuid", "setresuid", "setgid", "setregid", "setresgid", "setfsuid", "setfsgid", "setgroups":
		b.idChange(base, r, prev, havePrev)
	}
}

// capCheck counts a capability check. Checks made on credentials other
// than the task's own (overlayfs acting as its mounter, access(2)) are
// left out: they say nothing of what the workload holds.
func (b *Builder) capCheck(r *ebpf.Record) {
	if r.Cap == nil || r.Cap.Override {
		return
	}
	name, ok := caps.Name(r.Cap.Cap)
	if !ok {
		name = fmt.Sprintf("CAP_%d", r.Cap.Cap)
	}
	name = strings.TrimPrefix(name, "CAP_")
	if r.Cap.Granted {
		b.rec.Caps.Checked = addChecked(b.rec.Caps.Checked, name, 1, 0)
	} else {
		b.rec.Caps.Checked = addChecked(b.rec.Caps.Checked, name, 0, 1)
	}
}

// CapsCollected marks the recording's capability checks as collected
// from source (the event source captured every check).
func (b *Builder) CapsCollected(source string) {
	b.rec.Caps.Collected, b.rec.Caps.Source, b.rec.Caps.Reason = true, source, ""
}

func (b *Builder) add(set map[string]bool, p string) {
	if p != "" {
		set[p] = true
	}
}

func (b *Builder) arg(name string, v uint64) {
	if b.sets.args[name] == nil {
		b.sets.args[name] = map[uint64]bool{}
	}
	b.sets.args[name][v] = true
}

func (b *Builder) infer(capName, evidence string) {
	b.rec.Caps.Inferred = addCap(b.rec.Caps.Inferred, capName, evidence)
}

func (b *Builder) file(p string, flags uint64) {
	if flags&oDirectory != 0 && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	switch flags & oAccMode {
	case 0:
		b.sets.read[p] = true
	default:
		b.sets.write[p] = true
	}
	if flags&oCreat != 0 {
		b.sets.create[p] = true
	}
}

// idChange records a credential change; a successful one that moves to an
// id the caller did not already have (real or effective) needed SETUID or
// SETGID, and setgroups always needs SETGID.
func (b *Builder) idChange(call string, r *ebpf.Record, prev [4]uint32, havePrev bool) {
	n := map[string]int{"setuid": 1, "setgid": 1, "setfsuid": 1, "setfsgid": 1, "setreuid": 2, "setregid": 2, "setresuid": 3, "setresgid": 3, "setgroups": 1}[call]
	c := IDChange{Syscall: call, OK: r.Ret == 0, To: [2]uint32{r.UID, r.EUID}}
	for i := range n {
		c.Args = append(c.Args, int64(int32(r.Args[i])))
	}
	isGID := strings.Contains(call, "gid") || call == "setgroups"
	if isGID {
		c.To = [2]uint32{r.GID, r.EGID}
	}
	if havePrev {
		if isGID {
			c.From = [2]uint32{prev[2], prev[3]}
		} else {
			c.From = [2]uint32{prev[0], prev[1]}
		}
	}
	if call == "setfsuid" || call == "setfsgid" {
		c.OK = r.Ret >= 0 // returns the previous fsid, success or not
	}
	b.rec.IDChanges = append(b.rec.IDChanges, c)
	if !c.OK || call == "setfsuid" || call == "setfsgid" {
		return
	}
	capName := "SETUID"
	if isGID {
		capName = "SETGID"
	}
	if call == "setgroups" {
		b.infer(capName, fmt.Sprintf("setgroups(%d groups) succeeded", c.Args[0]))
		return
	}
	if !havePrev {
		return
	}
	for _, a := range c.Args {
		if a == -1 || uint32(a) == c.From[0] || uint32(a) == c.From[1] {
			continue
		}
		b.infer(capName, fmt.Sprintf("%s%v succeeded from %d/%d (real/effective)", call, c.Args, c.From[0], c.From[1]))
		return
	}
}

// Recording returns the recording so far (sorted); the Builder stays usable.
func (b *Builder) Recording() *Recording {
	r := b.rec
	r.Files = Files{Read: keys(b.sets.read), Write: keys(b.sets.write), Create: keys(b.sets.create), Exec: keys(b.sets.exec)}
	r.Executables = keys(b.sets.exec)
	r.SetIDExec = keys(b.sets.setid)
	r.Programs = keys(b.sets.prog)
	r.UIDs, r.GIDs = keys(b.sets.uids), keys(b.sets.gids)
	r.Unnamed = nil
	for a, m := range b.sets.unnamed {
		if r.Unnamed == nil {
			r.Unnamed = map[string][]int{}
		}
		r.Unnamed[a] = keys(m)
	}
	r.Args = nil
	for n, m := range b.sets.args {
		if r.Args == nil {
			r.Args = map[string][]uint64{}
		}
		r.Args[n] = keys(m)
	}
	r.Processes = len(b.procs)
	r.normalize()
	return r
}

func keys[T ordered](m map[T]bool) []T {
	out := make([]T, 0, len(m))
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	return union(out, nil)
}

func endpoint(a *ebpf.SockAddr, s *ebpf.SockTuple) Endpoint {
	e := Endpoint{Family: FamilyName(int(a.Family)), Proto: proto(s)}
	switch {
	case a.IP.IsValid():
		e.IP, e.Port = a.IP.String(), a.Port
	case a.Path != "":
		e.Path = a.Path
	}
	return e
}

func proto(s *ebpf.SockTuple) string {
	if s == nil || (s.Family != 2 && s.Family != 10) {
		return ""
	}
	switch s.Type {
	case 1:
		return "tcp"
	case 2:
		return "udp"
	case 3:
		return "raw"
	}
	return ""
}

var familyNames = map[int]string{
	0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK",
	17: "AF_PACKET", 38: "AF_ALG", 40: "AF_VSOCK", 4: "AF_IPX", 5: "AF_APPLETALK",
	9: "AF_X25", 15: "AF_KEY", 29: "AF_CAN", 31: "AF_BLUETOOTH", 44: "AF_XDP",
}

// FamilyName is the AF_ name of a socket domain (AF_<n> when unknown).
func FamilyName(d int) string {
	if n, ok := familyNames[d]; ok {
		return n
	}
	return fmt.Sprintf("AF_%d", d)
}
