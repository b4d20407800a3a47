package caps

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// names is indexed by capability number (linux/capability.h).
var names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Last is the highest capability number this package knows.
const Last = 40

// Set is a capability bit set (bit n = capability number n).
type Set uint64

// All is every capability this package knows.
const All Set = 1<<(Last+1) - 1

// dockerDefault is Docker's default capability list (moby oci/caps/defaults.go).
var dockerDefault = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DockerDefault returns Docker's 14 default capabilities.
func DockerDefault() Set {
	s, _ := ParseList(strings.Join(dockerDefault, ","))
	return s
}

// Name returns the CAP_ name of capability number n.
func Name(n int) (string, bool) {
	if n < 0 || n >= len(names) {
		return "", false
	}
	return names[n], true
}

// Number parses one capability name, with or without CAP_, any case.
func Number(name string) (int, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for i, c := range names {
		if c == n {
			return i, true
		}
	}
	return 0, false
}

// ParseList parses a comma-separated list of names; "ALL" means every
// capability. An empty string is the empty set.
func ParseList(list string) (Set, error) {
	var s Set
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.EqualFold(f, "ALL") {
			s |= All
			continue
		}
		n, ok := Number(f)
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", f)
		}
		s |= 1 << n
	}
	return s, nil
}

// Apply computes Docker's capability arithmetic: start from base (or every
// capability when privileged), remove drop, then add add. Like Docker, an
// explicit add wins over a drop of ALL.
func Apply(base, add, drop Set, privileged bool) Set {
	if privileged {
		return All
	}
	return (base &^ drop) | add
}

// Has reports whether capability n is in s.
func (s Set) Has(n int) bool { return n >= 0 && n <= 63 && s&(1<<n) != 0 }

// Names lists the set's names in number order.
func (s Set) Names() []string {
	var out []string
	for n := 0; n < len(names); n++ {
		if s.Has(n) {
			out = append(out, names[n])
		}
	}
	return out
}

// Len is the number of capabilities in s.
func (s Set) Len() int { return bits.OnesCount64(uint64(s)) }

// String is the comma-separated names, or "none".
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	n := s.Names()
	sort.Strings(n)
	return strings.Join(n, ",")
}
