//go:build linux && amd64

package ebpf

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// statID is what the kernel should report as the identity of path.
func statID(t *testing.T, path string) FileID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return FileID{Ino: st.Ino, Dev: KernelDev(st.Dev), Nlink: uint32(st.Nlink)}
}

func TestKernelDev(t *testing.T) {
	for _, c := range []struct {
		major, minor uint32
	}{{0, 0}, {8, 1}, {259, 3}, {0, 300}, {4095, 1 << 19}} {
		if got, want := KernelDev(unix.Mkdev(c.major, c.minor)), c.major<<20|c.minor; got != want {
			t.Errorf("KernelDev(%d:%d) = %#x, want %#x", c.major, c.minor, got, want)
		}
	}
}

// An open through a hard link reports the inode of the file it names,
// with its link count: the same identity as the original name's.
func TestOpenIdentityThroughHardLink(t *testing.T) {
	dir := t.TempDir()
	orig, link := filepath.Join(dir, "secret"), filepath.Join(dir, "innocent")
	if err := os.WriteFile(orig, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(orig, link); err != nil {
		t.Fatal(err)
	}
	want := statID(t, orig)
	c := startCapture(t, Options{Syscalls: []int{unix.SYS_OPENAT}})
	run(t, "cat", link)
	got := c.expect(t, 5*time.Second, []string{"openat of the link"}, func(r *Record) bool {
		return isCall(r, "openat") && r.RetPath == link
	})
	if got[0].RetFile != want || want.Nlink != 2 {
		t.Errorf("RetFile = %+v, want %+v (nlink 2)", got[0].RetFile, want)
	}
}

// An open made through io_uring (no open syscall) is recorded as openat
// with the opened file's path and identity.
func TestIOUringOpen(t *testing.T) {
	testutil.RequireBPF(t)
	bin := testutil.BuildStatic(t, "./internal/kernel/ebpf/testdata/uringopen", filepath.Join(t.TempDir(), "uringopen"))
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startCapture(t, Options{Syscalls: []int{unix.SYS_OPENAT, unix.SYS_IO_URING_SETUP}})
	testutil.RequireFeature(t, c.s.IOUring(), "the io_uring:io_uring_complete tracepoint")
	out, err := exec.Command(bin, target).CombinedOutput()
	if err != nil {
		testutil.RequireFeature(t, !strings.Contains(string(out), "io_uring_setup"), "io_uring enabled (%s)", out)
		t.Fatalf("uringopen: %v\n%s", err, out)
	}
	got := c.expect(t, 5*time.Second, []string{"io_uring openat of " + target}, func(r *Record) bool {
		return isCall(r, "openat") && r.IOUring && r.RetPath == target
	})
	r := got[0]
	if r.Ret < 0 || r.Args[0] != uint64(0xffffffffffffff9c) || r.Args[2]&unix.O_ACCMODE != unix.O_RDONLY || r.Args[5] != 18 {
		t.Errorf("io_uring open record: ret %d args %#x", r.Ret, r.Args)
	}
	if want := statID(t, target); r.RetFile != want {
		t.Errorf("RetFile = %+v, want %+v", r.RetFile, want)
	}
	if r.PID == 0 || r.Comm == "" {
		t.Errorf("io_uring open record has no task: pid %d comm %q", r.PID, r.Comm)
	}
}

// Under pressure (more than ShedBytes unread) the shed class is dropped
// on purpose and counted apart, while an open of a protected inode, an
// open for writing and the syscalls outside the class are still written.
func TestShedKeepsWhatRulesNeed(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	plain, guarded, written := filepath.Join(dir, "plain"), filepath.Join(dir, "guarded"), filepath.Join(dir, "written")
	for _, f := range []string{plain, guarded, written} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(Options{Syscalls: []int{unix.SYS_GETPID, unix.SYS_OPENAT, unix.SYS_GETPPID},
		Shed: []int{unix.SYS_GETPID, unix.SYS_OPENAT}, RingBufferBytes: 1 << 16, ShedBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Protect(statID(t, guarded)); err != nil {
		t.Fatal(err)
	}
	// Nobody reads: the ring passes 4 KiB after a few dozen records.
	for range 2000 {
		unix.Getpid()
	}
	open := func(path string, flags int) {
		fd, err := unix.Open(path, flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	open(plain, unix.O_RDONLY)
	open(guarded, unix.O_RDONLY)
	open(written, unix.O_WRONLY)
	unix.Getppid()
	_, drops, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var shed uint64
	per, err := s.ShedCounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range per {
		shed += v
	}
	if shed < 1500 || drops != 0 {
		t.Errorf("shed %d, dropped %d after 2000 getpid over the mark; want most shed, none dropped", shed, drops)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	seen := map[string]bool{}
	for {
		r, err := s.Read(ctx)
		if err != nil {
			break
		}
		switch {
		case isCall(r, "openat") && r.RetPath != "":
			seen[r.RetPath] = true
		case isCall(r, "getppid"):
			seen["getppid"] = true
		}
	}
	for _, want := range []string{guarded, written, "getppid"} {
		if !seen[want] {
			t.Errorf("%s was shed or lost under pressure", want)
		}
	}
	if seen[plain] {
		t.Errorf("the read-only open of an unprotected file %s was kept under pressure", plain)
	}
}
