package state

import "github.com/palisade-sec/palisade/internal/event"

// lowFDs is how many descriptor numbers an fdTable keeps in a slice; the
// rest go in a map (a shell's fd 255, a server with many connections), so a
// child that inherits one high descriptor does not get a large slice.
const lowFDs = 64

// fdTable is a process's open descriptors by number. Descriptors are small
// numbers (the kernel hands out the lowest free one), so most live in a
// slice indexed by number: cheaper than a map to look up, set and clear on
// every open and close, and smaller for a process with a few files open.
type fdTable struct {
	low  []*event.FD
	high map[int64]*event.FD
	n    int
}

func (t *fdTable) get(n int64) (*event.FD, bool) {
	if n >= 0 && n < int64(len(t.low)) {
		fd := t.low[n]
		return fd, fd != nil
	}
	if n < lowFDs && n >= 0 {
		return nil, false
	}
	fd, ok := t.high[n]
	return fd, ok
}

func (t *fdTable) set(n int64, fd *event.FD) {
	if fd == nil {
		t.del(n)
		return
	}
	if n >= 0 && n < lowFDs {
		if n >= int64(len(t.low)) {
			grown := make([]*event.FD, max(n+1, min(2*int64(len(t.low)), lowFDs), 8))
			copy(grown, t.low)
			t.low = grown
		}
		if t.low[n] == nil {
			t.n++
		}
		t.low[n] = fd
		return
	}
	if t.high == nil {
		t.high = map[int64]*event.FD{}
	}
	if _, ok := t.high[n]; !ok {
		t.n++
	}
	t.high[n] = fd
}

func (t *fdTable) del(n int64) {
	if n >= 0 && n < int64(len(t.low)) {
		if t.low[n] != nil {
			t.low[n] = nil
			t.n--
		}
		return
	}
	if _, ok := t.high[n]; ok {
		delete(t.high, n)
		t.n--
	}
}

// len is how many descriptors are open.
func (t *fdTable) len() int { return t.n }

// each calls f for every open descriptor.
func (t *fdTable) each(f func(int64, *event.FD)) {
	for i, fd := range t.low {
		if fd != nil {
			f(int64(i), fd)
		}
	}
	for n, fd := range t.high {
		f(n, fd)
	}
}

// deleteIf removes every descriptor drop says to.
func (t *fdTable) deleteIf(drop func(*event.FD) bool) {
	for i, fd := range t.low {
		if fd != nil && drop(fd) {
			t.low[i] = nil
			t.n--
		}
	}
	for n, fd := range t.high {
		if drop(fd) {
			delete(t.high, n)
			t.n--
		}
	}
}

// clone copies the table (the FDs themselves are shared).
func (t *fdTable) clone() fdTable {
	c := fdTable{n: t.n}
	// Copy up to the highest open descriptor only: a parent that once had
	// many files open must not give every child a table that size.
	top := len(t.low)
	for top > 0 && t.low[top-1] == nil {
		top--
	}
	if top > 0 {
		c.low = append(make([]*event.FD, 0, top), t.low[:top]...)
	}
	if len(t.high) > 0 {
		c.high = make(map[int64]*event.FD, len(t.high))
		for n, fd := range t.high {
			c.high[n] = fd
		}
	}
	return c
}

// lookup is get without the found flag (nil when absent).
func (t *fdTable) lookup(n int64) *event.FD {
	fd, _ := t.get(n)
	return fd
}

// setCloseOnExec sets descriptor n's close-on-exec flag. The flag belongs
// to this table, so an FD shared with another table (after fork) is
// replaced by a copy first.
func (t *fdTable) setCloseOnExec(n int64, on bool) {
	fd, ok := t.get(n)
	if !ok {
		return
	}
	if fd.Shared {
		fd = resetFD(fd)
		fd.Num = n
		t.set(n, fd)
	}
	fd.CloseOnExec = on
}

// dupTo makes descriptor to a copy of fd (the dup family, F_DUPFD).
func (t *fdTable) dupTo(fd *event.FD, to int64, closeOnExec bool) {
	cp := resetFD(fd)
	cp.Num, cp.CloseOnExec = to, closeOnExec
	t.set(to, cp)
}
