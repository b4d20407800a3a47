package state

import (
	"strconv"
	"strings"
)

// Symbolic renderings of well-known numeric arguments.
var (
	ptraceRequests = map[int64]string{0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 4: "PTRACE_POKETEXT",
		5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT", 8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP",
		12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH", 0x4206: "PTRACE_SEIZE"}
	bpfCmds = map[int64]string{0: "BPF_MAP_CREATE", 1: "BPF_MAP_LOOKUP_ELEM", 2: "BPF_MAP_UPDATE_ELEM", 3: "BPF_MAP_DELETE_ELEM",
		4: "BPF_MAP_GET_NEXT_KEY", 5: "BPF_PROG_LOAD", 6: "BPF_OBJ_PIN", 7: "BPF_OBJ_GET", 8: "BPF_PROG_ATTACH",
		9: "BPF_PROG_DETACH", 10: "BPF_PROG_TEST_RUN", 17: "BPF_RAW_TRACEPOINT_OPEN", 18: "BPF_BTF_LOAD", 28: "BPF_LINK_CREATE"}
	cloneFlags = []struct {
		bit  int64
		name string
	}{{0x00020000, "CLONE_NEWNS"}, {0x02000000, "CLONE_NEWCGROUP"}, {0x04000000, "CLONE_NEWUTS"}, {0x08000000, "CLONE_NEWIPC"},
		{0x10000000, "CLONE_NEWUSER"}, {0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x00000080, "CLONE_NEWTIME"},
		{0x00000100, "CLONE_VM"}, {0x00000200, "CLONE_FS"}, {0x00000400, "CLONE_FILES"}, {0x00000800, "CLONE_SIGHAND"},
		{0x00010000, "CLONE_THREAD"}}
	// exeFlags are Falco's execve exit flags (PPM_EXE_*).
	exeFlags = []struct {
		bit  int64
		name string
	}{{1, "EXE_WRITABLE"}, {2, "EXE_UPPER_LAYER"}, {4, "EXE_FROM_MEMFD"}, {8, "EXE_LOWER_LAYER"}}
	// keyctlOps are keyctl(2)'s operations (linux/keyctl.h).
	keyctlOps = map[int64]string{0: "KEYCTL_GET_KEYRING_ID", 1: "KEYCTL_JOIN_SESSION_KEYRING", 2: "KEYCTL_UPDATE", 3: "KEYCTL_REVOKE",
		4: "KEYCTL_CHOWN", 5: "KEYCTL_SETPERM", 6: "KEYCTL_DESCRIBE", 7: "KEYCTL_CLEAR", 8: "KEYCTL_LINK", 9: "KEYCTL_UNLINK",
		10: "KEYCTL_SEARCH", 11: "KEYCTL_READ", 12: "KEYCTL_INSTANTIATE", 13: "KEYCTL_NEGATE", 14: "KEYCTL_SET_REQKEY_KEYRING",
		15: "KEYCTL_SET_TIMEOUT", 16: "KEYCTL_ASSUME_AUTHORITY", 17: "KEYCTL_GET_SECURITY", 18: "KEYCTL_SESSION_TO_PARENT",
		19: "KEYCTL_REJECT", 20: "KEYCTL_INSTANTIATE_IOV", 21: "KEYCTL_INVALIDATE", 22: "KEYCTL_GET_PERSISTENT",
		23: "KEYCTL_DH_COMPUTE", 24: "KEYCTL_PKEY_QUERY", 25: "KEYCTL_PKEY_ENCRYPT", 26: "KEYCTL_PKEY_DECRYPT",
		27: "KEYCTL_PKEY_SIGN", 28: "KEYCTL_PKEY_VERIFY", 29: "KEYCTL_RESTRICT_KEYRING", 30: "KEYCTL_MOVE",
		31: "KEYCTL_CAPABILITIES", 32: "KEYCTL_WATCH_KEY"}
	socketDomains = map[int64]string{1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET", 38: "AF_ALG", 40: "AF_VSOCK"}
)

func renderFlags(v int64, table []struct {
	bit  int64
	name string
}) string {
	var parts []string
	for _, f := range table {
		if v&f.bit != 0 {
			parts = append(parts, f.name)
		}
	}
	if len(parts) == 0 {
		return strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, "|")
}

var modeBits = []struct {
	bit  int64
	name string
}{{0o1, "S_IXOTH"}, {0o2, "S_IWOTH"}, {0o4, "S_IROTH"}, {0o10, "S_IXGRP"}, {0o20, "S_IWGRP"}, {0o40, "S_IRGRP"},
	{0o100, "S_IXUSR"}, {0o200, "S_IWUSR"}, {0o400, "S_IRUSR"}, {0o1000, "S_ISVTX"}, {0o2000, "S_ISGID"}, {0o4000, "S_ISUID"}}

// modeFlags renders a chmod mode as Falco does: S_ flag names joined by '|'.
func modeFlags(m int64) string {
	var parts []string
	for _, b := range modeBits {
		if m&b.bit != 0 {
			parts = append(parts, b.name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// modeString renders a permission mode in octal, as Falco does (0755).
func modeString(m int64) string { return "0" + strconv.FormatInt(m&0o7777, 8) }
