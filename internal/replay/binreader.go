package replay

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync/atomic"

	"github.com/palisade-sec/palisade/internal/event"
)

// slabSize: events, arguments and descriptors are allocated this many at a
// time (a replayed event is one slot in a slab, not three allocations).
const slabSize = 256

// binReader decodes the binary format after its header.
type binReader struct {
	name string
	br   *bufio.Reader
	off  int64 // offset of the next record
	nrec int
	err  error // sticky: a binary stream cannot be resynchronised
	big  []byte

	version uint64 // the recording's format version

	strs     []string
	strTypes []event.Type // event type for a string table entry, 0 until used as one
	procs    []*event.Process
	ctrs     []*event.Container
	held     int64

	prevNum  uint64
	prevTime int64
	hostname string

	evSlab  []event.Event
	argSlab []event.Arg
	fdSlab  []event.FD
}

func (r *binReader) clear() {
	clear(r.strs)
	clear(r.procs)
	clear(r.ctrs)
	r.strs, r.strTypes, r.procs, r.ctrs = r.strs[:0], r.strTypes[:0], r.procs[:0], r.ctrs[:0]
	r.held, r.prevNum, r.prevTime, r.hostname = 0, 0, 0, ""
}

func (r *binReader) next() (*event.Event, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		start := r.off
		kind, err := r.br.ReadByte()
		if err == io.EOF {
			return nil, io.EOF
		}
		r.nrec++
		if err != nil {
			return nil, r.fail(start, fmt.Errorf("read: %w", err))
		}
		n, err := binary.ReadUvarint(r.br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, r.fail(start, fmt.Errorf("record length: %w", err))
		}
		if n > maxRecord {
			return nil, r.fail(start, fmt.Errorf("record of %d bytes exceeds the format's %d", n, maxRecord))
		}
		hdr := 1 + int64(uvarintLen(n))
		var payload []byte
		peeked := int(n) <= r.br.Size()
		if peeked {
			payload, err = r.br.Peek(int(n))
		} else {
			if cap(r.big) < int(n) {
				r.big = make([]byte, n)
			}
			payload = r.big[:n]
			_, err = io.ReadFull(r.br, payload)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, r.fail(start, fmt.Errorf("record of %d bytes: %w", n, err))
		}
		d := decoder{b: payload}
		var e *event.Event
		switch kind {
		case kindEvent:
			e = r.event(&d)
		case kindProcess:
			r.process(&d)
		case kindContainer:
			r.container(&d)
		case kindReset:
			r.clear()
		default:
			if kind < kindSkippable {
				d.fail(fmt.Errorf("unknown record kind %d", kind))
			}
			d.i = len(d.b)
		}
		if d.err == nil && d.i != len(d.b) {
			d.fail(fmt.Errorf("%d bytes left over after the record's values", len(d.b)-d.i))
		}
		if peeked {
			r.br.Discard(int(n))
		}
		r.off += hdr + int64(n)
		if d.err != nil {
			return nil, r.fail(start, d.err)
		}
		if e != nil {
			return e, nil
		}
	}
}

func (r *binReader) fail(off int64, err error) error {
	r.err = &RecordError{File: r.name, Record: r.nrec, Offset: off, Err: err}
	return r.err
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// str reads a string (see Writer.str); held marks strings a state record
// keeps.
func (r *binReader) str(d *decoder, held bool) string {
	v := d.uvarint()
	switch {
	case v == 0:
		return ""
	case v&1 == 1:
		i := v >> 1
		if i >= uint64(len(r.strs)) {
			d.fail(fmt.Errorf("string %d is not in the table (%d entries)", i, len(r.strs)))
			return ""
		}
		return r.strs[i]
	}
	n := v >> 2
	if n > uint64(len(d.b)-d.i) {
		d.fail(errShort)
		return ""
	}
	s := string(d.bytes(int(n)))
	if v&3 == 2 {
		if len(r.strs) >= maxStrings {
			d.fail(fmt.Errorf("string table exceeds %d entries", maxStrings))
			return ""
		}
		r.strs = append(r.strs, s)
		r.strTypes = append(r.strTypes, 0)
		r.hold(d, int64(len(s))+heldString)
	} else if held {
		r.hold(d, int64(len(s)))
	}
	return s
}

func (r *binReader) hold(d *decoder, n int64) {
	r.held += n
	if r.held > maxHeld {
		d.fail(fmt.Errorf("recording holds more than %d MiB of process, container and string state in one segment", maxHeld>>20))
	}
}

func (r *binReader) strList(d *decoder) []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	r.hold(d, int64(n)*heldElem)
	if d.err != nil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str(d, true)
	}
	return out
}

// typeOf reads an event type name. A name Palisade does not know is
// interned only when it looks like a syscall name, and only so many: the
// type registry is process-wide and never shrinks.
func (r *binReader) typeOf(d *decoder) event.Type {
	at := d.i
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v&1 == 1 && v>>1 < uint64(len(r.strTypes)) && r.strTypes[v>>1] != 0 {
		return r.strTypes[v>>1]
	}
	d.i = at // read it again as a string
	name := r.str(d, false)
	if d.err != nil {
		return 0
	}
	t, ok := event.LookupType(name)
	if !ok {
		if !typeNameOK(name) {
			d.fail(fmt.Errorf("event type %q is not a syscall name", name))
			return 0
		}
		if newTypes.Add(1) > maxTypes {
			d.fail(fmt.Errorf("event type %q: more than %d unknown event types", name, maxTypes))
			return 0
		}
		t = event.TypeOf(name)
	}
	if v&1 == 1 {
		r.strTypes[v>>1] = t
	} else if v&3 == 2 {
		r.strTypes[len(r.strTypes)-1] = t
	}
	return t
}

func typeNameOK(s string) bool {
	if s == "" || len(s) > maxTypeName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (r *binReader) procRef(d *decoder, v uint64) *event.Process {
	if v >= uint64(len(r.procs)) {
		d.fail(fmt.Errorf("process %d is not defined (%d so far)", v, len(r.procs)))
		return nil
	}
	return r.procs[v]
}

func (r *binReader) event(d *decoder) *event.Event {
	if len(r.evSlab) == 0 {
		r.evSlab = make([]event.Event, slabSize)
	}
	e := &r.evSlab[0]
	r.evSlab = r.evSlab[1:]
	flags := d.uvarint()
	r.prevNum += uint64(d.varint())
	r.prevTime += d.varint()
	e.Num, e.Time = r.prevNum, r.prevTime
	e.CPU = int32(d.varint())
	e.Dir = event.DirExit
	if flags&evEnter != 0 {
		e.Dir = event.DirEnter
	}
	e.IOUring = flags&evIOUring != 0
	e.Type = r.typeOf(d)
	if flags&evHasRes != 0 {
		e.Res, e.HasRes = d.varint(), true
	}
	if flags&evHasProc != 0 {
		e.Proc = r.procRef(d, d.uvarint())
	}
	if flags&evHostname != 0 {
		r.hostname = r.str(d, false)
	}
	e.Hostname = r.hostname
	if n := d.count(); n > 0 {
		if n > maxArgs {
			d.fail(fmt.Errorf("%d arguments exceed the format's %d", n, maxArgs))
			return e
		}
		if len(r.argSlab) < n {
			r.argSlab = make([]event.Arg, max(slabSize, n))
		}
		e.Args = r.argSlab[:n:n]
		r.argSlab = r.argSlab[n:]
		for i := range e.Args {
			a := &e.Args[i]
			a.Name = r.str(d, false)
			af := d.uvarint()
			if af&argHasInt != 0 {
				a.Int, a.HasInt = d.varint(), true
			}
			if af&argDecimal != 0 {
				a.Str = decimal(a.Int)
			} else {
				a.Str = r.str(d, false)
			}
		}
	}
	if flags&evHasFD != 0 {
		if len(r.fdSlab) == 0 {
			r.fdSlab = make([]event.FD, slabSize)
		}
		f := &r.fdSlab[0]
		r.fdSlab = r.fdSlab[1:]
		f.Num = d.varint()
		t := d.uvarint()
		if t > 255 || event.FDType(t).String() == "" && t != uint64(event.FDUnknown) {
			d.fail(fmt.Errorf("fd type %d is not a known fd type", t))
		}
		f.Type = event.FDType(t)
		ff := d.uvarint()
		f.IsServer, f.Connected, f.NameChanged = ff&fdServer != 0, ff&fdConnected != 0, ff&fdNameChanged != 0
		f.OutsideRoot, f.Shared, f.CloseOnExec = ff&fdOutsideRoot != 0, ff&fdShared != 0, ff&fdCloseOnExec != 0
		f.Name = r.str(d, false)
		f.NameRaw = r.str(d, false)
		f.L4Proto = r.str(d, false)
		f.CIP = r.addr(d)
		f.SIP = r.addr(d)
		f.CPort = r.port(d)
		f.SPort = r.port(d)
		f.Dev = d.uvarint()
		f.Ino = d.uvarint()
		if ff&fdIdentity != 0 {
			n := d.uvarint()
			if n > 0xffffffff {
				d.fail(fmt.Errorf("link count %d is out of range", n))
			}
			f.Nlink = uint32(n)
			f.Identity = r.str(d, false)
		}
		e.FD = f
	}
	return e
}

func (r *binReader) port(d *decoder) uint16 {
	v := d.uvarint()
	if v > 0xffff {
		d.fail(fmt.Errorf("port %d is out of range", v))
	}
	return uint16(v)
}

func (r *binReader) addr(d *decoder) netip.Addr {
	switch k := d.uvarint(); k {
	case 0:
		return netip.Addr{}
	case 4:
		b := d.bytes(4)
		if b == nil {
			return netip.Addr{}
		}
		return netip.AddrFrom4([4]byte(b))
	case 16, 17:
		b := d.bytes(16)
		if b == nil {
			return netip.Addr{}
		}
		a := netip.AddrFrom16([16]byte(b))
		if k == 17 {
			a = a.WithZone(r.str(d, false))
		}
		return a
	default:
		d.fail(fmt.Errorf("address kind %d is not 0, 4, 16 or 17", k))
		return netip.Addr{}
	}
}

func (r *binReader) process(d *decoder) {
	if len(r.procs) >= maxProcs {
		d.fail(fmt.Errorf("more than %d process states in one segment", maxProcs))
		return
	}
	r.hold(d, heldProcess)
	p := &event.Process{}
	p.PID, p.TID, p.VPID, p.VTID = d.varint(), d.varint(), d.varint(), d.varint()
	p.PPID, p.SID, p.VPGID = d.varint(), d.varint(), d.varint()
	p.Name = r.str(d, true)
	p.Exe = r.str(d, true)
	p.ExePath = r.str(d, true)
	p.Args = r.strList(d)
	p.Env = r.strList(d)
	p.Cwd = r.str(d, true)
	p.TTY, p.UID, p.GID, p.LoginUID = d.varint(), d.varint(), d.varint(), d.varint()
	if r.version >= 2 {
		p.HostUID, p.HostGID = d.varint(), d.varint()
	} else {
		p.HostUID, p.HostGID = p.UID, p.GID // version 1 knew no user namespaces
	}
	p.UserName = r.str(d, true)
	p.UserHome = r.str(d, true)
	p.UserShell = r.str(d, true)
	p.LoginName = r.str(d, true)
	p.GroupName = r.str(d, true)
	p.StartTime = d.varint()
	p.CapPermitted, p.CapEffective, p.CapInheritable = d.uvarint(), d.uvarint(), d.uvarint()
	pf := d.uvarint()
	p.ExeUpperLayer, p.ExeFromMemfd, p.ExeWritable = pf&procExeUpperLayer != 0, pf&procExeFromMemfd != 0, pf&procExeWritable != 0
	if pf&procCredUnexplained != 0 {
		p.CredUnexplained, p.PrevHostUID = true, d.varint()
	}
	p.SessionLeaderName = r.str(d, true)
	p.GroupLeaderName = r.str(d, true)
	p.GroupLeaderExe = r.str(d, true)
	p.FDTypes = r.strList(d)
	if parent := d.uvarint(); parent > 0 {
		p.Parent = r.procRef(d, parent-1)
	}
	switch c := d.uvarint(); {
	case c == ctrRefNone:
	case c == ctrRefHost:
		p.Container = event.Host
	case c-ctrRefBase < uint64(len(r.ctrs)):
		p.Container = r.ctrs[c-ctrRefBase]
	default:
		d.fail(fmt.Errorf("container %d is not defined (%d so far)", c-ctrRefBase, len(r.ctrs)))
	}
	r.procs = append(r.procs, p)
}

func (r *binReader) container(d *decoder) {
	if len(r.ctrs) >= maxContainers {
		d.fail(fmt.Errorf("more than %d containers in one segment", maxContainers))
		return
	}
	r.hold(d, heldContainer)
	c := &event.Container{}
	c.ID = r.str(d, true)
	c.Name = r.str(d, true)
	c.Image = r.str(d, true)
	c.ImageID = r.str(d, true)
	c.ImageRepository = r.str(d, true)
	c.ImageTag = r.str(d, true)
	c.ImageDigest = r.str(d, true)
	c.Type = r.str(d, true)
	cf := d.uvarint()
	c.Privileged, c.HasPrivileged = cf&ctrPrivileged != 0, cf&ctrHasPrivileged != 0
	c.HostPID, c.HostNetwork, c.HostIPC = cf&ctrHostPID != 0, cf&ctrHostNetwork != 0, cf&ctrHostIPC != 0
	c.StartTime = d.varint()
	c.K8sNamespace = r.str(d, true)
	c.K8sPodName = r.str(d, true)
	c.K8sPodUID = r.str(d, true)
	if n := d.count(); n > 0 {
		r.hold(d, int64(n)*2*heldElem)
		if d.err == nil {
			c.Labels = make(map[string]string, min(n, 1024))
		}
		for range n {
			k := r.str(d, true)
			c.Labels[k] = r.str(d, true)
			if d.err != nil {
				break
			}
		}
	}
	if n := d.count(); n > 0 {
		r.hold(d, int64(n)*5*heldElem)
		if d.err == nil {
			c.Mounts = make([]event.Mount, n)
		}
		for i := range c.Mounts {
			m := &c.Mounts[i]
			m.Source = r.str(d, true)
			m.Dest = r.str(d, true)
			m.Mode = r.str(d, true)
			m.RW = d.uvarint() != 0
			m.Propagation = r.str(d, true)
		}
	}
	r.ctrs = append(r.ctrs, c)
}

// decimal renders n; small numbers (fds, AT_FDCWD, modes) come from a
// table, without an allocation.
func decimal(n int64) string {
	if n >= -smallNeg && n < int64(len(smallDecimals))-smallNeg {
		return smallDecimals[n+smallNeg]
	}
	return strconv.FormatInt(n, 10)
}

const smallNeg = 256

var smallDecimals = func() []string {
	out := make([]string, smallNeg+1024)
	for i := range out {
		out[i] = strconv.Itoa(i - smallNeg)
	}
	return out
}()

// newTypes counts the event types recordings introduced, process-wide.
var newTypes atomic.Int64
