package confine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bad is an address no process maps (the first page is never mapped), so
// the kernel's copy from it fails with EFAULT.
const bad = uintptr(1)

var emptyString = []byte{0}

// probeCalls make each probe's syscall with the arguments its Probe
// documents. They run only in a probe child process.
var probeCalls = map[string]func() (uintptr, syscall.Errno){
	"mount": func() (uintptr, syscall.Errno) {
		none := []byte("none\x00")
		r, _, e := unix.Syscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&none[0])), bad, bad, 0, 0, 0)
		return r, e
	},
	"umount2": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_UMOUNT2, bad, 0x80000000, 0)
		return r, e
	},
	"unshare": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER|unix.CLONE_NEWNS|0x1, 0, 0)
		return r, e
	},
	"setns": func() (uintptr, syscall.Errno) {
		fd := -1
		r, _, e := unix.Syscall(unix.SYS_SETNS, uintptr(fd), 0, 0)
		return r, e
	},
	"ptrace": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 0, 0, 0, 0, 0)
		return r, e
	},
	"keyctl": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall6(unix.SYS_KEYCTL, 0x7fffffff, 0, 0, 0, 0, 0)
		return r, e
	},
	"add_key": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall6(unix.SYS_ADD_KEY, bad, 0, 0, 0, 0, 0)
		return r, e
	},
	"bpf": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, bad, 8)
		return r, e
	},
	"perf_event_open": func() (uintptr, syscall.Errno) {
		minus1 := -1
		r, _, e := unix.Syscall6(unix.SYS_PERF_EVENT_OPEN, bad, 0, uintptr(minus1), uintptr(minus1), 0, 0)
		return r, e
	},
	"userfaultfd": func() (uintptr, syscall.Errno) {
		const userModeOnly = 1
		r, _, e := unix.Syscall(unix.SYS_USERFAULTFD, userModeOnly|0x40000000, 0, 0)
		return r, e
	},
	"open_by_handle_at": func() (uintptr, syscall.Errno) {
		minus1 := -1
		r, _, e := unix.Syscall(unix.SYS_OPEN_BY_HANDLE_AT, uintptr(minus1), bad, 0)
		return r, e
	},
	"init_module": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_INIT_MODULE, 0, 0, uintptr(unsafe.Pointer(&emptyString[0])))
		return r, e
	},
	"kexec_load": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 0xffff, 0, 0x8000, 0, 0)
		return r, e
	},
	"io_uring_setup": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 0, bad, 0)
		return r, e
	},
	"clone3": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_CLONE3, bad, 0, 0)
		return r, e
	},
	"personality": func() (uintptr, syscall.Errno) {
		r, _, e := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		return r, e
	},
}

// ProbeChild makes one probe's call and prints "errno N" or "ok N". It is
// the body of the probe child process; a seccomp kill ends it here, which
// is why probes never run in the process that reports them.
func ProbeChild(name string, w io.Writer) error {
	call, ok := probeCalls[name]
	if !ok {
		return fmt.Errorf("unknown probe %q", name)
	}
	r, e := call()
	if e != 0 {
		_, err := fmt.Fprintf(w, "errno %d\n", int(e))
		return err
	}
	_, err := fmt.Fprintf(w, "ok %d\n", r)
	return err
}

// ProbeTimeout bounds one probe child; a child whose calling thread a
// filter killed (SECCOMP_RET_KILL_THREAD) hangs and is reported as killed.
var ProbeTimeout = 5 * time.Second

// RunProbe runs one probe in the child that command makes and reports how
// it ended.
func RunProbe(ctx context.Context, command func(ctx context.Context, name string) *exec.Cmd, name string) Outcome {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cmd := command(ctx, name)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return Outcome{Killed: true, Note: "the probe child hung (a filter killed its thread?) and was stopped"}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGSYS {
			return Outcome{Killed: true, Note: "killed by SIGSYS (seccomp kill)"}
		}
		if strings.Contains(stderr.String(), "SIGSYS") {
			return Outcome{Killed: true, Note: "SIGSYS delivered (seccomp trap)"}
		}
		return Outcome{Failed: true, Note: fmt.Sprintf("probe child: %v: %s", err, firstLine(stderr.String()))}
	}
	if err != nil {
		return Outcome{Failed: true, Note: "start probe child: " + err.Error()}
	}
	errno, perr := ParseChildOutput(stdout.String())
	if perr != nil {
		return Outcome{Failed: true, Note: perr.Error()}
	}
	return Outcome{Errno: errno}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// RunProbes runs every probe, one child each (a few at a time), and
// classifies the results in the order of Probes.
func RunProbes(ctx context.Context, command func(ctx context.Context, name string) *exec.Cmd, env Env) []ProbeResult {
	out := make([]ProbeResult, len(Probes))
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, p := range Probes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			out[i] = Classify(p, RunProbe(ctx, command, p.Syscall), env)
			<-sem
		}()
	}
	wg.Wait()
	return out
}

// ReachSockets connects to each path that exists as a socket and closes
// the connection at once; connecting sends nothing.
func ReachSockets(paths []string) []SocketCheck {
	out := []SocketCheck{}
	for _, p := range paths {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			continue
		}
		c := SocketCheck{Path: p}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			c.Error = "socket: " + err.Error()
			out = append(out, c)
			continue
		}
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: p}); err != nil {
			c.Error = "connect: " + err.Error()
		} else {
			c.Connected = true
		}
		unix.Close(fd)
		out = append(out, c)
	}
	return out
}

// OpenableForWrite opens each existing path write-only and closes it
// without writing (for /proc/sys and cgroup files only write(2) acts).
func OpenableForWrite(paths []string) []WriteCheck {
	out := []WriteCheck{}
	for _, p := range paths {
		if err := unix.Lstat(p, new(unix.Stat_t)); err != nil {
			continue
		}
		c := WriteCheck{Path: p}
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
		if err != nil {
			c.Error = err.Error()
		} else {
			c.Writable = true
			unix.Close(fd)
		}
		out = append(out, c)
	}
	return out
}

// KernelRelease is uname -r.
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
