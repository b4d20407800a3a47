//go:build linux && amd64

package ebpf

import (
	"context"
	"fmt"
	"net"
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

// uringTool builds the static io_uring test program and starts a capture
// of syscalls, failing in strict mode without the io_uring tracepoint.
func uringTool(t *testing.T, opts Options) (string, *capture) {
	t.Helper()
	testutil.RequireBPF(t)
	bin := testutil.BuildStatic(t, "./internal/kernel/ebpf/testdata/uringopen", filepath.Join(t.TempDir(), "uringopen"))
	c := startCapture(t, opts)
	testutil.RequireFeature(t, c.s.IOUring(), "the io_uring:io_uring_complete tracepoint")
	return bin, c
}

// runURing runs the io_uring test program with extra open files (fd 3 on).
func runURing(t *testing.T, bin string, files []*os.File, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = files
	if out, err := cmd.CombinedOutput(); err != nil {
		testutil.RequireFeature(t, !strings.Contains(string(out), "io_uring_setup"), "io_uring enabled (%s)", out)
		t.Fatalf("uringopen %v: %v\n%s", args, err, out)
	}
}

// An open into a direct descriptor (a slot of the ring's fixed-file table,
// in no fd table) is described like any open: path and identity.
func TestIOUringFixedFileOpen(t *testing.T) {
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, c := uringTool(t, Options{Syscalls: []int{unix.SYS_OPENAT}})
	runURing(t, bin, nil, "-fixed", target)
	got := c.expect(t, 5*time.Second, []string{"io_uring fixed-file openat of " + target}, func(r *Record) bool {
		return isCall(r, "openat") && r.IOUring && r.Args[4] == 1
	})
	r := got[0]
	if r.Ret != 0 || r.RetPath != target {
		t.Errorf("fixed-file open: ret %d path %q, want 0 and %q", r.Ret, r.RetPath, target)
	}
	if want := statID(t, target); r.RetFile != want {
		t.Errorf("RetFile = %+v, want %+v", r.RetFile, want)
	}
}

// A connect through io_uring is a connect record with the socket's tuple
// and the address the request named.
func TestIOUringConnect(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	bin, c := uringTool(t, Options{Syscalls: []int{unix.SYS_OPENAT}})
	runURing(t, bin, nil, "-connect", ln.Addr().String())
	got := c.expect(t, 5*time.Second, []string{"io_uring connect to " + ln.Addr().String()}, func(r *Record) bool {
		return isCall(r, "connect") && r.IOUring
	})
	r := got[0]
	if r.Ret != 0 || r.Args[5] != 16 || int64(r.Args[0]) != -1 {
		t.Errorf("io_uring connect record: ret %d args %#x", r.Ret, r.Args)
	}
	if r.Sock == nil || r.Sock.DstPort != port || r.Sock.DstIP.String() != "127.0.0.1" {
		t.Errorf("tuple %+v, want a socket connected to 127.0.0.1:%d", r.Sock, port)
	}
	if r.Addr == nil || r.Addr.Port != port || r.Addr.IP.String() != "127.0.0.1" {
		t.Errorf("address %+v, want 127.0.0.1:%d", r.Addr, port)
	}
}

// Reads and writes through io_uring are recorded for protected inodes
// only: a write to an ordinary file costs no record, a write to a
// protected one (through a descriptor opened before, so no open names it)
// is a write record with the file's path and identity, a read likewise.
func TestIOUringReadWriteProtected(t *testing.T) {
	dir := t.TempDir()
	plain, guarded := filepath.Join(dir, "plain"), filepath.Join(dir, "guarded")
	for _, f := range []string{plain, guarded} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	open := func(path string) *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	pf, gf := open(plain), open(guarded)
	bin, c := uringTool(t, Options{Syscalls: []int{unix.SYS_OPENAT}})
	want := statID(t, guarded)
	if err := c.s.Protect(want); err != nil {
		t.Fatal(err)
	}
	runURing(t, bin, []*os.File{pf}, "-write", "3")
	runURing(t, bin, []*os.File{gf}, "-write", "3")
	rg, err := os.Open(guarded)
	if err != nil {
		t.Fatal(err)
	}
	defer rg.Close()
	runURing(t, bin, []*os.File{rg}, "-read", "3")
	got := c.expect(t, 5*time.Second, []string{"io_uring write of " + guarded, "io_uring read of " + guarded},
		func(r *Record) bool { return isCall(r, "write") && r.IOUring && r.Path[0] == guarded },
		func(r *Record) bool { return isCall(r, "read") && r.IOUring && r.Path[0] == guarded })
	want.Nlink = 1
	for _, r := range got {
		if r.File != want || int64(r.Args[0]) != -1 || r.Ret <= 0 {
			t.Errorf("%s record: file %+v (want %+v), ret %d, args %#x", name(r), r.File, want, r.Ret, r.Args)
		}
	}
	if r := got[0]; r.Ret != 2 || r.Args[5] != 23 {
		t.Errorf("write record: ret %d opcode %d, want 2 and IORING_OP_WRITE (23)", r.Ret, r.Args[5])
	}
	for _, r := range c.seen {
		if r.IOUring && r.Path[0] == plain {
			t.Errorf("an io_uring %s of the unprotected %s was recorded", name(r), plain)
		}
	}
}

// An open that asks for no completion on success (IOSQE_CQE_SKIP_SUCCESS),
// into a direct descriptor and linked to a read through it, posts no
// completion: it is recorded at its submission, with the path the kernel
// copied.
func TestIOUringSkipSuccessOpen(t *testing.T) {
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, c := uringTool(t, Options{Syscalls: []int{unix.SYS_OPENAT}})
	runURing(t, bin, nil, "-fixed-skip", target)
	got := c.expect(t, 5*time.Second, []string{"io_uring openat of " + target + " at submission"}, func(r *Record) bool {
		return isCall(r, "openat") && r.IOUring && r.IOUringSubmit && r.Str[1] == target
	})
	r := got[0]
	if r.Path[1] != target || r.Ret != 0 || r.Args[4] != 1 || r.Args[5] != 18 || r.RetPath != "" {
		t.Errorf("submitted open: path %q ret %d args %#x retpath %q", r.Path[1], r.Ret, r.Args, r.RetPath)
	}
	for _, r := range c.seen {
		if r.IOUring && !r.IOUringSubmit && r.RetPath == target {
			t.Logf("this kernel posted a completion for a CQE_SKIP_SUCCESS open too: %+v", r)
		}
	}
	// A relative path gets the directory it resolves against.
	cmd := exec.Command(bin, "-fixed-skip", "target")
	cmd.Dir = filepath.Dir(target)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("uringopen: %v\n%s", err, out)
	}
	c.expect(t, 5*time.Second, []string{"relative io_uring openat resolved to " + target}, func(r *Record) bool {
		return isCall(r, "openat") && r.IOUringSubmit && r.Str[1] == "target" && r.Path[1] == target
	})
}

// An accept through io_uring is an accept4 record with the listening
// socket's tuple and the new connection's.
func TestIOUringAccept(t *testing.T) {
	bin, c := uringTool(t, Options{Syscalls: []int{unix.SYS_OPENAT}})
	cmd := exec.Command(bin, "-accept")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var port int
	if _, err := fmt.Fscanf(out, "port %d\n", &port); err != nil {
		t.Fatalf("uringopen -accept printed no port: %v", err)
	}
	conn, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := uint16(conn.LocalAddr().(*net.TCPAddr).Port)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("uringopen -accept: %v", err)
	}
	got := c.expect(t, 5*time.Second, []string{fmt.Sprintf("io_uring accept on port %d", port)}, func(r *Record) bool {
		return isCall(r, "accept4") && r.IOUring && r.PID == uint32(cmd.Process.Pid)
	})
	r := got[0]
	if r.Ret < 0 || r.Args[5] != 13 || r.Args[4] != 0 {
		t.Errorf("io_uring accept record: ret %d args %#x", r.Ret, r.Args)
	}
	if r.Sock == nil || int(r.Sock.SrcPort) != port {
		t.Errorf("listening tuple %+v, want local port %d", r.Sock, port)
	}
	if r.RetSock == nil || int(r.RetSock.SrcPort) != port || r.RetSock.DstPort != client {
		t.Errorf("accepted tuple %+v, want 127.0.0.1:%d from port %d", r.RetSock, port, client)
	}
}
