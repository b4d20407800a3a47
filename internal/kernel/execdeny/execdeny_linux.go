//go:build linux && amd64

package execdeny

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// List is the loaded program and its deny map.
type List struct {
	objs execdenyObjects
	lnk  link.Link
	rd   *ringbuf.Reader
}

// Open loads the program and attaches it; the list starts empty.
func Open() (*List, error) {
	var l List
	if err := loadExecdenyObjects(&l.objs, nil); err != nil {
		return nil, fmt.Errorf("%w: load: %w", ErrNotSupported, err)
	}
	lnk, err := link.AttachTracing(link.TracingOptions{Program: l.objs.ExecDeny})
	if err != nil {
		l.objs.Close()
		return nil, fmt.Errorf("%w: attach sched_process_exec: %w", ErrNotSupported, err)
	}
	l.lnk = lnk
	if l.rd, err = ringbuf.NewReader(l.objs.Kills); err != nil {
		l.Close()
		return nil, fmt.Errorf("kill ring: %w", err)
	}
	return &l, nil
}

// IDOf is the identity of the file at path, as the kernel sees it.
func IDOf(path string) (FileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return FileID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return FileID{}, fmt.Errorf("%s: not a regular file", path)
	}
	return FileID{Dev: uint64(unix.Major(st.Dev))<<20 | uint64(unix.Minor(st.Dev)), Ino: st.Ino}, nil
}

// Deny adds the file at path to the list and returns its identity.
func (l *List) Deny(path string) (FileID, error) {
	id, err := IDOf(path)
	if err != nil {
		return id, err
	}
	var zero uint64
	if err := l.objs.Deny.Update(key(id), &zero, ebpf.UpdateNoExist); err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return id, fmt.Errorf("deny %s: %w", path, err)
	}
	return id, nil
}

// Allow removes id from the list.
func (l *List) Allow(id FileID) error {
	if err := l.objs.Deny.Delete(key(id)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return err
	}
	return nil
}

func key(id FileID) *[2]uint64 { return &[2]uint64{id.Dev, id.Ino} }

// Counts sums the per-CPU counters.
func (l *List) Counts() (Counts, error) {
	var c Counts
	for i, dst := range []*uint64{&c.Execs, &c.Kills, &c.Failures} {
		var per []uint64
		if err := l.objs.Counters.Lookup(uint32(i), &per); err != nil {
			return c, err
		}
		for _, v := range per {
			*dst += v
		}
	}
	return c, nil
}

// ReadKill waits for the next kill (until Close).
func (l *List) ReadKill() (Kill, error) {
	rec, err := l.rd.Read()
	if err != nil {
		return Kill{}, err
	}
	b := rec.RawSample
	if len(b) < 32 {
		return Kill{}, fmt.Errorf("kill record of %d bytes", len(b))
	}
	le := binary.LittleEndian
	return Kill{Boot: le.Uint64(b[0:]), File: FileID{Dev: le.Uint64(b[8:]), Ino: le.Uint64(b[16:])}, PID: le.Uint32(b[24:])}, nil
}

// Close detaches the program: execs run again whatever the list held.
func (l *List) Close() error {
	if l.rd != nil {
		l.rd.Close()
	}
	if l.lnk != nil {
		l.lnk.Close()
	}
	return l.objs.Close()
}
