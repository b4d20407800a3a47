// Command workload is a test workload for profile generation: "serve ADDR"
// is a small HTTP server (reads /etc/hostname, appends an access log under
// /tmp), "breakout" tries the container escapes a hardened container must
// refuse and prints each one's errno (0: it worked).
package main

import (
	"fmt"
	"net/http"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: workload serve ADDR | breakout")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2])
	case "breakout":
		// Only inside a throwaway container: on a host, as root, these
		// attempts succeed (a tmpfs over a directory, a traced pid 1).
		if _, err := os.Stat("/.dockerenv"); err != nil || os.Getenv("PALISADE_BREAKOUT_IN_CONTAINER") != "1" {
			fmt.Fprintln(os.Stderr, "breakout runs only in a test container (/.dockerenv and PALISADE_BREAKOUT_IN_CONTAINER=1)")
			os.Exit(2)
		}
		breakout()
	default:
		os.Exit(2)
	}
}

func serve(addr string) {
	log, err := os.OpenFile("/tmp/access.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		host, err := os.ReadFile("/etc/hostname")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(log, "%s %s\n", r.Method, r.URL.Path)
		fmt.Fprintf(w, "hello from %s", host)
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func errno(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := err.(unix.Errno); ok {
		return int(e)
	}
	return -1
}

func raw(nr uintptr, a ...uintptr) error {
	var x [6]uintptr
	copy(x[:], a)
	_, _, e := unix.Syscall6(nr, x[0], x[1], x[2], x[3], x[4], x[5])
	if e != 0 {
		return e
	}
	return nil
}

func breakout() {
	attempts := []struct {
		name string
		try  func() error
	}{
		{"mount", func() error {
			os.Mkdir("/tmp/breakout-mnt", 0o755)
			return unix.Mount("none", "/tmp/breakout-mnt", "tmpfs", 0, "")
		}},
		{"unshare", func() error { return unix.Unshare(unix.CLONE_NEWUTS) }},
		{"ptrace", func() error { return raw(unix.SYS_PTRACE, unix.PTRACE_SEIZE, 1) }},
		{"finit_module", func() error { return raw(unix.SYS_FINIT_MODULE, 0, uintptr(unsafe.Pointer(&[]byte{0}[0])), 0) }},
		{"chmod_setuid", func() error {
			if err := os.WriteFile("/tmp/suid", []byte("#!/bin/sh\n"), 0o755); err != nil {
				return err
			}
			return unix.Chmod("/tmp/suid", 0o4755)
		}},
		{"raw_socket", func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}},
		{"open_by_handle_at", func() error {
			h := unix.NewFileHandle(1, []byte{2, 0, 0, 0, 0, 0, 0, 0})
			fd, err := unix.OpenByHandleAt(unix.AT_FDCWD, h, unix.O_RDONLY)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}},
		{"keyctl", func() error { _, err := unix.KeyctlJoinSessionKeyring("palisade"); return err }},
		{"bpf", func() error {
			attr := make([]byte, 128)
			attr[0], attr[4], attr[8], attr[12] = 2, 4, 4, 1 // BPF_MAP_TYPE_ARRAY, key 4, value 4, 1 entry
			return raw(unix.SYS_BPF, 0, uintptr(unsafe.Pointer(&attr[0])), 128)
		}},
	}
	for _, a := range attempts {
		fmt.Printf("%s %d\n", a.name, errno(a.try()))
	}
}
