package seccomp

import (
	"fmt"
	"strconv"
	"strings"
)

// Action is a seccomp return value as the kernel reads it (SECCOMP_RET_*),
// with its 16-bit data (errno or trace value) in the low bits.
type Action uint32

// Kernel return values (linux/seccomp.h).
const (
	ActKillProcess Action = 0x80000000
	ActKillThread  Action = 0x00000000
	ActTrap        Action = 0x00030000
	ActErrno       Action = 0x00050000
	ActNotify      Action = 0x7fc00000
	ActTrace       Action = 0x7ff00000
	ActLog         Action = 0x7ffc0000
	ActAllow       Action = 0x7fff0000
)

const (
	actionMask  = 0xffff0000
	dataMask    = 0x0000ffff
	errnoEPERM  = 1
	errnoENOSYS = 38
)

// Errno returns SCMP_ACT_ERRNO(n).
func Errno(n uint16) Action { return ActErrno | Action(n) }

// Kind is the action without its data.
func (a Action) Kind() Action {
	if a&actionMask == ActKillProcess&actionMask {
		return ActKillProcess
	}
	return a & actionMask
}

// Data is the errno or trace value.
func (a Action) Data() uint16 { return uint16(a & dataMask) }

// Allows reports whether the syscall runs (ALLOW or LOG).
func (a Action) Allows() bool { k := a.Kind(); return k == ActAllow || k == ActLog }

// String is the Docker/libseccomp spelling: SCMP_ACT_ALLOW,
// SCMP_ACT_ERRNO(1), SCMP_ACT_TRACE(5), ...
func (a Action) String() string {
	switch a.Kind() {
	case ActKillProcess:
		return "SCMP_ACT_KILL_PROCESS"
	case ActKillThread:
		return "SCMP_ACT_KILL_THREAD"
	case ActTrap:
		return "SCMP_ACT_TRAP"
	case ActErrno:
		return fmt.Sprintf("SCMP_ACT_ERRNO(%d)", a.Data())
	case ActNotify:
		return "SCMP_ACT_NOTIFY"
	case ActTrace:
		return fmt.Sprintf("SCMP_ACT_TRACE(%d)", a.Data())
	case ActLog:
		return "SCMP_ACT_LOG"
	case ActAllow:
		return "SCMP_ACT_ALLOW"
	}
	return fmt.Sprintf("SECCOMP_RET(%#x)", uint32(a))
}

// ParseAction turns a profile's action name and errnoRet into an Action.
// ERRNO and TRACE without errnoRet use EPERM, as runc does.
func ParseAction(name string, errnoRet *uint) (Action, error) {
	data := func() (Action, error) {
		if errnoRet == nil {
			return errnoEPERM, nil
		}
		if *errnoRet > dataMask {
			return 0, fmt.Errorf("errnoRet %d is larger than 65535", *errnoRet)
		}
		return Action(*errnoRet), nil
	}
	var kind Action
	switch name {
	case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD":
		kind = ActKillThread
	case "SCMP_ACT_KILL_PROCESS":
		kind = ActKillProcess
	case "SCMP_ACT_TRAP":
		kind = ActTrap
	case "SCMP_ACT_ERRNO":
		d, err := data()
		return ActErrno | d, err
	case "SCMP_ACT_TRACE":
		d, err := data()
		return ActTrace | d, err
	case "SCMP_ACT_LOG":
		kind = ActLog
	case "SCMP_ACT_ALLOW":
		kind = ActAllow
	case "SCMP_ACT_NOTIFY":
		kind = ActNotify
	case "":
		return 0, fmt.Errorf("missing action")
	default:
		return 0, fmt.Errorf("unknown action %q (want SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG or SCMP_ACT_NOTIFY)", name)
	}
	if errnoRet != nil {
		return 0, fmt.Errorf("errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not %s", name)
	}
	return kind, nil
}

// ParseActionString parses the String form back ("SCMP_ACT_ERRNO(38)").
func ParseActionString(s string) (Action, error) {
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		n, err := strconv.ParseUint(s[i+1:len(s)-1], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("bad action data in %q", s)
		}
		u := uint(n)
		return ParseAction(s[:i], &u)
	}
	return ParseAction(s, nil)
}
