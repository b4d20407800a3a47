package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Containerd is a containerd the test started: its own root, state and
// socket, the CRI plugin off (no network is touched).
type Containerd struct {
	Socket string
	t      testing.TB
}

// StartContainerd needs root, containerd and ctr, and starts a containerd
// of the test's own, stopped (with its containers) when the test ends.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, "containerd")
	RequireTool(t, "ctr")
	// Socket paths are limited to 108 bytes: a short directory.
	dir, err := os.MkdirTemp("", "ctrd")
	if err != nil {
		t.Fatal(err)
	}
	c := &Containerd{Socket: filepath.Join(dir, "c.sock"), t: t}
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Socket, c.Socket+".ttrpc")), 0o600)
	log := &SyncBuffer{}
	cmd := exec.Command("containerd", "--config", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("containerd: %v", err)
	}
	t.Cleanup(func() {
		// Containers first: their shims outlive containerd otherwise.
		for _, ns := range strings.Fields(c.output("namespaces", "ls", "-q")) {
			for _, id := range strings.Fields(c.output("-n", ns, "containers", "ls", "-q")) {
				c.output("-n", ns, "tasks", "kill", "-s", "KILL", id)
				time.Sleep(100 * time.Millisecond)
				c.output("-n", ns, "tasks", "delete", "-f", id)
				c.output("-n", ns, "containers", "delete", id)
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		exec.Command("umount", "-R", filepath.Join(dir, "state")).Run()
		os.RemoveAll(dir)
	})
	for start := time.Now(); exec.Command("ctr", "-a", c.Socket, "version").Run() != nil; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("containerd not ready: %s", log.String())
		}
	}
	return c
}

// Ctr runs ctr against this containerd and fails the test on an error.
func (c *Containerd) Ctr(args ...string) string {
	c.t.Helper()
	out, err := exec.Command("ctr", append([]string{"-a", c.Socket}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (c *Containerd) output(args ...string) string {
	out, _ := exec.Command("ctr", append([]string{"-a", c.Socket}, args...)...).Output()
	return string(out)
}

// ImportBusybox imports BusyboxImage (from Docker) into namespace ns and
// returns the name containerd gives it.
func (c *Containerd) ImportBusybox(ns string) string {
	c.t.Helper()
	RequireBusyboxImage(c.t)
	cmd := exec.Command("sh", "-c", "docker save "+BusyboxImage+" | ctr -a '"+c.Socket+"' -n '"+ns+"' images import --snapshotter native -")
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("import into containerd: %v\n%s", err, out)
	}
	return "docker.io/library/" + BusyboxImage
}

// TaskPID is the pid of a running container's init process.
func (c *Containerd) TaskPID(ns, id string) int {
	c.t.Helper()
	for _, line := range strings.Split(c.Ctr("-n", ns, "tasks", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == id {
			var pid int
			fmt.Sscan(f[1], &pid)
			return pid
		}
	}
	c.t.Fatalf("no task %s in namespace %s", id, ns)
	return 0
}
