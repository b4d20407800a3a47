package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// StartPodmanService needs podman and root, starts `podman system service`
// (podman's Docker-compatible and libpod API) on a socket in a temporary
// directory, and returns its address (unix://...). The service is killed
// when the test ends.
func StartPodmanService(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, "podman")
	sock := filepath.Join(t.TempDir(), "podman.sock")
	svc := exec.Command("podman", "system", "service", "--time=0", "unix://"+sock)
	log := &SyncBuffer{}
	svc.Stdout, svc.Stderr = log, log
	if err := svc.Start(); err != nil {
		t.Fatalf("podman system service: %v", err)
	}
	t.Cleanup(func() { svc.Process.Kill(); svc.Wait() })
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return "unix://" + sock
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("podman's socket never appeared: %s", log.String())
		}
	}
}

// PodmanRunFlags are the flags `podman run` needs here: root without
// CAP_SYS_RESOURCE cannot raise its limits, and without a network podman
// would set up its own bridge beside Docker's.
var PodmanRunFlags = []string{"--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
