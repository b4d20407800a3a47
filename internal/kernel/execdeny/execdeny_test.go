//go:build linux && amd64

package execdeny

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/palisade-sec/palisade/internal/testutil"
	"golang.org/x/sys/unix"
)

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestDenyLive: a denied executable dies of SIGKILL before it runs (it
// would have written a file), under its name, a hard link and a new name;
// a copy of it (another inode) and other programs run; Allow lifts it.
func TestDenyLive(t *testing.T) {
	testutil.RequireBPF(t)
	l, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	sh := filepath.Join(dir, "busybox")
	copyFile(t, testutil.RequireTool(t, "busybox"), sh)
	denied := filepath.Join(dir, "denied")
	copyFile(t, sh, denied)
	id, err := l.Deny(denied)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	run := func(path string) error {
		// busybox runs the applet named by argv[0]: "touch MARKER".
		cmd := exec.Command(path, marker)
		cmd.Args[0] = "touch"
		return cmd.Run()
	}
	if err := run(denied); !killedBySIGKILL(err) {
		t.Fatalf("denied exec: %v, want killed by SIGKILL", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the denied program ran (it wrote its marker)")
	}
	link := filepath.Join(dir, "hardlink")
	if err := os.Link(denied, link); err != nil {
		t.Fatal(err)
	}
	if err := run(link); !killedBySIGKILL(err) {
		t.Errorf("hard link of a denied file: %v, want killed", err)
	}
	if err := run(sh); err != nil {
		t.Errorf("another inode of the same bytes: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the allowed copy did not run: %v", err)
	}
	k, err := l.ReadKill()
	if err != nil || k.File != id || k.PID == 0 {
		t.Errorf("kill note %+v, %v; want file %v", k, err, id)
	}
	c, err := l.Counts()
	if err != nil || c.Kills != 2 || c.Execs < 3 || c.Failures != 0 {
		t.Errorf("counts %+v, %v", c, err)
	}
	if err := l.Allow(id); err != nil {
		t.Fatal(err)
	}
	if err := run(denied); err != nil {
		t.Errorf("after Allow: %v", err)
	}
}

// TestDenyLatencyLive measures, over 200 execs each, the time from
// fork+exec to wait returning for a denied program and for the same
// program allowed, and the cost the loaded program adds to an exec.
func TestDenyLatencyLive(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "true")
	copyFile(t, testutil.RequireTool(t, "busybox"), prog)
	const n = 200
	measure := func() []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			cmd := exec.Command(prog)
			cmd.Args[0] = "true"
			start := time.Now()
			cmd.Run()
			d[i] = time.Since(start)
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d
	}
	before := measure()
	l, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The kernel's own accounting of the program's run time (bpf_stats).
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close()
	loaded := measure()
	st, err := l.objs.ExecDeny.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.RunCount < n {
		t.Errorf("program ran %d times for %d execs", st.RunCount, n)
	}
	if _, err := l.Deny(prog); err != nil {
		t.Fatal(err)
	}
	denied := measure()
	c, _ := l.Counts()
	if c.Kills != n {
		t.Errorf("%d kills, want %d", c.Kills, n)
	}
	p := func(d []time.Duration, q float64) time.Duration { return d[int(q*float64(len(d)-1))] }
	t.Logf("program run time per exec (not denied, bpf_stats): %d ns over %d runs", st.Runtime.Nanoseconds()/int64(max(st.RunCount, 1)), st.RunCount)
	t.Logf("fork+exec+wait of busybox true, %d runs each: no program p50 %v p99 %v; program loaded, not denied p50 %v p99 %v; denied (SIGKILL at exec) p50 %v p99 %v",
		n, p(before, .5), p(before, .99), p(loaded, .5), p(loaded, .99), p(denied, .5), p(denied, .99))
}
