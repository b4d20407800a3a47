package state

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/caps"
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
	// Identify, when set, names the protected file an opened inode is
	// (fd.identity), given the kernel's dev_t and the inode number; ""
	// for any other inode.
	Identify func(dev uint32, ino uint64) string
}

// Table is the process, fd, user and container state.
type Table struct {
	opts   Options
	procs  map[uint32]*proc
	users  *userCache
	native string
	compat string // the native arch's compat ABI (records with Compat set)
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
	// uringBudget paces the lookups of opens recorded at submission
	// (resolveSubmitted).
	uringBudget uringBudget
	running     int              // processes running at Bootstrap
	scCache     [2][1024]*scInfo // by ABI (native, compat) and number
}

// maxDriftPaths bounds the files remembered per container as created after
// it started.
const maxDriftPaths = 16384

type proc struct {
	p      *event.Process
	fds    fdTable
	mntNS  uint32
	pidNS  uint32 // 0 until a record or /proc says
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
	// thr are the threads seen, each with the ids its last record
	// carried, and grants counts the successful set*id and capset calls
	// of any thread of the process: the credential-change check (creds.go).
	thr    []thrCred
	grants uint32
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
	var compat string
	if a, ok := syscalls.LookupArch(native); ok {
		compat = a.Compat
	}
	return &Table{opts: opts, procs: map[uint32]*proc{}, users: newUserCache(opts.ProcRoot), native: native, compat: compat, created: map[string]map[string]bool{}, flagNames: map[int64]string{}, modeNames: map[int64]string{}, strs: map[string]string{}, freeFDs: make([]*event.FD, 0, 64)}
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
		pr.dropThread(r.TID)
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
	case ebpf.KindCap:
		return t.capCheck(ctx, r, e)
	}
	return false
}

var (
	tProcexit   = event.TypeOf("procexit")
	tCapCapable = event.TypeOf("cap_capable")
)

// capCheck makes a capability check (ebpf.Options.Capabilities) a
// cap_capable event: evt.arg.cap is the capability (CAP_CHOWN; its
// number as the integer), evt.res 0 when granted, -EPERM when denied.
// Checks made with credentials other than the task's own (overlayfs
// acting as its mounter, access(2) with the real ids) are not events:
// they say nothing of what the process holds or does.
func (t *Table) capCheck(ctx context.Context, r *ebpf.Record, e *event.Event) bool {
	if r.Cap == nil || r.Cap.Override {
		return false
	}
	pr := t.get(ctx, r)
	e.Type = tCapCapable
	e.Proc = pr.p
	e.Res, e.HasRes = r.Cap.Ret, true
	e.Args = append(e.Args, event.Arg{Name: "cap", Str: CapName(r.Cap.Cap), Int: int64(r.Cap.Cap), HasInt: true})
	return true
}

// CapName is a capability's CAP_ name, CAP_<n> for one this build does
// not know.
func CapName(n int) string {
	if name, ok := caps.Name(n); ok {
		return name
	}
	return "CAP_" + strconv.Itoa(n)
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
	if r.PidNS != 0 {
		pr.pidNS = r.PidNS
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
	// Records carry the kernel's ids; fill maps them into the process's
	// user namespace when they change.
	hostUID, hostGID := int64(r.EUID), int64(r.EGID)
	login := loginUID(r)
	// The login uid first: fill names the user and the login user.
	if !pr.named || pr.namedUID != hostUID || p.LoginUID != login {
		p.LoginUID = login
		t.users.fill(p, pr.mntNS, r.PID, hostUID)
	}
	if !pr.named || pr.namedGID != hostGID {
		t.users.fillGroup(p, pr.mntNS, r.PID, hostGID)
	}
	pr.named, pr.namedUID, pr.namedGID = true, hostUID, hostGID
	p.CapEffective, p.CapPermitted = r.CapEffective, r.CapPermitted
}

func (t *Table) container(ctx context.Context, pr *proc, cgroup string) {
	ref, ok := container.ParseCgroup(cgroup)
	if !ok {
		t.containerByNamespace(ctx, pr)
		return
	}
	key := ref.ShortID() + ref.Runtime
	// A container without a name (its engine was down) is asked for
	// again at the next exec or fork: the resolver's cache answers.
	if pr.ctrKey == key && pr.p.Container != nil && pr.p.Container.Name != "" {
		return
	}
	pr.p.Container, pr.ctrKey = t.resolve(ctx, ref), key
	if pr.p.Container.IsHost() {
		pr.ctrKey = ""
	}
}

// containerByNamespace places a process whose cgroup says host: a
// rootless engine on cgroup v1 gives its containers no cgroup, so the
// process is in a container when a container's init holds its pid (or
// mount) namespace.
func (t *Table) containerByNamespace(ctx context.Context, pr *proc) {
	if r := t.opts.Resolver; r != nil && r.Rootless() && !r.InHostNamespaces(pr.pidNS, pr.mntNS) {
		c := r.ByNamespace(ctx, pr.pidNS, pr.mntNS)
		if c == nil || c.IsHost() {
			c = t.containerByShim(ctx, pr.p)
		}
		if c != nil && !c.IsHost() {
			pr.p.Container, pr.ctrKey = c, c.ID+c.Type
			return
		}
	}
	pr.p.Container, pr.ctrKey = event.Host, ""
}

// maxShimDepth bounds the walk from a process up to its container's shim
// (shim, runc init, the container's init, a shell, ...).
const maxShimDepth = 16

// containerByShim is the container whose runtime shim (containerd-shim,
// conmon) p descends from, when that container's engine knows it. The
// engines list a container only once it runs, after its first processes
// have started: until then, and for a container that lives a millisecond,
// the shim is what ties its processes to it.
func (t *Table) containerByShim(ctx context.Context, p *event.Process) *event.Container {
	for a, n := p.Parent, 0; a != nil && n < maxShimDepth; a, n = a.Parent, n+1 {
		if ref, ok := container.ShimRef(a.Name, a.Args, a.HostUID); ok {
			return t.opts.Resolver.Get(ctx, ref)
		}
	}
	return nil
}

// resolve is the container a cgroup names, with the resolver's metadata
// when there is one.
func (t *Table) resolve(ctx context.Context, ref container.Ref) *event.Container {
	switch {
	case t.opts.Resolver != nil:
		return t.opts.Resolver.Get(ctx, ref)
	case ref.Unverified:
		return event.Host // only an engine can say it is a container
	default:
		return &event.Container{ID: ref.ShortID(), Type: ref.Runtime, K8sPodUID: ref.PodUID}
	}
}

func (t *Table) exec(ctx context.Context, r *ebpf.Record) {
	pr := t.get(ctx, r)
	p := pr.p
	np := &event.Process{PID: p.PID, TID: int64(r.TID), VPID: int64(r.VPID), VTID: int64(r.VTID), PPID: int64(r.PPID),
		SID: p.SID, VPGID: p.VPGID, Name: r.Comm, Cwd: p.Cwd, TTY: p.TTY, StartTime: p.StartTime, Parent: p.Parent,
		Container: p.Container, LoginUID: p.LoginUID, UID: -1, GID: -1, SessionLeaderName: p.SessionLeaderName,
		CredUnexplained: p.CredUnexplained, PrevHostUID: p.PrevHostUID}
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
	t.execCreds(pr, np, r)
	pr.p = np
	pr.mntNS = r.MntNS
	if r.PidNS != 0 {
		pr.pidNS = r.PidNS
	}
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
	if !r.Minimal {
		t.checkCreds(parent, r, false)
	}
	pp := parent.p
	child := &event.Process{PID: int64(f.PID), TID: int64(f.TID), VPID: int64(f.VPID), VTID: int64(f.VTID), PPID: pp.PID,
		SID: pp.SID, VPGID: pp.VPGID, Name: pp.Name, Exe: pp.Exe, ExePath: pp.ExePath, Args: pp.Args, Env: pp.Env,
		Cwd: pp.Cwd, TTY: pp.TTY, UID: pp.UID, GID: pp.GID, HostUID: pp.HostUID, HostGID: pp.HostGID, LoginUID: pp.LoginUID, UserName: pp.UserName,
		UserHome: pp.UserHome, UserShell: pp.UserShell, LoginName: pp.LoginName, GroupName: pp.GroupName,
		StartTime: ebpf.WallTime(r.Time).UnixNano(), CapPermitted: pp.CapPermitted, CapEffective: pp.CapEffective,
		CapInheritable: pp.CapInheritable, ExeUpperLayer: pp.ExeUpperLayer, ExeFromMemfd: pp.ExeFromMemfd, ExeWritable: pp.ExeWritable,
		SessionLeaderName: pp.SessionLeaderName, Parent: pp, Container: pp.Container,
		CredUnexplained: pp.CredUnexplained, PrevHostUID: pp.PrevHostUID}
	c := &proc{p: child, fds: parent.fds.clone(), mntNS: parent.mntNS, pidNS: parent.pidNS, ctrKey: parent.ctrKey,
		named: parent.named, namedUID: parent.namedUID, namedGID: parent.namedGID}
	if !r.Minimal { // the child starts with the ids of the thread that forked it
		c.thr = append(c.thr, thrCred{tid: f.TID, uid: r.UID, euid: r.EUID})
	}
	if f.VPID == 1 {
		c.pidNS = 0 // the init of a new pid namespace: its exec says which
	}
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

func resetFD(f *event.FD) *event.FD {
	return &event.FD{Num: f.Num, Type: f.Type, Name: f.Name, NameRaw: f.NameRaw, L4Proto: f.L4Proto, CIP: f.CIP, SIP: f.SIP,
		CPort: f.CPort, SPort: f.SPort, IsServer: f.IsServer, Connected: f.Connected, Dev: f.Dev, Ino: f.Ino,
		Nlink: f.Nlink, Identity: f.Identity}
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
