package testutil

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartPodmanService needs podman and root, starts `podman system service`
// (podman's Docker-compatible and libpod API) on a socket in a temporary
// directory, and returns its address (unix://...). The service is killed
// when the test ends.
func StartPodmanService(t testing.TB) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
	StartPodmanServiceAt(t, sock)
	return "unix://" + sock
}

// StartPodmanServiceAt starts `podman system service` on the socket sock
// (removing what a killed service left there) and returns it once the
// socket is there; it is killed when the test ends.
func StartPodmanServiceAt(t testing.TB, sock string) *exec.Cmd {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, "podman")
	os.Remove(sock)
	svc := Podman("system", "service", "--time=0", "unix://"+sock)
	log := &SyncBuffer{}
	svc.Stdout, svc.Stderr = log, log
	if err := svc.Start(); err != nil {
		t.Fatalf("podman system service: %v", err)
	}
	t.Cleanup(func() {
		svc.Process.Signal(syscall.SIGCONT) // a test may have stopped it
		svc.Process.Kill()
		svc.Wait()
	})
	// The socket appears before the service answers: its first request
	// sets up podman's storage, which takes seconds on a loaded machine.
	// Callers get a service that has answered /info once.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	defer client.CloseIdleConnections()
	var last error
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			resp, err := client.Get("http://podman/v1.41/info")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return svc
				}
				err = fmt.Errorf("/info: %s", resp.Status)
			}
			last = err
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("podman's service never answered on %s (%v): %s", sock, last, log.String())
		}
	}
}

// Podman is exec.Command("podman", args...) without CONTAINER_HOST in its
// environment: tests set it to point watch at a podman service, and
// podman itself would take it as an order to run as that service's
// remote client.
func Podman(args ...string) *exec.Cmd {
	cmd := exec.Command("podman", args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTAINER_HOST=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// PodmanRunFlags are the flags `podman run` needs here: root without
// CAP_SYS_RESOURCE cannot raise its limits, and without a network podman
// would set up its own bridge beside Docker's.
var PodmanRunFlags = []string{"--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
