// Command uringopen opens, reads, writes and connects through io_uring
// and makes no open(2), read(2), write(2) or connect(2) of its own for
// them: the tests run it (built static, as an attacker would ship it) to
// check that such requests are still seen.
//
//	uringopen [-w] PATH        open PATH (-w: for appending, and write "x\n" to it)
//	uringopen -fixed PATH      open PATH into direct descriptor slot 0 and read it through the slot
//	uringopen -fixed-skip PATH the same, the open linked to the read and asking for no completion on success
//	uringopen -fixed-skip-all PATH the same, reading one byte, the read asking for no completion on success too (linked to a NOP, whose completion is waited for)
//	uringopen -connect IP:PORT connect a TCP socket (made with socket(2)) to IP:PORT
//	uringopen -accept          listen on 127.0.0.1 (socket(2), bind(2), listen(2)), print "port N", accept one connection
//	uringopen -write FD        write "x\n" to the inherited descriptor FD
//	uringopen -read FD         read up to 4 KiB from the inherited descriptor FD
//	uringopen -loop N PATH     open PATH with open(2), read its first 4 KiB N times through io_uring, print ns per read (BENCHMARKS.md)
//
// It prints the results of the completions (an fd, a count or -errno) and
// exits 0 when every request succeeded. With UO_HOLD set to a duration
// (3s) it waits that long before exiting, so that the process is still
// there when the agent reads its records.
package main

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	sysIOUringSetup    = 425
	sysIOUringEnter    = 426
	sysIOUringRegister = 427
	registerFiles      = 2 // IORING_REGISTER_FILES
	offSQRing          = 0
	offCQRing          = 0x8000000
	offSQEs            = 0x10000000
	opNop              = 0
	opAccept           = 13
	opConnect          = 16
	opOpenat           = 18
	opRead             = 22
	opWrite            = 23
	sqeFixedFile       = 1      // IOSQE_FIXED_FILE
	sqeIOLink          = 1 << 2 // IOSQE_IO_LINK
	sqeCQESkipSuccess  = 1 << 6 // IOSQE_CQE_SKIP_SUCCESS
	enterGetEvents     = 1
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
	err := run(os.Args[1:])
	if h := os.Getenv("UO_HOLD"); h != "" {
		d, perr := time.ParseDuration(h)
		if perr != nil {
			fmt.Fprintf(os.Stderr, "uringopen: UO_HOLD %q: %v\n", h, perr)
			os.Exit(2)
		}
		time.Sleep(d)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "uringopen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 1 && !strings.HasPrefix(args[0], "-") {
		return openPath(args[0], false)
	}
	if len(args) == 1 && args[0] == "-accept" {
		return accept()
	}
	if len(args) == 3 && args[0] == "-loop" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 {
			return fmt.Errorf("count %q: want a positive number", args[1])
		}
		return loop(n, args[2])
	}
	if len(args) != 2 {
		return fmt.Errorf("usage: uringopen [-w|-fixed] PATH | -connect IP:PORT | -write FD | -read FD")
	}
	switch args[0] {
	case "-w":
		return openPath(args[1], true)
	case "-fixed":
		return openFixed(args[1], false)
	case "-fixed-skip":
		return openFixed(args[1], true)
	case "-fixed-skip-all":
		return openFixedSilent(args[1])
	case "-connect":
		return connect(args[1])
	case "-write", "-read":
		fd, err := strconv.Atoi(args[1])
		if err != nil {
			return fmt.Errorf("fd %q: %w", args[1], err)
		}
		r, err := newRing()
		if err != nil {
			return err
		}
		buf := make([]byte, 4096)
		e := sqe{Opcode: opRead, Fd: int32(fd), Off: ^uint64(0), Addr: addr(buf), Len: uint32(len(buf))}
		if args[0] == "-write" {
			buf = []byte("x\n")
			e = sqe{Opcode: opWrite, Fd: int32(fd), Off: ^uint64(0), Addr: addr(buf), Len: uint32(len(buf))}
		}
		res, err := r.do(e)
		runtime.KeepAlive(buf)
		return report(res, err)
	}
	return fmt.Errorf("unknown mode %q", args[0])
}

func report(res int32, err error) error {
	if err != nil {
		return err
	}
	fmt.Println(res)
	if res < 0 {
		return fmt.Errorf("request failed: %v", unix.Errno(-res))
	}
	return nil
}

func addr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(&b[0]))) }

func openPath(path string, write bool) error {
	r, err := newRing()
	if err != nil {
		return err
	}
	name := append([]byte(path), 0)
	flags := uint32(unix.O_RDONLY)
	if write {
		flags = unix.O_WRONLY | unix.O_APPEND
	}
	res, err := r.do(sqe{Opcode: opOpenat, Fd: unix.AT_FDCWD, Addr: addr(name), OpFlags: flags})
	runtime.KeepAlive(name)
	if err == nil && res >= 0 && write {
		unix.Write(int(res), []byte("x\n"))
	}
	return report(res, err)
}

// newFixedRing is a ring with a sparse fixed-file table of one slot.
func newFixedRing() (*ring, error) {
	r, err := newRing()
	if err != nil {
		return nil, err
	}
	slots := []int32{-1}
	if _, _, e := unix.Syscall6(sysIOUringRegister, uintptr(r.fd), registerFiles, uintptr(unsafe.Pointer(&slots[0])), 1, 0, 0); e != 0 {
		return nil, fmt.Errorf("io_uring_register files: %w", e)
	}
	return r, nil
}

// openFixed opens path into slot 0 of a sparse fixed-file table and reads
// it through the slot: the file is never in the process's fd table. With
// skip the open asks for no completion on success (so only the read's
// result comes back) and is linked to the read, which runs after it.
func openFixed(path string, skip bool) error {
	r, err := newFixedRing()
	if err != nil {
		return err
	}
	name := append([]byte(path), 0)
	buf := make([]byte, 4096)
	defer runtime.KeepAlive(name)
	defer runtime.KeepAlive(buf)
	open := sqe{Opcode: opOpenat, Fd: unix.AT_FDCWD, Addr: addr(name), OpFlags: unix.O_RDONLY, FileIndex: 1}
	read := sqe{Opcode: opRead, Flags: sqeFixedFile, Fd: 0, Addr: addr(buf), Len: uint32(len(buf))}
	if skip {
		open.Flags = sqeIOLink | sqeCQESkipSuccess
		return report(r.do(open, read))
	}
	res, err := r.do(open)
	if err := report(res, err); err != nil {
		return err
	}
	return report(r.do(read))
}

// openFixedSilent opens path into slot 0 and reads its first byte through
// the slot, both asking for no completion on success, linked to a NOP
// whose completion says the chain ran; it prints the bytes read. (A
// linked read shorter than asked for fails the link and posts its
// completion: one byte of a file that has one is never short.)
func openFixedSilent(path string) error {
	r, err := newFixedRing()
	if err != nil {
		return err
	}
	name := append([]byte(path), 0)
	buf := make([]byte, 4096)
	defer runtime.KeepAlive(name)
	defer runtime.KeepAlive(buf)
	open := sqe{Opcode: opOpenat, Flags: sqeIOLink | sqeCQESkipSuccess, Fd: unix.AT_FDCWD, Addr: addr(name), OpFlags: unix.O_RDONLY, FileIndex: 1}
	read := sqe{Opcode: opRead, Flags: sqeFixedFile | sqeIOLink | sqeCQESkipSuccess, Fd: 0, Addr: addr(buf), Len: 1}
	res, err := r.do(open, read, sqe{Opcode: opNop})
	if err := report(res, err); err != nil {
		return err
	}
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	fmt.Println("read", n)
	if n == 0 {
		return fmt.Errorf("nothing read")
	}
	return nil
}

// loop times n reads of path's first 4 KiB through io_uring, one request
// per io_uring_enter.
func loop(n int, path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	r, err := newRing()
	if err != nil {
		return err
	}
	buf := make([]byte, 4096)
	start := time.Now()
	for range n {
		res, err := r.do(sqe{Opcode: opRead, Fd: int32(fd), Addr: addr(buf), Len: uint32(len(buf))})
		if err != nil {
			return err
		}
		if res < 0 {
			return fmt.Errorf("read: %v", unix.Errno(-res))
		}
	}
	runtime.KeepAlive(buf)
	fmt.Printf("%.0f ns/read\n", float64(time.Since(start).Nanoseconds())/float64(n))
	return nil
}

// accept accepts one connection on a new loopback listener through
// io_uring, after printing the listener's port.
func accept() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(s, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(s, 1); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	sa, err := unix.Getsockname(s)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	r, err := newRing()
	if err != nil {
		return err
	}
	fmt.Println("port", sa.(*unix.SockaddrInet4).Port)
	return report(r.do(sqe{Opcode: opAccept, Fd: int32(s)}))
}

func connect(dst string) error {
	ap, err := netip.ParseAddrPort(dst)
	if err != nil || !ap.Addr().Is4() {
		return fmt.Errorf("destination %q: want IPv4:PORT", dst)
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	r, err := newRing()
	if err != nil {
		return err
	}
	// struct sockaddr_in: family, port (big endian), address.
	sa := make([]byte, 16)
	sa[0] = unix.AF_INET
	sa[2], sa[3] = byte(ap.Port()>>8), byte(ap.Port())
	ip := ap.Addr().As4()
	copy(sa[4:], ip[:])
	res, err := r.do(sqe{Opcode: opConnect, Fd: int32(s), Addr: addr(sa), Off: uint64(len(sa))})
	runtime.KeepAlive(sa)
	return report(res, err)
}

type ring struct {
	fd        uintptr
	p         params
	sq, cq    []byte
	sqes      []byte
	submitted uint64
}

func newRing() (*ring, error) {
	r := &ring{}
	fd, _, e := unix.Syscall(sysIOUringSetup, 4, uintptr(unsafe.Pointer(&r.p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", e)
	}
	r.fd = fd
	var err error
	p := &r.p
	if r.sq, err = unix.Mmap(int(fd), offSQRing, int(p.SQOff.Array+p.SQEntries*4), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("mmap sq ring: %w", err)
	}
	if r.cq, err = unix.Mmap(int(fd), offCQRing, int(p.CQOff.CQEs+p.CQEntries*16), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("mmap cq ring: %w", err)
	}
	if r.sqes, err = unix.Mmap(int(fd), offSQEs, int(p.SQEntries*64), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("mmap sqes: %w", err)
	}
	return r, nil
}

func u32(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }

// do submits requests (a chain when they are linked) and waits for one
// completion's result: the first one posted.
func (r *ring) do(es ...sqe) (int32, error) {
	tail := atomic.LoadUint32(u32(r.sq, r.p.SQOff.Tail))
	for _, e := range es {
		r.submitted++
		e.UserData = r.submitted
		idx := tail & *u32(r.sq, r.p.SQOff.RingMask)
		*(*sqe)(unsafe.Pointer(&r.sqes[idx*64])) = e
		*u32(r.sq, r.p.SQOff.Array+idx*4) = idx
		tail++
	}
	atomic.StoreUint32(u32(r.sq, r.p.SQOff.Tail), tail)
	if _, _, e := unix.Syscall6(sysIOUringEnter, r.fd, uintptr(len(es)), 1, enterGetEvents, 0, 0); e != 0 {
		return 0, fmt.Errorf("io_uring_enter: %w", e)
	}
	head := atomic.LoadUint32(u32(r.cq, r.p.CQOff.Head))
	if head == atomic.LoadUint32(u32(r.cq, r.p.CQOff.Tail)) {
		return 0, fmt.Errorf("no completion")
	}
	c := (*cqe)(unsafe.Pointer(&r.cq[r.p.CQOff.CQEs+(head&*u32(r.cq, r.p.CQOff.RingMask))*16]))
	res := c.Res
	atomic.StoreUint32(u32(r.cq, r.p.CQOff.Head), head+1)
	return res, nil
}
