//go:build linux

package ebpf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring reads a BPF ring buffer map in place, through the kernel's own
// mappings of it (kernel/bpf/ringbuf.c): one read-write page holding the
// consumer position, then a read-only page holding the producer position
// followed by the data pages mapped twice in a row, so that a record that
// wraps around the end is still one contiguous slice.
//
// Unlike a general reader it does not copy a record out before handing it
// over: the caller decodes it where it lies, and the consumer position is
// published back to the kernel only once per batch (or before sleeping),
// which saves a copy and a cache-line transfer per record.
type ring struct {
	mu      sync.Mutex // held while reading; Close waits for it
	closed  atomic.Bool
	cons    []byte // consumer page
	prodMap []byte // producer page + data twice
	data    []byte
	mask    uint64
	consPos *uint64
	prodPos *uint64

	pos       uint64 // next record to read
	prod      uint64 // the producer position last read
	published uint64 // what the kernel was last told
	epfd      int
	wake      int // eventfd: Close and context ends write it
	events    [2]unix.EpollEvent
}

const (
	rbBusyBit    = 1 << 31
	rbDiscardBit = 1 << 30
	rbHdrSize    = 8
	// publishEvery is how many bytes may be read before the consumer
	// position is published without waiting for the ring to run dry.
	publishEvery = 64 << 10
)

var errRingClosed = errors.New("ring buffer closed")

func newRing(mapFD int, size int) (*ring, error) {
	page := os.Getpagesize()
	if size < page || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring buffer size %d is not a power of two of at least a page", size)
	}
	r := &ring{mask: uint64(size - 1), epfd: -1, wake: -1}
	var err error
	r.cons, err = unix.Mmap(mapFD, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map ring buffer consumer page: %w", err)
	}
	r.prodMap, err = unix.Mmap(mapFD, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		r.unmap()
		return nil, fmt.Errorf("map ring buffer data: %w", err)
	}
	r.data = r.prodMap[page:]
	r.consPos = (*uint64)(unsafe.Pointer(&r.cons[0]))
	r.prodPos = (*uint64)(unsafe.Pointer(&r.prodMap[0]))
	r.pos = atomic.LoadUint64(r.consPos)
	r.published = r.pos

	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		r.unmap()
		return nil, fmt.Errorf("ring buffer epoll: %w", err)
	}
	if r.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		r.closeFDs()
		r.unmap()
		return nil, fmt.Errorf("ring buffer eventfd: %w", err)
	}
	for _, fd := range []int{mapFD, r.wake} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			r.closeFDs()
			r.unmap()
			return nil, fmt.Errorf("ring buffer epoll add: %w", err)
		}
	}
	return r, nil
}

// next returns the next committed record's payload, or nil when none is
// ready. The slice points into the ring and is valid until the following
// call of next, publish or wait.
func (r *ring) next() []byte {
	for {
		if r.pos >= r.prod {
			// Read the producer's position only when the records known
			// to be there are used up: each read pulls its cache line
			// away from the CPU writing records.
			if r.prod = atomic.LoadUint64(r.prodPos); r.pos >= r.prod {
				return nil
			}
		}
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[r.pos&r.mask])))
		if hdr&rbBusyBit != 0 {
			return nil // reserved, not yet committed
		}
		n := uint64(hdr &^ (rbBusyBit | rbDiscardBit))
		at := r.pos
		start := at&r.mask + rbHdrSize
		r.pos += (n + rbHdrSize + 7) &^ 7
		if at-r.published >= publishEvery {
			// Release what was read before this record, which stays valid.
			r.publishUpTo(at)
		}
		if hdr&rbDiscardBit != 0 {
			continue
		}
		return r.data[start : start+n : start+n]
	}
}

func (r *ring) publishUpTo(pos uint64) {
	if pos > r.published {
		atomic.StoreUint64(r.consPos, pos)
		r.published = pos
	}
}

// publish hands everything read so far back to the kernel.
func (r *ring) publish() { r.publishUpTo(r.pos) }

// wait publishes, then sleeps until the kernel signals data, the timeout
// passes, or wakeup is called. It returns errRingClosed once closed.
func (r *ring) wait(timeout time.Duration) error {
	r.publish()
	if r.closed.Load() {
		return errRingClosed
	}
	if r.pos < atomic.LoadUint64(r.prodPos) {
		return nil
	}
	ms := int(timeout / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	n, err := unix.EpollWait(r.epfd, r.events[:], ms)
	if err != nil && err != unix.EINTR {
		return fmt.Errorf("wait for ring buffer: %w", err)
	}
	for i := 0; i < n; i++ {
		if int(r.events[i].Fd) == r.wake {
			var b [8]byte
			unix.Read(r.wake, b[:])
		}
	}
	if r.closed.Load() {
		return errRingClosed
	}
	return nil
}

// wakeup interrupts a wait.
func (r *ring) wakeup() {
	var one = [8]byte{1}
	unix.Write(r.wake, one[:])
}

// close wakes a reader, waits for it to leave, and unmaps the ring.
func (r *ring) close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.wakeup()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeFDs()
	r.unmap()
	return nil
}

func (r *ring) closeFDs() {
	if r.epfd >= 0 {
		unix.Close(r.epfd)
		r.epfd = -1
	}
	if r.wake >= 0 {
		unix.Close(r.wake)
		r.wake = -1
	}
}

func (r *ring) unmap() {
	if r.prodMap != nil {
		unix.Munmap(r.prodMap)
		r.prodMap, r.data = nil, nil
	}
	if r.cons != nil {
		unix.Munmap(r.cons)
		r.cons = nil
	}
}
