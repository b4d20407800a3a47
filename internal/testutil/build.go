package testutil

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// BuildStatic builds the main package pkg (a path relative to the
// repository root, such as "./cmd/palisade") with CGO_ENABLED=0 to the
// file out, and returns out.
func BuildStatic(t testing.TB, pkg, out string) string {
	t.Helper()
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir, build.Env = RepoRoot(t), append(os.Environ(), "CGO_ENABLED=0")
	if o, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, o)
	}
	return out
}

// StartWatch starts the palisade binary bin as `watch args...`, with its
// stdout to stdout (nil: discarded), and waits until it reports it is
// watching. Its stderr is returned; the process is killed when the test
// ends, if it still runs.
func StartWatch(t testing.TB, bin string, stdout io.Writer, args ...string) (*exec.Cmd, *SyncBuffer) {
	t.Helper()
	stderr := &SyncBuffer{}
	cmd := exec.Command(bin, append([]string{"watch"}, args...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if stdout == nil {
		cmd.Stdout = io.Discard
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	for start := time.Now(); !strings.Contains(stderr.String(), "watching:"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("watch not ready: %s", stderr.String())
		}
	}
	return cmd, stderr
}
