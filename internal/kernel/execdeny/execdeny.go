package execdeny

import (
	"errors"
	"fmt"
)

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target amd64 -no-global-types execdeny bpf/execdeny.c -- -I./bpf -I../ebpf/bpf -O2 -g -Wall -Werror

// FileID is an executable by identity: the kernel's dev_t of its file
// system (major << 20 | minor, as the kernel stores it) and its inode.
type FileID struct {
	Dev uint64
	Ino uint64
}

func (f FileID) String() string {
	return fmt.Sprintf("%d:%d inode %d", f.Dev>>20, f.Dev&(1<<20-1), f.Ino)
}

// Counts are the program's counters since it was loaded.
type Counts struct {
	Execs    uint64 // execs seen
	Kills    uint64 // SIGKILLs sent
	Failures uint64 // bpf_send_signal refused (a kernel thread, or the task was exiting)
}

// Kill is one exec the program killed.
type Kill struct {
	PID  uint32
	File FileID
	Boot uint64 // CLOCK_BOOTTIME ns of the exec
}

// ErrNotSupported: the kernel cannot load or attach the program (no BTF,
// no tp_btf, no bpf_send_signal), or this is not Linux/amd64.
var ErrNotSupported = errors.New("exec deny list not supported here")
