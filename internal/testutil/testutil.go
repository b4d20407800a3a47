package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Strict reports whether missing requirements fail tests instead of skipping.
func Strict() bool { return os.Getenv("PALISADE_STRICT") == "1" }

// missing skips the test, or fails it in strict mode.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("PALISADE_STRICT=1 and requirement not met: "+format, args...)
		return
	}
	t.Skipf("requirement not met: "+format, args...)
}

// RequireRoot needs euid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "needs root (euid is %d)", os.Geteuid())
	}
}

// RequireBPF needs root and a kernel with BTF, as the eBPF source does.
func RequireBPF(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if runtime.GOOS != "linux" {
		missing(t, "eBPF needs linux, have %s", runtime.GOOS)
		return
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		missing(t, "eBPF needs kernel BTF: %v", err)
	}
}

var dockerOK = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run()
})

// RequireDocker needs a reachable Docker daemon and the docker CLI.
func RequireDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		missing(t, "needs the docker CLI: %v", err)
		return
	}
	if err := dockerOK(); err != nil {
		missing(t, "needs a running Docker daemon (docker info: %v)", err)
	}
}

// RequireTool needs an executable on PATH and returns its path.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "needs %s on PATH", name)
	}
	return p
}

// RequireFeature needs something of the host the test cannot set up itself
// (a kernel feature, an IPv6 loopback, a free privileged port): when ok is
// false it skips, or fails under strict mode, saying what is missing.
func RequireFeature(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		missing(t, format, args...)
	}
}

// Need is one thing a test needs installed: a command on PATH or, when Name
// is an absolute path, a file (a header); Package is the Debian package
// that provides it.
type Need struct{ Name, Package string }

// RequireInstalled checks every need at once, so one message names all that
// is missing and the Debian packages to install.
func RequireInstalled(t testing.TB, needs ...Need) {
	t.Helper()
	var names, pkgs []string
	for _, n := range needs {
		var err error
		if filepath.IsAbs(n.Name) {
			_, err = os.Stat(n.Name)
		} else {
			_, err = exec.LookPath(n.Name)
		}
		if err != nil {
			names = append(names, n.Name)
			if !slices.Contains(pkgs, n.Package) {
				pkgs = append(pkgs, n.Package)
			}
		}
	}
	if len(names) > 0 {
		missing(t, "needs %s (Debian: apt-get install %s)", strings.Join(names, ", "), strings.Join(pkgs, " "))
	}
}

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// FalcoRulesDir returns ../shared/falco-rules relative to the repository root,
// where Falco's published rule files are kept as test data.
func FalcoRulesDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "..", "shared", "falco-rules")
	if _, err := os.Stat(filepath.Join(d, "falco_rules.yaml")); err != nil {
		missing(t, "Falco's rule files not found at %s", d)
	}
	return d
}

// SyncBuffer is a bytes.Buffer that one goroutine may write (a command's
// stdout or stderr) while a test polls it from another.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
