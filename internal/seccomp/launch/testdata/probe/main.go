// Command probe is a test helper for palisade run: each subcommand tries one
// privileged operation and prints "ok" or the error, exiting 0 or 1.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe status|euid|mount DIR|ptrace-parent|keyctl|bind PORT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "status":
		data, rerr := os.ReadFile("/proc/self/status")
		if rerr != nil {
			err = rerr
			break
		}
		for _, line := range strings.Split(string(data), "\n") {
			for _, p := range []string{"Cap", "NoNewPrivs", "Seccomp:", "Uid", "Gid"} {
				if strings.HasPrefix(line, p) {
					fmt.Println(line)
				}
			}
		}
		return
	case "euid":
		fmt.Println(os.Geteuid())
		return
	case "mount":
		err = unix.Mount("palisade-probe", os.Args[2], "tmpfs", 0, "size=1m")
		if err == nil {
			err = unix.Unmount(os.Args[2], 0)
		}
	case "ptrace-parent":
		_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(os.Getppid()), 0, 0, 0, 0)
		if errno != 0 {
			err = errno
		}
	case "keyctl":
		_, err = unix.KeyctlJoinSessionKeyring("palisade-probe")
	case "raw":
		// raw NR [ARG...]: make a syscall and print its errno (0 on success).
		var a [6]uintptr
		nr, _ := strconv.ParseUint(os.Args[2], 0, 64)
		for i, v := range os.Args[3:] {
			x, _ := strconv.ParseUint(v, 0, 64)
			a[i] = uintptr(x)
		}
		_, _, errno := unix.Syscall6(uintptr(nr), a[0], a[1], a[2], a[3], a[4], a[5])
		fmt.Println(int(errno))
		return
	case "raw-batch":
		// raw-batch NR,A0,...,A5 ...: one line of errno per call.
		for _, spec := range os.Args[2:] {
			var v [7]uintptr
			for i, f := range strings.Split(spec, ",") {
				x, _ := strconv.ParseUint(f, 0, 64)
				v[i] = uintptr(x)
			}
			_, _, errno := unix.Syscall6(v[0], v[1], v[2], v[3], v[4], v[5], v[6])
			fmt.Println(int(errno))
		}
		return
	case "bind":
		l, lerr := net.Listen("tcp", "127.0.0.1:"+os.Args[2])
		if lerr == nil {
			l.Close()
		}
		err = lerr
	default:
		fmt.Fprintln(os.Stderr, "unknown probe", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ok")
}
