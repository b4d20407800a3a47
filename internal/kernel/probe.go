package kernel

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Status is the outcome of one check.
type Status string

// Statuses, from good to bad.
const (
	OK   Status = "ok"
	Warn Status = "warn" // works, with a limitation worth knowing
	Fail Status = "fail" // capture cannot run until fixed
)

// Check is one host property: what was found and, if it is a problem, how
// to fix it.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Paths the probes read; variables so tests can point them at fixtures.
var (
	btfPath       = "/sys/kernel/btf/vmlinux"
	lockdownPath  = "/sys/kernel/security/lockdown"
	mountinfoPath = "/proc/self/mountinfo"
	statusPath    = "/proc/self/status"
	cgroupRoot    = "/sys/fs/cgroup"
)

// Sentinel errors for the capture preconditions; CheckCapture wraps them
// with the fix.
var (
	ErrNotPermitted = errors.New("not permitted")
	ErrNoBTF        = errors.New("no kernel BTF")
)

// Capability numbers used by the checks (linux/capability.h).
const (
	CapDacReadSearch = 2
	CapSysPtrace     = 19
	CapSysAdmin      = 21
	CapSysResource   = 24
	CapPerfmon       = 38
	CapBPF           = 39
)

var capNames = map[int]string{
	CapDacReadSearch: "CAP_DAC_READ_SEARCH", CapSysPtrace: "CAP_SYS_PTRACE", CapSysAdmin: "CAP_SYS_ADMIN",
	CapSysResource: "CAP_SYS_RESOURCE", CapPerfmon: "CAP_PERFMON", CapBPF: "CAP_BPF",
}

// ParseCapEff returns the effective capability mask from /proc/PID/status text.
func ParseCapEff(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == "CapEff" {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("parse CapEff %q: %w", strings.TrimSpace(v), err)
			}
			return m, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	return 0, errors.New("no CapEff line in status")
}

// CanLoadBPF reports whether an effective capability mask allows loading
// tracing programs: CAP_BPF with CAP_PERFMON, or CAP_SYS_ADMIN.
func CanLoadBPF(capEff uint64) bool {
	has := func(c int) bool { return capEff&(1<<c) != 0 }
	return has(CapSysAdmin) || (has(CapBPF) && has(CapPerfmon))
}

func capEff() (uint64, error) {
	f, err := os.Open(statusPath)
	if err != nil {
		return 0, fmt.Errorf("read capabilities: %w", err)
	}
	defer f.Close()
	return ParseCapEff(f)
}

// CheckCapture is the fast precondition check Open runs before loading
// anything: enough privilege and kernel BTF. Its error is one line that
// says what to do.
func CheckCapture() error {
	eff, err := capEff()
	if err != nil {
		return err
	}
	if !CanLoadBPF(eff) {
		return fmt.Errorf("eBPF capture %w: needs root or CAP_BPF+CAP_PERFMON (euid %d, CapEff %#x); run palisade with sudo", ErrNotPermitted, os.Geteuid(), eff)
	}
	if _, err := os.Stat(btfPath); err != nil {
		return fmt.Errorf("%w at %s: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 2021 are)", ErrNoBTF, btfPath)
	}
	return nil
}

// Privileges checks the capabilities capture and /proc reading need.
func Privileges() Check {
	c := Check{Name: "privileges"}
	eff, err := capEff()
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "run palisade on Linux with /proc mounted"
		return c
	}
	var missing []string
	for _, n := range []int{CapDacReadSearch, CapSysPtrace} {
		if eff&(1<<n) == 0 {
			missing = append(missing, capNames[n])
		}
	}
	c.Detail = fmt.Sprintf("euid %d, %d effective capabilities", os.Geteuid(), bits.OnesCount64(eff))
	switch {
	case !CanLoadBPF(eff):
		c.Status = Fail
		c.Detail += "; cannot load eBPF programs"
		c.Fix = "run as root (sudo palisade ...) or grant CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"
	case len(missing) > 0:
		c.Status = Warn
		c.Detail += "; missing " + strings.Join(missing, ", ") + " (process names and paths of other users' processes may be incomplete)"
		c.Fix = "grant " + strings.Join(missing, " and ")
	default:
		c.Status = OK
	}
	return c
}

// BTF checks for the kernel's own type information, which CO-RE programs
// and BTF tracepoints need.
func BTF() Check {
	c := Check{Name: "btf"}
	fi, err := os.Stat(btfPath)
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s missing", btfPath)
		c.Fix = "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y"
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s (%d KiB)", btfPath, fi.Size()/1024)
	return c
}

// ParseLockdown returns the active mode from the lockdown file's text,
// e.g. "none [integrity] confidentiality" -> "integrity".
func ParseLockdown(s string) (string, error) {
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, "[") && strings.HasSuffix(f, "]") {
			return strings.Trim(f, "[]"), nil
		}
	}
	return "", fmt.Errorf("no active mode in lockdown text %q", strings.TrimSpace(s))
}

// Lockdown reports the kernel lockdown mode. Confidentiality mode forbids
// reading kernel memory from BPF, which capture needs.
func Lockdown() Check {
	c := Check{Name: "lockdown"}
	b, err := os.ReadFile(lockdownPath)
	if err != nil {
		c.Status = OK
		c.Detail = "no lockdown LSM interface (" + lockdownPath + " absent; securityfs unmounted or lockdown not built): treated as none"
		return c
	}
	mode, err := ParseLockdown(string(b))
	if err != nil {
		c.Status, c.Detail = Warn, err.Error()
		return c
	}
	c.Detail = mode
	switch mode {
	case "confidentiality":
		c.Status = Fail
		c.Fix = "boot with lockdown=integrity or lockdown=none (confidentiality forbids bpf_probe_read_kernel)"
	default:
		c.Status = OK
	}
	return c
}

// MountedFS reports whether mountinfo text lists a file system of type fstype,
// and where.
func MountedFS(r io.Reader, fstype string) (string, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) >= 5 && len(qf) >= 1 && qf[0] == fstype {
			return pf[4], true
		}
	}
	return "", false
}

// Tracefs reports whether tracefs is mounted. Palisade does not need it
// (raw and BTF tracepoints attach without it); classic tracepoint programs
// and other tools do.
func Tracefs() Check {
	c := Check{Name: "tracefs"}
	f, err := os.Open(mountinfoPath)
	if err != nil {
		c.Status, c.Detail = Warn, err.Error()
		return c
	}
	defer f.Close()
	if at, ok := MountedFS(f, "tracefs"); ok {
		c.Status, c.Detail = OK, "mounted at "+at
		return c
	}
	c.Status = Warn
	c.Detail = "not mounted; not needed by palisade (BTF tracepoints attach without it)"
	c.Fix = "mount -t tracefs nodev /sys/kernel/tracing (only for tools that use classic tracepoints)"
	return c
}

// CgroupVersion reports whether /sys/fs/cgroup is the unified v2 hierarchy,
// which cgroup-id to container mapping relies on.
func CgroupVersion() Check {
	c := Check{Name: "cgroup"}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("statfs %s: %v", cgroupRoot, err), "mount cgroup2 on "+cgroupRoot
		return c
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		c.Status, c.Detail = OK, "v2 (unified) at "+cgroupRoot
	case unix.TMPFS_MAGIC:
		kind := "v1 only"
		if err := unix.Statfs(cgroupRoot+"/unified", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			kind = "hybrid v1/v2"
		}
		c.Status = Warn
		c.Detail = kind + ": per-event cgroup ids do not identify containers; exec and fork records carry the v1 cgroup path instead"
		c.Fix = "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2"
	default:
		c.Status, c.Detail = Warn, fmt.Sprintf("unknown file system %#x at %s", st.Type, cgroupRoot)
	}
	return c
}

// KernelRelease reports the running kernel.
func KernelRelease() Check {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Check{Name: "kernel", Status: Warn, Detail: err.Error()}
	}
	rel := unix.ByteSliceToString(u.Release[:])
	c := Check{Name: "kernel", Status: OK, Detail: rel}
	if maj, min, ok := parseRelease(rel); ok && (maj < 5 || (maj == 5 && min < 8)) {
		c.Status = Fail
		c.Fix = "palisade needs Linux 5.8 or later (BPF ring buffer, BTF tracepoints)"
	}
	return c
}

func parseRelease(rel string) (maj, min int, ok bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return maj, min, err1 == nil && err2 == nil
}

// Checks runs every host probe, kernel-touching ones included, in a
// stable order. The result is memoised: the host does not change under us.
var Checks = sync.OnceValue(func() []Check {
	return []Check{
		KernelRelease(),
		Privileges(),
		BTF(),
		RingBuffer(),
		Tracepoints(),
		Tracefs(),
		Lockdown(),
		CgroupVersion(),
		SyscallABIs(),
	}
})
