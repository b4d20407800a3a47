//go:build linux

package state

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// An io_uring open recorded at submission (IOSQE_CQE_SKIP_SUCCESS) names
// the file only by the path the process wrote: the table looks it up in
// the process's root, from its cwd or dfd, /proc/self meaning the process,
// and names the file it reaches (fd.identity, fd.name) under any spelling.
func TestTableIOUringSubmitResolved(t *testing.T) {
	proc := t.TempDir()
	fakeProc(t, proc, 10, "uo", 1, "root:x:0:0:root:/root:/bin/bash\n")
	pdir := filepath.Join(proc, "10")
	root := filepath.Join(pdir, "root")
	// A file outside the process's root, named by an absolute symlink in
	// it: the name must not reach it.
	outside := filepath.Join(t.TempDir(), "secret")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(outside, []byte("host\n"), 0o600))
	must(os.WriteFile(filepath.Join(root, "etc", "shadow"), []byte("root:!:1::::::\n"), 0o600))
	for _, d := range []string{"work", "tmp", "proc"} {
		must(os.Mkdir(filepath.Join(root, d), 0o755))
	}
	must(os.Symlink("/etc/shadow", filepath.Join(root, "tmp", "abs")))
	must(os.Symlink("../etc/shadow", filepath.Join(root, "tmp", "rel")))
	must(os.Symlink("/../../../../etc/shadow", filepath.Join(root, "tmp", "up")))
	must(os.Symlink(outside, filepath.Join(root, "tmp", "out")))
	must(os.Symlink("/etc", filepath.Join(root, "tmp", "etcdir")))
	must(os.Symlink(filepath.Join(root, "work"), filepath.Join(pdir, "cwd")))
	must(os.MkdirAll(filepath.Join(pdir, "fd"), 0o755))
	must(os.Symlink(filepath.Join(root, "etc"), filepath.Join(pdir, "fd", "5")))
	must(os.Symlink(filepath.Dir(outside), filepath.Join(pdir, "fd", "6"))) // a directory outside the root

	var st, ost unix.Stat_t
	must(unix.Stat(filepath.Join(root, "etc", "shadow"), &st))
	must(unix.Stat(outside, &ost))
	tab := New(Options{ProcRoot: proc, NativeArc: "x86_64", Identify: func(dev uint32, ino uint64) string {
		switch {
		case dev == ebpf.KernelDev(st.Dev) && ino == st.Ino:
			return "/etc/shadow"
		case dev == ebpf.KernelDev(ost.Dev) && ino == ost.Ino:
			return "/outside"
		}
		return ""
	}})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	// The temp root has no procfs at /proc; /proc/self is the process's.
	saved := isProcfs
	isProcfs = func(int) bool { return true }
	defer func() { isProcfs = saved }()

	e := &event.Event{}
	open := func(pid uint32, dfd int32, name string, flags uint64) *event.FD {
		r := ebpf.Record{Kind: ebpf.KindSyscall, Comm: "uo", TID: pid, PID: pid, Nr: nr(t, "openat"), IOUring: true, IOUringSubmit: true,
			Args: [6]uint64{uint64(uint32(dfd)), 0, flags, 0, 1, 18}}
		r.Str[1], r.Path[1] = name, name
		tab.Apply(ctx, &r, e)
		return e.FD
	}
	const cwd = -100
	for _, c := range []struct {
		dfd  int32
		name string
	}{
		{cwd, "/etc/shadow"},
		{cwd, "/etc/../etc/shadow"},
		{cwd, "//etc/./shadow"},
		{cwd, "../etc/shadow"},             // from the cwd, /work
		{cwd, "../../../../../etc/shadow"}, // .. stops at the root
		{5, "shadow"},                      // from dfd 5, /etc
		{5, "../etc/shadow"},
		{cwd, "/tmp/abs"}, // an absolute symlink, in the root
		{cwd, "/tmp/rel"},
		{cwd, "/tmp/up"},
		{cwd, "/tmp/etcdir/shadow"},
		{cwd, "/proc/self/root/etc/shadow"},
		{cwd, "/proc/thread-self/root/etc/shadow"},
		{cwd, "/proc/self/root/proc/self/root/etc/shadow"},
		{cwd, "/proc/./self/root/../../etc/shadow"},
		{cwd, "/proc/self/cwd/../etc/shadow"},
		{cwd, "/proc/self/fd/5/shadow"},
		{cwd, "/proc/self/root/tmp/abs"},
	} {
		fd := open(10, c.dfd, c.name, 0)
		if fd == nil || fd.Identity != "/etc/shadow" || fd.Name != "/etc/shadow" || fd.Ino != st.Ino || fd.Num != 0 || fd.NameRaw != c.name {
			t.Errorf("open of %q (dfd %d) at submission: fd %+v, want /etc/shadow by identity and name in slot 0", c.name, c.dfd, fd)
		}
	}
	// Nothing outside the root, no magic link, nothing that is not there,
	// a final symlink not followed under O_NOFOLLOW.
	for _, c := range []struct {
		dfd   int32
		name  string
		flags uint64
	}{
		{cwd, "/tmp/out", 0},
		{cwd, outside, 0},
		{6, "secret", 0},
		{cwd, "/proc/self/fd/6/secret", 0},
		{cwd, "/proc/1/root/etc/shadow", 0},
		{cwd, "/proc/self/exe", 0},
		{cwd, "/etc/missing", 0},
		{cwd, "/tmp/abs", oNofollow},
		{7, "shadow", 0}, // no such dfd
	} {
		fd := open(10, c.dfd, c.name, c.flags)
		if fd == nil || fd.Identity != "" || fd.Ino != 0 || fd.Name != c.name {
			t.Errorf("open of %q (dfd %d, flags %#o) at submission: fd %+v, want no identity and the name as written", c.name, c.dfd, c.flags, fd)
		}
	}
	// A process already gone: the name as written, no identity.
	must(os.Rename(pdir, pdir+".gone"))
	if fd := open(10, cwd, "/tmp/abs", 0); fd == nil || fd.Identity != "" || fd.Name != "/tmp/abs" {
		t.Errorf("open by a gone process: fd %+v, want /tmp/abs with no identity", fd)
	}
	must(os.Rename(pdir+".gone", pdir))

	// The budget: a flood of such opens is looked up at most
	// uringResolveBurst at once, then uringResolveRate a second.
	now := time.Unix(1000, 0)
	tab.uringBudget = uringBudget{now: func() time.Time { return now }}
	found := 0
	for range 3 * int(uringResolveBurst) {
		if open(10, cwd, "/tmp/abs", 0).Identity != "" {
			found++
		}
	}
	if found != int(uringResolveBurst) || tab.uringBudget.skipped != 2*uint64(uringResolveBurst) {
		t.Errorf("%d of %d opens looked up at once (%d skipped), want %d", found, 3*int(uringResolveBurst), tab.uringBudget.skipped, int(uringResolveBurst))
	}
	now = now.Add(100 * time.Millisecond)
	found = 0
	for range int(uringResolveBurst) {
		if open(10, cwd, "/tmp/abs", 0).Identity != "" {
			found++
		}
	}
	if want := int(uringResolveRate / 10); found != want {
		t.Errorf("%d opens looked up 100ms later, want %d", found, want)
	}
}
