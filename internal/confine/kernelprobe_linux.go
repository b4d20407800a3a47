package confine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/exposure"
)

// kernelProbeCalls make each kernel probe's call and close what it made.
var kernelProbeCalls = map[string]func() syscall.Errno{
	"netlink-netfilter": func() syscall.Errno { return socketProbe(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_NETFILTER) },
	"netlink-route":     func() syscall.Errno { return socketProbe(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE) },
	"netlink-generic":   func() syscall.Errno { return socketProbe(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_GENERIC) },
	"packet":            func() syscall.Errno { return socketProbe(unix.AF_PACKET, unix.SOCK_RAW, 0x300) },
	"io_uring": func() syscall.Errno {
		var params [120]byte // struct io_uring_params, zeroed: defaults
		fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		if e == 0 {
			unix.Close(int(fd))
		}
		return e
	},
	"fsopen": func() syscall.Errno {
		fd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
		if err != nil {
			return errnoOf(err)
		}
		unix.Close(fd)
		return 0
	},
	"splice": func() syscall.Errno {
		minus1 := -1
		_, _, e := unix.Syscall6(unix.SYS_SPLICE, uintptr(minus1), 0, uintptr(minus1), 0, 0, 0)
		return e
	},
}

func socketProbe(domain, typ, proto int) syscall.Errno {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return errnoOf(err)
	}
	unix.Close(fd)
	return 0
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EINVAL
}

// KernelProbeChild is the body of a kernel probe child: it makes the call,
// closes what it made and prints "ok 0" or "errno N".
func KernelProbeChild(name string, w io.Writer) error {
	call, ok := kernelProbeCalls[name]
	if !ok {
		return fmt.Errorf("unknown kernel probe %q", name)
	}
	if e := call(); e != 0 {
		_, err := fmt.Fprintf(w, "errno %d\n", int(e))
		return err
	}
	_, err := fmt.Fprintln(w, "ok 0")
	return err
}

// InUserns makes cmd start in a new user, network and mount namespace with
// this process's uid and gid mapped to root, as an exploit would (clone
// with CLONE_NEWUSER, which a seccomp filter sees).
func InUserns(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
}

// runKernelProbe runs one kernel probe child. In a new user namespace, a
// child that cannot be started gives the errno clone returned.
func runKernelProbe(ctx context.Context, command func(ctx context.Context, name string, userns bool) *exec.Cmd, name string, userns bool) ProbeOutcome {
	if userns {
		cmd := command(ctx, name, true)
		if err := cmd.Start(); err != nil {
			e := errnoOf(err)
			return ProbeOutcome{Result: "refused", Errno: int(e), ErrnoName: ErrnoName(e), Note: "clone(CLONE_NEWUSER) failed"}
		}
		cmd.Wait()
	}
	want := syscall.Errno(0)
	if name == "splice" {
		want = syscall.EBADF
	}
	return outcomeOf(RunProbe(ctx, func(ctx context.Context, name string) *exec.Cmd { return command(ctx, name, userns) }, name), want)
}

// RunKernelProbes runs the user-namespace probe and every kernel probe
// (here, and in a new user namespace when here refused it and one can be
// had), one child each.
func RunKernelProbes(ctx context.Context, command func(ctx context.Context, name string, userns bool) *exec.Cmd) (ProbeOutcome, []KernelProbeResult) {
	userns := runKernelProbe(ctx, command, "splice", true)
	out := make([]KernelProbeResult, len(KernelProbes))
	for i, p := range KernelProbes {
		out[i] = KernelProbeResult{Name: p.Name, Call: p.Call, Here: runKernelProbe(ctx, command, p.Name, false)}
		if out[i].Here.Result == "refused" && userns.Result == "ok" {
			o := runKernelProbe(ctx, command, p.Name, true)
			out[i].InUserns = &o
		}
	}
	return userns, out
}

// CheckKernel probes the paths the exposure table needs and evaluates the
// table for this process (after CheckLive's syscall probes, which it reuses).
func (c *Report) CheckKernel(ctx context.Context, command func(ctx context.Context, name string, userns bool) *exec.Cmd) {
	if ctx == nil {
		ctx = context.Background()
	}
	f := &KernelFilter{Syscall: c.Probes}
	f.Userns, f.Kernel = RunKernelProbes(ctx, command)
	var devices []string
	if _, err := os.Stat("/dev/fuse"); err == nil {
		devices = append(devices, "/dev/fuse")
	}
	c.KernelProbes = f.Kernel
	c.UsernsProbe = &f.Userns
	c.Kernel = exposure.NewReport(exposure.Builtin().Only(exposure.ComponentKernel), exposure.ReadHost(exposure.DefaultHostPaths), c.KernelSubject(f, devices))
}
