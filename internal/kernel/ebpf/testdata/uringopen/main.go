// Command uringopen opens a file through io_uring (IORING_OP_OPENAT) and
// makes no open(2) of its own: the tests run it (built static, as an
// attacker would ship it) to check that such an open is still seen.
//
//	uringopen [-w] PATH
//
// It prints the completion's result (the fd, or -errno) and exits 0 when
// the open succeeded.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426
	offSQRing       = 0
	offCQRing       = 0x8000000
	offSQEs         = 0x10000000
	opOpenat        = 18
	enterGetEvents  = 1
)

type sqOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

type cqOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

type params struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	Resv                                                                   [3]uint32
	SQOff                                                                  sqOffsets
	CQOff                                                                  cqOffsets
}

type sqe struct {
	Opcode, Flags uint8
	Ioprio        uint16
	Fd            int32
	Off, Addr     uint64
	Len           uint32
	OpFlags       uint32
	UserData      uint64
	BufIndex      uint16
	Personality   uint16
	FileIndex     uint32
	Addr3, Pad    uint64
}

type cqe struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

func main() {
	write := len(os.Args) == 3 && os.Args[1] == "-w"
	if len(os.Args) != 2 && !write {
		fmt.Fprintln(os.Stderr, "usage: uringopen [-w] PATH")
		os.Exit(2)
	}
	res, err := open(os.Args[len(os.Args)-1], write)
	if err != nil {
		fmt.Fprintln(os.Stderr, "uringopen:", err)
		os.Exit(1)
	}
	fmt.Println(res)
	if res < 0 {
		os.Exit(1)
	}
}

func open(path string, write bool) (int32, error) {
	var p params
	fd, _, e := unix.Syscall(sysIOUringSetup, 4, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return 0, fmt.Errorf("io_uring_setup: %w", e)
	}
	sq, err := unix.Mmap(int(fd), offSQRing, int(p.SQOff.Array+p.SQEntries*4), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, fmt.Errorf("mmap sq ring: %w", err)
	}
	cq, err := unix.Mmap(int(fd), offCQRing, int(p.CQOff.CQEs+p.CQEntries*16), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, fmt.Errorf("mmap cq ring: %w", err)
	}
	sqes, err := unix.Mmap(int(fd), offSQEs, int(p.SQEntries*64), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return 0, fmt.Errorf("mmap sqes: %w", err)
	}
	name := append([]byte(path), 0)
	flags := uint32(unix.O_RDONLY)
	if write {
		flags = unix.O_WRONLY | unix.O_APPEND
	}
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	tail := atomic.LoadUint32(u32(sq, p.SQOff.Tail))
	idx := tail & *u32(sq, p.SQOff.RingMask)
	e0 := (*sqe)(unsafe.Pointer(&sqes[idx*64]))
	*e0 = sqe{Opcode: opOpenat, Fd: unix.AT_FDCWD, Addr: uint64(uintptr(unsafe.Pointer(&name[0]))), OpFlags: flags, UserData: 7}
	*u32(sq, p.SQOff.Array+idx*4) = idx
	atomic.StoreUint32(u32(sq, p.SQOff.Tail), tail+1)
	if _, _, e := unix.Syscall6(sysIOUringEnter, fd, 1, 1, enterGetEvents, 0, 0); e != 0 {
		return 0, fmt.Errorf("io_uring_enter: %w", e)
	}
	runtime.KeepAlive(name)
	head := atomic.LoadUint32(u32(cq, p.CQOff.Head))
	if head == atomic.LoadUint32(u32(cq, p.CQOff.Tail)) {
		return 0, fmt.Errorf("no completion")
	}
	c := (*cqe)(unsafe.Pointer(&cq[p.CQOff.CQEs+(head&*u32(cq, p.CQOff.RingMask))*16]))
	res := c.Res
	atomic.StoreUint32(u32(cq, p.CQOff.Head), head+1)
	if res >= 0 && write {
		unix.Write(int(res), []byte("x\n"))
	}
	return res, nil
}
