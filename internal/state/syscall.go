package state

import (
	"context"
	"encoding/binary"
	"strconv"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// scInfo is what the table needs to know about one syscall number,
// computed once: its name, event type, descriptor and effect.
type scInfo struct {
	name  string
	typ   event.Type
	desc  *syscalls.Desc // nil for a syscall Palisade does not decode
	names []syscalls.Arg
	// skipArgs: no rule reads this type's arguments (Options.Interested).
	skipArgs bool
	// retFD: the returned fd is the events' first argument.
	retFD bool
	// fdType is the type of the descriptor the call makes when the
	// kernel's name for it says nothing (desc.FDType).
	fdType   event.FDType
	openPath int // openPathArg
	// effect is what the call does to the tables (desc.Effect).
	effect syscalls.Effect
}

// call is a syscall record being applied.
type call struct {
	r    *ebpf.Record
	e    *event.Event
	pr   *proc
	info *scInfo
}

// applyEffect runs the handler of the call's effect on the process and fd
// tables; false when the effect has none. The calls are direct, not
// through a table of function values, so that nothing of the record
// escapes to the heap.
func (t *Table) applyEffect(c *call) bool {
	switch c.info.effect {
	case syscalls.EffectOpen:
		t.onOpen(c)
	case syscalls.EffectMemfd:
		t.onMemfd(c)
	case syscalls.EffectClose:
		t.onClose(c)
	case syscalls.EffectCloseRange:
		t.onCloseRange(c)
	case syscalls.EffectDup:
		t.onDup(c)
	case syscalls.EffectFcntl:
		t.onFcntl(c)
	case syscalls.EffectPipe:
		t.onPipe(c)
	case syscalls.EffectSocketpair:
		t.onSocketpair(c)
	case syscalls.EffectAnonFD:
		t.onAnonFD(c)
	case syscalls.EffectSignalfd:
		t.onSignalfd(c)
	case syscalls.EffectIOUring:
		t.onIOUring(c)
	case syscalls.EffectBPF:
		t.onBPF(c)
	case syscalls.EffectSocket:
		t.onSocket(c)
	case syscalls.EffectConnect:
		t.onConnect(c)
	case syscalls.EffectAccept:
		t.onAccept(c)
	case syscalls.EffectBind:
		t.onBind(c)
	case syscalls.EffectSocketIO:
		t.onSocketIO(c)
	case syscalls.EffectPlace:
		t.onPlace(c)
	case syscalls.EffectChdir:
		t.onChdir(c)
	case syscalls.EffectExec:
		t.onExec(c)
	case syscalls.EffectFork:
		t.onFork(c)
	case syscalls.EffectFDArg:
		t.onFDArg(c)
	case syscalls.EffectCreds:
		// Counted by checkCreds, which every record with ids goes through.
	default:
		return false
	}
	return true
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
		c.names, c.retFD, c.effect = d.Args, d.RetFDFirst, d.Effect
		c.fdType, _ = event.ParseFDType(d.FDType)
		c.openPath = openPathArg(d)
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
		arch = t.compat
	}
	name, ok := syscalls.Name(arch, r.Nr)
	if !ok {
		return "syscall_" + strconv.Itoa(r.Nr)
	}
	// 32-bit ABIs name some calls differently; rules use the 64-bit names.
	return syscalls.BaseName(name)
}

// syscall translates a syscall record and updates the process and fd
// tables through the handler of the call's effect.
func (t *Table) syscall(ctx context.Context, r *ebpf.Record, e *event.Event) bool {
	info := t.syscallInfo(r)
	pr := t.get(ctx, r)
	if p := pr.p; r.Minimal {
		p.TID = int64(r.TID) // minimal records carry no ids or creds
	} else if t.checkCreds(pr, r, info.effect == syscalls.EffectCreds && r.Kind != ebpf.KindEnter && r.Ret >= 0); int64(r.TID) != p.TID || int64(r.EUID) != p.UID || int64(r.EGID) != p.GID ||
		r.CapEffective != p.CapEffective || r.CapPermitted != p.CapPermitted || loginUID(r) != p.LoginUID {
		// Another thread, or the ids changed (setuid, capset): thread.tid
		// and user.* follow the thread that made this call.
		t.creds(pr, r)
	}
	e.Type = info.typ
	e.Proc = pr.p
	e.IOUring = r.IOUring
	if r.Kind == ebpf.KindEnter {
		e.Dir = event.DirEnter
	} else {
		e.Res, e.HasRes = r.Ret, true
	}
	if !info.skipArgs { // else no rule reads this type's arguments
		if ret := r.Ret; ret >= 0 && r.Kind != ebpf.KindEnter && info.retFD {
			// The open family's first argument is the new fd.
			e.Args = append(e.Args, event.Arg{Name: "fd", Str: itoa(ret), Int: ret, HasInt: true})
		}
		for i, a := range info.names {
			if a.Name != "" && i < 6 {
				t.renderArg(e, r, a, i)
			}
		}
	}
	if info.effect != syscalls.EffectNone {
		t.applyEffect(&call{r: r, e: e, pr: pr, info: info})
	} else if r.IOUring {
		e.FD = t.uringFileFD(r) // a read or write of a protected inode
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
	case syscalls.ArgStructCloneFlags:
		// clone_args.flags, when the kernel could copy the struct.
		if len(r.Struct) >= 8 {
			f := int64(binary.LittleEndian.Uint64(r.Struct))
			e.Args = append(e.Args, event.Arg{Name: a.Name, Str: renderFlags(f, cloneFlags), Int: f, HasInt: true})
		}
	case syscalls.ArgKeyctlOp:
		e.Args = append(e.Args, event.Arg{Name: a.Name, Str: symbol(keyctlOps, v), Int: v, HasInt: true})
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

// fdArg is the descriptor in argument i: the table's, or else one made
// from what the kernel said of it (a file's path, a socket's tuple) and
// added to the table.
func (t *Table) fdArg(c *call, i int) *event.FD {
	r, pr := c.r, c.pr
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

// cloexec says whether the descriptor a call made is close-on-exec, from
// the flag argument its descriptor names.
func cloexec(d *syscalls.Desc, r *ebpf.Record) bool {
	c := d.Cloexec
	switch {
	case c == nil:
		return false
	case c.Always:
		return true
	case c.Bit != 0:
		return r.Args[c.Arg]&c.Bit != 0
	}
	return r.Args[c.Arg]&oCloexec != 0
}

// Flag values (x86_64 and the generic ABI; SOCK_CLOEXEC equals O_CLOEXEC).
const (
	oCloexec   = 0o2000000
	oDirectory = 0o200000
	oNofollow  = 0o400000
	oCreatMask = 0x43 // O_WRONLY|O_RDWR|O_CREAT: the call may create or write
	// ioringSetupRegisteredFDOnly is IORING_SETUP_REGISTERED_FD_ONLY.
	ioringSetupRegisteredFDOnly = 1 << 15
	fDupFD                      = 0
	fSetFD                      = 2
	// closeRangeCloexec is close_range(2)'s CLOSE_RANGE_CLOEXEC.
	closeRangeCloexec = 4
	// ioringFileIndexAlloc is IORING_FILE_INDEX_ALLOC: the kernel picks
	// the direct descriptor's slot and returns it.
	ioringFileIndexAlloc = 0xffffffff
	fDupFDCloexec        = 1030
)
