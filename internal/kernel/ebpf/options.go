package ebpf

import (
	"errors"
	"time"
)

// Options configure Open.
type Options struct {
	// Syscalls are the native syscall numbers to capture; nil means
	// DefaultSyscalls(), an empty slice none (exec, fork and exit records
	// still flow). Every other syscall leaves the kernel program after one
	// bitmap test.
	Syscalls []int
	// RingBufferBytes is the ring buffer size: a power of two, at least
	// one page. 0 means 8 MiB (about 45 ms of 1M events/s).
	RingBufferBytes int
	// IgnoreSelf drops events caused by this process (the agent itself).
	IgnoreSelf bool
	// Latency bounds how long a record may wait in the ring before Read
	// sees it; 0 means 10 ms. The kernel wakes the reader early only when
	// a quarter of the ring is waiting.
	Latency time.Duration
	// LeanHeader skips VTID, VPID, PPID, MntNS, PidNS and CgroupID in
	// syscall records (Record.Lean); with the header read by direct loads
	// this saves only 0-20 ns of kernel time a record. Exec, fork and exit
	// records, and the clone, exec, setns and unshare families, always
	// carry them, so a process table can fill them in.
	LeanHeader bool
	// Capabilities attaches the capability:cap_capable tracepoint (Linux
	// 6.15+): one KindCap record per capability check made by any task.
	// It fires on every check in the system, so it is off by default and
	// Open fails with ErrNoCapTracepoint on older kernels.
	Capabilities bool
	// CapOnce, with Capabilities, keeps only the first of repeated checks:
	// one record per process image (an exec starts afresh), capability,
	// result and target user namespace, and none for checks made with
	// credentials other than the task's own (Record's CapInfo.Override).
	// The kernel drops the rest: every mmap of private writable memory
	// checks CAP_SYS_ADMIN. For detection; a recording that counts checks
	// leaves it off.
	CapOnce bool
	// Env makes exec records carry the new image's environment (up to
	// 4 KiB, ExecInfo.Env), for rules that read proc.env. Off by default:
	// environments hold secrets, and they would reach recordings.
	Env bool
	// Shed are native syscall numbers whose records the kernel drops on
	// purpose while the ring is more than half full (ShedBytes), so that
	// the room left goes to the records rules need: the syscalls no rule
	// names, and the open family, whose opens are then kept only when
	// they open for writing or open a protected inode (Protect). Shed
	// records are counted apart from drops (ShedCounts).
	Shed []int
	// ShedBytes overrides the unread bytes above which shedding starts;
	// 0 means half the ring.
	ShedBytes int
}

// ErrNoCapTracepoint means Options.Capabilities was asked of a kernel
// without the capability:cap_capable tracepoint (added in Linux 6.15).
var ErrNoCapTracepoint = errors.New("capability checks need the capability:cap_capable tracepoint (Linux 6.15+)")

// ErrProtectedFull means the kernel's protected-inode map is full.
var ErrProtectedFull = errors.New("protected inode map full")

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("event source closed")
