package ebpf

import (
	"fmt"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Descriptor flags, matching enum conf_flag in bpf/capture.c.
const (
	cfRetFD      = 1
	cfCwd        = 2
	cfEnter      = 4
	cfZeroOnOK   = 8
	cfAddrlenPtr = 16
	cfFullID     = 32
	cfMin        = 64
	cfMsghdr     = 128

	cf2Socketcall = 1 // enum conf_flag2
	cf2FDPair     = 2
	cf2Shed       = 4

	argNone = 0xff
)

// conf turns a syscall's descriptor into the kernel's; nil (a syscall
// Palisade does not decode) reads the raw arguments and result only.
func conf(d *syscalls.Desc) scConf {
	c := scConf{On: 1, AddrArg: argNone, AddrlenArg: argNone, StructArg: argNone}
	for i := range c.Dirfd {
		c.Dirfd[i] = argNone
	}
	if d == nil {
		return c
	}
	for _, m := range []struct {
		capture syscalls.Capture
		flag    uint8
	}{{syscalls.CaptureRetFD, cfRetFD}, {syscalls.CaptureCwd, cfCwd}, {syscalls.CaptureEnter, cfEnter},
		{syscalls.CaptureExec, cfZeroOnOK}, {syscalls.CaptureFullID, cfFullID}, {syscalls.CaptureMinimal, cfMin},
		{syscalls.CaptureMsghdr, cfMsghdr}} {
		if d.Capture&m.capture != 0 {
			c.Flags |= m.flag
		}
	}
	if d.Capture&syscalls.CaptureFDPair != 0 {
		c.Flags2 |= cf2FDPair
	}
	for p, dirfd := range d.Paths {
		c.PathMask |= 1 << p
		if dirfd >= 0 {
			c.Dirfd[p] = uint8(dirfd)
		}
	}
	for _, i := range d.Strs {
		c.StrMask |= 1 << i
	}
	for _, i := range d.FDs {
		c.FdMask |= 1 << i
	}
	if a := d.Addr; a != nil {
		c.AddrArg, c.AddrlenArg = uint8(a.Arg), uint8(a.Len)
		if a.LenPtr {
			c.Flags |= cfAddrlenPtr
		}
	}
	if st := d.Struct; st != nil {
		c.StructArg, c.StructLen = uint8(st.Arg), uint8(st.Len)
	}
	return c
}

// The capture's ABIs, from the architecture table: records are numbered
// in the native one or its compat ABI; x32 calls carry native numbers.
var (
	nativeArch = syscalls.CaptureArch().Name
	compatArch = syscalls.CaptureArch().Compat
	x32Arch    = syscalls.CaptureArch().Shares
)

const (
	compatBase = 512
	numSlots   = 1024
)

// DefaultSyscalls returns the native numbers of every syscall Palisade
// knows how to decode: the set Falco's stable and incubating rules and the
// process/fd state need. exit and exit_group are left out (sched_process_exit
// reports every exit) so that no sys_enter program runs by default.
func DefaultSyscalls() []int { return syscalls.Decoded(nativeArch) }

// buildConfs computes the whole descriptor table for a set of native
// syscall numbers. Each selected syscall is also selected in the 32-bit
// compat ABI under the same name (or its 32-bit-uid "...32" variant), so
// int 0x80 cannot slip past the filter.
//
// Syscalls in shed are marked CF2_SHED: under pressure the kernel drops
// their records first (the opens among them only when read-only and of an
// unprotected inode).
func buildConfs(native []int, shed map[int]bool) ([numSlots]scConf, error) {
	var t [numSlots]scConf
	for _, nr := range native {
		if nr < 0 || nr >= compatBase {
			return t, fmt.Errorf("syscall number %d out of range [0,%d)", nr, compatBase)
		}
		name, ok := syscalls.Name(nativeArch, nr)
		c := conf(syscalls.Describe(name))
		if shed[nr] {
			c.Flags2 |= cf2Shed
		}
		t[nr] = c
		if !ok {
			continue
		}
		for _, n := range []string{name, name + "32"} {
			if cnr, ok := syscalls.Number(compatArch, n); ok && cnr < compatBase {
				t[compatBase+cnr] = c
			}
		}
	}
	// i386 socketcall(2) multiplexes the socket calls: select it when any
	// of them is, so that the kernel decodes it as the call it stands for.
	for _, nr := range socketcallTable() {
		if nr != 0 && t[nr].On != 0 {
			if cnr, ok := syscalls.Number(compatArch, "socketcall"); ok && cnr < compatBase {
				t[compatBase+cnr] = scConf{On: 1, Flags2: cf2Socketcall, AddrArg: argNone, AddrlenArg: argNone,
					StructArg: argNone, Dirfd: [6]uint8{argNone, argNone, argNone, argNone, argNone, argNone}}
			}
			break
		}
	}
	return t, nil
}

// socketcallCalls names the call behind each socketcall(2) call number
// (SYS_SOCKET = 1 .. SYS_SENDMMSG = 20, linux/net.h); send and recv are
// sendto and recvfrom without an address, as the kernel runs them.
var socketcallCalls = [...]string{1: "socket", "bind", "connect", "listen", "accept", "getsockname",
	"getpeername", "socketpair", "sendto", "recvfrom", "sendto", "recvfrom", "shutdown", "setsockopt",
	"getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg"}

// x32Table is the kernel's x32_nr: for x32 syscall number 512 + i (the
// x32-specific entry points), the native number of the call of the same
// name; 0 where there is none. It has the kernel array's 64 slots.
func x32Table() [64]uint16 {
	var t [64]uint16
	for i := range t {
		name, ok := syscalls.Name(x32Arch, syscalls.X32Bit|(compatBase+i))
		if !ok {
			continue
		}
		if nr, ok := syscalls.Number(nativeArch, name); ok {
			t[i] = uint16(nr)
		}
	}
	return t
}

// socketcallTable is the kernel's socketcall_nr: the native number of the
// call behind each socketcall(2) call number.
// It has the kernel array's 32 slots; those past SYS_SENDMMSG stay 0.
func socketcallTable() [32]uint16 {
	var t [32]uint16
	for i, name := range socketcallCalls {
		if nr, ok := syscalls.Number(nativeArch, name); ok && name != "" {
			t[i] = uint16(nr)
		}
	}
	return t
}

// filterBits is the kernel's fast filter for a descriptor table: bit nr is
// set when nr is selected in either ABI.
func filterBits(t *[numSlots]scConf) [compatBase / 64]uint64 {
	var bits [compatBase / 64]uint64
	for i := range compatBase {
		if t[i].On != 0 || t[compatBase+i].On != 0 {
			bits[i/64] |= 1 << (i % 64)
		}
	}
	return bits
}
