package detect

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseExecutablePages drops this process's mappings of its own
// executable's read-only segments (code, read-only data, the function
// tables) from its page tables, and returns how many bytes it asked for.
//
// One binary holds every command, and at start Go runs the initialisers
// of every package linked in (Kubernetes types, the compose loader and its
// JSON schema, SQLite), so a long-running agent starts with megabytes of
// code pages it never runs again. MADV_DONTNEED on a read-only private
// file mapping only removes the page-table entries: the pages stay in the
// page cache and any the agent touches again come back with a minor fault,
// identical (nothing in these segments is ever written). The writable data
// segment is left alone, and so is any read-only mapping that holds
// private copies of pages: a debugger's breakpoints or a uprobe's are
// written into such copies, and dropping them would remove the breakpoint.
func releaseExecutablePages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	segs, err := readOnlySegments("/proc/self/smaps", exe)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range segs {
		// The raw call: the range is not Go memory, so no []byte for it.
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, s[0], s[1]-s[0], unix.MADV_DONTNEED); e != 0 {
			return n, fmt.Errorf("madvise %#x-%#x: %w", s[0], s[1], e)
		}
		n += int64(s[1] - s[0])
	}
	return n, nil
}

// readOnlySegments lists the [start, end) ranges of the read-only private
// mappings (r-xp, r--p) of file exe in a /proc/PID/smaps (or maps) file,
// leaving out those with anonymous (copied-on-write) pages.
func readOnlySegments(smaps, exe string) ([][2]uintptr, error) {
	f, err := os.Open(smaps)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]uintptr
	var cur [2]uintptr
	want := false
	flush := func() {
		if want {
			out = append(out, cur)
		}
		want = false
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if strings.HasSuffix(fs[0], ":") {
			// An attribute of the mapping above (smaps): "Anonymous: 4 kB".
			if fs[0] == "Anonymous:" && len(fs) > 1 && fs[1] != "0" {
				want = false
			}
			continue
		}
		// A mapping: start-end perms offset dev inode path
		flush()
		if len(fs) < 6 || strings.Join(fs[5:], " ") != exe || (fs[1] != "r-xp" && fs[1] != "r--p") {
			continue
		}
		a, b, ok := strings.Cut(fs[0], "-")
		lo, err1 := strconv.ParseUint(a, 16, 64)
		hi, err2 := strconv.ParseUint(b, 16, 64)
		if !ok || err1 != nil || err2 != nil || hi <= lo {
			return nil, fmt.Errorf("%s: bad range %q", smaps, fs[0])
		}
		cur, want = [2]uintptr{uintptr(lo), uintptr(hi)}, true
	}
	flush()
	return out, sc.Err()
}
