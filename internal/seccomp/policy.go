package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Options tune compilation and evaluation.
type Options struct {
	// BadArch is returned for an architecture the filter does not list. The
	// zero value is SCMP_ACT_KILL_THREAD, libseccomp's (and so Docker's) default.
	BadArch Action
	// NoENOSYS turns off the ENOSYS answer for syscall numbers above the
	// highest one the profile names (runc's behaviour, on by default).
	NoENOSYS bool
}

// SeccompData is what the kernel hands a filter (struct seccomp_data).
type SeccompData struct {
	Nr   uint32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// condRule is one OR-branch of a syscall: all conds must hold.
type condRule struct {
	action Action
	conds  []Cond
	entry  int
}

// callPlan holds the conditional rules of one syscall number on one arch.
type callPlan struct {
	is64  bool
	rules []condRule
}

// slot is how the profile treats one syscall of an arch's table. It holds
// no pointers, so a table of them is cheap to allocate and never scanned.
type slot struct {
	set        bool // some rule with a non-default action names it
	hasUncond  bool // an unconditional rule decides it
	uncond     Action
	uncondRule int32 // index in Resolved.Rules, for messages
	cond       int32 // index+1 in archPlan.conds, 0 for none
}

// archPlan is a Resolved profile lowered to numbers for one arch.
type archPlan struct {
	arch  string
	audit uint32
	def   Action
	// maxNr is the highest number the profile names on this arch; numbers
	// above it (up to the end of the arch's range) get ENOSYS when enosys.
	maxNr  int64
	enosys bool
	list   []syscalls.Syscall
	slots  []slot // parallel to list
	conds  []callPlan
}

// denies reports whether an action stops the syscall (ENOSYS replaces
// only such defaults for unknown numbers).
func denies(a Action) bool {
	// runc's list of permissive defaults that get no ENOSYS stub.
	switch a.Kind() {
	case ActAllow, ActLog, ActTrace:
		return false
	}
	return true
}

// splitConds applies runc's rule: when one argument index appears in more
// than one condition, every condition becomes its own rule (OR).
func splitConds(conds []Cond) [][]Cond {
	var seen [8]bool
	dup := false
	for _, c := range conds {
		if c.Index < 8 {
			if seen[c.Index] {
				dup = true
			}
			seen[c.Index] = true
		}
	}
	if !dup {
		return [][]Cond{conds}
	}
	out := make([][]Cond, len(conds))
	for i, c := range conds {
		out[i] = []Cond{c}
	}
	return out
}

// plan lowers r for one arch.
func (r *Resolved) plan(arch string, opt Options) (*archPlan, error) {
	audit, _ := syscalls.AuditArch(arch)
	list := syscalls.List(arch)
	ap := &archPlan{arch: arch, audit: audit, def: r.Default, maxNr: -1, enosys: !opt.NoENOSYS && denies(r.Default),
		list: list, slots: make([]slot, len(list))}
	is64 := args64(arch)
	lookup := syscalls.Slots(arch)
	addTo := func(i int, ri int, rule Rule, name string, split [][]Cond) error {
		sl := &ap.slots[i]
		sl.set = true
		if split != nil && sl.hasUncond {
			return nil // an unconditional rule already decides it
		}
		if split == nil {
			if sl.hasUncond && sl.uncond != rule.Action {
				return fmt.Errorf("%s: syscall %s is %s here but %s at %s", rule.Pos, name, rule.Action, sl.uncond, r.Rules[sl.uncondRule].Pos)
			}
			if !sl.hasUncond {
				sl.hasUncond, sl.uncond, sl.uncondRule = true, rule.Action, int32(ri)
			}
			return nil
		}
		if sl.cond == 0 {
			ap.conds = append(ap.conds, callPlan{is64: is64})
			sl.cond = int32(len(ap.conds))
		}
		cp := &ap.conds[sl.cond-1]
		for _, conds := range split {
			cp.rules = append(cp.rules, condRule{action: rule.Action, conds: conds, entry: rule.Entry})
		}
		return nil
	}
	for ri, rule := range r.Rules {
		var split [][]Cond
		if len(rule.Conds) > 0 {
			split = splitConds(rule.Conds)
		}
		for _, name := range rule.Names {
			mux, call, muxed := multiplexed(arch, name)
			i, ok := lookup[name]
			if ok && !muxed {
				// runc sizes its ENOSYS stub with libseccomp's numbers,
				// which are negative for multiplexed names.
				if nr := int64(list[i].Nr); nr > ap.maxNr {
					ap.maxNr = nr
				}
			}
			if rule.Action == r.Default {
				continue // libseccomp refuses these; runc skips them
			}
			if ok {
				if err := addTo(i, ri, rule, name, split); err != nil {
					return nil, err
				}
			}
			if muxed {
				if mi, ok := lookup[mux]; ok && !ap.slots[mi].hasUncond {
					if err := addTo(mi, ri, rule, mux, muxConds(split, call)); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	// runc's stub skips an arch whose largest named number is 0 (past
	// the ABI's NrBase).
	ap.enosys = ap.enosys && ap.maxNr > int64(nrBase(arch))
	return ap, nil
}

// socketcallCalls and ipcCalls are the call numbers of the socket(2) and
// ipc(2) families (linux/net.h, linux/ipc.h).
var (
	socketcallCalls = map[string]uint64{
		"socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5, "getsockname": 6, "getpeername": 7,
		"socketpair": 8, "send": 9, "recv": 10, "sendto": 11, "recvfrom": 12, "shutdown": 13, "setsockopt": 14,
		"getsockopt": 15, "sendmsg": 16, "recvmsg": 17, "accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
	}
	ipcCalls = map[string]uint64{
		"semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4, "msgsnd": 11, "msgrcv": 12, "msgget": 13,
		"msgctl": 14, "shmat": 21, "shmdt": 22, "shmget": 23, "shmctl": 24,
	}
)

// multiplexed reports whether libseccomp also applies a rule for name to a
// multiplexer on arch: on x86 the socket and ipc families are reachable
// through socketcall(2) and ipc(2) with the call number in arg0.
func multiplexed(arch, name string) (string, uint64, bool) {
	if a, ok := syscalls.LookupArch(arch); !ok || !a.Multiplexed {
		return "", 0, false
	}
	if c, ok := socketcallCalls[name]; ok {
		return "socketcall", c, true
	}
	if c, ok := ipcCalls[name]; ok {
		return "ipc", c, true
	}
	return "", 0, false
}

// muxConds rewrites a rule's conditions for the multiplexer the way
// libseccomp does: arg0 must be the call number (conditions on arg0 are
// dropped), the other conditions stay as they are.
func muxConds(split [][]Cond, call uint64) [][]Cond {
	callCond := Cond{Index: 0, Op: specs.OpEqualTo, Value: call}
	if split == nil {
		return [][]Cond{{callCond}}
	}
	out := make([][]Cond, 0, len(split))
	for _, conds := range split {
		c := []Cond{callCond}
		for _, x := range conds {
			if x.Index != 0 {
				c = append(c, x)
			}
		}
		out = append(out, c)
	}
	return out
}

// args64 reports whether arguments are compared as 64-bit values.
// libseccomp, and so Docker, compares only the low 32 bits on x86, arm and
// x32; the kernel reads x32's int arguments from the low half as well.
func args64(arch string) bool {
	a, ok := syscalls.LookupArch(arch)
	return ok && a.Args64
}

// sharer is the ABI that shares arch's audit token (x86_64's x32), "" for none.
func sharer(arch string) string {
	if a, ok := syscalls.LookupArch(arch); ok {
		return a.Shares
	}
	return ""
}

// nrBase is the bit every syscall number of arch carries (x32's X32Bit).
func nrBase(arch string) int {
	if a, ok := syscalls.LookupArch(arch); ok {
		return a.NrBase
	}
	return 0
}

// Evaluate is the reference interpreter: the action the profile demands for
// one syscall, computed straight from the rules (not from compiled code).
//
// The arch is chosen from d.Arch; x86_64 numbers with bit 30 set follow
// runc's ENOSYS stub and libseccomp (x32 when filtered, else a bad arch
// except -1, a tracer's skipped call); an arch the profile does not list gets opt.BadArch. A rule
// whose action equals the default is ignored; an unconditional rule wins
// over conditional ones; conditional rules are tried in profile order and
// the first whose conditions all hold decides. On 32-bit arches only the low
// 32 bits of arguments and operands are compared, as libseccomp does, and
// SCMP_CMP_MASKED_EQ tests arg & value == valueTwo & value, as libseccomp does.
// Unnamed numbers above the highest named one get ENOSYS unless the default
// is ALLOW, LOG or TRACE (runc's stub; see Options.NoENOSYS).
func Evaluate(r *Resolved, d SeccompData, opt Options) Action {
	arch := ""
	for _, a := range r.Arches {
		if tok, _ := syscalls.AuditArch(a); tok == d.Arch && nrBase(a) == 0 {
			arch = a
		}
	}
	if arch == "" {
		return opt.BadArch
	}
	if x32 := sharer(arch); x32 != "" && d.Nr >= uint32(nrBase(x32)) {
		// An x86_64 number with x32's bit: runc's ENOSYS stub tests bit
		// 30, libseccomp tests nr >= bit 30.
		hasX32 := slices.Contains(r.Arches, x32)
		switch {
		case d.Nr < 0x80000000 && hasX32:
			arch = x32
		case d.Nr < 0x80000000:
			return opt.BadArch
		case d.Nr < 0xc0000000 && enosysOn(r, arch, opt):
			return Errno(errnoENOSYS) // bit 30 clear: above every x86_64 number
		case d.Nr >= 0xc0000000 && hasX32 && enosysOn(r, x32, opt):
			return Errno(errnoENOSYS) // bit 30 set: above every x32 number
		case hasX32:
			return r.Default // libseccomp's x32 part knows no such number
		case d.Nr == 0xffffffff:
			return r.Default // -1, a tracer's skipped syscall, stays x86_64
		default:
			return opt.BadArch
		}
	}
	// runc's stub runs before the filter: a number above every counted one
	// is ENOSYS even if a rule names it (x86's multiplexed names are not
	// counted, so on x86 glibc falls back from socket() to socketcall()).
	if enosysOn(r, arch, opt) && int64(d.Nr) > maxNamed(r, arch) {
		return Errno(errnoENOSYS)
	}
	is64 := args64(arch)
	var uncond *Action
	var condHit *Action
	consider := func(action Action, groups [][]Cond) {
		if groups == nil {
			if uncond == nil {
				uncond = &action
			}
			return
		}
		if condHit != nil {
			return
		}
		for _, conds := range groups {
			all := true
			for _, c := range conds {
				if !condHolds(c, d.Args[c.Index], is64) {
					all = false
					break
				}
			}
			if all {
				condHit = &action
				return
			}
		}
	}
	for _, rule := range r.Rules {
		if rule.Action == r.Default {
			continue
		}
		var groups [][]Cond
		if len(rule.Conds) > 0 {
			groups = splitConds(rule.Conds)
		}
		for _, name := range rule.Names {
			if nr, ok := syscalls.Number(arch, name); ok && uint32(nr) == d.Nr {
				consider(rule.Action, groups)
			}
			// On x86 libseccomp also filters the multiplexed form.
			if mux, call, ok := multiplexed(arch, name); ok {
				if nr, ok := syscalls.Number(arch, mux); ok && uint32(nr) == d.Nr {
					consider(rule.Action, muxConds(groups, call))
				}
			}
		}
	}
	switch {
	case uncond != nil:
		return *uncond
	case condHit != nil:
		return *condHit
	}
	return r.Default
}

// maxNamed is the highest number any rule names on arch, -1 for none.
func maxNamed(r *Resolved, arch string) int64 {
	maxNr := int64(-1)
	for _, rule := range r.Rules {
		for _, name := range rule.Names {
			if _, _, muxed := multiplexed(arch, name); muxed {
				continue // negative in libseccomp, so runc's stub ignores it
			}
			if nr, ok := syscalls.Number(arch, name); ok && int64(nr) > maxNr {
				maxNr = int64(nr)
			}
		}
	}
	return maxNr
}

// enosysOn reports whether runc's ENOSYS stub covers arch: the default must
// deny and the profile must name a syscall above 0 there.
func enosysOn(r *Resolved, arch string, opt Options) bool {
	if opt.NoENOSYS || !denies(r.Default) {
		return false
	}
	return maxNamed(r, arch) > int64(nrBase(arch))
}

func condHolds(c Cond, arg uint64, is64 bool) bool {
	v, v2 := c.Value, c.ValueTwo
	if !is64 {
		arg, v, v2 = uint64(uint32(arg)), uint64(uint32(v)), uint64(uint32(v2))
	}
	switch c.Op {
	case specs.OpEqualTo:
		return arg == v
	case specs.OpNotEqual:
		return arg != v
	case specs.OpLessThan:
		return arg < v
	case specs.OpLessEqual:
		return arg <= v
	case specs.OpGreaterThan:
		return arg > v
	case specs.OpGreaterEqual:
		return arg >= v
	case specs.OpMaskedEqual:
		// libseccomp (so Docker) compares against value & mask.
		return arg&v == v2&v
	}
	return false
}
