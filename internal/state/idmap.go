package state

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// idRange is one line of /proc/PID/uid_map or gid_map: ids Inside..+Count
// in the namespace are Outside..+Count in the parent's (the host's, as the
// agent reads it from the initial user namespace).
type idRange struct{ Inside, Outside, Count uint32 }

// IDMap is a user namespace's uid or gid map, as the agent (in the
// initial namespace) reads it. A nil map is the identity: the host.
type IDMap []idRange

// overflowID is what the kernel shows for an id the namespace cannot
// name (/proc/sys/kernel/overflowuid's default): nobody.
const overflowID = 65534

// maxIDMapLines is the kernel's limit on extents (340 since Linux 4.15).
const maxIDMapLines = 340

// ParseIDMap reads uid_map or gid_map text: up to 340 lines of three
// decimal numbers. The identity map "0 0 4294967295" gives nil.
func ParseIDMap(text string) (IDMap, error) {
	var m IDMap
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" && i == 0 {
			return nil, nil // an empty map: nothing written yet
		}
		if i >= maxIDMapLines {
			return nil, fmt.Errorf("line %d: more than %d ranges", i+1, maxIDMapLines)
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: %d fields, want 3", i+1, len(f))
		}
		var v [3]uint32
		for j, s := range f {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not an id", i+1, s)
			}
			v[j] = uint32(n)
		}
		m = append(m, idRange{v[0], v[1], v[2]})
	}
	if len(m) == 1 && m[0] == (idRange{0, 0, 4294967295}) {
		return nil, nil
	}
	return m, nil
}

// Inside maps a host id into the namespace, as the kernel's
// from_kuid_munged does: an id the map does not cover is 65534.
func (m IDMap) Inside(host int64) int64 {
	if m == nil || host < 0 {
		return host
	}
	for _, r := range m {
		if uint64(host) >= uint64(r.Outside) && uint64(host) < uint64(r.Outside)+uint64(r.Count) {
			return int64(r.Inside) + host - int64(r.Outside)
		}
	}
	return overflowID
}

// readIDMap reads /proc/PID/uid_map or gid_map (nil, the identity, when
// it cannot be read: the process is gone, or the kernel has no user
// namespaces).
func readIDMap(path string) IDMap {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10)) // 340 lines of three ids fit in 11 KiB
	if err != nil {
		return nil
	}
	m, err := ParseIDMap(string(b))
	if err != nil {
		return nil
	}
	return m
}
