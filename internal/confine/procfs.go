package confine

import (
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
)

// lastCap is the kernel's highest capability number, from
// /proc/sys/kernel/cap_last_cap under root, or the highest this build knows.
func lastCap(root string) int {
	b, err := os.ReadFile(filepath.Join(root, "proc/sys/kernel/cap_last_cap"))
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return n
		}
	}
	return int(capability.CAP_CHECKPOINT_RESTORE)
}

// ParseStatus fills c's ids, groups, capabilities, no_new_privs and
// seccomp state from the text of /proc/PID/status; lastCap is the
// kernel's highest capability number.
func ParseStatus(text string, lastCap int, c *Report) error {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	need := func(k string) (string, error) {
		v, ok := fields[k]
		if !ok {
			return "", fmt.Errorf("no %s: line", k)
		}
		return v, nil
	}
	var err error
	if c.PID, err = strconv.Atoi(fields["Pid"]); err != nil {
		return fmt.Errorf("Pid: %q is not a number", fields["Pid"])
	}
	c.Command = fields["Name"]
	for _, id := range []struct {
		key string
		dst *IDs
	}{{"Uid", &c.UID}, {"Gid", &c.GID}} {
		v, err := need(id.key)
		if err != nil {
			return err
		}
		n, err := parseInts(v)
		if err != nil || len(n) != 4 {
			return fmt.Errorf("%s: want 4 ids, got %q", id.key, v)
		}
		*id.dst = IDs{n[0], n[1], n[2], n[3]}
	}
	if c.Groups, err = parseInts(fields["Groups"]); err != nil {
		return fmt.Errorf("Groups: %v", err)
	}
	if c.Groups == nil {
		c.Groups = []int{}
	}
	c.Capabilities.Known = lastCap + 1
	for _, cs := range []struct {
		key string
		dst *CapSet
	}{
		{"CapInh", &c.Capabilities.Inheritable}, {"CapPrm", &c.Capabilities.Permitted},
		{"CapEff", &c.Capabilities.Effective}, {"CapBnd", &c.Capabilities.Bounding},
		{"CapAmb", &c.Capabilities.Ambient},
	} {
		v, err := need(cs.key)
		if err != nil {
			return err
		}
		mask, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a hex mask", cs.key, v)
		}
		*cs.dst = CapSet{Hex: v, Names: CapNames(mask)}
	}
	if v, ok := fields["NoNewPrivs"]; ok {
		c.NoNewPrivs = v == "1"
	}
	switch fields["Seccomp"] {
	case "", "0":
		c.Seccomp.Mode = "disabled"
	case "1":
		c.Seccomp.Mode = "strict"
	case "2":
		c.Seccomp.Mode = "filter"
	default:
		c.Seccomp.Mode = "unknown (" + fields["Seccomp"] + ")"
	}
	if v, ok := fields["Seccomp_filters"]; ok {
		c.Seccomp.Filters, _ = strconv.Atoi(v)
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// CapNames names the bits of a capability mask; bits the capability
// package does not know are shown as cap_N.
func CapNames(mask uint64) []string {
	names := []string{}
	for mask != 0 {
		bit := bits.TrailingZeros64(mask)
		mask &^= 1 << bit
		name := capability.Cap(bit).String()
		if name == "" || strings.HasPrefix(name, "unknown") {
			name = "cap_" + strconv.Itoa(bit)
		}
		names = append(names, name)
	}
	return names
}

// ParseIDMap reads /proc/PID/uid_map or gid_map; malformed lines are skipped.
func ParseIDMap(text string) []IDMap {
	out := []IDMap{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		var m IDMap
		var err error
		if m.Inside, err = strconv.ParseUint(f[0], 10, 32); err != nil {
			continue
		}
		if m.Outside, err = strconv.ParseUint(f[1], 10, 32); err != nil {
			continue
		}
		if m.Count, err = strconv.ParseUint(f[2], 10, 33); err != nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

func isIdentityMap(m []IDMap) bool {
	return len(m) == 1 && m[0].Inside == 0 && m[0].Outside == 0 && m[0].Count == 4294967295
}

// ParseCgroups reads /proc/PID/cgroup; malformed lines are skipped.
func ParseCgroups(text string) []Cgroup {
	out := []Cgroup{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		h, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		out = append(out, Cgroup{Hierarchy: h, Controllers: parts[1], Path: parts[2]})
	}
	return out
}
