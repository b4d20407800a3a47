package detect

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// protectRoot is a container root in a temporary directory with
// /etc/shadow, /usr/bin/victim and /tmp, protected by a protector that
// finds the root of pid 2 there (pid 1 is gone).
func protectRoot(t *testing.T) (string, *protector, *event.Process) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"etc", "usr/bin", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, dir, "/etc/shadow", "root:x")
	write(t, dir, "/usr/bin/victim", "#!/bin/sh")
	p := newProtector(ProtectedNames{Files: []string{"/etc/shadow"}, Dirs: []string{"/usr/bin"}}, nil, nil)
	p.rootPath = func(root string, pid int64) string {
		if pid == 2 {
			return dir
		}
		return filepath.Join(dir, "gone")
	}
	c := &event.Container{ID: "c1"}
	parent := &event.Process{PID: 2, Container: c}
	proc := &event.Process{PID: 1, Container: c, Parent: parent}
	if done, fresh := p.scanContainer("c1", proc, false); !done || !fresh {
		t.Fatalf("scanContainer = %v, %v; want the root found through the parent", done, fresh)
	}
	return dir, p, proc
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// identityOf is what the protector names the file at name in dir.
func identityOf(t *testing.T, p *protector, dir, name string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, name), &st); err != nil {
		t.Fatal(err)
	}
	return p.Identify(ebpf.KernelDev(st.Dev), st.Ino)
}

func inode(t *testing.T, dir, name string) (uint32, uint64) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, name), &st); err != nil {
		t.Fatal(err)
	}
	return ebpf.KernelDev(st.Dev), st.Ino
}

func call(proc *event.Process, typ string, args ...string) *event.Event {
	ev := &event.Event{Type: event.TypeOf(typ), HasRes: true, Proc: proc}
	for i := 0; i+1 < len(args); i += 2 {
		ev.Args = append(ev.Args, event.Arg{Name: args[i], Str: args[i+1]})
	}
	return ev
}

// A protected name replaced after the scan (mv over it, as sed -i and
// package upgrades do) is protected under its new inode; the old inode
// is forgotten (its number may be reused), unless it was renamed away.
func TestProtectFollowsReplacement(t *testing.T) {
	dir, p, proc := protectRoot(t)
	oldDev, oldIno := inode(t, dir, "/etc/shadow")
	if got := identityOf(t, p, dir, "/etc/shadow"); got != "/etc/shadow" {
		t.Fatalf("scanned /etc/shadow identifies as %q", got)
	}
	write(t, dir, "/tmp/newshadow", "root:y")
	if err := os.Rename(filepath.Join(dir, "tmp/newshadow"), filepath.Join(dir, "etc/shadow")); err != nil {
		t.Fatal(err)
	}
	p.Note("c1", call(proc, "renameat2", "oldpath", "/tmp/newshadow", "newpath", "/etc/shadow"))
	if got := identityOf(t, p, dir, "/etc/shadow"); got != "/etc/shadow" {
		t.Errorf("replaced /etc/shadow identifies as %q, want /etc/shadow", got)
	}
	if got := p.Identify(oldDev, oldIno); got != "" {
		t.Errorf("the replaced inode still identifies as %q", got)
	}

	// Renamed away: the content is still the protected file's.
	movedDev, movedIno := inode(t, dir, "/etc/shadow")
	if err := os.Rename(filepath.Join(dir, "etc/shadow"), filepath.Join(dir, "tmp/x")); err != nil {
		t.Fatal(err)
	}
	p.Note("c1", call(proc, "rename", "oldpath", "/etc/shadow", "newpath", "/tmp/x"))
	if got := p.Identify(movedDev, movedIno); got != "/etc/shadow" || p.detached != 1 {
		t.Errorf("/etc/shadow renamed to /tmp/x identifies as %q (%d detached), want /etc/shadow", got, p.detached)
	}
	// And back: named again, no longer detached.
	os.Rename(filepath.Join(dir, "tmp/x"), filepath.Join(dir, "etc/shadow"))
	p.Note("c1", call(proc, "rename", "oldpath", "/tmp/x", "newpath", "/etc/shadow"))
	if got := p.Identify(movedDev, movedIno); got != "/etc/shadow" || p.detached != 0 {
		t.Errorf("renamed back: identifies as %q, %d detached", got, p.detached)
	}
	os.Rename(filepath.Join(dir, "etc/shadow"), filepath.Join(dir, "tmp/x"))
	p.Note("c1", call(proc, "rename", "oldpath", "/etc/shadow", "newpath", "/tmp/x"))

	// A new file in a protected directory, and one removed.
	write(t, dir, "/tmp/tool", "x")
	os.Rename(filepath.Join(dir, "tmp/tool"), filepath.Join(dir, "usr/bin/tool"))
	p.Note("c1", call(proc, "renameat", "oldpath", "/tmp/tool", "newpath", "/usr/bin/tool"))
	if got := identityOf(t, p, dir, "/usr/bin/tool"); got != "/usr/bin/tool" {
		t.Errorf("/usr/bin/tool renamed into place identifies as %q", got)
	}
	// A package upgrade: the new file written beside the old, then renamed
	// over it; the new inode is /usr/bin/tool's, nothing is kept detached.
	write(t, dir, "/usr/bin/tool.dpkg-new", "y")
	dev, ino := inode(t, dir, "/usr/bin/tool.dpkg-new")
	ev := call(proc, "openat", "flags", "O_WRONLY|O_CREAT")
	ev.Args[0].Int, ev.Args[0].HasInt = unix.O_WRONLY|unix.O_CREAT, true
	ev.FD = &event.FD{Num: 3, Type: event.FDFile, Name: "/usr/bin/tool.dpkg-new", Dev: uint64(dev), Ino: ino}
	p.Note("c1", ev)
	detached := p.detached
	os.Rename(filepath.Join(dir, "usr/bin/tool.dpkg-new"), filepath.Join(dir, "usr/bin/tool"))
	p.Note("c1", call(proc, "renameat", "oldpath", "/usr/bin/tool.dpkg-new", "newpath", "/usr/bin/tool"))
	if got := identityOf(t, p, dir, "/usr/bin/tool"); got != "/usr/bin/tool" || p.detached != detached {
		t.Errorf("upgraded /usr/bin/tool identifies as %q, %d detached (was %d)", got, p.detached, detached)
	}
	vDev, vIno := inode(t, dir, "/usr/bin/victim")
	os.Remove(filepath.Join(dir, "usr/bin/victim"))
	p.Note("c1", call(proc, "unlinkat", "name", "/usr/bin/victim"))
	if got := p.Identify(vDev, vIno); got != "" {
		t.Errorf("removed /usr/bin/victim still identifies as %q", got)
	}
	if len(p.byName) != len(p.refs) || len(p.refs) > len(p.byInode) {
		t.Errorf("books out of step: %d names, %d refs, %d identities", len(p.byName), len(p.refs), len(p.byInode))
	}

	// An open that creates a protected name: the kernel's identity.
	write(t, dir, "/etc/shadow", "root:z")
	dev, ino = inode(t, dir, "/etc/shadow")
	ev = call(proc, "openat", "flags", "O_WRONLY|O_CREAT")
	ev.Args[0].Int, ev.Args[0].HasInt = unix.O_WRONLY|unix.O_CREAT, true
	ev.FD = &event.FD{Num: 3, Type: event.FDFile, Name: "/etc/shadow", Dev: uint64(dev), Ino: ino}
	p.Note("c1", ev)
	if ev.FD.Identity != "/etc/shadow" || p.Identify(dev, ino) != "/etc/shadow" {
		t.Errorf("created /etc/shadow: fd.identity %q, identifies as %q", ev.FD.Identity, p.Identify(dev, ino))
	}
}

// A hard link to a protected file is known by the file, whatever the
// names: through a directory symlink, through /proc/.../root, or by its
// own name; a link of an ordinary file gets nothing.
func TestProtectLinkIdentity(t *testing.T) {
	dir, p, proc := protectRoot(t)
	if err := os.Symlink("/usr", filepath.Join(dir, "tmp/u")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "/tmp/plain", "x")
	for _, c := range []struct{ old, new, want string }{
		{"/etc/shadow", "/tmp/h", "/etc/shadow"},
		{"/tmp/u/bin/victim", "/tmp/anything", "/usr/bin/victim"},
		{"/tmp/plain", "/tmp/plain2", ""},
	} {
		// The new name resolved inside the root (a symlink in the old
		// name is resolved by the link, as ln does).
		src, _ := filepath.EvalSymlinks(filepath.Join(dir, "tmp", ".."+c.old))
		if c.old == "/tmp/u/bin/victim" {
			src = filepath.Join(dir, "usr/bin/victim")
		}
		if err := os.Link(src, filepath.Join(dir, c.new)); err != nil {
			t.Fatal(err)
		}
		ev := call(proc, "linkat", "oldpath", c.old, "newpath", c.new)
		p.Note("c1", ev)
		got := ""
		if ev.FD != nil {
			got = ev.FD.Identity
			if ev.FD.Name != c.new || ev.FD.Nlink != 2 {
				t.Errorf("ln %s %s: fd %+v", c.old, c.new, ev.FD)
			}
		}
		if got != c.want {
			t.Errorf("ln %s %s: fd.identity %q, want %q", c.old, c.new, got, c.want)
		}
	}
	// The new name already gone: the old name still tells.
	ev := call(proc, "link", "oldpath", "/etc/shadow", "newpath", "/tmp/gone")
	p.Note("c1", ev)
	if ev.FD == nil || ev.FD.Identity != "/etc/shadow" {
		t.Errorf("link whose new name is gone: fd %+v", ev.FD)
	}
	// Made by a process that is gone, with no ancestor in the container
	// (docker exec): the root is found through a process it was found
	// through before, the first (the container's init) kept though a
	// short-lived process (pid 3) found it since.
	alive3 := true
	rootPath := p.rootPath
	p.rootPath = func(root string, pid int64) string {
		if pid == 3 && alive3 {
			return dir
		}
		return rootPath(root, pid)
	}
	for pid := int64(3); pid < 3+rootPIDsKept+2; pid++ {
		// A docker exec's processes, found while alive: pids 3, 4, 5, ...
		if pid > 3 {
			p.rootPath = func(root string, q int64) string {
				if q == pid {
					return dir
				}
				return rootPath(root, q)
			}
		}
		p.Note("c1", call(&event.Process{PID: pid, Container: proc.Container}, "link", "oldpath", "/tmp/plain", "newpath", "/tmp/plain2"))
	}
	alive3 = false
	p.rootPath = rootPath
	orphan := &event.Process{PID: 99, Container: proc.Container}
	ev = call(orphan, "link", "oldpath", "/x", "newpath", "/tmp/h")
	p.Note("c1", ev)
	if ev.FD == nil || ev.FD.Identity != "/etc/shadow" {
		t.Errorf("link by a process that is gone: fd %+v", ev.FD)
	}
}

// Refreshes are budgeted: a storm of renames over one protected name
// waits as one pending name and is looked at once the budget allows.
func TestProtectRefreshBudget(t *testing.T) {
	dir, p, proc := protectRoot(t)
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	keep := t.TempDir() // every file stays alive: no inode number is reused
	for i := range refreshBurst + 50 {
		write(t, dir, "/tmp/n", string(rune('a'+i%26)))
		if err := os.Link(filepath.Join(dir, "tmp/n"), filepath.Join(keep, strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		os.Rename(filepath.Join(dir, "tmp/n"), filepath.Join(dir, "usr/bin/victim"))
		p.Note("c1", call(proc, "rename", "oldpath", "/tmp/n", "newpath", "/usr/bin/victim"))
	}
	if len(p.pending) != 1 {
		t.Fatalf("%d pending names after a storm over one name, want 1", len(p.pending))
	}
	if got := identityOf(t, p, dir, "/usr/bin/victim"); got != "" {
		t.Fatalf("refreshed past the budget: %q", got)
	}
	now = now.Add(time.Second)
	p.Note("c1", call(proc, "getpid"))
	if len(p.pending) != 0 {
		t.Errorf("%d pending after a second", len(p.pending))
	}
	if got := identityOf(t, p, dir, "/usr/bin/victim"); got != "/usr/bin/victim" {
		t.Errorf("after the budget refilled, /usr/bin/victim identifies as %q", got)
	}
	if n := len(p.byInode); n > 3 {
		t.Errorf("%d identities after the storm, want at most 3 (the storm's old inodes forgotten)", n)
	}
}

// BenchmarkProtectNote is what following the protected names adds to an
// event the live source emits: one of another type (a read), an open that
// creates nothing, a rename of unprotected names (no look), and a rename
// over a protected name, which looks at it again.
func BenchmarkProtectNote(b *testing.B) {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/shadow"), []byte("x"), 0o600)
	p := newProtector(ProtectedNames{Files: []string{"/etc/shadow", "/etc/passwd"}, Dirs: []string{"/usr/bin", "/bin"}}, nil, nil)
	p.rootPath = func(string, int64) string { return dir }
	proc := &event.Process{PID: 2, Container: &event.Container{ID: "c1"}}
	p.scanContainer("c1", proc, false)
	open := call(proc, "openat", "flags", "O_RDONLY")
	open.Args[0].HasInt = true
	open.FD = &event.FD{Num: 3, Type: event.FDFile, Name: "/etc/hosts", Dev: 1, Ino: 99}
	for _, c := range []struct {
		name string
		ev   *event.Event
	}{
		{"other", call(proc, "read", "fd", "3")},
		{"open", open},
		{"rename-unprotected", call(proc, "renameat2", "oldpath", "/tmp/a", "newpath", "/tmp/b")},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p.Note("c1", c.ev)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
		})
	}
	b.Run("protected-rename", func(b *testing.B) {
		p.now = func() time.Time { return time.Unix(0, 0) }
		ev := call(proc, "rename", "oldpath", "/tmp/n", "newpath", "/etc/shadow")
		for b.Loop() {
			p.tokens = refreshBurst // every rename is looked at
			p.Note("c1", ev)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	})
}

// The runtime's init is in the host's root until its pivot_root: its
// records try to find the container's root, then slow down, and its exec
// of the entrypoint (after the pivot) tries again at once.
func TestProtectScanPacing(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	write(t, dir, "/etc/shadow", "x")
	p := newProtector(ProtectedNames{Files: []string{"/etc/shadow"}}, nil, nil)
	pivoted := false
	tries := 0
	p.rootPath = func(root string, pid int64) string {
		tries++
		if pivoted {
			return dir
		}
		return "/"
	}
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	init := &event.Process{PID: 9, Container: &event.Container{ID: "c1"}}
	for range 1000 {
		if done, _ := p.scanContainer("c1", init, false); done {
			t.Fatal("scanned the host's root as the container's")
		}
	}
	if tries != eagerScanAttempts {
		t.Errorf("%d tries for 1000 records of one process in the host's root, want %d", tries, eagerScanAttempts)
	}
	pivoted = true
	if done, fresh := p.scanContainer("c1", init, true); !done || !fresh {
		t.Errorf("the exec after the pivot did not scan: %v %v", done, fresh)
	}
	if got := identityOf(t, p, dir, "/etc/shadow"); got != "/etc/shadow" {
		t.Errorf("/etc/shadow identifies as %q", got)
	}
}
