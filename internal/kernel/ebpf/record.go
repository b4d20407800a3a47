package ebpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"unsafe"
)

// Kind says what produced a Record.
type Kind uint8

// Record kinds. The values match enum rec_kind in bpf/capture.c.
const (
	KindSyscall Kind = 1 // a syscall returned (arguments and result)
	KindEnter   Kind = 2 // a syscall was entered (only for calls that never return, e.g. exit_group)
	KindExec    Kind = 3 // sched_process_exec: a new program image
	KindFork    Kind = 4 // sched_process_fork: a new task
	KindExit    Kind = 5 // sched_process_exit: a task ended
	KindCap     Kind = 6 // capability:cap_capable: a capability was checked (Options.Capabilities)
)

func (k Kind) String() string {
	switch k {
	case KindSyscall:
		return "syscall"
	case KindEnter:
		return "enter"
	case KindExec:
		return "exec"
	case KindFork:
		return "fork"
	case KindExit:
		return "exit"
	case KindCap:
		return "cap"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Record is one decoded kernel event. Numbers are as the kernel saw them;
// strings copied from user memory or from dentries are untrusted data.
type Record struct {
	Kind Kind
	// Time is CLOCK_BOOTTIME in nanoseconds; WallTime converts it.
	Time uint64
	CPU  uint32

	TID, PID   uint32 // host thread and process (tgid) ids
	VTID, VPID uint32 // the same ids inside the task's pid namespace
	PPID       uint32 // host tgid of the real parent

	UID, GID, EUID, EGID uint32
	LoginUID             uint32 // 4294967295 when unset
	CapEffective         uint64
	CapPermitted         uint64

	CgroupID uint64 // inode number of the task's cgroup v2 directory
	MntNS    uint32 // mount namespace inode
	PidNS    uint32 // pid namespace inode
	Comm     string

	// Nr is the syscall number in the ABI given by Compat (32-bit x86 when
	// true). Set for KindSyscall and KindEnter.
	Nr     int
	Compat bool
	// Socketcall is set when a 32-bit process made the call through the
	// i386 socketcall(2) multiplexer: Nr is then the native (x86_64) number
	// of the call it stood for (sendto for send, recvfrom for recv),
	// Compat is false, and Args are that call's arguments, unpacked.
	Socketcall bool
	// X32 is set when the call was made through the x32 ABI (bit 30 of
	// the number set): Nr is the native number of the same call, Compat is
	// false.
	X32 bool
	// Lean is set on syscall records captured with Options.LeanHeader:
	// VTID, VPID, PPID, MntNS, PidNS and CgroupID are zero and come from
	// the process's exec/fork records instead.
	Lean bool
	// Minimal is set on the records of syscalls that need nothing but
	// their numbers (close, close_range, fcntl and the dup family): only
	// Time, CPU, TID, PID, Nr, Compat, Args and Ret are set; ids, creds and
	// comm are zero.
	Minimal bool
	Args    [6]uint64
	Ret     int64

	// Str holds user strings read for path and string arguments, as passed.
	Str [6]string
	// Path holds absolute paths: for a path argument, the string resolved
	// against its dirfd or the cwd (the kernel's view of those at exit), or
	// for a relative path an open succeeded on, the opened file's path; for
	// an fd argument, the file behind it.
	Path [6]string
	// RetPath is the file behind a returned fd (the open family): the
	// kernel's own view of what was opened, immune to relative paths,
	// symlinks and /proc/self/fd tricks.
	RetPath string
	// RetOutsideRoot: the walk of RetPath reached the global root without
	// passing the task's own root: the opened file is outside the task's
	// filesystem view (a container process holding a host file, as
	// through /proc/PID/root or a CVE-2019-5736 /proc/self/exe reopen).
	RetOutsideRoot bool
	// RetFile is the identity of the regular file behind a returned fd
	// (zero Ino when it is not one): the same inode under any name.
	RetFile FileID
	// File is the identity of the regular file behind fd argument 0, in
	// the records of io_uring reads and writes (zero Ino otherwise).
	File FileID
	// IOUring is set on a record that stands for an io_uring request
	// completing, not a syscall; Nr is the call it stands for and Args[5]
	// the io_uring opcode. An open (IORING_OP_OPENAT/OPENAT2) is openat:
	// Args[0] the dfd, Args[2] and Args[3] the flags and mode, Args[4] the
	// request's file_index (nonzero: a direct descriptor, Ret the slot
	// with IORING_FILE_INDEX_ALLOC, else 0), the path RetPath only. A
	// connect is connect (Sock, Addr), an accept accept4 (Sock, RetSock;
	// Args[4] its file_index), a read or write of a protected inode read
	// or write (Path[0], File). Those three have Args[0] = -1: the fd
	// number is gone by the completion; Args[4] is 1 when their file is a
	// direct descriptor.
	IOUring bool
	// IOUringSubmit is set on an io_uring open recorded at its submission:
	// one submitted with IOSQE_CQE_SKIP_SUCCESS, which posts no completion
	// when it succeeds. The file is not open yet: the path is Str[1]
	// (Path[1] resolved), Ret is 0 (unknown). A failed one is recorded
	// again at its completion.
	IOUringSubmit bool
	Sock          *SockTuple // socket behind an fd argument (connect, bind, sendto, listen)
	RetSock       *SockTuple // socket behind a returned fd (accept)
	// PairPath and PairSock describe the two fds pipe, pipe2 and
	// socketpair return in their int[2] (whose numbers are in Struct):
	// pipe:[INO] for a pipe's ends, a tuple for a socket pair's.
	PairPath [2]string
	PairSock [2]*SockTuple
	Addr     *SockAddr // sockaddr argument read from user memory
	Struct   []byte    // struct argument copied from user memory (open_how, clone_args, cap data)
	Cwd      string    // cwd after chdir/fchdir, and at exec
	// Cgroup is the task's cgroup path in exec and fork records: the
	// unified (v2) path, or on cgroup v1/hybrid hosts the pids hierarchy's
	// (e.g. /docker/<id>), where CgroupID cannot tell containers apart.
	Cgroup string

	Exec *ExecInfo
	Fork *ForkInfo
	Exit *ExitInfo
	Cap  *CapInfo

	// Truncated is set when a path or string did not fit or its walk did
	// not reach a root; the affected value is a suffix of the truth.
	Truncated bool
}

// FileID is a regular file's identity: inode number, the kernel's dev_t of
// its file system (major<<20 | minor, see KernelDev) and link count.
type FileID struct {
	Ino   uint64
	Dev   uint32
	Nlink uint32
}

// KernelDev converts a stat(2) st_dev to the kernel's internal dev_t,
// which FileID.Dev and the protected-inode map use.
func KernelDev(stDev uint64) uint32 {
	major := uint32((stDev>>8)&0xfff) | uint32(stDev>>32)&^0xfff
	minor := uint32(stDev&0xff) | uint32(stDev>>12)&^0xff
	return major<<20 | minor
}

// ExecInfo is what sched_process_exec saw of the new image.
type ExecInfo struct {
	Filename string   // as passed to execve (bprm->filename)
	Argv     []string // from the new image's argument area, at most 4 KiB
	Exe      string   // absolute path of the executable file
	TTY      string   // controlling terminal name, "" if none
	// Env is the new image's environment, with Options.Env only (at most
	// 4 KiB; EnvTruncated when there was more).
	Env          []string
	EnvTruncated bool
	// Writable: the task could write the executable's file after the exec
	// (its owner; the group or other write bit; CAP_DAC_OVERRIDE or
	// CAP_FOWNER over ids mapped in its user namespace; never on a
	// read-only mount or for an immutable file): Falco's EXE_WRITABLE.
	Writable bool
}

// CapInfo is one capability check (capability:cap_capable), made on behalf
// of the record's task. The tracepoint carries no audit option, so a
// noaudit probe (ns_capable_noaudit) is indistinguishable from a check the
// caller needs; consumers weigh that.
type CapInfo struct {
	Cap     int   // capability number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40)
	Granted bool  // cap_capable returned 0
	Ret     int64 // cap_capable's result: 0, or -EPERM
	// TargetNS is the inode of the user namespace the check was made
	// against; CapableNS that of the namespace where the kernel's walk up
	// from the target ended (the granting one when Granted).
	TargetNS, CapableNS uint32
	// Override is set when the checked credentials were not the task's
	// own (real_cred): overlayfs acting with its mounter's credentials,
	// access(2) with the real ids, another task's or an opener's
	// credentials. Such a check says nothing of what the task holds.
	Override bool
}

// ForkInfo names the new task.
type ForkInfo struct {
	TID, PID   uint32
	VTID, VPID uint32
	Thread     bool // a new thread of an existing process
}

// ExitInfo is how a task ended.
type ExitInfo struct {
	Code      int32 // wait status: exit code << 8 | signal
	GroupDead bool  // the last thread of its process
	// Reaper is, with GroupDead, the process its children are re-parented
	// to (the nearest child subreaper above it, else its pid namespace's
	// init); 0 when unknown.
	Reaper uint32
}

// SockTuple is a socket's addresses as the kernel holds them.
type SockTuple struct {
	Family  uint16 // AF_INET, AF_INET6, AF_UNIX, ...
	Type    uint16 // SOCK_STREAM, SOCK_DGRAM, ...
	Proto   uint16 // IPPROTO_TCP, IPPROTO_UDP, ...
	SrcIP   netip.Addr
	SrcPort uint16
	DstIP   netip.Addr
	DstPort uint16
}

// SockAddr is a decoded struct sockaddr from user memory.
type SockAddr struct {
	Family uint16
	IP     netip.Addr // AF_INET, AF_INET6
	Port   uint16
	Path   string // AF_UNIX; a leading '@' marks the abstract namespace
}

// Item types, matching enum item_type in bpf/capture.c.
const (
	itStr      = 1
	itBase     = 2
	itFDPath   = 3
	itTuple    = 4
	itAddr     = 5
	itStruct   = 6
	itCwd      = 7
	itExe      = 8
	itArgv     = 9
	itFilename = 10
	itTTY      = 11
	itFork     = 12
	itExit     = 13
	itCgroup   = 14
	itEnv      = 15
	itInode    = 16

	argRet = 0xfe
	// argPair and argPair+1: the two fds of a pipe or socketpair.
	argPair = 0xfc

	hfCompat = 1
	hfLean   = 2
	hfMin    = 4
	// hfSocketcall: an i386 socketcall(2), recorded as the call it stands
	// for; Nr is that call's native number (hfCompat is set too, for the
	// kernel's own use).
	hfSocketcall = 8
	// hfX32: an x32 syscall, recorded as the native call it stands for
	// (hfCompat is set on the x32-specific entry points, for the kernel's
	// own use: they take compat struct layouts).
	hfX32 = 16
	// hfIOUring: an io_uring request's completion, recorded as the call
	// it stands for (Record.IOUring).
	hfIOUring = 32
	// hfURingSubmit: with hfIOUring, recorded at submission
	// (Record.IOUringSubmit).
	hfURingSubmit = 64

	// exeWritable: bit 0 of an exec record's args[1] (EXE_WRITABLE).
	exeWritable = 1

	pfComplete = 1
	pfGlobal   = 4 // the walk reached the global root, not the task's root
	pfPseudo   = 8 // a pseudo file: u32 fs magic, u64 inode number, then its name

	pseudoInfo = 12 // bytes before a pseudo file's name
)

// File system magic numbers (linux/magic.h) that name a pseudo file's kind.
const (
	pipefsMagic    = 0x50495045
	sockfsMagic    = 0x534f434b
	anonInodeMagic = 0x09041934
	pidfsMagic     = 0x50494446
	nsfsMagic      = 0x6e736673
)

const (
	hdrSize    = int(unsafe.Sizeof(eventHdr{}))
	minHdrSize = int(unsafe.Offsetof(eventHdr{}.CgroupId))
	// flagsOff is where the header flags are, inside a minimal record too.
	flagsOff = int(unsafe.Offsetof(eventHdr{}.Flags))
	kindOff  = int(unsafe.Offsetof(eventHdr{}.Kind))
)

// ErrShortRecord means a ring-buffer sample was smaller than its header or
// an item ran past the sample's end.
var ErrShortRecord = errors.New("short record")

// DecodeRecord parses one ring-buffer sample into r. It is pure: every
// byte comes from raw, so it can be fuzzed and tested without a kernel.
func DecodeRecord(raw []byte, r *Record) error {
	return (*Decoder)(nil).Decode(raw, r)
}

// Decoder decodes records like DecodeRecord, but reuses the strings of
// recently seen names and paths instead of allocating them again: a host
// opens the same few thousand files and runs the same few hundred commands,
// so most strings in a record were already seen. The caches are bounded and
// start over when full. A Decoder is not safe for concurrent use; the zero
// value is ready, and a nil *Decoder decodes without caching.
type Decoder struct {
	strs  map[string]string
	paths map[string]cachedPath
	joins map[[2]string]string
	// Small direct-mapped caches in front of the maps: comparing a few
	// bytes against one slot is cheaper than hashing into a map, and runs
	// of records from one process repeat the same names.
	recentStr  [64]string
	recentPath [64]cachedPath
	// the previous record's comm
	lastComm    [16]byte
	lastCommStr string
}

type cachedPath struct {
	key   string // the item's bytes (recentPath only)
	s     string
	trunc bool
}

// recentSlot picks a slot of the direct-mapped caches from a few bytes of p.
func recentSlot(p []byte) int {
	n := len(p)
	if n == 0 {
		return 0
	}
	return int((uint(n)*31 ^ uint(p[0])*7 ^ uint(p[n-1])*131 ^ uint(p[n/2])*17) & 63)
}

// decoderCacheMax bounds each cache; at most a few hundred KB.
const decoderCacheMax = 4096

// str returns p up to its first NUL as a string, shared with earlier equal
// strings.
func (d *Decoder) str(p []byte) string {
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	if d == nil || len(p) > 256 {
		return string(p)
	}
	slot := &d.recentStr[recentSlot(p)]
	if *slot == string(p) && len(p) > 0 {
		return *slot
	}
	if s, ok := d.strs[string(p)]; ok {
		*slot = s
		return s
	}
	if d.strs == nil || len(d.strs) >= decoderCacheMax {
		d.strs = make(map[string]string, 256)
	}
	s := string(p)
	d.strs[s] = s
	*slot = s
	return s
}

// path decodes a path item, caching by the item's bytes.
func (d *Decoder) path(r *Record, p []byte) string {
	// Pseudo files are not cached: each pipe and pidfd has its own inode
	// number, and they would push the host's hot paths out of the cache.
	if d == nil || len(p) > 512 || (len(p) > 0 && p[0]&pfPseudo != 0) {
		return r.joinPath(p)
	}
	slot := &d.recentPath[recentSlot(p)]
	if slot.key == string(p) && len(p) > 0 {
		if slot.trunc {
			r.Truncated = true
		}
		return slot.s
	}
	if c, ok := d.paths[string(p)]; ok {
		if c.trunc {
			r.Truncated = true
		}
		*slot = c
		return c.s
	}
	was := r.Truncated
	r.Truncated = false
	s := r.joinPath(p)
	if d.paths == nil || len(d.paths) >= decoderCacheMax {
		d.paths = make(map[string]cachedPath, 256)
	}
	c := cachedPath{key: string(p), s: s, trunc: r.Truncated}
	d.paths[c.key] = c
	*slot = c
	r.Truncated = r.Truncated || was
	return s
}

// clean is path.Clean(s) for an absolute s, cached. Most paths are
// already clean and are returned as they are, without a lookup.
func (d *Decoder) clean(s string) string {
	if isClean(s) {
		return s
	}
	return d.join("", s)
}

// isClean reports whether the absolute path s is its own path.Clean: no
// empty, "." or ".." element and no trailing slash.
func isClean(s string) bool {
	if s == "/" {
		return true
	}
	if len(s) < 2 || s[0] != '/' || s[len(s)-1] == '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '/' {
			continue
		}
		// s[i+1:] starts an element: it must not be empty, "." or "..".
		rest := s[i+1:]
		switch {
		case len(rest) == 0 || rest[0] == '/':
			return false
		case rest[0] == '.' && (len(rest) == 1 || rest[1] == '/'):
			return false
		case len(rest) >= 2 && rest[0] == '.' && rest[1] == '.' && (len(rest) == 2 || rest[2] == '/'):
			return false
		}
	}
	return true
}

// comm returns the task name, reusing the previous record's string when
// the bytes are the same (runs of records come from one task).
func (d *Decoder) comm(c *[16]byte) string {
	if d == nil {
		return d.str(c[:])
	}
	if *c == d.lastComm && d.lastCommStr != "" {
		return d.lastCommStr
	}
	s := d.str(c[:])
	d.lastComm, d.lastCommStr = *c, s
	return s
}

// join is path.Join(base, s), or path.Clean(s) when base is empty, cached.
func (d *Decoder) join(base, s string) string {
	if d == nil || len(s) > 256 {
		return joinOrClean(base, s)
	}
	k := [2]string{base, s}
	if v, ok := d.joins[k]; ok {
		return v
	}
	v := joinOrClean(base, s)
	if d.joins == nil || len(d.joins) >= decoderCacheMax {
		d.joins = make(map[[2]string]string, 256)
	}
	d.joins[k] = v
	return v
}

func joinOrClean(base, s string) string {
	if base == "" {
		return path.Clean(s)
	}
	return path.Join(base, s)
}

// Decode parses one ring-buffer sample into r; see DecodeRecord.
func (d *Decoder) Decode(raw []byte, r *Record) error {
	if len(raw) >= minHdrSize && binary.LittleEndian.Uint32(raw[flagsOff:])&hfMin != 0 &&
		Kind(binary.LittleEndian.Uint32(raw[kindOff:])) == KindSyscall {
		return decodeMin(raw, r)
	}
	if len(raw) < hdrSize {
		return fmt.Errorf("decode record: %w (%d bytes, header is %d)", ErrShortRecord, len(raw), hdrSize)
	}
	// The ring holds the kernel's struct in host (little-endian) order: a
	// byte copy into an aligned value is all the decoding the header needs.
	var h eventHdr
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&h)), hdrSize), raw[:hdrSize])
	*r = Record{
		Kind:          Kind(h.Kind),
		Time:          h.Ts,
		CPU:           h.Cpu,
		TID:           h.Tid,
		PID:           h.Pid,
		VTID:          h.Vtid,
		VPID:          h.Vpid,
		PPID:          h.Ppid,
		UID:           h.Uid,
		GID:           h.Gid,
		EUID:          h.Euid,
		EGID:          h.Egid,
		LoginUID:      h.Loginuid,
		CapEffective:  h.CapEff,
		CapPermitted:  h.CapPrm,
		CgroupID:      h.CgroupId,
		MntNS:         h.Mntns,
		PidNS:         h.Pidns,
		Comm:          d.comm(&h.Comm),
		Nr:            int(h.Nr),
		Compat:        h.Flags&(hfCompat|hfSocketcall|hfX32) == hfCompat,
		Socketcall:    h.Flags&hfSocketcall != 0,
		X32:           h.Flags&hfX32 != 0,
		Lean:          h.Flags&hfLean != 0,
		IOUring:       h.Flags&hfIOUring != 0,
		IOUringSubmit: h.Flags&hfURingSubmit != 0,
		Args:          h.Args,
		Ret:           h.Ret,
	}
	if r.Kind == KindCap {
		// The header carries the whole check: nr is the capability, ret
		// the result, args[0:2] the namespaces.
		r.Cap = &CapInfo{Cap: int(h.Nr), Granted: h.Ret == 0, Ret: h.Ret,
			TargetNS: uint32(h.Args[0]), CapableNS: uint32(h.Args[1]), Override: h.Args[2] != 0}
		r.Nr = 0
		return nil
	}
	var bases [6]string
	var haveBase [6]bool
	off := hdrSize
	for {
		off = (off + 3) &^ 3
		if off+4 > len(raw) {
			break
		}
		typ, arg, n := raw[off], raw[off+1], int(binary.LittleEndian.Uint16(raw[off+2:]))
		off += 4
		if off+n > len(raw) {
			return fmt.Errorf("decode record: %w (item %d needs %d bytes at %d of %d)", ErrShortRecord, typ, n, off, len(raw))
		}
		p := raw[off : off+n]
		off += n
		switch typ {
		case itStr:
			if arg < 6 {
				r.Str[arg] = d.str(p)
			}
		case itBase:
			if arg < 6 {
				bases[arg], haveBase[arg] = d.path(r, p), true
			}
		case itFDPath:
			if arg == argRet {
				r.RetPath = d.path(r, p)
				r.RetOutsideRoot = len(p) > 0 && p[0]&(pfGlobal|pfPseudo) == pfGlobal
			} else if arg == argPair || arg == argPair+1 {
				r.PairPath[arg-argPair] = d.path(r, p)
			} else if arg < 6 {
				r.Path[arg] = d.path(r, p)
			}
		case itInode:
			if len(p) >= 16 {
				id := FileID{Ino: binary.LittleEndian.Uint64(p), Dev: binary.LittleEndian.Uint32(p[8:]),
					Nlink: binary.LittleEndian.Uint32(p[12:])}
				if arg == argRet {
					r.RetFile = id
				} else if arg == 0 {
					r.File = id
				}
			}
		case itTuple:
			t, err := decodeTuple(p)
			if err != nil {
				return err
			}
			if arg == argRet {
				r.RetSock = t
			} else if arg == argPair || arg == argPair+1 {
				r.PairSock[arg-argPair] = t
			} else {
				r.Sock = t
			}
		case itAddr:
			r.Addr = DecodeSockAddr(p)
		case itStruct:
			r.Struct = bytes.Clone(p)
		case itCwd:
			r.Cwd = d.path(r, p)
		case itExe:
			r.exec().Exe = d.path(r, p)
		case itArgv:
			r.exec().Argv = splitArgv(p)
			if arg == 1 {
				r.Truncated = true
			}
		case itEnv:
			r.exec().Env = splitArgv(p)
			if arg == 1 {
				r.exec().EnvTruncated = true
			}
		case itFilename:
			r.exec().Filename = d.str(p)
		case itTTY:
			r.exec().TTY = d.str(p)
		case itCgroup:
			r.Cgroup = d.path(r, p)
		case itFork:
			var fi rawFork
			if _, err := binary.Decode(p, binary.LittleEndian, &fi); err != nil {
				return fmt.Errorf("decode fork item: %w", err)
			}
			r.Fork = &ForkInfo{TID: fi.Tid, PID: fi.Pid, VTID: fi.Vtid, VPID: fi.Vpid, Thread: fi.Flags&1 != 0}
		case itExit:
			var ei rawExit
			if _, err := binary.Decode(p, binary.LittleEndian, &ei); err != nil {
				return fmt.Errorf("decode exit item: %w", err)
			}
			r.Exit = &ExitInfo{Code: ei.Code, GroupDead: ei.GroupDead != 0, Reaper: ei.Reaper}
		}
	}
	if r.Kind == KindExec && h.Args[1]&exeWritable != 0 {
		r.exec().Writable = true
	}
	// Path arguments: absolute as given, or joined onto the directory the
	// kernel resolved for their dirfd / cwd. A relative path whose open
	// succeeded has no base (the kernel skips that walk): it is the opened
	// file's path.
	for i := range 6 {
		s := r.Str[i]
		switch {
		case r.Path[i] != "": // an fd argument's file
		case s == "" && !haveBase[i]:
		case strings.HasPrefix(s, "/"):
			r.Path[i] = d.clean(s)
		case haveBase[i] && bases[i] != "":
			r.Path[i] = d.join(bases[i], s)
		case !haveBase[i] && r.RetPath != "" && r.RetSock == nil:
			r.Path[i] = r.RetPath
		}
	}
	return nil
}

// decodeMin decodes a minimal record: the header's leading fields only, and
// no items. Only syscall records are minimal.
func decodeMin(raw []byte, r *Record) error {
	var h eventHdr
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&h)), minHdrSize), raw[:minHdrSize])
	*r = Record{
		Kind:    Kind(h.Kind),
		Time:    h.Ts,
		CPU:     h.Cpu,
		TID:     h.Tid,
		PID:     h.Pid,
		Nr:      int(h.Nr),
		Compat:  h.Flags&hfCompat != 0,
		Lean:    h.Flags&hfLean != 0,
		Minimal: true,
		Args:    h.Args,
		Ret:     h.Ret,
	}
	return nil
}

func (r *Record) exec() *ExecInfo {
	if r.Exec == nil {
		r.Exec = &ExecInfo{}
	}
	return r.Exec
}

// joinPath turns a path item (flag byte, then components leaf first, each
// NUL-terminated) into an absolute path.
func (r *Record) joinPath(p []byte) string {
	if len(p) == 0 {
		r.Truncated = true
		return ""
	}
	flags := p[0]
	if flags&pfComplete == 0 {
		r.Truncated = true
	}
	if flags&pfPseudo != 0 {
		return r.pseudoName(p[1:])
	}
	// Components are stored leaf first: walk them from the end, without
	// splitting into a slice (this runs for every path of every record).
	body := bytes.TrimSuffix(p[1:], []byte{0})
	var b strings.Builder
	b.Grow(len(body) + 1)
	for end := len(body); end >= 0; {
		i := bytes.LastIndexByte(body[:end], 0)
		if c := body[i+1 : end]; len(c) > 0 && !(len(c) == 1 && c[0] == '/') {
			b.WriteByte('/')
			b.Write(c)
		}
		if i < 0 {
			break
		}
		end = i
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// pseudoName names a pseudo file (the file system's magic, its inode number,
// then the dentry's name) the way /proc/PID/fd shows it: pipe:[INO],
// anon_inode:[eventfd], anon_inode:[pidfd]. A memfd and other files of
// ordinary file systems keep their dentry's name as a path: /memfd:NAME.
func (r *Record) pseudoName(p []byte) string {
	if len(p) < pseudoInfo {
		r.Truncated = true
		return ""
	}
	magic := binary.LittleEndian.Uint32(p)
	ino := binary.LittleEndian.Uint64(p[4:])
	name := string(bytes.TrimSuffix(p[pseudoInfo:], []byte{0}))
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	bracket := func(kind string) string { return kind + ":[" + strconv.FormatUint(ino, 10) + "]" }
	switch magic {
	case pipefsMagic:
		return bracket("pipe")
	case sockfsMagic:
		return bracket("socket")
	case anonInodeMagic:
		return "anon_inode:" + name
	case pidfsMagic:
		return "anon_inode:[pidfd]"
	case nsfsMagic:
		return bracket("nsfs")
	}
	if name == "" || name == "/" {
		return "/"
	}
	return "/" + name
}

func decodeTuple(p []byte) (*SockTuple, error) {
	var t rawTuple
	if _, err := binary.Decode(p, binary.LittleEndian, &t); err != nil {
		return nil, fmt.Errorf("decode socket tuple: %w", err)
	}
	st := &SockTuple{Family: t.Family, Type: t.Type, Proto: t.Proto, SrcPort: t.Sport, DstPort: t.Dport}
	switch t.Family {
	case afInet:
		st.SrcIP = netip.AddrFrom4([4]byte(t.Saddr[:4]))
		st.DstIP = netip.AddrFrom4([4]byte(t.Daddr[:4]))
	case afInet6:
		st.SrcIP = netip.AddrFrom16(t.Saddr)
		st.DstIP = netip.AddrFrom16(t.Daddr)
	}
	return st, nil
}

const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// DecodeSockAddr decodes a struct sockaddr as copied from user memory. An
// unknown family keeps only Family; a short buffer yields what fits.
func DecodeSockAddr(p []byte) *SockAddr {
	if len(p) < 2 {
		return nil
	}
	a := &SockAddr{Family: binary.LittleEndian.Uint16(p)}
	switch a.Family {
	case afInet:
		if len(p) >= 8 {
			a.Port = binary.BigEndian.Uint16(p[2:])
			a.IP = netip.AddrFrom4([4]byte(p[4:8]))
		}
	case afInet6:
		if len(p) >= 24 {
			a.Port = binary.BigEndian.Uint16(p[2:])
			a.IP = netip.AddrFrom16([16]byte(p[8:24]))
		}
	case afUnix:
		sun := p[2:]
		if len(sun) > 0 && sun[0] == 0 {
			a.Path = "@" + string(bytes.TrimRight(sun[1:], "\x00"))
		} else {
			a.Path = cString(sun)
		}
	}
	return a
}

func splitArgv(p []byte) []string {
	p = bytes.TrimSuffix(p, []byte{0})
	if len(p) == 0 {
		return nil
	}
	parts := bytes.Split(p, []byte{0})
	out := make([]string, len(parts))
	for i, s := range parts {
		out[i] = string(s)
	}
	return out
}

func cString(p []byte) string {
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return string(p)
}
