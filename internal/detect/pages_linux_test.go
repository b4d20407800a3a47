package detect

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// exeRSS sums the resident kB of this process's read-only mappings of its
// executable, from /proc/self/smaps.
func exeRSS(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 6 && strings.Contains(fs[0], "-") {
			in = strings.Join(fs[5:], " ") == exe && (fs[1] == "r-xp" || fs[1] == "r--p")
			continue
		}
		if in && len(fs) == 3 && fs[0] == "Rss:" {
			n, _ := strconv.Atoi(fs[1])
			kb += n
		}
	}
	return kb
}

// Releasing the executable's read-only pages takes them out of the
// resident set, and the program keeps running on them (they fault back).
func TestReleaseExecutablePages(t *testing.T) {
	before := exeRSS(t)
	n, err := releaseExecutablePages()
	if err != nil {
		t.Fatal(err)
	}
	after := exeRSS(t)
	t.Logf("executable's read-only mappings: %d kB advised; resident %d kB before, %d kB after", n>>10, before, after)
	if n == 0 || before == 0 {
		t.Fatalf("found no read-only mapping of the executable (advised %d bytes, %d kB resident)", n, before)
	}
	if after >= before {
		t.Errorf("resident %d kB after release, %d kB before: nothing released", after, before)
	}
	// Code and read-only data still work: format, parse, look up.
	if got := strings.Repeat(strconv.Itoa(42), 2); got != "4242" {
		t.Fatalf("after release: %q", got)
	}
	if _, err := readOnlySegments("/proc/self/maps", "/no/such/exe"); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnlySegments(t *testing.T) {
	maps := t.TempDir() + "/maps"
	body := "00400000-014ba000 r-xp 00000000 fe:00 9994325    /opt/palisade dir/palisade\n" +
		"014ba000-02693000 r--p 010ba000 fe:00 9994325    /opt/palisade dir/palisade\n" +
		"02693000-027a5000 rw-p 02293000 fe:00 9994325    /opt/palisade dir/palisade\n" +
		"027a5000-04805000 rw-p 00000000 00:00 0\n" +
		"7f00000000-7f00001000 r--p 00000000 fe:00 1    /usr/lib/other\n"
	if err := os.WriteFile(maps, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	segs, err := readOnlySegments(maps, "/opt/palisade dir/palisade")
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0] != [2]uintptr{0x400000, 0x14ba000} || segs[1] != [2]uintptr{0x14ba000, 0x2693000} {
		t.Errorf("segments %x, want the r-xp and r--p ones only", segs)
	}
	// smaps: a code mapping holding a private copy (a breakpoint) is kept.
	smaps := "00400000-014ba000 r-xp 00000000 fe:00 9994325    /x\nRss: 12004 kB\nAnonymous: 4 kB\nSwap: 0 kB\n" +
		"014ba000-02693000 r--p 010ba000 fe:00 9994325    /x\nRss: 100 kB\nAnonymous: 0 kB\n"
	if err := os.WriteFile(maps, []byte(smaps), 0o600); err != nil {
		t.Fatal(err)
	}
	if segs, err := readOnlySegments(maps, "/x"); err != nil || len(segs) != 1 || segs[0] != [2]uintptr{0x14ba000, 0x2693000} {
		t.Errorf("smaps segments %x (%v), want only the read-only data without private pages", segs, err)
	}
	if err := os.WriteFile(maps, []byte("zz-00400000 r-xp 0 0 0 /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readOnlySegments(maps, "/x"); err == nil {
		t.Error("bad range accepted")
	}
}
