// Command attacker performs single attack steps inside a test container,
// each a real syscall an intruder would make. Built by the scenario tests.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attacker STEP [ARGS]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ptrace":
		err = ptraceAttach()
	case "bpf":
		err = bpfLoad()
	case "module":
		err = moduleLoad()
	case "handle":
		err = openByHandle()
	case "capset":
		err = capset()
	case "memfd":
		err = memfdExec()
	case "iouring":
		err = ioUringSetup()
	case "keyctl":
		// KEYCTL_GET_KEYRING_ID of the session keyring, creating none.
		_, err = unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	case "userfaultfd":
		var fd uintptr
		var e syscall.Errno
		if fd, _, e = unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC, 0, 0); e != 0 {
			err = e
		} else {
			unix.Close(int(fd))
		}
	case "clone-userns":
		err = cloneUserns()
	case "clone3-userns":
		err = clone3Userns()
	case "add-key":
		err = addKey()
	case "openw":
		// Opens a file for writing and writes nothing: the rule's event
		// without changing a host-wide setting such as core_pattern.
		var f *os.File
		if f, err = os.OpenFile(os.Args[2], os.O_WRONLY, 0); err == nil {
			f.Close()
		}
	case "unix":
		var c net.Conn
		c, err = net.Dial("unix", os.Args[2])
		if c != nil {
			c.Close()
		}
	default:
		err = fmt.Errorf("unknown step %q", os.Args[1])
	}
	if err != nil {
		// Attempts that the kernel refuses are the point; report and succeed.
		fmt.Fprintln(os.Stderr, os.Args[1]+":", err)
	}
}

func ptraceAttach() error {
	cmd := exec.Command("/bin/sleep", "5")
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	time.Sleep(50 * time.Millisecond)
	return unix.PtraceAttach(cmd.Process.Pid)
}

func bpfLoad() error {
	// BPF_PROG_LOAD of "r0 = 0; exit" as a socket filter.
	insns := [2]uint64{0x00000000000000b7, 0x0000000000000095}
	license := []byte("GPL\x00")
	attr := struct {
		progType, insnCnt uint32
		insns, license    uint64
	}{1, 2, uint64(uintptr(unsafe.Pointer(&insns[0]))), uint64(uintptr(unsafe.Pointer(&license[0])))}
	_, _, e := unix.Syscall(unix.SYS_BPF, 5, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	if e != 0 {
		return e
	}
	return nil
}

func moduleLoad() error {
	f, err := os.Open("/dev/null")
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), "", 0)
}

func openByHandle() error {
	h := unix.NewFileHandle(1, []byte{2, 0, 0, 0, 0, 0, 0, 0})
	fd, err := unix.OpenByHandleAt(unix.AT_FDCWD, h, unix.O_RDONLY)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func capset() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective = 0
	return unix.Capset(&hdr, &data[0])
}

func memfdExec() error {
	fd, err := unix.MemfdCreate("payload", 0)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, bin); err != nil {
		return err
	}
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	return syscall.Exec(path, []string{"true"}, nil)
}

func ioUringSetup() error {
	var params [120]byte // struct io_uring_params, all zero
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if e != 0 {
		return e
	}
	return unix.Close(int(fd))
}

// cloneUserns starts a child in a new user namespace; Go's fork path uses
// clone (not clone3) for it.
func cloneUserns() error {
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
	return cmd.Run()
}

// clone3Userns asks clone3 for a new user namespace in a new thread, a
// combination the kernel refuses (EINVAL): the attempt, with no child.
func clone3Userns() error {
	args := make([]uint64, 11) // struct clone_args, CLONE_ARGS_SIZE_VER2
	args[0] = unix.CLONE_NEWUSER | unix.CLONE_THREAD
	_, _, e := unix.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args[0])), 88, 0)
	if e == unix.EINVAL {
		return nil
	}
	return fmt.Errorf("clone3: %v, want EINVAL", e)
}

// addKey adds a key of a type that does not exist: the call, no key.
func addKey() error {
	_, err := unix.AddKey("palisade_nosuchtype", "palisade:add", nil, unix.KEY_SPEC_PROCESS_KEYRING)
	if err == nil {
		return fmt.Errorf("add_key of an unknown type succeeded")
	}
	return nil
}
