package event

import (
	"strconv"
	"strings"
)

// Linux open(2) flags (x86_64/arm64 values) with their names, in the order
// they are rendered.
var openFlagNames = []struct {
	name string
	bit  int64
}{
	{"O_WRONLY", 0x1}, {"O_RDWR", 0x2}, {"O_CREAT", 0x40}, {"O_EXCL", 0x80}, {"O_NOCTTY", 0x100},
	{"O_TRUNC", 0x200}, {"O_APPEND", 0x400}, {"O_NONBLOCK", 0x800}, {"O_SYNC", 0x101000},
	{"O_DSYNC", 0x1000}, {"O_ASYNC", 0x2000}, {"O_DIRECT", 0x4000}, {"O_LARGEFILE", 0x8000},
	{"O_TMPFILE", 0x410000}, {"O_DIRECTORY", 0x10000}, {"O_NOFOLLOW", 0x20000}, {"O_NOATIME", 0x40000},
	{"O_CLOEXEC", 0x80000}, {"O_PATH", 0x200000},
}

// FormatOpenFlags renders open flags as Falco does: O_RDONLY when neither
// write bit is set, then each set flag, joined by '|'. Composite flags
// (O_SYNC, O_TMPFILE) are named before their parts.
func FormatOpenFlags(f int64) string {
	var parts []string
	if f&3 == 0 {
		parts = append(parts, "O_RDONLY")
	}
	rem := f
	for _, fl := range openFlagNames {
		if rem&fl.bit == fl.bit {
			parts = append(parts, fl.name)
			rem &^= fl.bit
		}
	}
	return strings.Join(parts, "|")
}

// ParseOpenFlags reads "O_WRONLY|O_CREAT" (or a number) back into bits.
func ParseOpenFlags(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return n, true
	}
	var f int64
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if part == "" || part == "O_RDONLY" {
			continue
		}
		found := false
		for _, fl := range openFlagNames {
			if fl.name == part {
				f |= fl.bit
				found = true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return f, true
}
