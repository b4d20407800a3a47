// Command flood is the co-tenant of TestFloodKeepsDetections: run in its own
// container, it floods the kernel with uninteresting syscalls until SIGTERM,
// then prints what it made:
//
//	flood [-cheap N] [-opens N]
//
// N threads call getppid (not captured) and N threads open and close
// /etc/hostname read-only (captured, and shed by the kernel under pressure).
// On SIGTERM it prints one line, "cheap=C opens=O seconds=S", O counting the
// opens and the closes, and exits 0.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	nCheap := flag.Int("cheap", 1, "getppid threads")
	nOpens := flag.Int("opens", 2, "open+close threads")
	flag.Parse()
	cwd := unix.AT_FDCWD
	path, err := unix.BytePtrFromString("/etc/hostname")
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(2)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var cheap, opens atomic.Uint64
	start := time.Now()
	loop := func(n *atomic.Uint64, batch func() uint64) {
		defer wg.Done()
		runtime.LockOSThread()
		var k uint64
		for !stop.Load() {
			k += batch()
		}
		n.Add(k)
	}
	for range *nCheap {
		wg.Add(1)
		go loop(&cheap, func() uint64 {
			for range 1024 {
				syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
			}
			return 1024
		})
	}
	for range *nOpens {
		wg.Add(1)
		go loop(&opens, func() uint64 {
			for range 256 {
				fd, _, _ := syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(path)), unix.O_RDONLY, 0, 0, 0)
				syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
			}
			return 512
		})
	}
	<-term
	stop.Store(true)
	wg.Wait()
	fmt.Printf("cheap=%d opens=%d seconds=%.3f\n", cheap.Load(), opens.Load(), time.Since(start).Seconds())
}
