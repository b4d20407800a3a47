package state

import (
	"encoding/binary"
	"net/netip"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// The effect handlers, one per syscalls.Effect (applyEffect). Each runs
// after the event's type, process, result and arguments are set.

// onOpen: the open family makes a descriptor for a path; a failed call's
// event still names the path it was given.
func (t *Table) onOpen(c *call) {
	r, e, pr, d := c.r, c.e, c.pr, c.info.desc
	if d.Open != nil && d.Open.Arg == syscalls.InStruct && len(r.Struct) >= 16 {
		// struct open_how { u64 flags; u64 mode; u64 resolve; }
		flags := int64(binary.LittleEndian.Uint64(r.Struct[0:8]))
		mode := int64(binary.LittleEndian.Uint64(r.Struct[8:16]))
		e.Args = append(e.Args, event.Arg{Name: "flags", Str: t.openFlags(flags), Int: flags, HasInt: true},
			event.Arg{Name: "mode", Str: t.modeString(mode), Int: mode, HasInt: true})
	}
	idx := c.info.openPath
	if r.Ret < 0 {
		e.FD = &event.FD{Num: -1, Type: event.FDFile, Name: pathOr(r, idx), NameRaw: r.Str[idx]}
		return
	}
	flags := d.Open.Of(&r.Args, r.Struct)
	fd := t.openedFD(c, idx)
	fd.CloseOnExec = flags&oCloexec != 0
	if d.Open != nil && d.Open.Arg >= 0 && flags&oDirectory != 0 {
		fd.Type = event.FDDirectory
	}
	if r.IOUringSubmit {
		// Not open yet: the file the path reaches in the process now.
		t.resolveSubmitted(fd, r.PID, int32(uint32(r.Args[0])), r.Str[idx], flags&oNofollow != 0)
	}
	if slot, ok := uringSlot(r); ok {
		// A direct descriptor: fd.num is its slot in the ring's table,
		// and the process's fd table is unchanged.
		fd.Num = slot
		e.FD = fd
		return
	}
	if r.IOUringSubmit {
		// Recorded at submission: the file is not open yet and its
		// number unknown.
		fd.Num = -1
		e.FD = fd
		return
	}
	pr.fds.set(r.Ret, fd)
	e.FD = fd
	if flags&oCreatMask != 0 {
		t.noteCreated(pr, fd.Name)
	}
}

// openPathArg is the argument an open-family call's path is in: the one
// path argument of open, openat, openat2 and creat; 0 for the calls that
// open something other than a path (scInfo.openPath).
func openPathArg(d *syscalls.Desc) int {
	if d.Open != nil {
		for p := range d.Paths {
			return p
		}
	}
	return 0
}

// openedFD is the descriptor a successful open made: the kernel's path
// for it, else the path argument idx.
func (t *Table) openedFD(c *call, idx int) *event.FD {
	r := c.r
	fd := t.newFD()
	fd.Num = r.Ret
	nameFile(fd, r.RetPath)
	fd.OutsideRoot = r.RetOutsideRoot
	if id := r.RetFile; id.Ino != 0 {
		fd.Dev, fd.Ino, fd.Nlink = uint64(id.Dev), id.Ino, id.Nlink
		if t.opts.Identify != nil {
			fd.Identity = t.opts.Identify(id.Dev, id.Ino)
		}
	}
	if fd.Name == "" {
		fd.Name = pathOr(r, idx)
	}
	fd.NameRaw = r.Str[idx]
	return fd
}

// onMemfd: memfd_create makes an anonymous file named after its argument.
func (t *Table) onMemfd(c *call) {
	r := c.r
	if r.Ret < 0 {
		return
	}
	fd := t.openedFD(c, 0)
	fd.CloseOnExec = cloexec(c.info.desc, r)
	fd.Type, fd.Name = c.info.fdType, "memfd:"+r.Str[0]
	c.pr.fds.set(r.Ret, fd)
	c.e.FD = fd
}

// onClose drops the descriptor, keeping it for reuse when no other table
// holds it.
func (t *Table) onClose(c *call) {
	pr := c.pr
	n := int64(int32(c.r.Args[0]))
	fd := pr.fds.lookup(n)
	c.e.FD = fd
	if c.r.Ret == 0 {
		pr.fds.del(n)
		if fd != nil && !fd.Shared && len(t.freeFDs) < cap(t.freeFDs) {
			// Only this table held it; the close event is evaluated
			// before the next record can reuse it.
			t.freeFDs = append(t.freeFDs, fd)
		}
	}
}

// onCloseRange: close_range(first, last, flags) closes every descriptor in
// [first, last], or with CLOSE_RANGE_CLOEXEC marks them close-on-exec.
// (CLOSE_RANGE_UNSHARE unshares the table first: the same here.)
func (t *Table) onCloseRange(c *call) {
	r, pr := c.r, c.pr
	if r.Ret != 0 {
		return
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
		return
	}
	pr.fds.deleteIf(func(fd *event.FD) bool { return fd.Num >= first && fd.Num <= last })
}

// onDup copies a descriptor to the number the call returned.
func (t *Table) onDup(c *call) {
	r, pr := c.r, c.pr
	if fd, ok := pr.fds.get(int64(int32(r.Args[0]))); ok {
		c.e.FD = fd
		if r.Ret >= 0 {
			pr.fds.dupTo(fd, r.Ret, cloexec(c.info.desc, r))
		}
	}
}

// onFcntl follows F_SETFD (close-on-exec) and the F_DUPFD commands.
func (t *Table) onFcntl(c *call) {
	r, pr := c.r, c.pr
	n := int64(int32(r.Args[0]))
	fd, ok := pr.fds.get(n)
	c.e.FD = fd
	if !ok || r.Ret < 0 {
		return
	}
	switch r.Args[1] {
	case fSetFD:
		pr.fds.setCloseOnExec(n, r.Args[2]&1 != 0)
	case fDupFD, fDupFDCloexec:
		pr.fds.dupTo(fd, r.Ret, r.Args[1] == fDupFDCloexec)
	}
}

// fdPair adds the two descriptors pipe and socketpair return: their
// numbers are in the int[2] the call filled (Struct), build makes each.
func (t *Table) fdPair(c *call, build func(k int, n int64) *event.FD) {
	r := c.r
	if r.Ret != 0 || len(r.Struct) < 8 {
		return
	}
	for k := range 2 {
		n := int64(int32(binary.LittleEndian.Uint32(r.Struct[4*k:])))
		fd := build(k, n)
		c.pr.fds.set(n, fd)
		if k == 0 {
			c.e.FD = fd
		}
	}
}

// onPipe: the kernel names each end pipe:[INO] (PairPath).
func (t *Table) onPipe(c *call) {
	t.fdPair(c, func(k int, n int64) *event.FD {
		fd := t.newFD()
		fd.Num, fd.Type, fd.Name = n, c.info.fdType, c.r.PairPath[k]
		fd.Ino = pseudoIno(fd)
		fd.CloseOnExec = cloexec(c.info.desc, c.r)
		return fd
	})
}

// onSocketpair: each end from the kernel's tuple (PairSock), else from the
// call's domain and type.
func (t *Table) onSocketpair(c *call) {
	r := c.r
	t.fdPair(c, func(k int, n int64) *event.FD {
		var fd *event.FD
		if r.PairSock[k] != nil {
			fd = sockFD(n, r.PairSock[k], false)
		} else {
			fd = socketFD(n, int64(r.Args[0]), int64(r.Args[1]))
		}
		fd.CloseOnExec = cloexec(c.info.desc, r)
		return fd
	})
}

// onAnonFD: a new descriptor typed from the kernel's name for it, else
// from the call (pidfd_getfd's, with no type of its own, is whatever the
// other process had).
func (t *Table) onAnonFD(c *call) {
	r, pr := c.r, c.pr
	ret := r.Ret
	if ret < 0 {
		return
	}
	var fd *event.FD
	switch {
	case r.RetSock != nil: // pidfd_getfd of another process's socket
		fd = sockFD(ret, r.RetSock, false)
	case c.info.fdType == event.FDUnknown && r.RetPath == "":
		// Whatever it is, the kernel did not say: no entry is better
		// than a wrong one.
		pr.fds.del(ret)
		return
	default:
		fd = t.newFD()
		fd.Num, fd.Type, fd.Name = ret, c.info.fdType, r.RetPath
		if typ, ok := pseudoFDType(r.RetPath); ok && typ != event.FDUnknown {
			fd.Type = typ
		} else if c.info.fdType == event.FDUnknown {
			fd.Type = fileFDType(r.RetPath)
		}
		fd.Ino = pseudoIno(fd)
	}
	fd.CloseOnExec = cloexec(c.info.desc, r)
	pr.fds.set(ret, fd)
	c.e.FD = fd
}

// onSignalfd: fd -1 makes a new signalfd; an existing one given a new mask
// stays the same descriptor, its flags untouched.
func (t *Table) onSignalfd(c *call) {
	if c.r.Ret >= 0 && int32(c.r.Args[0]) != -1 {
		c.e.FD = t.fdArg(c, 0)
		return
	}
	t.onAnonFD(c)
}

// onIOUring: with IORING_SETUP_REGISTERED_FD_ONLY (io_uring_params.flags)
// the result is an index into the ring's registered fds, not a descriptor.
func (t *Table) onIOUring(c *call) {
	r := c.r
	if r.Ret >= 0 && len(r.Struct) >= 12 && binary.LittleEndian.Uint32(r.Struct[8:])&ioringSetupRegisteredFDOnly != 0 {
		return
	}
	t.onAnonFD(c)
}

// onBPF: the commands that return a new descriptor; all of them are
// close-on-exec. (bpf is captured when a rule asks for it.)
func (t *Table) onBPF(c *call) {
	r := c.r
	if n, ok := bpfFDNames[r.Args[0]]; ok && r.Ret >= 0 {
		fd := t.newFD()
		fd.Num, fd.Type, fd.Name, fd.CloseOnExec = r.Ret, c.info.fdType, n, cloexec(c.info.desc, r)
		c.pr.fds.set(r.Ret, fd)
		c.e.FD = fd
	}
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

// onSocket: a new socket, typed from its domain and type.
func (t *Table) onSocket(c *call) {
	r := c.r
	if r.Ret >= 0 {
		fd := socketFD(r.Ret, int64(r.Args[0]), int64(r.Args[1]))
		fd.CloseOnExec = cloexec(c.info.desc, r) // SOCK_CLOEXEC
		c.pr.fds.set(r.Ret, fd)
		c.e.FD = fd
	}
}

// onConnect names the socket's peer, from the kernel's tuple or else the
// sockaddr the caller passed.
func (t *Table) onConnect(c *call) {
	r, pr := c.r, c.pr
	n := int64(int32(r.Args[0]))
	var fd *event.FD
	if r.Sock != nil && r.Sock.DstIP.IsValid() {
		fd = sockFD(n, r.Sock, false)
		// A refused or timed-out connect leaves the kernel's socket
		// without the peer's port; the caller's sockaddr still has it.
		if a := r.Addr; fd.SPort == 0 && a != nil && a.Port != 0 && (a.Family == afInet || a.Family == afInet6) {
			fd.SIP, fd.SPort = a.IP.Unmap(), a.Port
			fd.Name = netip.AddrPortFrom(fd.CIP, fd.CPort).String() + "->" + netip.AddrPortFrom(fd.SIP, fd.SPort).String()
		}
	} else if r.Addr != nil {
		fd = addrFD(n, pr.fds.lookup(n), r.Addr)
	}
	if fd == nil {
		c.e.FD = pr.fds.lookup(n)
		return
	}
	fd.Connected = r.Ret == 0 || r.Ret == -115 // EINPROGRESS
	fd.NameChanged = true
	if !r.IOUring { // an io_uring connect's fd number is unknown (-1)
		pr.fds.set(n, fd)
	}
	c.e.FD = fd
}

// onAccept: a new connected socket, this process its server side.
func (t *Table) onAccept(c *call) {
	r := c.r
	if r.Ret >= 0 && r.RetSock != nil {
		fd := sockFD(r.Ret, r.RetSock, true)
		fd.Connected = true
		fd.CloseOnExec = cloexec(c.info.desc, r)
		c.e.FD = fd
		if slot, ok := uringSlot(r); ok {
			fd.Num = slot
			return
		}
		c.pr.fds.set(r.Ret, fd)
	}
}

// uringSlot is the direct-descriptor slot an io_uring open or accept put
// its file in (Record.IOUring: Args[4] is the request's file_index, slot
// + 1, or IORING_FILE_INDEX_ALLOC with the slot in the result, -1 when
// recorded at submission); false for a syscall or an io_uring request that
// made an ordinary fd.
func uringSlot(r *ebpf.Record) (int64, bool) {
	switch idx := r.Args[4]; {
	case !r.IOUring || idx == 0:
		return 0, false
	case idx == ioringFileIndexAlloc && r.IOUringSubmit:
		return -1, true
	case idx == ioringFileIndexAlloc:
		return r.Ret, true
	default:
		return int64(idx) - 1, true
	}
}

// uringFileFD describes the file of an io_uring read or write from the
// record alone (its path and identity): the request's fd number is gone by
// its completion, and may have been a direct descriptor's slot, so the fd
// table is neither consulted nor changed. fd.num is -1.
func (t *Table) uringFileFD(r *ebpf.Record) *event.FD {
	if r.Path[0] == "" {
		return nil
	}
	fd := &event.FD{Num: -1}
	nameFile(fd, r.Path[0])
	if id := r.File; id.Ino != 0 {
		fd.Dev, fd.Ino, fd.Nlink = uint64(id.Dev), id.Ino, id.Nlink
		if t.opts.Identify != nil {
			fd.Identity = t.opts.Identify(id.Dev, id.Ino)
		}
	}
	return fd
}

// onBind: bind and listen name the socket's local end from the kernel's
// tuple.
func (t *Table) onBind(c *call) {
	r, pr := c.r, c.pr
	n := int64(int32(r.Args[0]))
	if r.Sock != nil {
		fd := sockFD(n, r.Sock, true)
		pr.fds.set(n, fd)
		c.e.FD = fd
	} else {
		c.e.FD = pr.fds.lookup(n)
	}
}

// onSocketIO: data on a socket; an unconnected one (UDP) gets its peer
// from the sockaddr the caller passed.
func (t *Table) onSocketIO(c *call) {
	r, pr := c.r, c.pr
	n := int64(int32(r.Args[0]))
	fd := t.fdArg(c, 0)
	if fd != nil && r.Addr != nil && r.Addr.IP.IsValid() && !fd.SIP.IsValid() {
		fd = addrFD(n, fd, r.Addr)
		pr.fds.set(n, fd)
	}
	c.e.FD = fd
}

// onPlace: a file renamed or linked into place is new in its container
// (proc.is_exe_upper_layer when it is run).
func (t *Table) onPlace(c *call) {
	if c.r.Ret == 0 {
		t.noteCreated(c.pr, pathOr(c.r, c.info.desc.Creates[0]))
	}
}

// onChdir: the kernel's cwd after the call.
func (t *Table) onChdir(c *call) {
	if c.r.Ret == 0 && c.r.Cwd != "" {
		c.pr.p.Cwd = t.intern(dirSlash(c.r.Cwd))
	}
}

// onExec: a successful exec's event carries the filename it was given and
// Falco's exit flags for the new image (the exec record made the image).
func (t *Table) onExec(c *call) {
	if c.r.Ret != 0 {
		return
	}
	e, p := c.e, c.pr.p
	e.Args = e.Args[:0]
	argStr(e, "filename", c.pr.execFilename)
	var f int64
	if p.ExeWritable {
		f |= 1
	}
	if p.ExeUpperLayer {
		f |= 2
	}
	if p.ExeFromMemfd {
		f |= 4
	}
	e.Args = append(e.Args, event.Arg{Name: "flags", Str: renderFlags(f, exeFlags), Int: f, HasInt: true})
}

// onFork: the child's pid is an argument (the fork record made the child).
func (t *Table) onFork(c *call) {
	if c.r.Ret > 0 {
		argInt(c.e, "child_pid", c.r.Ret)
	}
}

// onFDArg: the call acts on the descriptor in its first argument.
func (t *Table) onFDArg(c *call) { c.e.FD = t.fdArg(c, 0) }
