package confine

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
	"golang.org/x/sys/unix"
)

const childEnv = "PALISADE_CONFINE_TEST_PROBE"

// TestMain lets the test binary act as a probe child.
func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		if err := ProbeChild(name, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testProbeCommand(ctx context.Context, name string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	return cmd
}

// TestProbesAllowedWithoutFilter runs every probe as root with no seccomp
// filter: each must come back "allowed" with one of its expected errnos,
// which shows the arguments are rejected by the kernel before it does
// anything.
func TestProbesAllowedWithoutFilter(t *testing.T) {
	testutil.RequireRoot(t)
	mode, _ := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	testutil.RequireFeature(t, mode == 0, "a test process without a seccomp filter (mode is %d)", mode)
	all := []string{"sys_admin", "sys_ptrace", "sys_module", "sys_boot", "dac_read_search"}
	for _, r := range RunProbes(context.Background(), testProbeCommand, Env{Effective: all, Kernel: KernelRelease()}) {
		// A kernel built without modules or kexec answers ENOSYS itself.
		if r.Result == ResultENOSYS && (r.Syscall == "init_module" || r.Syscall == "kexec_load") {
			t.Logf("%s: not in this kernel", r.Syscall)
			continue
		}
		if r.Result != ResultAllowed || r.Note != "" {
			t.Errorf("%s: %+v, want allowed with an expected errno", r.Syscall, r)
		}
	}
}

func TestProbeChildUnknown(t *testing.T) {
	o := RunProbe(context.Background(), testProbeCommand, "no_such_call")
	if !o.Failed || o.Killed {
		t.Fatalf("unknown probe: %+v", o)
	}
}

// TestProbeKilledBySIGSYS checks that a child dying of SIGSYS is reported
// as killed, not as an error.
func TestProbeKilledBySIGSYS(t *testing.T) {
	o := RunProbe(context.Background(), func(ctx context.Context, name string) *exec.Cmd {
		return exec.CommandContext(ctx, "/bin/sh", "-c", "kill -SYS $$")
	}, "mount")
	if !o.Killed {
		t.Fatalf("%+v, want killed", o)
	}
}

func TestOpenableForWriteAndSockets(t *testing.T) {
	dir := t.TempDir()
	f := dir + "/file"
	os.WriteFile(f, []byte("keep"), 0o644)
	got := OpenableForWrite([]string{f, dir + "/absent"})
	if len(got) != 1 || !got[0].Writable {
		t.Fatalf("%+v", got)
	}
	if b, _ := os.ReadFile(f); string(b) != "keep" {
		t.Fatalf("file changed: %q", b)
	}
	sock := dir + "/docker.sock"
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	dead := dir + "/dead.sock"
	fd2, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	unix.Bind(fd2, &unix.SockaddrUnix{Name: dead})
	unix.Close(fd2)
	cs := ReachSockets([]string{sock, dead, f, dir + "/absent"})
	if len(cs) != 2 || !cs[0].Connected || cs[1].Connected || cs[1].Error == "" {
		t.Fatalf("%+v", cs)
	}
	fs := SocketFindings(cs)
	if len(fs) != 1 || fs[0].Check != "runtime-socket-mount" {
		t.Fatalf("%+v", fs)
	}
}
