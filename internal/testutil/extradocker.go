package testutil

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// ExtraDocker is a dockerd a test started beside the host's (rootless, or
// rootful with --userns-remap): its socket and the test image in it.
type ExtraDocker struct {
	Host  string // unix://…/docker.sock
	Image string // BusyboxImage, imported into this daemon
}

// Docker runs the docker CLI against this daemon.
func (d *ExtraDocker) Docker(args ...string) *exec.Cmd {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.Host)
	return cmd
}

// startExtraDocker starts cmd, a dockerd serving host, with its output in
// the file logPath; waits up to 60 s for it to answer and imports
// BusyboxImage into it. When the test ends its containers are removed
// (a shim left behind would keep its directories busy) and it is stopped.
// what names the daemon in failures.
func startExtraDocker(t testing.TB, what string, cmd *exec.Cmd, host, logPath string) ExtraDocker {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	d := ExtraDocker{Host: host}
	t.Cleanup(func() {
		if ids, err := d.Docker("ps", "-aq").Output(); err == nil && len(strings.Fields(string(ids))) > 0 {
			d.Docker(append([]string{"rm", "-f"}, strings.Fields(string(ids))...)...).Run()
		}
		stopDaemon(cmd)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for d.Docker("info").Run() != nil {
		if ctx.Err() != nil {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not answer at %s within 60 s:\n%s", what, host, tail(string(b), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := importBusybox(t, d.Docker("import", "-c", `CMD ["/bin/sleep", "3600"]`, "-", BusyboxImage)); err != nil {
		t.Fatalf("docker import into %s: %v\n%s", what, err, out)
	}
	d.Image = BusyboxImage
	return d
}
