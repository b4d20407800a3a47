package state

import (
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// fakeProc writes a minimal /proc/PID for a process with its own root.
func fakeProc(t testing.TB, root string, pid int, comm string, ppid int, passwd string) {
	d := filepath.Join(root, strconv.Itoa(pid))
	os.MkdirAll(filepath.Join(d, "root", "etc"), 0o755)
	os.WriteFile(filepath.Join(d, "stat"), []byte(strconv.Itoa(pid)+" ("+comm+") S "+strconv.Itoa(ppid)+" 1 1 0 -1 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"), 0o644)
	os.WriteFile(filepath.Join(d, "cmdline"), []byte(comm+"\x00--flag\x00"), 0o644)
	os.WriteFile(filepath.Join(d, "status"), []byte("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\t0000000000000400\nNSpid:\t"+strconv.Itoa(pid)+"\n"), 0o644)
	os.WriteFile(filepath.Join(d, "cgroup"), []byte("0::/user.slice\n"), 0o644)
	os.WriteFile(filepath.Join(d, "root", "etc", "passwd"), []byte(passwd), 0o644)
	os.WriteFile(filepath.Join(d, "root", "etc", "group"), []byte("root:x:0:\nweb:x:33:\n"), 0o644)
}

func nr(t testing.TB, name string) int {
	n, ok := syscalls.Number("x86_64", name)
	if !ok {
		t.Fatalf("no syscall %s", name)
	}
	return n
}

func TestTableLifecycle(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, "bash", 1, "root:x:0:0:root:/root:/bin/bash\nweb:x:33:33::/var/www:/bin/false\n")
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Hostname: "h"})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if p, ok := tab.Process(10); !ok || p.Name != "bash" || p.UserName != "root" || p.CapEffective != 0x400 || p.Cmdline() != "bash --flag" {
		t.Fatalf("bootstrap: %+v", p)
	}
	var e event.Event
	base := ebpf.Record{TID: 10, PID: 10, VTID: 10, VPID: 10, PPID: 1, Comm: "bash", LoginUID: 1000}
	// fork 11 from 10, then 11 execs cat with euid 33.
	r := base
	r.Kind, r.Fork = ebpf.KindFork, &ebpf.ForkInfo{TID: 11, PID: 11, VTID: 11, VPID: 11}
	if tab.Apply(ctx, &r, &e) {
		t.Fatal("fork must not be an event")
	}
	r = base
	r.Kind, r.PID, r.TID, r.PPID, r.Comm, r.EUID, r.EGID = ebpf.KindExec, 11, 11, 10, "cat", 33, 33
	r.Exec = &ebpf.ExecInfo{Filename: "/bin/cat", Argv: []string{"cat", "shadow"}, Exe: "/usr/bin/cat", TTY: "pts1"}
	r.Cwd = "/etc"
	tab.Apply(ctx, &r, &e)
	p, _ := tab.Process(11)
	if p.Name != "cat" || p.ExePath != "/usr/bin/cat" || p.Cmdline() != "cat shadow" || p.Parent == nil || p.Parent.Name != "bash" ||
		p.TTY != 136<<8|1 || p.UserName != "web" || p.GroupName != "web" || p.Cwd != "/etc/" {
		t.Fatalf("exec: %+v user %q", p, p.UserName)
	}
	// openat(AT_FDCWD, "shadow") = 3 resolved by the kernel to /etc/shadow.
	r = base
	r.Kind, r.PID, r.TID, r.EUID, r.EGID = ebpf.KindSyscall, 11, 11, 33, 33
	r.Nr, r.Ret = nr(t, "openat"), 3
	r.Args = [6]uint64{uint64(0xffffff9c), 0, 0x80000, 0}
	r.Str[1], r.Path[1], r.RetPath = "shadow", "/etc/shadow", "/etc/shadow"
	if !tab.Apply(ctx, &r, &e) {
		t.Fatal("openat is an event")
	}
	if e.Type.String() != "openat" || e.FD == nil || e.FD.Name != "/etc/shadow" || e.FD.NameRaw != "shadow" || e.FD.Num != 3 || e.Res != 3 {
		t.Fatalf("openat event: %+v fd %+v", e, e.FD)
	}
	if a, ok := e.ArgByName("flags"); !ok || a.Str != "O_RDONLY|O_CLOEXEC" {
		t.Errorf("flags arg %+v", a)
	}
	if a, ok := e.ArgByName("dirfd"); !ok || a.Int != -100 {
		t.Errorf("dirfd arg %+v", a)
	}
	// openat2 carries its flags in struct open_how.
	r2 := r
	r2.Nr, r2.Ret = nr(t, "openat2"), 4
	r2.Struct = []byte{0x41, 0, 0, 0, 0, 0, 0, 0, 0xa4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	r2.RetPath = "/etc/new"
	tab.Apply(ctx, &r2, &e)
	if a, ok := e.ArgByName("flags"); !ok || a.Str != "O_WRONLY|O_CREAT" || e.FD == nil || e.FD.Name != "/etc/new" {
		t.Errorf("openat2: flags %+v fd %+v", a, e.FD)
	}
	// dup2(3, 7) then close(3): fd 7 still names the file.
	r.Nr, r.Ret, r.Args = nr(t, "dup2"), 7, [6]uint64{3, 7}
	r.Str, r.Path, r.RetPath = [6]string{}, [6]string{}, ""
	tab.Apply(ctx, &r, &e)
	r.Nr, r.Ret, r.Args = nr(t, "close"), 0, [6]uint64{3}
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || e.FD.Name != "/etc/shadow" {
		t.Errorf("close event fd %+v", e.FD)
	}
	r.Nr, r.Ret, r.Args = nr(t, "fchmod"), 0, [6]uint64{7, 0o4755}
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || e.FD.Name != "/etc/shadow" {
		t.Errorf("fd 7 after dup2: %+v", e.FD)
	}
	if a, _ := e.ArgByName("mode"); a == nil || a.Str != "S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID" {
		t.Errorf("mode %+v", a)
	}
	// connect(5) to 127.0.0.1:8080 from 127.0.0.1:40000.
	r.Nr, r.Ret, r.Args = nr(t, "connect"), 0, [6]uint64{5}
	r.Sock = &ebpf.SockTuple{Family: 2, Type: 1, Proto: 6, SrcIP: netip.MustParseAddr("127.0.0.1"), SrcPort: 40000, DstIP: netip.MustParseAddr("127.0.0.1"), DstPort: 8080}
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || e.FD.Name != "127.0.0.1:40000->127.0.0.1:8080" || e.FD.SPort != 8080 || e.FD.L4Proto != "tcp" || e.FD.IsServer || !e.FD.Connected {
		t.Errorf("connect fd %+v", e.FD)
	}
	// A refused connect: the kernel's socket has lost the peer's port (and
	// its own address); the sockaddr the caller passed names it.
	r.Nr, r.Ret, r.Args = nr(t, "connect"), -111, [6]uint64{6}
	r.Sock = &ebpf.SockTuple{Family: 2, Type: 1, Proto: 6, SrcIP: netip.MustParseAddr("0.0.0.0"), DstIP: netip.MustParseAddr("203.0.113.9")}
	r.Addr = &ebpf.SockAddr{Family: 2, IP: netip.MustParseAddr("203.0.113.9"), Port: 4444}
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || e.FD.Name != "0.0.0.0:0->203.0.113.9:4444" || e.FD.SPort != 4444 || e.FD.Connected {
		t.Errorf("refused connect fd %+v", e.FD)
	}
	r.Addr = nil
	// accept4 on a server socket returns 9 with the client on the remote end.
	r.Nr, r.Ret, r.Sock = nr(t, "accept4"), 9, nil
	r.RetSock = &ebpf.SockTuple{Family: 2, Type: 1, Proto: 6, SrcIP: netip.MustParseAddr("10.0.0.1"), SrcPort: 80, DstIP: netip.MustParseAddr("10.0.0.2"), DstPort: 5555}
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || !e.FD.IsServer || e.FD.SIP.String() != "10.0.0.1" || e.FD.CPort != 5555 || e.FD.RemoteIP().String() != "10.0.0.2" {
		t.Errorf("accept fd %+v", e.FD)
	}
	// A failed open has fd.num -1 and the attempted path.
	r.Nr, r.Ret, r.RetSock = nr(t, "open"), -2, nil
	r.Args = [6]uint64{0, 0x241, 0o644}
	r.Str[0], r.Path[0] = "nope", "/etc/nope"
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || e.FD.Num != -1 || e.FD.Name != "/etc/nope" || !e.Failed() {
		t.Errorf("failed open: %+v %+v", e, e.FD)
	}
	// exit of the whole group is a procexit event, then the process is gone.
	r = base
	r.Kind, r.PID, r.TID = ebpf.KindExit, 11, 11
	r.Exit = &ebpf.ExitInfo{GroupDead: true}
	if !tab.Apply(ctx, &r, &e) || e.Type.String() != "procexit" || e.Proc.Name != "cat" {
		t.Fatalf("procexit: %+v", e)
	}
	r = base
	r.Kind, r.Nr, r.Ret = ebpf.KindSyscall, nr(t, "getppid"), 1
	tab.Apply(ctx, &r, &e)
	if _, ok := tab.Process(11); ok {
		t.Error("exited process still tracked")
	}
}

func TestTTYNumber(t *testing.T) {
	// The kernel names a pseudo-terminal's tty ptsN (tty_line_name); pts 0
	// is 34816 in /proc/PID/stat, as Falco's proc.tty gives it.
	for name, want := range map[string]int64{"": 0, "pts0": 34816, "pts3": 34819, "pts/3": 34819, "pts300": 136<<8 | 44 | 256<<12,
		"tty1": 1025, "ttyS0": 4<<8 | 64, "console": 1281, "weird": 1, "pts": 1, "ptsx": 1} {
		if got := ttyNumber(name); got != want {
			t.Errorf("ttyNumber(%q) = %d, want %d", name, got, want)
		}
	}
}

// A syscall record from another thread, or after setuid, updates the
// process's thread id and user.
func TestTableCredsFollowRecords(t *testing.T) {
	tab, _, ctx := appTable(t, "root:x:0:0:root:/root:/bin/bash\nweb:x:33:33::/var/www:/bin/false\n")
	var e event.Event
	r := ebpf.Record{Kind: ebpf.KindSyscall, TID: 10, PID: 10, Comm: "app", Nr: nr(t, "setuid"), Args: [6]uint64{33}, CapEffective: 0x400}
	tab.Apply(ctx, &r, &e)
	if e.Proc.UID != 0 || e.Proc.UserName != "root" {
		t.Fatalf("before setuid: uid %d user %q", e.Proc.UID, e.Proc.UserName)
	}
	r.Nr, r.TID, r.EUID, r.EGID, r.Args = nr(t, "close"), 12, 33, 33, [6]uint64{5}
	tab.Apply(ctx, &r, &e)
	if e.Proc.UID != 33 || e.Proc.UserName != "web" || e.Proc.TID != 12 || e.Proc.GroupName != "web" {
		t.Errorf("after setuid on thread 12: tid %d uid %d user %q group %q", e.Proc.TID, e.Proc.UID, e.Proc.UserName, e.Proc.GroupName)
	}
}

// With Options.Interested, events of other types keep their fd state but
// skip argument rendering; interesting ones list the new fd first.
func TestTableInterested(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, "app", 1, "root:x:0:0:root:/root:/bin/bash\n")
	openat := event.TypeOf("openat")
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Interested: func(ty event.Type) bool { return ty == openat }})
	ctx := context.Background()
	tab.Bootstrap(ctx)
	var e event.Event
	r := ebpf.Record{Kind: ebpf.KindSyscall, TID: 10, PID: 10, Comm: "app", Nr: nr(t, "openat"), Ret: 4,
		Args: [6]uint64{uint64(0xffffff9c), 0, 0}}
	r.Str[1], r.Path[1], r.RetPath = "/etc/passwd", "/etc/passwd", "/etc/passwd"
	tab.Apply(ctx, &r, &e)
	if len(e.Args) != 5 || e.Args[0].Name != "fd" || e.Args[0].Int != 4 || e.Args[1].Name != "dirfd" {
		t.Fatalf("openat args %+v", e.Args)
	}
	r = ebpf.Record{Kind: ebpf.KindSyscall, TID: 10, PID: 10, Comm: "app", Nr: nr(t, "dup2"), Ret: 9, Args: [6]uint64{4, 9}}
	if !tab.Apply(ctx, &r, &e) || len(e.Args) != 0 || e.FD == nil || e.FD.Name != "/etc/passwd" {
		t.Fatalf("dup2: args %+v fd %+v", e.Args, e.FD)
	}
	r.Nr, r.Ret, r.Args = nr(t, "close"), 0, [6]uint64{4}
	tab.Apply(ctx, &r, &e)
	r.Nr, r.Ret, r.Args = nr(t, "close"), 0, [6]uint64{9}
	tab.Apply(ctx, &r, &e)
	if e.FD == nil || e.FD.Name != "/etc/passwd" || len(e.Args) != 0 {
		t.Errorf("close of the dup: fd %+v args %+v", e.FD, e.Args)
	}
	if p, _ := tab.Process(10); p == nil {
		t.Fatal("process gone")
	}
}

// A closed FD is recycled for the next open only when no other process's
// table holds it: after a fork, the child's close and reopen must not
// rename the parent's descriptor.
func TestTableFDRecyclingAfterFork(t *testing.T) {
	tab, _, ctx := appTable(t, "root:x:0:0:root:/root:/bin/bash\n")
	var e event.Event
	open := func(pid uint32, fd int64, path string) {
		r := openRecord(t, pid, fd, path, 0)
		tab.Apply(ctx, &r, &e)
	}
	closeFD := func(pid uint32, fd int64) {
		r := ebpf.Record{Kind: ebpf.KindSyscall, TID: pid, PID: pid, Comm: "app", Nr: nr(t, "close"), Args: [6]uint64{uint64(fd)}}
		tab.Apply(ctx, &r, &e)
	}
	fdName := func(pid uint32, fd int64) string {
		r := ebpf.Record{Kind: ebpf.KindSyscall, TID: pid, PID: pid, Comm: "app", Nr: nr(t, "fchmod"), Args: [6]uint64{uint64(fd)}}
		tab.Apply(ctx, &r, &e)
		if e.FD == nil {
			return ""
		}
		return e.FD.Name
	}
	open(10, 3, "/a")
	r := ebpf.Record{Kind: ebpf.KindFork, TID: 10, PID: 10, Comm: "app", Fork: &ebpf.ForkInfo{TID: 11, PID: 11}}
	tab.Apply(ctx, &r, &e)
	closeFD(11, 3)
	open(11, 3, "/b")
	if got := fdName(10, 3); got != "/a" {
		t.Errorf("parent's fd 3 after the child's close and reopen: %q, want /a", got)
	}
	if got := fdName(11, 3); got != "/b" {
		t.Errorf("child's fd 3: %q, want /b", got)
	}
	// Unshared: closed, recycled, and the new open is right.
	open(10, 4, "/c")
	closeFD(10, 4)
	open(10, 5, "/d")
	if got := fdName(10, 5); got != "/d" {
		t.Errorf("fd 5 on a recycled FD: %q, want /d", got)
	}
	if got := fdName(10, 4); got != "" {
		t.Errorf("closed fd 4 still known as %q", got)
	}
}

// Minimal records (close, dup) carry no creds: they must not reset the
// process's user, but they do name the thread.
func TestTableMinimalRecordKeepsCreds(t *testing.T) {
	tab, root, ctx := appTable(t, "root:x:0:0:root:/root:/bin/bash\nweb:x:33:33::/var/www:/bin/false\n")
	var e event.Event
	r := ebpf.Record{Kind: ebpf.KindSyscall, TID: 10, PID: 10, Comm: "app", Nr: nr(t, "openat"), EUID: 33, EGID: 33}
	tab.Apply(ctx, &r, &e)
	r = ebpf.Record{Kind: ebpf.KindSyscall, TID: 13, PID: 10, Nr: nr(t, "close"), Args: [6]uint64{3}, Minimal: true}
	tab.Apply(ctx, &r, &e)
	if e.Proc.UID != 33 || e.Proc.UserName != "web" || e.Proc.TID != 13 || e.Proc.Name != "app" {
		t.Errorf("after a minimal record: uid %d user %q tid %d name %q", e.Proc.UID, e.Proc.UserName, e.Proc.TID, e.Proc.Name)
	}
	// A process first seen through a minimal record is read from /proc.
	fakeProc(t, root, 20, "late", 1, "root:x:0:0:root:/root:/bin/bash\n")
	r = ebpf.Record{Kind: ebpf.KindSyscall, TID: 20, PID: 20, Nr: nr(t, "close"), Minimal: true}
	tab.Apply(ctx, &r, &e)
	if e.Proc.Name != "late" || e.Proc.CapEffective != 0x400 || e.Proc.UserName != "root" {
		t.Errorf("new process from a minimal record: %+v", e.Proc)
	}
}

// With Options.Lazy, Bootstrap only counts processes; a process is read
// from /proc on its first record, with its ancestors linked.
func TestTableLazy(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 1, "init", 0, "root:x:0:0:root:/root:/bin/bash\n")
	fakeProc(t, root, 10, "bash", 1, "root:x:0:0:root:/root:/bin/bash\n")
	fakeProc(t, root, 12, "cat", 10, "root:x:0:0:root:/root:/bin/bash\n")
	fakeProc(t, root, 13, "idle", 1, "root:x:0:0:root:/root:/bin/bash\n")
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Lazy: true})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if tab.Running() != 4 || tab.Len() != 0 {
		t.Fatalf("lazy bootstrap: running %d, loaded %d; want 4, 0", tab.Running(), tab.Len())
	}
	var e event.Event
	r := ebpf.Record{Kind: ebpf.KindSyscall, TID: 12, PID: 12, PPID: 10, Comm: "cat", Nr: nr(t, "openat"), Ret: 3}
	r.Str[1], r.Path[1], r.RetPath = "/etc/shadow", "/etc/shadow", "/etc/shadow"
	tab.Apply(ctx, &r, &e)
	p := e.Proc
	if p.Name != "cat" || p.Parent == nil || p.Parent.Name != "bash" || p.Parent.Parent == nil || p.Parent.Parent.Name != "init" {
		t.Fatalf("lazy load of 12: %+v parent %+v", p, p.Parent)
	}
	if tab.Len() != 3 {
		t.Errorf("loaded %d processes, want 3 (cat and its ancestors, not idle)", tab.Len())
	}
}

// An exec closes the descriptors opened or marked close-on-exec, and only
// those; marking one in a child leaves the parent's alone.
func TestTableCloseOnExec(t *testing.T) {
	tab, ctx, e, apply, has := fdHarness(t)
	open := func(pid uint32, fd int64, path string, flags uint64) { apply(openRecord(t, pid, fd, path, flags)) }
	open(10, 5, "/cloexec", 0x80000)
	open(10, 6, "/inherited", 0)
	apply(ebpf.Record{PID: 10, Nr: nr(t, "socket"), Ret: 7, Args: [6]uint64{2, 1 | 0x80000}})
	apply(ebpf.Record{PID: 10, Nr: nr(t, "dup3"), Ret: 8, Args: [6]uint64{6, 8, 0x80000}})
	// fork 11; the child marks fd 6 close-on-exec with fcntl(F_SETFD).
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: 10, TID: 10, Comm: "app", Fork: &ebpf.ForkInfo{PID: 11, TID: 11}}, e)
	apply(ebpf.Record{PID: 11, Nr: nr(t, "fcntl"), Args: [6]uint64{6, 2, 1}, Minimal: true})
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 11, TID: 11, Comm: "x", Exec: &ebpf.ExecInfo{Filename: "/bin/x", Argv: []string{"x"}}}, e)
	for fd, want := range map[int64]bool{5: false, 6: false, 7: false, 8: false} {
		if got := has(11, fd); got != want {
			t.Errorf("child after exec: fd %d open %v, want %v", fd, got, want)
		}
	}
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 10, TID: 10, Comm: "y", Exec: &ebpf.ExecInfo{Filename: "/bin/y", Argv: []string{"y"}}}, e)
	for fd, want := range map[int64]bool{5: false, 6: true, 7: false, 8: false} {
		if got := has(10, fd); got != want {
			t.Errorf("parent after exec: fd %d open %v, want %v", fd, got, want)
		}
	}
}

// appTable is a table over a fake /proc holding one process, pid 10 "app",
// with the given /etc/passwd, bootstrapped.
func appTable(t testing.TB, passwd string) (*Table, string, context.Context) {
	t.Helper()
	root := t.TempDir()
	fakeProc(t, root, 10, "app", 1, passwd)
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64"})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	return tab, root, ctx
}

// openRecord is a successful openat(AT_FDCWD, path, flags) = fd by pid.
func openRecord(t *testing.T, pid uint32, fd int64, path string, flags uint64) ebpf.Record {
	r := ebpf.Record{Kind: ebpf.KindSyscall, TID: pid, PID: pid, Comm: "app", Nr: nr(t, "openat"), Ret: fd,
		Args: [6]uint64{uint64(0xffffff9c), 0, flags}}
	r.Str[1], r.Path[1], r.RetPath = path, path, path
	return r
}

// close_range closes a range of descriptors, or with CLOSE_RANGE_CLOEXEC
// marks them close-on-exec (in this table only: a forked parent keeps its
// own). A failed call changes nothing.
func TestTableCloseRange(t *testing.T) {
	tab, ctx, e, apply, has := fdHarness(t)
	for _, fd := range []int64{3, 4, 5, 9, 100} {
		apply(openRecord(t, 10, fd, "/f", 0))
	}
	closeRange := nr(t, "close_range")
	apply(ebpf.Record{PID: 10, Nr: closeRange, Ret: -22, Args: [6]uint64{3, 200}, Minimal: true}) // EINVAL: nothing
	apply(ebpf.Record{PID: 10, Nr: closeRange, Args: [6]uint64{4, 9}, Minimal: true})
	for fd, want := range map[int64]bool{3: true, 4: false, 5: false, 9: false, 100: true} {
		if got := has(10, fd); got != want {
			t.Errorf("after close_range(4, 9): fd %d open %v, want %v", fd, got, want)
		}
	}
	// The child marks everything from 3 up close-on-exec, then execs.
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: 10, TID: 10, Comm: "app", Fork: &ebpf.ForkInfo{PID: 11, TID: 11}}, e)
	apply(ebpf.Record{PID: 11, Nr: closeRange, Args: [6]uint64{3, 0xffffffff, closeRangeCloexec}, Minimal: true})
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 11, TID: 11, Comm: "x", Exec: &ebpf.ExecInfo{Filename: "/bin/x", Argv: []string{"x"}}}, e)
	for _, fd := range []int64{3, 100} {
		if has(11, fd) {
			t.Errorf("child after CLOSE_RANGE_CLOEXEC and exec: fd %d still open", fd)
		}
	}
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 10, TID: 10, Comm: "y", Exec: &ebpf.ExecInfo{Filename: "/bin/y", Argv: []string{"y"}}}, e)
	for _, fd := range []int64{3, 100} {
		if !has(10, fd) {
			t.Errorf("parent after its own exec: fd %d closed by the child's close_range", fd)
		}
	}
	// close_range(0, ~0U) closes everything.
	apply(ebpf.Record{PID: 10, Nr: closeRange, Args: [6]uint64{0, 0xffffffff}, Minimal: true})
	for _, fd := range []int64{3, 100} {
		if has(10, fd) {
			t.Errorf("after close_range(0, ~0U): fd %d open", fd)
		}
	}
}

// fdHarness is an appTable with helpers for fd-table tests: apply runs a
// syscall record of "app" (tid = pid unless set) into the shared event e,
// has says whether pid's table holds fd (an fchmod on it finds the file).
func fdHarness(t *testing.T) (tab *Table, ctx context.Context, e *event.Event, apply func(ebpf.Record), has func(uint32, int64) bool) {
	t.Helper()
	tab, _, ctx = appTable(t, "root:x:0:0:root:/root:/bin/bash\n")
	e = &event.Event{}
	apply = func(r ebpf.Record) {
		r.Kind, r.Comm = ebpf.KindSyscall, "app"
		if r.TID == 0 {
			r.TID = r.PID
		}
		tab.Apply(ctx, &r, e)
	}
	has = func(pid uint32, fd int64) bool {
		apply(ebpf.Record{PID: pid, Nr: nr(t, "fchmod"), Args: [6]uint64{uint64(fd)}})
		return e.FD != nil
	}
	return tab, ctx, e, apply, has
}

// Descriptors that are not files get their Falco type: both ends of a
// pipe and a socket pair, the anonymous-inode kinds from the kernel's name
// for them (or, without one, from the call that made them), a pipe reached
// by a path, and a dup of any of them.
func TestTableAnonDescriptors(t *testing.T) {
	_, _, e, apply, _ := fdHarness(t)
	fdOf := func(fd int64) *event.FD {
		t.Helper()
		apply(ebpf.Record{PID: 10, Nr: nr(t, "fchmod"), Args: [6]uint64{uint64(fd)}})
		return e.FD
	}
	pair := func(a, b int32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(a)), uint32(b))
	}
	r := ebpf.Record{PID: 10, Nr: nr(t, "pipe2"), Args: [6]uint64{0, 0x80000}, Struct: pair(3, 4)}
	r.PairPath = [2]string{"pipe:[777]", "pipe:[777]"}
	apply(r)
	if e.FD == nil || e.FD.Num != 3 || e.FD.Type != event.FDPipe || e.FD.Ino != 777 {
		t.Errorf("pipe2 event fd = %+v, want the read end, a pipe, inode 777", e.FD)
	}
	apply(ebpf.Record{PID: 10, Nr: nr(t, "pipe"), Ret: -24, Struct: pair(9, 9)}) // EMFILE: nothing made
	r = ebpf.Record{PID: 10, Nr: nr(t, "socketpair"), Args: [6]uint64{1, 1}, Struct: pair(5, 6)}
	r.PairSock = [2]*ebpf.SockTuple{{Family: 1, Type: 1}, {Family: 1, Type: 1}}
	apply(r)
	apply(ebpf.Record{PID: 10, Nr: nr(t, "socketpair"), Args: [6]uint64{1, 2}, Struct: pair(7, 8)}) // no tuples: from the arguments
	mk := func(call string, ret int64, name string, args ...uint64) {
		r := ebpf.Record{PID: 10, Nr: nr(t, call), Ret: ret, RetPath: name}
		copy(r.Args[:], args)
		apply(r)
	}
	mk("eventfd2", 10, "anon_inode:[eventfd]", 0, 0x80000)
	mk("epoll_create1", 11, "anon_inode:[eventpoll]", 0)
	mk("timerfd_create", 12, "", 1, 0) // an older kernel's record: typed by the call
	mk("signalfd4", 13, "anon_inode:[signalfd]", 0xffffffff, 0, 8, 0x80000)
	mk("signalfd4", 13, "anon_inode:[signalfd]", 13, 0, 8, 0) // a new mask: fd 13 keeps its flags
	mk("inotify_init1", 14, "anon_inode:inotify", 0x80000)
	mk("pidfd_open", 15, "anon_inode:[pidfd]")
	mk("userfaultfd", 16, "anon_inode:[userfaultfd]")
	mk("io_uring_setup", 17, "anon_inode:[io_uring]")
	mk("pidfd_getfd", 18, "/etc/hosts")
	r = ebpf.Record{PID: 10, Nr: nr(t, "pidfd_getfd"), Ret: 24, RetSock: &ebpf.SockTuple{Family: 2, Type: 1, Proto: 6}}
	apply(r)                  // another process's TCP socket
	mk("pidfd_getfd", 25, "") // the kernel said nothing: no entry
	// With IORING_SETUP_REGISTERED_FD_ONLY the result (here 3) is a ring
	// index: fd 3, the pipe, stays what it is.
	r = ebpf.Record{PID: 10, Nr: nr(t, "io_uring_setup"), Ret: 3, RetPath: "pipe:[777]", Struct: make([]byte, 12)}
	binary.LittleEndian.PutUint32(r.Struct[8:], 1<<15)
	apply(r)
	apply(openRecord(t, 10, 19, "pipe:[777]", 0)) // open("/proc/self/fd/3")
	mk("memfd_create", 20, "/memfd:x", 0, 0)
	apply(ebpf.Record{PID: 10, Nr: nr(t, "dup"), Args: [6]uint64{10}, Ret: 21, Minimal: true})
	apply(ebpf.Record{PID: 10, Nr: nr(t, "eventfd"), Ret: -24})
	mk("bpf", 22, "", 0)  // BPF_MAP_CREATE
	mk("bpf", 0, "", 2)   // BPF_MAP_UPDATE_ELEM returns 0, not a descriptor
	mk("bpf", 23, "", 28) // BPF_LINK_CREATE

	for _, w := range []struct {
		fd      int64
		typ     event.FDType
		name    string
		cloexec bool
	}{
		{3, event.FDPipe, "pipe:[777]", true}, {4, event.FDPipe, "pipe:[777]", true},
		{5, event.FDUnix, "", false}, {6, event.FDUnix, "", false}, {7, event.FDUnix, "", false}, {8, event.FDUnix, "", false},
		{10, event.FDEvent, "anon_inode:[eventfd]", true}, {11, event.FDEventPoll, "anon_inode:[eventpoll]", false},
		{12, event.FDTimerfd, "", false}, {13, event.FDSignalfd, "anon_inode:[signalfd]", true},
		{14, event.FDInotify, "anon_inode:inotify", true}, {15, event.FDPidfd, "anon_inode:[pidfd]", true},
		{16, event.FDUserfaultfd, "anon_inode:[userfaultfd]", false}, {17, event.FDIOUring, "anon_inode:[io_uring]", true},
		{18, event.FDFile, "/etc/hosts", true}, {19, event.FDPipe, "pipe:[777]", false},
		{20, event.FDMemfd, "", false}, {21, event.FDEvent, "anon_inode:[eventfd]", false},
		{22, event.FDBPF, "anon_inode:bpf-map", true}, {23, event.FDBPF, "anon_inode:bpf_link", true},
		{24, event.FDIPv4, "", true},
	} {
		fd := fdOf(w.fd)
		if fd == nil {
			t.Errorf("fd %d: not in the table", w.fd)
			continue
		}
		if fd.Type != w.typ || (w.name != "" && fd.Name != w.name) || fd.CloseOnExec != w.cloexec {
			t.Errorf("fd %d: type %s name %q cloexec %v; want %s %q %v", w.fd, fd.Type, fd.Name, fd.CloseOnExec, w.typ, w.name, w.cloexec)
		}
	}
	if fdOf(9) != nil {
		t.Error("a failed pipe added fd 9")
	}
	if fd := fdOf(25); fd != nil {
		t.Errorf("pidfd_getfd with nothing known made fd 25 %+v", fd)
	}
	if fd := fdOf(3); fd == nil || fd.Type != event.FDPipe || fd.Ino != 777 {
		t.Errorf("fd 3 after io_uring_setup(REGISTERED_FD_ONLY) = 3: %+v, want the pipe, inode 777", fd)
	}
	if fd := fdOf(19); fd == nil || fd.Ino != 777 {
		t.Errorf("pipe reopened through /proc: %+v, want inode 777", fd)
	}
	if fd := fdOf(0); fd != nil && fd.Type == event.FDBPF {
		t.Error("bpf(BPF_MAP_UPDATE_ELEM) = 0 made fd 0 a bpf descriptor")
	}
}

// A successful execve's event carries Falco's exit flags for the new image
// (evt.arg.flags: EXE_WRITABLE, EXE_FROM_MEMFD, ...), 0 when none applies.
func TestTableExecFlags(t *testing.T) {
	tab, _, ctx := appTable(t, "root:x:0:0:root:/root:/bin/bash\n")
	flags := func(x *ebpf.ExecInfo) string {
		t.Helper()
		var e event.Event
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 10, TID: 10, Comm: "x", Exec: x}, &e)
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Comm: "x", Nr: nr(t, "execve")}, &e)
		for _, a := range e.Args {
			if a.Name == "flags" {
				return a.Str
			}
		}
		return "<none>"
	}
	if got := flags(&ebpf.ExecInfo{Filename: "/bin/x", Argv: []string{"x"}, Exe: "/bin/x", Writable: true}); got != "EXE_WRITABLE" {
		t.Errorf("writable exe: flags %q", got)
	}
	if got := flags(&ebpf.ExecInfo{Filename: "/proc/self/fd/3", Argv: []string{"x"}, Exe: "/memfd:x (deleted)", Writable: true}); got != "EXE_WRITABLE|EXE_FROM_MEMFD" {
		t.Errorf("memfd exe: flags %q", got)
	}
	if got := flags(&ebpf.ExecInfo{Filename: "/bin/x", Argv: []string{"x"}, Exe: "/bin/x"}); got != "0" {
		t.Errorf("read-only exe: flags %q", got)
	}
	// A forked child runs the same image: the same flags.
	flags(&ebpf.ExecInfo{Filename: "/bin/x", Argv: []string{"x"}, Exe: "/bin/x", Writable: true})
	var e event.Event
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: 10, TID: 10, Comm: "x", Fork: &ebpf.ForkInfo{PID: 12, TID: 12}}, &e)
	if p, ok := tab.Process(12); !ok || !p.ExeWritable {
		t.Errorf("forked child: %+v, want is_exe_writable", p)
	}
}

// When a process exits, its children follow the reaper the kernel named
// (proc.ppid, proc.pname), as in Falco; a process without children is not
// searched for them.
func TestTableReparent(t *testing.T) {
	tab, _, ctx := appTable(t, "root:x:0:0:root:/root:/bin/bash\n")
	var e event.Event
	fork := func(parent, child uint32) {
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: parent, TID: parent, Comm: "app", Fork: &ebpf.ForkInfo{PID: child, TID: child}}, &e)
	}
	exec := func(pid uint32, name string) {
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: pid, TID: pid, PPID: 0, Comm: name,
			Exec: &ebpf.ExecInfo{Filename: "/bin/" + name, Argv: []string{name}, Exe: "/bin/" + name}}, &e)
	}
	fork(10, 11)
	exec(11, "sh")
	fork(11, 12)
	exec(12, "sleep")
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExit, PID: 11, TID: 11, Comm: "sh", Exit: &ebpf.ExitInfo{GroupDead: true, Reaper: 10}}, &e)
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindSyscall, PID: 12, TID: 12, Comm: "sleep", Nr: nr(t, "getppid"), Ret: 10}, &e)
	p, ok := tab.Process(12)
	if !ok || p.Parent == nil || p.Parent.Name != "app" || p.PPID != 10 {
		t.Fatalf("orphan after its parent's exit: %+v (parent %+v), want app (10)", p, p.Parent)
	}
	if _, ok := tab.Process(11); ok {
		t.Error("the exited parent is still tracked")
	}
}

// socket(2)'s type is a number (mount(2)'s is a string).
func TestTableSocketArgs(t *testing.T) {
	_, _, e, apply, _ := fdHarness(t)
	apply(ebpf.Record{PID: 10, Nr: nr(t, "socket"), Ret: 3, Args: [6]uint64{17, 2, 0}})
	got := map[string]string{}
	for _, a := range e.Args {
		got[a.Name] = a.Str
	}
	if got["domain"] != "AF_PACKET" || got["type"] != "2" || got["proto"] != "0" {
		t.Errorf("socket(AF_PACKET, SOCK_DGRAM, 0) args: %v", got)
	}
}

// user.loginname follows the record's login uid at once, and a login uid
// of 0 is root even without a passwd entry, as in Falco.
func TestTableLoginName(t *testing.T) {
	tab, _, ctx := appTable(t, "web:x:33:33::/var/www:/bin/false\n")
	var e event.Event
	apply := func(login uint32) string {
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Comm: "app", Nr: nr(t, "getppid"), LoginUID: login}, &e)
		p, _ := tab.Process(10)
		return p.LoginName
	}
	for _, c := range []struct {
		login uint32
		want  string
	}{{4294967295, ""}, {33, "web"}, {0, "root"}, {1234, ""}} {
		if got := apply(c.login); got != c.want {
			t.Errorf("login uid %d: name %q, want %q", c.login, got, c.want)
		}
	}
}

// clone3's flags come from its struct clone_args and render as clone's do;
// without the struct (the kernel could not copy it) there are none. The
// keyring calls show their operation and key type.
func TestTableClone3AndKeyringArgs(t *testing.T) {
	_, _, e, apply, _ := fdHarness(t)
	args := func() map[string]event.Arg {
		got := map[string]event.Arg{}
		for _, a := range e.Args {
			got[a.Name] = a
		}
		return got
	}
	const newUserNS = 0x10000000 | 0x20000 | 0x100 // CLONE_NEWUSER|CLONE_NEWNS|CLONE_VM
	apply(ebpf.Record{PID: 10, Nr: nr(t, "clone"), Ret: 11, Args: [6]uint64{newUserNS}})
	want := args()["flags"]
	cargs := binary.LittleEndian.AppendUint64(nil, newUserNS)
	cargs = binary.LittleEndian.AppendUint64(cargs, 0) // pidfd
	cargs = append(cargs, make([]byte, 48)...)
	apply(ebpf.Record{PID: 10, Nr: nr(t, "clone3"), Ret: 12, Args: [6]uint64{0x7ffd0000, 88}, Struct: cargs})
	got := args()["flags"]
	if want.Str != "CLONE_NEWUSER|CLONE_NEWNS|CLONE_VM" && want.Str != "CLONE_NEWNS|CLONE_NEWUSER|CLONE_VM" {
		t.Fatalf("clone flags render as %q", want.Str)
	}
	if got.Str != want.Str || got.Int != newUserNS || !got.HasInt {
		t.Errorf("clone3 flags %+v, want %+v", got, want)
	}
	apply(ebpf.Record{PID: 10, Nr: nr(t, "clone3"), Ret: -14, Args: [6]uint64{0, 88}})
	if a, ok := args()["flags"]; ok {
		t.Errorf("clone3 without clone_args: flags %+v", a)
	}

	apply(ebpf.Record{PID: 10, Nr: nr(t, "keyctl"), Ret: 5, Args: [6]uint64{1}})
	if a := args()["operation"]; a.Str != "KEYCTL_JOIN_SESSION_KEYRING" || a.Int != 1 {
		t.Errorf("keyctl(1) operation %+v", a)
	}
	apply(ebpf.Record{PID: 10, Nr: nr(t, "keyctl"), Ret: -22, Args: [6]uint64{999}})
	if a := args()["operation"]; a.Str != "999" {
		t.Errorf("keyctl(999) operation %+v", a)
	}
	r := ebpf.Record{PID: 10, Nr: nr(t, "add_key"), Ret: 123, Args: [6]uint64{1, 2, 3, 16, 0xfffffffd}}
	r.Str[0], r.Str[1] = "user", "exploit:1"
	apply(r)
	if a := args(); a["type"].Str != "user" || a["description"].Str != "exploit:1" || a["plen"].Int != 16 {
		t.Errorf("add_key args %+v", a)
	}
}

// A capability check is a cap_capable event of its process: the
// capability by name and number, evt.res its result; a check made with
// other credentials (overlayfs, access(2)) is no event.
func TestTableCapCheck(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, "app", 1, "root:x:0:0:root:/root:/bin/bash\n")
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64"})
	ctx := context.Background()
	tab.Bootstrap(ctx)
	var e event.Event
	r := ebpf.Record{Kind: ebpf.KindCap, TID: 10, PID: 10, Comm: "app", Cap: &ebpf.CapInfo{Cap: 13, Granted: true}}
	if !tab.Apply(ctx, &r, &e) || e.Type.String() != "cap_capable" || e.Proc == nil || e.Proc.PID != 10 || !e.HasRes || e.Res != 0 {
		t.Fatalf("granted check: %+v", e)
	}
	if a, ok := e.ArgByName("cap"); !ok || a.Str != "CAP_NET_RAW" || a.Int != 13 || !a.HasInt {
		t.Errorf("cap arg %+v", e.Args)
	}
	r.Cap = &ebpf.CapInfo{Cap: 0, Ret: -1}
	if !tab.Apply(ctx, &r, &e) || e.Res != -1 || e.Args[0].Str != "CAP_CHOWN" {
		t.Errorf("denied check: %+v", e)
	}
	r.Cap = &ebpf.CapInfo{Cap: 63, Granted: true}
	if !tab.Apply(ctx, &r, &e) || e.Args[0].Str != "CAP_63" {
		t.Errorf("unknown capability: %+v", e.Args)
	}
	r.Cap = &ebpf.CapInfo{Cap: 21, Granted: true, Override: true}
	if tab.Apply(ctx, &r, &e) {
		t.Errorf("a check on other credentials made an event: %+v", e)
	}
}

// io_uring records describe their file themselves: an open into a direct
// descriptor names its slot (fd.num) and leaves the process's fd table
// alone (its result, 0, is no fd), a connect's fd number is unknown (-1)
// and changes no entry, and a read or write of a protected inode gets its
// path and identity from the record.
func TestTableIOUring(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 10, "app", 1, "root:x:0:0:root:/root:/bin/bash\n")
	names := map[uint64]string{5: "/etc/shadow", 9: "/usr/bin/victim"}
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Identify: func(dev uint32, ino uint64) string {
		if dev != 7 {
			return ""
		}
		return names[ino]
	}})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	e := &event.Event{}
	apply := func(r ebpf.Record) {
		r.Kind, r.Comm, r.TID, r.PID = ebpf.KindSyscall, "app", 10, 10
		tab.Apply(ctx, &r, e)
	}
	fdName := func(fd int64) string {
		apply(ebpf.Record{Nr: nr(t, "fchmod"), Args: [6]uint64{uint64(fd)}})
		if e.FD == nil {
			return ""
		}
		return e.FD.Name
	}
	apply(openRecord(t, 10, 0, "/in", 0))
	for _, c := range []struct {
		fileIndex uint64
		ret       int64
		slot      int64
	}{{3, 0, 2}, {0xffffffff, 5, 5}} {
		r := ebpf.Record{Nr: nr(t, "openat"), Ret: c.ret, IOUring: true, Args: [6]uint64{uint64(0xffffff9c), 0, 0, 0, c.fileIndex, 18},
			RetPath: "/etc/shadow", RetFile: ebpf.FileID{Ino: 5, Dev: 7, Nlink: 1}}
		apply(r)
		if !e.IOUring || e.FD == nil || e.FD.Name != "/etc/shadow" || e.FD.Identity != "/etc/shadow" || e.FD.Num != c.slot {
			t.Errorf("fixed-file open (file_index %#x, res %d): io_uring %v fd %+v, want /etc/shadow in slot %d", c.fileIndex, c.ret, e.IOUring, e.FD, c.slot)
		}
	}
	// Opens recorded at submission (IOSQE_CQE_SKIP_SUCCESS): not open yet,
	// named by the path they asked for; a fixed slot is known, an fd or
	// an allocated slot is not.
	for _, c := range []struct {
		fileIndex uint64
		slot      int64
	}{{0, -1}, {1, 0}, {0xffffffff, -1}} {
		r := ebpf.Record{Nr: nr(t, "openat"), IOUring: true, IOUringSubmit: true, Args: [6]uint64{uint64(0xffffff9c), 0, 0, 0, c.fileIndex, 18}}
		r.Str[1], r.Path[1] = "/etc/shadow", "/etc/shadow"
		apply(r)
		if e.FD == nil || e.FD.Name != "/etc/shadow" || e.FD.Num != c.slot || e.FD.Type != event.FDFile {
			t.Errorf("open at submission (file_index %#x): fd %+v, want file /etc/shadow numbered %d", c.fileIndex, e.FD, c.slot)
		}
	}
	if got := fdName(0); got != "/in" {
		t.Errorf("fd 0 after fixed-file opens = %q, want /in (a slot is no fd)", got)
	}
	if got := fdName(5); got != "" {
		t.Errorf("fd 5 after an open into allocated slot 5 = %q, want none", got)
	}

	dst := &ebpf.SockTuple{Family: 2, Type: 1, Proto: 6, SrcIP: netip.MustParseAddr("10.0.0.1"), SrcPort: 4000,
		DstIP: netip.MustParseAddr("10.0.0.2"), DstPort: 80}
	apply(ebpf.Record{Nr: nr(t, "connect"), IOUring: true, Args: [6]uint64{^uint64(0), 0, 16, 0, 0, 16}, Sock: dst})
	if e.FD == nil || e.FD.SIP.String() != "10.0.0.2" || e.FD.SPort != 80 || e.FD.Num != -1 {
		t.Errorf("io_uring connect: fd %+v, want -1 connected to 10.0.0.2:80", e.FD)
	}
	if got := fdName(-1); got != "" {
		t.Errorf("fd -1 after an io_uring connect = %q, want none", got)
	}

	apply(ebpf.Record{Nr: nr(t, "write"), Ret: 2, IOUring: true, Args: [6]uint64{^uint64(0), 0, 0, 0, 1, 23},
		Path: [6]string{"/tmp/v"}, File: ebpf.FileID{Ino: 9, Dev: 7, Nlink: 2}})
	if e.Type.String() != "write" || e.FD == nil || e.FD.Name != "/tmp/v" || e.FD.Identity != "/usr/bin/victim" || e.FD.Nlink != 2 || e.FD.Num != -1 {
		t.Errorf("io_uring write: type %s fd %+v, want /tmp/v identified as /usr/bin/victim", e.Type, e.FD)
	}
	apply(ebpf.Record{Nr: nr(t, "read"), Ret: 2, IOUring: true, Args: [6]uint64{^uint64(0), 0, 0, 0, 0, 22}})
	if e.FD != nil {
		t.Errorf("io_uring read without a described file: fd %+v, want none", e.FD)
	}
}
