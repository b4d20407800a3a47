package replay

import (
	"bufio"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"
	"sort"
	"sync"

	"github.com/palisade-sec/palisade/internal/event"
)

// maxTableString: longer strings are written inline and not kept in the
// string table (environments of 4 KiB would fill it without being reused).
const maxTableString = 4096

// maxPointerCache bounds the writer's map from live *event.Process to the
// state last written for it; past it the map starts afresh (state records
// already written stay usable through the content index).
const maxPointerCache = 1 << 15

// Writer encodes events in the binary recording format (docs/events.md).
// A process or container is written once, and again only when something
// in it changed; events refer to the state they saw. It is safe for
// concurrent use and keeps no reference to the events it is given.
type Writer struct {
	mu      sync.Mutex
	w       *bufio.Writer
	err     error
	started bool
	buf     []byte // the event record being built
	pbuf    []byte // a process or container record being built
	hdr     [11]byte

	strs  map[string]uint32
	nstr  int
	held  int64
	types []uint32 // event.Type → string table index + 1 (0: not yet written)

	procs     map[*event.Process]*procEntry
	procIndex map[uint64][]*procEntry
	nproc     int
	ctrs      map[*event.Container]*ctrEntry
	ctrIndex  map[uint64][]*ctrEntry
	nctr      int

	prevNum  uint64
	prevTime int64
	hostname string
	seed     maphash.Seed
}

// NewWriter writes the binary recording format to w.
func NewWriter(w io.Writer) *Writer {
	x := &Writer{w: bufio.NewWriterSize(w, 256<<10), seed: maphash.MakeSeed()}
	x.clear()
	return x
}

// clear forgets every table: what follows is a new segment.
func (w *Writer) clear() {
	w.strs = make(map[string]uint32)
	w.nstr, w.held, w.nproc, w.nctr = 0, 0, 0, 0
	w.types = w.types[:0]
	w.procs = make(map[*event.Process]*procEntry)
	w.procIndex = make(map[uint64][]*procEntry)
	w.ctrs = make(map[*event.Container]*ctrEntry)
	w.ctrIndex = make(map[uint64][]*ctrEntry)
	w.prevNum, w.prevTime, w.hostname = 0, 0, ""
}

// Write appends one event, preceded by the process and container states
// it refers to that were not written yet.
func (w *Writer) Write(e *event.Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.header()
	if len(e.Args) > maxArgs {
		return fmt.Errorf("%w: %d arguments exceed the format's %d", ErrUnrecordable, len(e.Args), maxArgs)
	}
	if int(e.Type) >= len(w.types) || w.types[e.Type] == 0 {
		if n := e.Type.String(); !typeNameOK(n) {
			return fmt.Errorf("%w: event type %q", ErrUnrecordable, n)
		}
	}
	if w.held > writerHeld || w.nstr > maxStrings/4 || w.nproc > maxProcs/4 || w.nctr > maxContainers/4 {
		w.emit(kindReset, nil)
		w.clear()
	}
	var flags uint64
	var proc uint32
	if e.Proc != nil {
		flags |= evHasProc
		proc = w.procRef(e.Proc)
	}
	if e.Dir == event.DirEnter {
		flags |= evEnter
	}
	if e.HasRes {
		flags |= evHasRes
	}
	if e.FD != nil {
		flags |= evHasFD
	}
	if e.IOUring {
		flags |= evIOUring
	}
	if e.Hostname != w.hostname {
		flags |= evHostname
	}
	b := appendUvarint(w.buf[:0], flags)
	b = appendVarint(b, int64(e.Num-w.prevNum))
	b = appendVarint(b, e.Time-w.prevTime)
	w.prevNum, w.prevTime = e.Num, e.Time
	b = appendVarint(b, int64(e.CPU))
	b = w.typeName(b, e.Type)
	if e.HasRes {
		b = appendVarint(b, e.Res)
	}
	if e.Proc != nil {
		b = appendUvarint(b, uint64(proc))
	}
	if flags&evHostname != 0 {
		b = w.str(b, e.Hostname, false)
		w.hostname = e.Hostname
	}
	b = appendUvarint(b, uint64(len(e.Args)))
	for i := range e.Args {
		a := &e.Args[i]
		b = w.str(b, a.Name, false)
		var af uint64
		if a.HasInt {
			af |= argHasInt
			if isDecimal(a.Str, a.Int) {
				af |= argDecimal
			}
		}
		b = appendUvarint(b, af)
		if a.HasInt {
			b = appendVarint(b, a.Int)
		}
		if af&argDecimal == 0 {
			b = w.str(b, a.Str, false)
		}
	}
	if f := e.FD; f != nil {
		b = appendVarint(b, f.Num)
		b = appendUvarint(b, uint64(f.Type))
		var ff uint64
		for _, x := range [...]struct {
			set bool
			bit uint64
		}{{f.IsServer, fdServer}, {f.Connected, fdConnected}, {f.NameChanged, fdNameChanged},
			{f.OutsideRoot, fdOutsideRoot}, {f.Shared, fdShared}, {f.CloseOnExec, fdCloseOnExec},
			{f.Nlink != 0 || f.Identity != "", fdIdentity}} {
			if x.set {
				ff |= x.bit
			}
		}
		b = appendUvarint(b, ff)
		b = w.str(b, f.Name, false)
		b = w.str(b, f.NameRaw, false)
		b = w.str(b, f.L4Proto, false)
		b = w.addr(b, f.CIP)
		b = w.addr(b, f.SIP)
		b = appendUvarint(b, uint64(f.CPort))
		b = appendUvarint(b, uint64(f.SPort))
		b = appendUvarint(b, f.Dev)
		b = appendUvarint(b, f.Ino)
		if ff&fdIdentity != 0 {
			b = appendUvarint(b, uint64(f.Nlink))
			b = w.str(b, f.Identity, false)
		}
	}
	w.buf = b
	w.emit(kindEvent, b)
	return w.err
}

// header writes the magic and version once, before the first record.
func (w *Writer) header() {
	if !w.started {
		w.started = true
		w.w.Write(magic[:])
		w.w.Write(appendUvarint(nil, FormatVersion))
	}
}

// Flush writes buffered records.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.header() // an empty recording is still recognisable as one
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("write recording: %w", err)
	}
	return w.err
}

func (w *Writer) emit(kind byte, payload []byte) {
	if w.err != nil {
		return
	}
	if len(payload) > maxRecord {
		w.err = fmt.Errorf("write recording: a record of %d bytes exceeds the format's %d", len(payload), maxRecord)
		return
	}
	w.hdr[0] = kind
	h := appendUvarint(w.hdr[:1], uint64(len(payload)))
	if _, err := w.w.Write(h); err != nil {
		w.err = fmt.Errorf("write recording: %w", err)
		return
	}
	if _, err := w.w.Write(payload); err != nil {
		w.err = fmt.Errorf("write recording: %w", err)
	}
}

// str appends a string: a table reference when it was written before,
// else the literal, added to the table when short. held says the reader
// keeps a literal that is not in the table (it is part of a state record).
func (w *Writer) str(b []byte, s string, held bool) []byte {
	if s == "" {
		return append(b, 0)
	}
	if ref, ok := w.strs[s]; ok {
		return appendUvarint(b, uint64(ref)<<1|1)
	}
	if len(s) <= maxTableString {
		w.strs[s] = uint32(w.nstr)
		w.nstr++
		w.held += int64(len(s)) + heldString
		b = appendUvarint(b, uint64(len(s))<<2|2)
	} else {
		if held {
			w.held += int64(len(s))
		}
		b = appendUvarint(b, uint64(len(s))<<2)
	}
	return append(b, s...)
}

// typeName writes an event type's name; the type's table index is cached
// so the type registry's lock is taken once per type.
func (w *Writer) typeName(b []byte, t event.Type) []byte {
	if int(t) < len(w.types) && w.types[t] != 0 {
		return appendUvarint(b, uint64(w.types[t]-1)<<1|1)
	}
	name := t.String()
	b = w.str(b, name, false)
	if ref, ok := w.strs[name]; ok && name != "" {
		for len(w.types) <= int(t) {
			w.types = append(w.types, 0)
		}
		w.types[t] = ref + 1
	}
	return b
}

func (w *Writer) strs2(b []byte, ss []string) []byte {
	b = appendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = w.str(b, s, true)
	}
	w.held += int64(len(ss)) * heldElem
	return b
}

// isDecimal reports whether s is n in decimal, without allocating.
func isDecimal(s string, n int64) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	var buf [20]byte
	i := len(buf)
	u := uint64(n)
	if n < 0 {
		u = uint64(-n)
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if n < 0 {
		i--
		buf[i] = '-'
	}
	return string(buf[i:]) == s
}

// procScalars are the comparable fields of a process; with its slices and
// the references to its parent and container, they are one process state.
type procScalars struct {
	PID, TID, VPID, VTID, PPID, SID, VPGID int64
	Name, Exe, ExePath, Cwd                string
	TTY, UID, GID, LoginUID                int64
	HostUID, HostGID                       int64
	UserName, UserHome, UserShell          string
	LoginName, GroupName                   string
	StartTime                              int64
	CapPermitted, CapEffective             uint64
	CapInheritable                         uint64
	ExeUpperLayer, ExeFromMemfd            bool
	ExeWritable, CredUnexplained           bool
	PrevHostUID                            int64
	SessionLeaderName                      string
	GroupLeaderName, GroupLeaderExe        string
	parent, ctr                            uint32 // parent ref + 1 (0: none), container ref
}

func scalarsOf(p *event.Process, parent, ctr uint32) procScalars {
	return procScalars{p.PID, p.TID, p.VPID, p.VTID, p.PPID, p.SID, p.VPGID,
		p.Name, p.Exe, p.ExePath, p.Cwd, p.TTY, p.UID, p.GID, p.LoginUID, p.HostUID, p.HostGID,
		p.UserName, p.UserHome, p.UserShell, p.LoginName, p.GroupName, p.StartTime,
		p.CapPermitted, p.CapEffective, p.CapInheritable, p.ExeUpperLayer, p.ExeFromMemfd, p.ExeWritable,
		p.CredUnexplained, p.PrevHostUID, p.SessionLeaderName, p.GroupLeaderName, p.GroupLeaderExe, parent, ctr}
}

// procEntry is one process state written, and copies of its slices (the
// live process may change them later).
type procEntry struct {
	ref                uint32
	sc                 procScalars
	args, env, fdTypes []string
}

func (x *procEntry) same(sc *procScalars, p *event.Process) bool {
	return x.sc == *sc && slices.Equal(x.args, p.Args) && slices.Equal(x.env, p.Env) && slices.Equal(x.fdTypes, p.FDTypes)
}

// procRef returns the number of the state record for p as it is now,
// writing its state (and its ancestors') first when it changed.
func (w *Writer) procRef(p *event.Process) uint32 {
	var chain [maxAncestry]*event.Process
	n := 0
	for q := p; q != nil && n < len(chain); q = q.Parent {
		chain[n] = q
		n++
	}
	var parent uint32 // ref + 1
	for i := n - 1; i >= 0; i-- {
		parent = w.procState(chain[i], parent) + 1
	}
	return parent - 1
}

func (w *Writer) procState(p *event.Process, parent uint32) uint32 {
	sc := scalarsOf(p, parent, w.ctrRef(p.Container))
	if x := w.procs[p]; x != nil && x.same(&sc, p) {
		return x.ref
	}
	h := w.hashProc(&sc, p)
	for _, x := range w.procIndex[h] {
		if x.same(&sc, p) {
			w.cacheProc(p, x)
			return x.ref
		}
	}
	x := &procEntry{ref: uint32(w.nproc), sc: sc, args: slices.Clone(p.Args), env: slices.Clone(p.Env), fdTypes: slices.Clone(p.FDTypes)}
	w.nproc++
	w.held += heldProcess
	b := w.pbuf[:0]
	for _, v := range [...]int64{p.PID, p.TID, p.VPID, p.VTID, p.PPID, p.SID, p.VPGID} {
		b = appendVarint(b, v)
	}
	b = w.str(b, p.Name, true)
	b = w.str(b, p.Exe, true)
	b = w.str(b, p.ExePath, true)
	b = w.strs2(b, p.Args)
	b = w.strs2(b, p.Env)
	b = w.str(b, p.Cwd, true)
	for _, v := range [...]int64{p.TTY, p.UID, p.GID, p.LoginUID, p.HostUID, p.HostGID} {
		b = appendVarint(b, v)
	}
	for _, s := range [...]string{p.UserName, p.UserHome, p.UserShell, p.LoginName, p.GroupName} {
		b = w.str(b, s, true)
	}
	b = appendVarint(b, p.StartTime)
	b = appendUvarint(b, p.CapPermitted)
	b = appendUvarint(b, p.CapEffective)
	b = appendUvarint(b, p.CapInheritable)
	var pf uint64
	if p.ExeUpperLayer {
		pf |= procExeUpperLayer
	}
	if p.ExeFromMemfd {
		pf |= procExeFromMemfd
	}
	if p.ExeWritable {
		pf |= procExeWritable
	}
	if p.CredUnexplained {
		pf |= procCredUnexplained
	}
	b = appendUvarint(b, pf)
	if p.CredUnexplained {
		b = appendVarint(b, p.PrevHostUID)
	}
	b = w.str(b, p.SessionLeaderName, true)
	b = w.str(b, p.GroupLeaderName, true)
	b = w.str(b, p.GroupLeaderExe, true)
	b = w.strs2(b, p.FDTypes)
	b = appendUvarint(b, uint64(parent))
	b = appendUvarint(b, uint64(sc.ctr))
	w.pbuf = b
	w.emit(kindProcess, b)
	w.procIndex[h] = append(w.procIndex[h], x)
	w.cacheProc(p, x)
	return x.ref
}

func (w *Writer) cacheProc(p *event.Process, x *procEntry) {
	if len(w.procs) >= maxPointerCache {
		w.procs = make(map[*event.Process]*procEntry)
	}
	w.procs[p] = x
}

func (w *Writer) hashProc(sc *procScalars, p *event.Process) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	maphash.WriteComparable(&h, *sc)
	for _, ss := range [...][]string{p.Args, p.Env, p.FDTypes} {
		maphash.WriteComparable(&h, len(ss))
		for _, s := range ss {
			h.WriteString(s)
			h.WriteByte(0)
		}
	}
	return h.Sum64()
}

// ctrScalars are the comparable fields of a container.
type ctrScalars struct {
	ID, Name, Image, ImageID, ImageRepository, ImageTag, ImageDigest, Type string
	Privileged, HasPrivileged, HostPID, HostNetwork, HostIPC               bool
	StartTime                                                              int64
	K8sNamespace, K8sPodName, K8sPodUID                                    string
	nLabels, nMounts                                                       int
}

func ctrScalarsOf(c *event.Container) ctrScalars {
	return ctrScalars{c.ID, c.Name, c.Image, c.ImageID, c.ImageRepository, c.ImageTag, c.ImageDigest, c.Type,
		c.Privileged, c.HasPrivileged, c.HostPID, c.HostNetwork, c.HostIPC, c.StartTime,
		c.K8sNamespace, c.K8sPodName, c.K8sPodUID, len(c.Labels), len(c.Mounts)}
}

type ctrEntry struct {
	ref    uint32
	sc     ctrScalars
	labels map[string]string
	mounts []event.Mount
}

func (x *ctrEntry) sameFull(sc *ctrScalars, c *event.Container) bool {
	if x.sc != *sc || !slices.Equal(x.mounts, c.Mounts) {
		return false
	}
	for k, v := range c.Labels {
		if w, ok := x.labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ctrRef returns the container reference of a process record. The
// resolver never changes a container it handed out (a new inspection is a
// new pointer), so a known pointer is checked by its scalar fields only.
func (w *Writer) ctrRef(c *event.Container) uint32 {
	switch {
	case c == nil:
		return ctrRefNone
	case c == event.Host:
		return ctrRefHost
	}
	sc := ctrScalarsOf(c)
	if x := w.ctrs[c]; x != nil && x.sc == sc {
		return x.ref + ctrRefBase
	}
	var h maphash.Hash
	h.SetSeed(w.seed)
	maphash.WriteComparable(&h, sc)
	hv := h.Sum64()
	for _, x := range w.ctrIndex[hv] {
		if x.sameFull(&sc, c) {
			w.cacheCtr(c, x)
			return x.ref + ctrRefBase
		}
	}
	x := &ctrEntry{ref: uint32(w.nctr), sc: sc, labels: make(map[string]string, len(c.Labels)), mounts: slices.Clone(c.Mounts)}
	for k, v := range c.Labels {
		x.labels[k] = v
	}
	w.nctr++
	w.held += heldContainer
	b := w.pbuf[:0]
	for _, s := range [...]string{c.ID, c.Name, c.Image, c.ImageID, c.ImageRepository, c.ImageTag, c.ImageDigest, c.Type} {
		b = w.str(b, s, true)
	}
	var cf uint64
	for _, f := range [...]struct {
		set bool
		bit uint64
	}{{c.Privileged, ctrPrivileged}, {c.HasPrivileged, ctrHasPrivileged}, {c.HostPID, ctrHostPID},
		{c.HostNetwork, ctrHostNetwork}, {c.HostIPC, ctrHostIPC}} {
		if f.set {
			cf |= f.bit
		}
	}
	b = appendUvarint(b, cf)
	b = appendVarint(b, c.StartTime)
	b = w.str(b, c.K8sNamespace, true)
	b = w.str(b, c.K8sPodName, true)
	b = w.str(b, c.K8sPodUID, true)
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic output
	b = appendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = w.str(b, k, true)
		b = w.str(b, c.Labels[k], true)
	}
	w.held += int64(len(keys)) * 2 * heldElem
	b = appendUvarint(b, uint64(len(c.Mounts)))
	for _, m := range c.Mounts {
		b = w.str(b, m.Source, true)
		b = w.str(b, m.Dest, true)
		b = w.str(b, m.Mode, true)
		rw := uint64(0)
		if m.RW {
			rw = 1
		}
		b = appendUvarint(b, rw)
		b = w.str(b, m.Propagation, true)
	}
	w.held += int64(len(c.Mounts)) * 5 * heldElem
	w.pbuf = b
	w.emit(kindContainer, b)
	w.ctrIndex[hv] = append(w.ctrIndex[hv], x)
	w.cacheCtr(c, x)
	return x.ref + ctrRefBase
}

func (w *Writer) cacheCtr(c *event.Container, x *ctrEntry) {
	if len(w.ctrs) >= maxPointerCache {
		w.ctrs = make(map[*event.Container]*ctrEntry)
	}
	w.ctrs[c] = x
}

// addr appends an address: 0 when invalid, 4 and four bytes, 16 and
// sixteen bytes, or 17, sixteen bytes and the zone.
func (w *Writer) addr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		x := a.As4()
		return append(append(b, 4), x[:]...)
	case a.Zone() != "":
		x := a.As16()
		b = append(append(b, 17), x[:]...)
		return w.str(b, a.Zone(), false)
	default:
		x := a.As16()
		return append(append(b, 16), x[:]...)
	}
}
