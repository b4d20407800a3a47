package launch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ShimMain is the shim: it reads the Config from fd, applies it and
// execve's the command. It returns only on failure.
func ShimMain(fd int) error {
	runtime.LockOSThread() // capabilities and seccomp are per thread
	f := os.NewFile(uintptr(fd), "launch-config")
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read launch config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("decode launch config: %w", err)
	}
	return apply(&cfg)
}

func apply(cfg *Config) error {
	if cfg.Dir != "" {
		if err := os.Chdir(cfg.Dir); err != nil {
			return fmt.Errorf("chdir: %w", err)
		}
	}
	// Only capabilities we hold can be granted (a host may already lack some).
	held, err := capGet()
	if err != nil {
		return err
	}
	want := cfg.Caps & held.permitted
	nonRoot := cfg.SetUser && cfg.UID != 0

	// Once a filter is in place this thread may make only the calls the
	// profile allows: what needs a file or memory is done first (the last
	// capability, execve's arguments), and no garbage collection may start
	// (one did, and its netpoll's epoll_pwait was refused: "netpoll
	// failed").
	last := capLast()
	path, argv, envv, err := execArgs(cfg)
	if err != nil {
		return fmt.Errorf("exec %s: %w", cfg.Path, err)
	}
	if len(cfg.Filter) > 0 {
		debug.SetGCPercent(-1)
	}
	// Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so it
	// goes first (as in runc) and the profile must allow what follows.
	if len(cfg.Filter) > 0 && !cfg.NoNewPrivs {
		if err := installFilter(cfg); err != nil {
			return err
		}
	}
	for c := 0; c <= last; c++ {
		if want&(1<<c) == 0 {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if cfg.SetUser {
		if nonRoot {
			if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("keep capabilities across setuid: %w", err)
			}
		}
		if err := syscall.Setgroups([]int{cfg.GID}); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setresgid(cfg.GID, cfg.GID, cfg.GID); err != nil {
			return fmt.Errorf("setgid %d: %w", cfg.GID, err)
		}
		if err := syscall.Setresuid(cfg.UID, cfg.UID, cfg.UID); err != nil {
			return fmt.Errorf("setuid %d: %w", cfg.UID, err)
		}
	}
	inh := uint64(0)
	if nonRoot {
		inh = want // ambient capabilities must also be inheritable
	}
	if err := capSet(capSets{effective: want, permitted: want, inheritable: inh}); err != nil {
		return err
	}
	if nonRoot {
		for c := 0; c <= last; c++ {
			if want&(1<<c) != 0 {
				if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
					return fmt.Errorf("raise ambient capability %d: %w", c, err)
				}
			}
		}
	}
	if cfg.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	if cfg.AppArmor != "" {
		if err := os.WriteFile("/proc/thread-self/attr/apparmor/exec", []byte("exec "+cfg.AppArmor), 0); err != nil {
			if err2 := os.WriteFile("/proc/thread-self/attr/exec", []byte("exec "+cfg.AppArmor), 0); err2 != nil {
				return fmt.Errorf("set AppArmor exec profile %q: %w", cfg.AppArmor, err)
			}
		}
	}
	if len(cfg.Filter) == 0 {
		err = syscall.Exec(cfg.Path, cfg.Argv, cfg.Env)
		return fmt.Errorf("exec %s: %w", cfg.Path, err)
	}
	if cfg.NoNewPrivs {
		if err := installFilter(cfg); err != nil {
			return err
		}
	}
	// A raw execve: syscall.Exec would also restore the soft RLIMIT_NOFILE
	// Go raised at start, a prlimit64 the profile need not allow, so under
	// a filter the command starts with the raised soft limit.
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	runtime.KeepAlive(path)
	runtime.KeepAlive(argv)
	runtime.KeepAlive(envv)
	return fmt.Errorf("exec %s: %w", cfg.Path, errno)
}

// execArgs builds execve's arguments: the path and NULL-terminated argv and
// envp arrays of C strings.
func execArgs(cfg *Config) (*byte, []*byte, []*byte, error) {
	path, err := syscall.BytePtrFromString(cfg.Path)
	if err != nil {
		return nil, nil, nil, err
	}
	argv, err := syscall.SlicePtrFromStrings(cfg.Argv)
	if err != nil {
		return nil, nil, nil, err
	}
	envv, err := syscall.SlicePtrFromStrings(cfg.Env)
	if err != nil {
		return nil, nil, nil, err
	}
	return path, argv, envv, nil
}

func installFilter(cfg *Config) error {
	prog := unix.SockFprog{Len: uint16(len(cfg.Filter))}
	filter := make([]unix.SockFilter, len(cfg.Filter))
	for i, ins := range cfg.Filter {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog.Filter = &filter[0]
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(cfg.FilterFlags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return fmt.Errorf("install seccomp filter: %w", errno)
	}
	return nil
}

type capSets struct{ effective, permitted, inheritable uint64 }

func capGet() (capSets, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return capSets{}, fmt.Errorf("capget: %w", err)
	}
	join := func(lo, hi uint32) uint64 { return uint64(lo) | uint64(hi)<<32 }
	return capSets{
		effective:   join(data[0].Effective, data[1].Effective),
		permitted:   join(data[0].Permitted, data[1].Permitted),
		inheritable: join(data[0].Inheritable, data[1].Inheritable),
	}, nil
}

func capSet(s capSets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(s.effective), Permitted: uint32(s.permitted), Inheritable: uint32(s.inheritable)},
		{Effective: uint32(s.effective >> 32), Permitted: uint32(s.permitted >> 32), Inheritable: uint32(s.inheritable >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// capLast is the kernel's highest capability number.
func capLast() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 40
	}
	n := 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		}
	}
	return n
}
