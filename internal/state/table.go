package state

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Options configure a Table.
type Options struct {
	ProcRoot  string              // "/proc" unless testing
	Resolver  *container.Resolver // nil: container ids only, no metadata
	Hostname  string
	NativeArc string // syscall table for native records; "" means the host's
	// Interested, when set, names the event types whose arguments are
	// needed (the rules' types). Other syscall events still update the
	// state and carry their type, process and fd, but their arguments are
	// not rendered: most of a busy host's events are state-only, such as
	// close.
	Interested func(event.Type) bool
	// Lazy makes Bootstrap only count the running processes: each is read
	// from /proc on its first record instead. Start-up time and memory
	// then follow the processes that do something, not all that exist.
	Lazy bool
}

// Table is the process, fd, user and container state.
type Table struct {
	opts   Options
	procs  map[uint32]*proc
	users  *userCache
	native string
	// dead holds processes whose exit event is being evaluated; they are
	// dropped when the next record arrives.
	dead []uint32
	// created remembers, per container, the paths written, created,
	// renamed or linked into place since the agent saw the container: an
	// exec of one of them is drift from the image (proc.is_exe_upper_layer).
	created   map[string]map[string]bool
	flagNames map[int64]string
	modeNames map[int64]string
	// last is the process of the previous record: most records come in
	// runs from one process.
	last    *proc
	lastPID uint32
	strs    map[string]string // see intern
	freeFDs []*event.FD       // closed FDs no other table holds, for reuse
	running int               // processes running at Bootstrap
	scCache [2][1024]*scInfo  // by ABI (native, compat) and number
}

// maxDriftPaths bounds the files remembered per container as created after
// it started.
const maxDriftPaths = 16384

type proc struct {
	p      *event.Process
	fds    fdTable
	mntNS  uint32
	ctrKey string // container id + runtime, "" on the host
	// execFilename is the path the last successful exec was given.
	execFilename string
	// namedUID/namedGID are the ids whose names were last looked up, so a
	// uid with no name is not looked up again on every event.
	namedUID, namedGID int64
	named              bool
	// parented: some process was linked to this one as its parent (fork,
	// /proc, re-parenting). Only then can an exec or exit have children
	// to re-point, which spares the walk over the table for most.
	parented bool
}

// New makes an empty table; call Bootstrap to load running processes.
func New(opts Options) *Table {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	native := opts.NativeArc
	if native == "" {
		native = syscalls.Native()
	}
	return &Table{opts: opts, procs: map[uint32]*proc{}, users: newUserCache(opts.ProcRoot), native: native, created: map[string]map[string]bool{}, flagNames: map[int64]string{}, modeNames: map[int64]string{}, strs: map[string]string{}, freeFDs: make([]*event.FD, 0, 64)}
}

// Len is the number of processes tracked.
func (t *Table) Len() int { return len(t.procs) }

// Process returns the tracked process for a host pid.
func (t *Table) Process(pid uint32) (*event.Process, bool) {
	p, ok := t.procs[pid]
	if !ok {
		return nil, false
	}
	return p.p, true
}

// Apply folds one record into the state and, when the record is an event
// rules should see, fills e and returns true. e is reset first.
func (t *Table) Apply(ctx context.Context, r *ebpf.Record, e *event.Event) bool {
	for _, pid := range t.dead {
		delete(t.procs, pid)
	}
	if len(t.dead) > 0 {
		t.last = nil
	}
	t.dead = t.dead[:0]
	args := e.Args[:0] // reuse the argument slice across events
	*e = event.Event{Time: ebpf.WallTime(r.Time).UnixNano(), CPU: int32(r.CPU), Dir: event.DirExit, Hostname: t.opts.Hostname, Args: args}
	switch r.Kind {
	case ebpf.KindExec:
		t.exec(ctx, r)
		return false
	case ebpf.KindFork:
		t.fork(ctx, r)
		return false
	case ebpf.KindExit:
		pr := t.get(ctx, r)
		t.creds(pr, r)
		if r.Exit != nil && r.Exit.GroupDead {
			t.dead = append(t.dead, r.PID)
			t.reparent(ctx, pr, r.Exit.Reaper)
			e.Type = tProcexit
			e.Proc = pr.p
			e.Res, e.HasRes = int64(r.Exit.Code), true
			return true
		}
		return false
	case ebpf.KindSyscall, ebpf.KindEnter:
		return t.syscall(ctx, r, e)
	}
	return false
}

var tProcexit = event.TypeOf("procexit")

// scInfo is what the table needs to know about one syscall number,
// computed once: its name, event type and argument names.
type scInfo struct {
	name  string
	typ   event.Type
	desc  *syscalls.Desc // nil for a syscall Palisade does not decode
	names []syscalls.Arg
	// skipArgs: no rule reads this type's arguments (Options.Interested).
	skipArgs bool
	// retFD: the returned fd is the events' first argument.
	retFD bool
}

// syscallInfo returns the cached description of a record's syscall.
func (t *Table) syscallInfo(r *ebpf.Record) *scInfo {
	abi := 0
	if r.Compat {
		abi = 1
	}
	if r.Nr >= 0 && r.Nr < len(t.scCache[abi]) {
		if c := t.scCache[abi][r.Nr]; c != nil {
			return c
		}
	}
	name := t.syscallName(r)
	d := syscalls.Describe(name)
	c := &scInfo{name: name, typ: event.TypeOf(name), desc: d}
	if d != nil {
		c.names, c.retFD = d.Args, d.RetFDFirst
	}
	c.skipArgs = t.opts.Interested != nil && !t.opts.Interested(c.typ)
	if r.Nr >= 0 && r.Nr < len(t.scCache[abi]) {
		t.scCache[abi][r.Nr] = c
	}
	return c
}

func (t *Table) syscallName(r *ebpf.Record) string {
	arch := t.native
	if r.Compat {
		arch = "x86"
	}
	name, ok := syscalls.Name(arch, r.Nr)
	if !ok {
		return "syscall_" + strconv.Itoa(r.Nr)
	}
	// 32-bit ABIs name some calls differently; rules use the 64-bit names.
	return syscalls.BaseName(name)
}

// get returns the process of a record, creating it from /proc (or from the
// record alone when the process is already gone).
func (t *Table) get(ctx context.Context, r *ebpf.Record) *proc {
	if pr := t.last; pr != nil && t.lastPID == r.PID {
		return pr
	}
	if pr, ok := t.procs[r.PID]; ok {
		t.last, t.lastPID = pr, r.PID
		return pr
	}
	pr := t.load(ctx, r.PID, 0)
	if pr == nil {
		pr = &proc{p: &event.Process{PID: int64(r.PID), TID: int64(r.TID), VPID: int64(r.VPID), VTID: int64(r.VTID), PPID: int64(r.PPID),
			Name: r.Comm, Exe: r.Comm, LoginUID: -1}}
		if parent, ok := t.procs[r.PPID]; ok {
			pr.p.Parent = parent.p
			parent.parented = true
			pr.p.Container = parent.p.Container
			pr.ctrKey = parent.ctrKey
			pr.p.Cwd = parent.p.Cwd
		}
	}
	if r.MntNS != 0 { // lean and minimal records carry none
		pr.mntNS = r.MntNS
	}
	if !r.Minimal {
		t.creds(pr, r)
	}
	t.procs[r.PID] = pr
	t.last, t.lastPID = pr, r.PID
	return pr
}

// loginUID is a record's login uid, -1 for none (the kernel's (uid_t)-1).
func loginUID(r *ebpf.Record) int64 {
	if r.LoginUID == 4294967295 {
		return -1
	}
	return int64(r.LoginUID)
}

// creds copies the ids and capabilities every record carries.
func (t *Table) creds(pr *proc, r *ebpf.Record) {
	p := pr.p
	// Lean syscall records carry no namespace-local ids; keep what exec
	// and fork records said.
	p.TID = int64(r.TID)
	if r.VTID != 0 {
		p.VTID = int64(r.VTID)
	}
	if r.VPID != 0 {
		p.VPID = int64(r.VPID)
	}
	p.UID, p.GID = int64(r.EUID), int64(r.EGID)
	login := loginUID(r)
	// The login uid first: fill names the user and the login user.
	if !pr.named || pr.namedUID != p.UID || p.LoginUID != login {
		p.LoginUID = login
		t.users.fill(p, pr.mntNS, r.PID)
	}
	if !pr.named || pr.namedGID != p.GID {
		t.users.fillGroup(p, pr.mntNS, r.PID)
	}
	pr.named, pr.namedUID, pr.namedGID = true, p.UID, p.GID
	p.CapEffective, p.CapPermitted = r.CapEffective, r.CapPermitted
}

func (t *Table) container(ctx context.Context, pr *proc, cgroup string) {
	id, rt, ok := container.IDFromCgroup(cgroup)
	if !ok {
		pr.p.Container, pr.ctrKey = event.Host, ""
		return
	}
	if pr.ctrKey == id+rt && pr.p.Container != nil {
		return
	}
	pr.ctrKey = id + rt
	if t.opts.Resolver != nil {
		pr.p.Container = t.opts.Resolver.Get(ctx, id, rt)
	} else {
		pr.p.Container = &event.Container{ID: id, Type: rt}
	}
}

func (t *Table) exec(ctx context.Context, r *ebpf.Record) {
	pr := t.get(ctx, r)
	p := pr.p
	np := &event.Process{PID: p.PID, TID: int64(r.TID), VPID: int64(r.VPID), VTID: int64(r.VTID), PPID: int64(r.PPID),
		SID: p.SID, VPGID: p.VPGID, Name: r.Comm, Cwd: p.Cwd, TTY: p.TTY, StartTime: p.StartTime, Parent: p.Parent,
		Container: p.Container, LoginUID: p.LoginUID, UID: -1, GID: -1, SessionLeaderName: p.SessionLeaderName}
	if parent, ok := t.procs[r.PPID]; ok && parent != pr {
		np.Parent = parent.p
		parent.parented = true
	}
	if x := r.Exec; x != nil {
		if len(x.Argv) > 0 {
			np.Exe, np.Args = x.Argv[0], x.Argv[1:]
		} else {
			np.Exe = x.Filename
		}
		np.ExePath = x.Exe
		np.ExeFromMemfd = strings.HasPrefix(x.Exe, "/memfd:")
		np.ExeWritable = x.Writable
		if x.Env != nil {
			np.Env = x.Env
		}
		np.TTY = ttyNumber(x.TTY)
	}
	if r.Cwd != "" {
		np.Cwd = t.intern(dirSlash(r.Cwd))
	}
	if np.StartTime == 0 {
		np.StartTime = ebpf.WallTime(r.Time).UnixNano()
	}
	pr.p = np
	pr.mntNS = r.MntNS
	// The exec closed the descriptors marked close-on-exec.
	pr.fds.deleteIf(func(fd *event.FD) bool { return fd.CloseOnExec })
	pr.named = false
	if r.Exec != nil {
		pr.execFilename = r.Exec.Filename
	}
	t.creds(pr, r)
	if r.Cgroup != "" {
		t.container(ctx, pr, r.Cgroup)
	}
	if pr.ctrKey != "" && t.created[pr.ctrKey][np.ExePath] {
		np.ExeUpperLayer = true
	}
	// Children keep pointing at the old image until they exec; re-point
	// the ones we track so proc.pname shows the new name.
	if pr.parented {
		for _, c := range t.procs {
			if c.p.Parent == p {
				c.p.Parent = np
			}
		}
	}
	np.EnvString() // join Args and Env once, now, for every event of the new image
}

// reparent hands the children of an exiting process to the process the
// kernel re-parents them to, as Falco does: from then on their proc.ppid,
// proc.pname and proc.aname[N] follow the reaper (init, or a subreaper such
// as containerd-shim), not the process that forked them.
func (t *Table) reparent(ctx context.Context, dead *proc, reaper uint32) {
	if reaper == 0 || reaper == uint32(dead.p.PID) || !dead.parented {
		return
	}
	var rp *event.Process
	for _, c := range t.procs {
		if c.p.Parent != dead.p || c == dead {
			continue
		}
		if rp == nil {
			r, ok := t.procs[reaper]
			if !ok {
				r = t.load(ctx, reaper, 0)
			}
			if r == nil {
				return
			}
			rp = r.p
			r.parented = true
		}
		c.p.Parent, c.p.PPID = rp, int64(reaper)
	}
}

func (t *Table) fork(ctx context.Context, r *ebpf.Record) {
	f := r.Fork
	if f == nil || f.Thread {
		return
	}
	parent := t.get(ctx, r)
	parent.parented = true
	pp := parent.p
	child := &event.Process{PID: int64(f.PID), TID: int64(f.TID), VPID: int64(f.VPID), VTID: int64(f.VTID), PPID: pp.PID,
		SID: pp.SID, VPGID: pp.VPGID, Name: pp.Name, Exe: pp.Exe, ExePath: pp.ExePath, Args: pp.Args, Env: pp.Env,
		Cwd: pp.Cwd, TTY: pp.TTY, UID: pp.UID, GID: pp.GID, LoginUID: pp.LoginUID, UserName: pp.UserName,
		UserHome: pp.UserHome, UserShell: pp.UserShell, LoginName: pp.LoginName, GroupName: pp.GroupName,
		StartTime: ebpf.WallTime(r.Time).UnixNano(), CapPermitted: pp.CapPermitted, CapEffective: pp.CapEffective,
		CapInheritable: pp.CapInheritable, ExeUpperLayer: pp.ExeUpperLayer, ExeFromMemfd: pp.ExeFromMemfd, ExeWritable: pp.ExeWritable,
		SessionLeaderName: pp.SessionLeaderName, Parent: pp, Container: pp.Container}
	c := &proc{p: child, fds: parent.fds.clone(), mntNS: parent.mntNS, ctrKey: parent.ctrKey,
		named: parent.named, namedUID: parent.namedUID, namedGID: parent.namedGID}
	parent.fds.each(func(_ int64, fd *event.FD) { fd.Shared = true })
	t.procs[f.PID] = c
	if t.lastPID == f.PID {
		t.last = nil // a reused pid whose exit was not seen
	}
	if r.Cgroup != "" {
		t.container(ctx, c, r.Cgroup)
	}
}

// dirSlash is a directory as Falco's proc.cwd gives it, with a trailing
// slash ("/dev/shm/"), so that a rule's `proc.cwd startswith "/dev/shm/"`
// also matches a process whose cwd is /dev/shm itself.
func dirSlash(d string) string {
	if d == "" || strings.HasSuffix(d, "/") {
		return d
	}
	return d + "/"
}

// ttyNumber encodes a terminal's name as the kernel names the tty (ptsN for
// a pseudo-terminal, ttyN, ttySN, console; /dev/pts/N's pts/N is taken too)
// into the device number /proc/PID/stat's tty_nr holds, which is what
// proc.tty is: pts N is major 136, minor N. A name it does not know is 1:
// a terminal, but not which.
func ttyNumber(name string) int64 {
	enc := func(major, minor int) int64 { // new_encode_dev
		return int64(minor&0xff | major<<8 | (minor&^0xff)<<12)
	}
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0 && n < 1<<20
	}
	switch {
	case name == "":
		return 0
	case name == "console":
		return enc(5, 1)
	case strings.HasPrefix(name, "pts"):
		if n, ok := num(strings.TrimPrefix(name[3:], "/")); ok {
			return enc(136, n)
		}
	case strings.HasPrefix(name, "ttyS"):
		if n, ok := num(name[4:]); ok {
			return enc(4, 64+n)
		}
	case strings.HasPrefix(name, "tty"):
		if n, ok := num(name[3:]); ok {
			return enc(4, n)
		}
	}
	return 1
}

// smallInts are the decimal renderings of small numbers, which most
// arguments (fds, flags, ids) are: rendering them allocates nothing.
var smallInts = func() [4096]string {
	var t [4096]string
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func itoa(v int64) string {
	if v >= 0 && v < int64(len(smallInts)) {
		return smallInts[v]
	}
	if v == -100 { // AT_FDCWD, the dirfd of most *at calls
		return "-100"
	}
	return strconv.FormatInt(v, 10)
}

// argInt appends a numeric argument.
func argInt(e *event.Event, name string, v int64) {
	e.Args = append(e.Args, event.Arg{Name: name, Str: itoa(v), Int: v, HasInt: true})
}

func argStr(e *event.Event, name, v string) {
	e.Args = append(e.Args, event.Arg{Name: name, Str: v})
}

// modeString renders a permission mode, caching the values a host uses.
func (t *Table) modeString(v int64) string { return cachedRender(t.modeNames, v, modeString) }

// openFlags renders open flags, caching the few distinct values a host uses.
func (t *Table) openFlags(v int64) string { return cachedRender(t.flagNames, v, event.FormatOpenFlags) }

// cachedRender returns render(v), kept in cache (up to 1024 values).
func cachedRender(cache map[int64]string, v int64, render func(int64) string) string {
	if s, ok := cache[v]; ok {
		return s
	}
	s := render(v)
	if len(cache) < 1024 {
		cache[v] = s
	}
	return s
}

// noteCreated records a path written or placed in a container.
func (t *Table) noteCreated(pr *proc, path string) {
	if pr.ctrKey == "" || path == "" {
		return
	}
	m := t.created[pr.ctrKey]
	if m == nil {
		m = map[string]bool{}
		t.created[pr.ctrKey] = m
	}
	if len(m) < maxDriftPaths {
		m[path] = true
	}
}

// syscall translates a syscall record and updates fd state.
func (t *Table) syscall(ctx context.Context, r *ebpf.Record, e *event.Event) bool {
	info := t.syscallInfo(r)
	name := info.name
	pr := t.get(ctx, r)
	if p := pr.p; r.Minimal {
		p.TID = int64(r.TID) // minimal records carry no ids or creds
	} else if int64(r.TID) != p.TID || int64(r.EUID) != p.UID || int64(r.EGID) != p.GID ||
		r.CapEffective != p.CapEffective || r.CapPermitted != p.CapPermitted || loginUID(r) != p.LoginUID {
		// Another thread, or the ids changed (setuid, capset): thread.tid
		// and user.* follow the thread that made this call.
		t.creds(pr, r)
	}
	e.Type = info.typ
	e.Proc = pr.p
	if r.Kind == ebpf.KindEnter {
		e.Dir = event.DirEnter
	} else {
		e.Res, e.HasRes = r.Ret, true
	}
	ret := r.Ret
	names := info.names
	pathOr := func(i int) string { return pathOr(r, i) }
	if info.skipArgs {
		names = nil // no rule reads this type's arguments
	} else if ret >= 0 && r.Kind != ebpf.KindEnter && info.retFD {
		// The open family's first argument is the new fd.
		e.Args = append(e.Args, event.Arg{Name: "fd", Str: itoa(ret), Int: ret, HasInt: true})
	}
	for i, a := range names {
		if a.Name == "" || i >= 6 {
			continue
		}
		t.renderArg(e, r, a, i)
	}
	if name == "openat2" && len(r.Struct) >= 16 {
		// struct open_how { u64 flags; u64 mode; u64 resolve; }
		flags := int64(binary.LittleEndian.Uint64(r.Struct[0:8]))
		mode := int64(binary.LittleEndian.Uint64(r.Struct[8:16]))
		e.Args = append(e.Args, event.Arg{Name: "flags", Str: t.openFlags(flags), Int: flags, HasInt: true},
			event.Arg{Name: "mode", Str: t.modeString(mode), Int: mode, HasInt: true})
	}
	fdArg := func(i int) *event.FD {
		n := int64(int32(r.Args[i]))
		if fd, ok := pr.fds.get(n); ok {
			return fd
		}
		if r.Path[i] != "" {
			fd := &event.FD{Num: n}
			nameFile(fd, r.Path[i])
			pr.fds.set(n, fd)
			return fd
		}
		if r.Sock != nil {
			fd := sockFD(n, r.Sock, false)
			pr.fds.set(n, fd)
			return fd
		}
		return nil
	}
	switch name {
	case "open", "openat", "openat2", "creat", "open_by_handle_at", "memfd_create", "open_tree":
		idx := 0
		switch name {
		case "openat", "openat2":
			idx = 1
		}
		if ret >= 0 {
			fd := t.newFD()
			fd.Num = ret
			nameFile(fd, r.RetPath)
			fd.OutsideRoot = r.RetOutsideRoot
			fd.CloseOnExec = openFlagsOf(name, r)&oCloexec != 0 || (name == "memfd_create" && r.Args[1]&1 != 0)
			if fd.Name == "" {
				fd.Name = pathOr(idx)
			}
			fd.NameRaw = r.Str[idx]
			if name == "memfd_create" {
				fd.Type, fd.Name = event.FDMemfd, "memfd:"+r.Str[0]
			} else if flagsDirectory(name, r) {
				fd.Type = event.FDDirectory
			}
			pr.fds.set(ret, fd)
			e.FD = fd
			if name == "creat" || (name != "memfd_create" && openFlagsOf(name, r)&0x43 != 0) {
				t.noteCreated(pr, fd.Name)
			}
		} else if name != "memfd_create" {
			e.FD = &event.FD{Num: -1, Type: event.FDFile, Name: pathOr(idx), NameRaw: r.Str[idx]}
		}
	case "close":
		n := int64(int32(r.Args[0]))
		fd := pr.fds.lookup(n)
		e.FD = fd
		if ret == 0 {
			pr.fds.del(n)
			if fd != nil && !fd.Shared && len(t.freeFDs) < cap(t.freeFDs) {
				// Only this table held it; the close event is evaluated
				// before the next record can reuse it.
				t.freeFDs = append(t.freeFDs, fd)
			}
		}
	case "close_range":
		// close_range(first, last, flags): every descriptor in [first,
		// last] is closed, or with CLOSE_RANGE_CLOEXEC marked close-on-exec.
		// (CLOSE_RANGE_UNSHARE unshares the table first: the same here.)
		if ret != 0 {
			break
		}
		first, last := int64(uint32(r.Args[0])), int64(uint32(r.Args[1]))
		if r.Args[2]&closeRangeCloexec != 0 {
			var mark []int64
			pr.fds.each(func(n int64, fd *event.FD) {
				if n >= first && n <= last && !fd.CloseOnExec {
					mark = append(mark, n)
				}
			})
			for _, n := range mark {
				pr.fds.setCloseOnExec(n, true)
			}
			break
		}
		pr.fds.deleteIf(func(fd *event.FD) bool { return fd.Num >= first && fd.Num <= last })
	case "dup", "dup2", "dup3":
		if fd, ok := pr.fds.get(int64(int32(r.Args[0]))); ok {
			e.FD = fd
			if ret >= 0 {
				pr.fds.dupTo(fd, ret, name == "dup3" && r.Args[2]&oCloexec != 0)
			}
		}
	case "fcntl":
		n := int64(int32(r.Args[0]))
		fd, ok := pr.fds.get(n)
		e.FD = fd
		if !ok || ret < 0 {
			break
		}
		switch r.Args[1] {
		case fSetFD:
			pr.fds.setCloseOnExec(n, r.Args[2]&1 != 0)
		case fDupFD, fDupFDCloexec:
			pr.fds.dupTo(fd, ret, r.Args[1] == fDupFDCloexec)
		}
	case "pipe", "pipe2", "socketpair":
		// The two new fds are in the int[2] the call filled (Struct), the
		// kernel's description of each in PairPath / PairSock.
		if ret != 0 || len(r.Struct) < 8 {
			break
		}
		for k := range 2 {
			n := int64(int32(binary.LittleEndian.Uint32(r.Struct[4*k:])))
			var fd *event.FD
			switch {
			case name != "socketpair":
				fd = t.newFD()
				fd.Num, fd.Type, fd.Name = n, event.FDPipe, r.PairPath[k]
				fd.Ino = pseudoIno(fd)
				fd.CloseOnExec = name == "pipe2" && r.Args[1]&oCloexec != 0
			case r.PairSock[k] != nil:
				fd = sockFD(n, r.PairSock[k], false)
				fd.CloseOnExec = r.Args[1]&oCloexec != 0
			default:
				fd = socketFD(n, int64(r.Args[0]), int64(r.Args[1]))
				fd.CloseOnExec = r.Args[1]&oCloexec != 0
			}
			pr.fds.set(n, fd)
			if k == 0 {
				e.FD = fd
			}
		}
	case "eventfd", "eventfd2", "epoll_create", "epoll_create1", "timerfd_create", "signalfd", "signalfd4",
		"inotify_init", "inotify_init1", "userfaultfd", "pidfd_open", "pidfd_getfd", "io_uring_setup":
		if ret < 0 {
			break
		}
		if name == "io_uring_setup" && len(r.Struct) >= 12 && binary.LittleEndian.Uint32(r.Struct[8:])&ioringSetupRegisteredFDOnly != 0 {
			break // the result is an index into the ring's registered fds
		}
		if (name == "signalfd" || name == "signalfd4") && int32(r.Args[0]) != -1 {
			// A new mask for an existing signalfd: the same descriptor,
			// its flags untouched.
			e.FD = fdArg(0)
			break
		}
		k := anonFDKinds[name]
		var fd *event.FD
		switch {
		case r.RetSock != nil: // pidfd_getfd of another process's socket
			fd = sockFD(ret, r.RetSock, false)
		case name == "pidfd_getfd" && r.RetPath == "":
			// Whatever it is, the kernel did not say: no entry is better
			// than a wrong one.
			pr.fds.del(ret)
		default:
			fd = t.newFD()
			fd.Num, fd.Type, fd.Name = ret, k.typ, r.RetPath
			if typ, ok := pseudoFDType(r.RetPath); ok && typ != event.FDUnknown {
				fd.Type = typ // pidfd_getfd's is whatever the other process had
			} else if name == "pidfd_getfd" {
				fd.Type = fileFDType(r.RetPath)
			}
			fd.Ino = pseudoIno(fd)
		}
		if fd == nil {
			break
		}
		fd.CloseOnExec = k.alwaysCloexec || (k.flagsArg >= 0 && r.Args[k.flagsArg]&oCloexec != 0)
		pr.fds.set(ret, fd)
		e.FD = fd
	case "bpf":
		// The commands that return a new descriptor; all of them are
		// close-on-exec. (bpf is captured when a rule asks for it.)
		if n, ok := bpfFDNames[r.Args[0]]; ok && ret >= 0 {
			fd := t.newFD()
			fd.Num, fd.Type, fd.Name, fd.CloseOnExec = ret, event.FDBPF, n, true
			pr.fds.set(ret, fd)
			e.FD = fd
		}
	case "socket":
		if ret >= 0 {
			fd := socketFD(ret, int64(r.Args[0]), int64(r.Args[1]))
			fd.CloseOnExec = r.Args[1]&oCloexec != 0 // SOCK_CLOEXEC
			pr.fds.set(ret, fd)
			e.FD = fd
		}
	case "connect":
		n := int64(int32(r.Args[0]))
		var fd *event.FD
		if r.Sock != nil && r.Sock.DstIP.IsValid() {
			fd = sockFD(n, r.Sock, false)
		} else if r.Addr != nil {
			fd = addrFD(n, pr.fds.lookup(n), r.Addr)
		}
		if fd != nil {
			fd.Connected = ret == 0 || ret == -115 // EINPROGRESS
			fd.NameChanged = true
			pr.fds.set(n, fd)
			e.FD = fd
		} else {
			e.FD = pr.fds.lookup(n)
		}
	case "accept", "accept4":
		if ret >= 0 && r.RetSock != nil {
			fd := sockFD(ret, r.RetSock, true)
			fd.Connected = true
			fd.CloseOnExec = name == "accept4" && r.Args[3]&oCloexec != 0
			pr.fds.set(ret, fd)
			e.FD = fd
		}
	case "bind", "listen":
		n := int64(int32(r.Args[0]))
		if r.Sock != nil {
			fd := sockFD(n, r.Sock, true)
			pr.fds.set(n, fd)
			e.FD = fd
		} else {
			e.FD = pr.fds.lookup(n)
		}
	case "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "shutdown":
		n := int64(int32(r.Args[0]))
		fd := fdArg(0)
		if fd != nil && r.Addr != nil && r.Addr.IP.IsValid() && !fd.SIP.IsValid() {
			fd = addrFD(n, fd, r.Addr)
			pr.fds.set(n, fd)
		}
		e.FD = fd
	case "rename", "renameat", "renameat2", "link", "linkat":
		if ret == 0 {
			i := 1
			if name != "rename" && name != "link" {
				i = 3
			}
			t.noteCreated(pr, pathOr(i))
		}
	case "chdir", "fchdir":
		if ret == 0 && r.Cwd != "" {
			pr.p.Cwd = t.intern(dirSlash(r.Cwd))
		}
	case "execve", "execveat":
		if ret == 0 {
			e.Args = e.Args[:0]
			argStr(e, "filename", pr.execFilename)
			// Falco's execve exit flags: what the new image's file is.
			var f int64
			if pr.p.ExeWritable {
				f |= 1
			}
			if pr.p.ExeUpperLayer {
				f |= 2
			}
			if pr.p.ExeFromMemfd {
				f |= 4
			}
			e.Args = append(e.Args, event.Arg{Name: "flags", Str: renderFlags(f, exeFlags), Int: f, HasInt: true})
		}
	case "fchmod", "fchown", "setns", "finit_module":
		e.FD = fdArg(0)
	case "clone", "fork", "vfork", "clone3":
		if ret > 0 {
			argInt(e, "child_pid", ret)
		}
	}
	return true
}

// pathOr is argument i's path as the kernel resolved it, else as passed.
func pathOr(r *ebpf.Record, i int) string {
	if r.Path[i] != "" {
		return r.Path[i]
	}
	return r.Str[i]
}

// renderArg appends argument i as its descriptor says it renders.
func (t *Table) renderArg(e *event.Event, r *ebpf.Record, a syscalls.Arg, i int) {
	v := int64(r.Args[i])
	switch a.Kind {
	case syscalls.ArgPath:
		argStr(e, a.Name, pathOr(r, i))
	case syscalls.ArgString:
		argStr(e, a.Name, r.Str[i])
	case syscalls.ArgFD:
		argInt(e, a.Name, int64(int32(v)))
	case syscalls.ArgOpenFlags:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: t.openFlags(v), Int: v, HasInt: true})
	case syscalls.ArgCloneFlags:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: renderFlags(v, cloneFlags), Int: v, HasInt: true})
	case syscalls.ArgMode:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: t.modeString(v), Int: v, HasInt: true})
	case syscalls.ArgModeFlags:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: modeFlags(v), Int: v, HasInt: true})
	case syscalls.ArgPtraceRequest:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: symbol(ptraceRequests, v), Int: v, HasInt: true})
	case syscalls.ArgBPFCmd:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: symbol(bpfCmds, v), Int: v, HasInt: true})
	case syscalls.ArgSocketDomain:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: symbol(socketDomains, v), Int: v, HasInt: true})
	case syscalls.ArgAddr:
		if r.Addr != nil {
			argStr(e, a.Name, addrString(r.Addr))
		}
	default:
		argInt(e, a.Name, v)
	}
}

// symbol is v's name in names, else v in decimal.
func symbol(names map[int64]string, v int64) string {
	if s := names[v]; s != "" {
		return s
	}
	return strconv.FormatInt(v, 10)
}

// newFD returns a zeroed FD, recycled from a closed one when there is one:
// a busy host opens and closes files far more often than it keeps them.
func (t *Table) newFD() *event.FD {
	if n := len(t.freeFDs); n > 0 {
		fd := t.freeFDs[n-1]
		t.freeFDs = t.freeFDs[:n-1]
		*fd = event.FD{}
		return fd
	}
	return &event.FD{}
}

// Flag values (x86_64 and the generic ABI; SOCK_CLOEXEC equals O_CLOEXEC).
const (
	oCloexec = 0o2000000
	// ioringSetupRegisteredFDOnly is IORING_SETUP_REGISTERED_FD_ONLY.
	ioringSetupRegisteredFDOnly = 1 << 15
	fDupFD                      = 0
	fSetFD                      = 2
	// closeRangeCloexec is close_range(2)'s CLOSE_RANGE_CLOEXEC.
	closeRangeCloexec = 4
	fDupFDCloexec     = 1030
)

// anonFDKinds are the calls that return a new descriptor of an anonymous
// kind: its type when the kernel's name for it says nothing (an older
// kernel, a truncated record), which argument holds the flags whose
// O_CLOEXEC bit (EFD_CLOEXEC, EPOLL_CLOEXEC, TFD_CLOEXEC, SFD_CLOEXEC,
// IN_CLOEXEC) marks it close-on-exec, or that it always is.
var anonFDKinds = map[string]struct {
	typ           event.FDType
	flagsArg      int
	alwaysCloexec bool
}{
	"eventfd":        {event.FDEvent, -1, false},
	"eventfd2":       {event.FDEvent, 1, false},
	"epoll_create":   {event.FDEventPoll, -1, false},
	"epoll_create1":  {event.FDEventPoll, 0, false},
	"timerfd_create": {event.FDTimerfd, 1, false},
	"signalfd":       {event.FDSignalfd, -1, false},
	"signalfd4":      {event.FDSignalfd, 3, false},
	"inotify_init":   {event.FDInotify, -1, false},
	"inotify_init1":  {event.FDInotify, 0, false},
	"userfaultfd":    {event.FDUserfaultfd, 0, false},
	"pidfd_open":     {event.FDPidfd, -1, true},
	"pidfd_getfd":    {event.FDUnknown, -1, true},
	"io_uring_setup": {event.FDIOUring, -1, true},
}

// bpfFDNames are the bpf(2) commands that return a new descriptor, with
// the name /proc/PID/fd gives it.
var bpfFDNames = map[uint64]string{
	0:  "anon_inode:bpf-map",   // BPF_MAP_CREATE
	5:  "anon_inode:bpf-prog",  // BPF_PROG_LOAD
	7:  "",                     // BPF_OBJ_GET: a pinned map, program or link
	13: "anon_inode:bpf-prog",  // BPF_PROG_GET_FD_BY_ID
	14: "anon_inode:bpf-map",   // BPF_MAP_GET_FD_BY_ID
	17: "anon_inode:bpf_link",  // BPF_RAW_TRACEPOINT_OPEN
	18: "anon_inode:btf",       // BPF_BTF_LOAD
	19: "anon_inode:btf",       // BPF_BTF_GET_FD_BY_ID
	28: "anon_inode:bpf_link",  // BPF_LINK_CREATE
	30: "anon_inode:bpf_link",  // BPF_LINK_GET_FD_BY_ID
	32: "anon_inode:bpf-stats", // BPF_ENABLE_STATS
	33: "anon_inode:bpf_iter",  // BPF_ITER_CREATE
	36: "anon_inode:bpf-token", // BPF_TOKEN_CREATE
}

// openFlagsOf returns the flags argument of an open-family record.
func openFlagsOf(name string, r *ebpf.Record) uint64 {
	switch name {
	case "open":
		return r.Args[1]
	case "openat":
		return r.Args[2]
	case "openat2":
		if len(r.Struct) >= 8 {
			return binary.LittleEndian.Uint64(r.Struct[0:8])
		}
	}
	return 0
}

func flagsDirectory(name string, r *ebpf.Record) bool {
	var f uint64
	switch name {
	case "open":
		f = r.Args[1]
	case "openat":
		f = r.Args[2]
	default:
		return false
	}
	return f&0x10000 != 0
}

func resetFD(f *event.FD) *event.FD {
	return &event.FD{Num: f.Num, Type: f.Type, Name: f.Name, NameRaw: f.NameRaw, L4Proto: f.L4Proto, CIP: f.CIP, SIP: f.SIP,
		CPort: f.CPort, SPort: f.SPort, IsServer: f.IsServer, Connected: f.Connected, Dev: f.Dev, Ino: f.Ino}
}

// Socket constants.
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

func l4proto(sockType int64, proto uint16) string {
	switch {
	case proto == 6:
		return "tcp"
	case proto == 17:
		return "udp"
	case proto == 1 || proto == 58:
		return "icmp"
	}
	switch sockType & 0xf {
	case 1:
		return "tcp"
	case 2:
		return "udp"
	case 3:
		return "raw"
	}
	return ""
}

func socketFD(num, domain, typ int64) *event.FD {
	fd := &event.FD{Num: num}
	switch domain {
	case afInet:
		fd.Type = event.FDIPv4
	case afInet6:
		fd.Type = event.FDIPv6
	case afUnix:
		fd.Type = event.FDUnix
	case 16:
		fd.Type = event.FDNetlink
	default:
		fd.Type = event.FDUnknown
	}
	if fd.Type == event.FDIPv4 || fd.Type == event.FDIPv6 {
		fd.L4Proto = l4proto(typ, 0)
	}
	return fd
}

// sockFD builds an fd from the kernel's socket tuple. Src is the local end;
// server says the local end is the server (accept, bind, listen).
func sockFD(num int64, s *ebpf.SockTuple, server bool) *event.FD {
	fd := &event.FD{Num: num, L4Proto: l4proto(int64(s.Type), s.Proto)}
	switch s.Family {
	case afInet:
		fd.Type = event.FDIPv4
	case afInet6:
		fd.Type = event.FDIPv6
		if s.SrcIP.Is4In6() && s.DstIP.Is4In6() {
			fd.Type = event.FDIPv4
		}
	case afUnix:
		fd.Type = event.FDUnix
	}
	local, remote := s.SrcIP.Unmap(), s.DstIP.Unmap()
	if server {
		fd.SIP, fd.SPort, fd.CIP, fd.CPort, fd.IsServer = local, s.SrcPort, remote, s.DstPort, true
	} else {
		fd.CIP, fd.CPort, fd.SIP, fd.SPort = local, s.SrcPort, remote, s.DstPort
	}
	if fd.IsIP() {
		fd.Name = netip.AddrPortFrom(fd.CIP, fd.CPort).String() + "->" + netip.AddrPortFrom(fd.SIP, fd.SPort).String()
	}
	return fd
}

// addrFD fills the server side from a user sockaddr (connect without a
// kernel tuple, UDP sendto).
func addrFD(num int64, old *event.FD, a *ebpf.SockAddr) *event.FD {
	fd := &event.FD{Num: num}
	if old != nil {
		fd = resetFD(old)
	}
	switch a.Family {
	case afInet:
		fd.Type = event.FDIPv4
	case afInet6:
		fd.Type = event.FDIPv6
	case afUnix:
		fd.Type = event.FDUnix
		fd.Name = a.Path
		return fd
	}
	fd.SIP, fd.SPort = a.IP.Unmap(), a.Port
	if fd.IsIP() {
		fd.Name = netip.AddrPortFrom(fd.CIP, fd.CPort).String() + "->" + netip.AddrPortFrom(fd.SIP, fd.SPort).String()
	}
	return fd
}

func addrString(a *ebpf.SockAddr) string {
	switch a.Family {
	case afUnix:
		return a.Path
	case afInet, afInet6:
		return netip.AddrPortFrom(a.IP, a.Port).String()
	}
	return ""
}
