package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary recording format (docs/events.md, "Binary recordings"): a
// magic, a version, then records of [kind byte][uvarint length][payload].
// Process and container states are records of their own, numbered in the
// order they appear; events refer to them by number.

// magic starts every binary recording. The first byte is not valid at the
// start of a JSONL file (or any UTF-8 text), so one Peek tells them apart.
var magic = [8]byte{0x89, 'P', 'L', 'S', 'R', 'E', 'C', '\n'}

// FormatVersion is the binary format version this package writes and the
// newest it reads. Version 2 added the host uid and gid to process states;
// version 3 the io_uring flag of events and the link count and identity of
// descriptors (fdIdentity).
const FormatVersion = 3

// Record kinds. Kinds 0x80 and above are extensions a reader that does not
// know them skips; an unknown kind below 0x80 is an error.
const (
	kindContainer byte = 1
	kindProcess   byte = 2
	kindEvent     byte = 3
	kindReset     byte = 4
	kindSkippable byte = 0x80
)

// Limits a reader enforces, so that a hostile file cannot make it hold
// unbounded memory. The writer starts a new segment (a reset record) at a
// quarter of each, so a recording it wrote never reaches them; it keeps
// its own state to writerHeld, as it runs inside the agent.
const (
	maxRecord     = 16 << 20  // payload bytes of one record
	maxStrings    = 1 << 22   // string table entries per segment
	maxProcs      = 1 << 21   // process states per segment
	maxContainers = 1 << 16   // container states per segment
	maxHeld       = 128 << 20 // bytes of state (strings, processes, containers) per segment
	maxTypes      = 1024      // event type names a recording may introduce
	maxTypeName   = 64
	maxArgs       = 1024 // arguments of one event
	writerHeld    = 8 << 20
	maxAncestry   = 256 // parents followed from one process (guards against a cycle)
)

// Bytes of state charged per process and container record and per slice
// element, on top of their strings; reader and writer use the same figures.
const (
	heldProcess   = 512
	heldContainer = 384
	heldElem      = 16
	heldString    = 16
)

// Flags of an event record.
const (
	evEnter    = 1 << 0
	evHasRes   = 1 << 1
	evHasProc  = 1 << 2
	evHasFD    = 1 << 3
	evHostname = 1 << 4 // a hostname follows and becomes the current one
	evIOUring  = 1 << 5 // an io_uring request, not a syscall (evt.is_io_uring)
)

// Flags of an argument.
const (
	argHasInt  = 1 << 0
	argDecimal = 1 << 1 // Str is Int in decimal and is not written
)

// Flags of a file descriptor.
const (
	fdServer = 1 << iota
	fdConnected
	fdNameChanged
	fdOutsideRoot
	fdShared
	fdCloseOnExec
	fdIdentity // the link count and the identity follow the inode number
)

// Flags of a process.
const (
	procExeUpperLayer = 1 << iota
	procExeFromMemfd
	procExeWritable
	procCredUnexplained // followed by proc.prev_uid, a varint
)

// Flags of a container.
const (
	ctrPrivileged = 1 << iota
	ctrHasPrivileged
	ctrHostPID
	ctrHostNetwork
	ctrHostIPC
)

// Container references in a process record: 0 is none, 1 is event.Host,
// N >= 2 the container record N-2.
const (
	ctrRefNone = 0
	ctrRefHost = 1
	ctrRefBase = 2
)

// RecordError reports a malformed binary recording: the file, the record
// (counted from 1) and the byte offset where the record starts.
type RecordError struct {
	File   string
	Record int
	Offset int64
	Err    error
}

func (e *RecordError) Error() string {
	if e.Record == 0 {
		return fmt.Sprintf("%s: byte %d: %v", e.File, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: record %d at byte %d: %v", e.File, e.Record, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

var errShort = errors.New("record ends inside a value")

// ErrUnrecordable is returned by Writer.Write for an event the format
// cannot hold (a type name that is not a syscall-like name, too many
// arguments); nothing is written for it.
var ErrUnrecordable = errors.New("event cannot be recorded")

// decoder reads the values of one record's payload. The first error sticks
// and every later read returns zero, so decode functions check once.
type decoder struct {
	b   []byte
	i   int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.i = len(d.b)
}

func (d *decoder) uvarint() uint64 {
	if d.i < len(d.b) && d.b[d.i] < 0x80 {
		v := uint64(d.b[d.i])
		d.i++
		return v
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		if n == 0 {
			d.fail(errShort)
		} else {
			d.fail(errors.New("varint overflows 64 bits"))
		}
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a number of elements that each take at least one byte, so a
// count larger than what is left is an error rather than an allocation.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.i) {
		d.fail(fmt.Errorf("count %d exceeds the %d bytes left in the record", n, len(d.b)-d.i))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || n > len(d.b)-d.i {
		d.fail(errShort)
		return nil
	}
	p := d.b[d.i : d.i+n]
	d.i += n
	return p
}

// appendUvarint and appendVarint are the encoder's primitives.
func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return binary.AppendUvarint(b, v)
}

func appendVarint(b []byte, v int64) []byte {
	return appendUvarint(b, uint64(v<<1)^uint64(v>>63))
}
