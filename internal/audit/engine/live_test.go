package engine

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestLiveDocker starts containers with known breakout vectors and a
// hardened one, and checks what Collect finds for each.
func TestLiveDocker(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	prefix := fmt.Sprintf("palisade-audit-%d-", os.Getpid())
	cases := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"socket", []string{"-v", "/var/run/docker.sock:/var/run/docker.sock"}, []string{"runtime-socket-mount"}},
		{"privileged", []string{"--privileged"}, []string{"privileged"}},
		{"sysadmin", []string{"--cap-add", "SYS_ADMIN"}, []string{"dangerous-capability"}},
		{"pidhost", []string{"--pid", "host"}, []string{"host-pid"}},
		{"rootbind", []string{"-v", "/:/host:ro"}, []string{"host-root-mount"}},
		{"hardened", []string{"--user", "10001:10001", "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--memory", "64m", "--pids-limit", "64"}, nil},
	}
	for _, c := range cases {
		name := prefix + c.name
		t.Cleanup(func() { docker(t, "rm", "-f", name) })
		args := append(append([]string{"create", "--name", name}, c.flags...), img)
		if out, err := docker(t, args...); err != nil {
			t.Fatalf("docker create %s: %v: %s", c.name, err, out)
		}
		// A privileged container cannot start where the daemon itself lacks
		// capabilities (nested Docker); the audit reads its configuration
		// either way, so only the others must start.
		if out, err := docker(t, "start", name); err != nil && c.name != "privileged" {
			t.Fatalf("docker start %s: %v: %s", c.name, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	snap, err := Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	server, err := docker(t, "version", "--format", "{{.Server.APIVersion}}")
	if err != nil {
		t.Fatal(err)
	}
	if snap.APIVersion != server {
		t.Errorf("negotiated API version %s, daemon speaks %s", snap.APIVersion, server)
	}
	byTarget := map[string][]audit.Finding{}
	for _, c := range snap.Containers {
		byTarget[c.Target] = append(byTarget[c.Target], audit.Audit(c)...)
	}
	for _, c := range cases {
		fs, ok := byTarget["container "+prefix+c.name]
		if !ok {
			t.Errorf("%s: container not listed", c.name)
			continue
		}
		got := map[string]bool{}
		for _, f := range fs {
			got[f.Check] = true
		}
		for _, w := range c.want {
			if !got[w] {
				t.Errorf("%s: no %s finding; got %v", c.name, w, got)
			}
		}
		if c.want == nil && len(fs) != 0 {
			t.Errorf("hardened container has findings: %v", got)
		}
	}
	// The daemon's settings, as docker info reports them.
	secopts, err := docker(t, "info", "--format", "{{json .SecurityOptions}}")
	if err != nil {
		t.Fatal(err)
	}
	rootless := strings.Contains(secopts, "name=rootless") || strings.Contains(secopts, "name=userns")
	hasFinding := false
	for _, f := range audit.AuditDaemon(snap.Daemon) {
		if f.Check == "daemon-not-rootless" {
			hasFinding = true
		}
	}
	if hasFinding == rootless {
		t.Errorf("daemon-not-rootless=%v but security options are %s", hasFinding, secopts)
	}
}

// TestLiveDockerHost: DOCKER_HOST is honoured, and a daemon reached over
// plain TCP (here a loopback proxy to the socket) is flagged.
func TestLiveDockerHost(t *testing.T) {
	testutil.RequireDocker(t)
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		testutil.RequireFeature(t, strings.HasPrefix(h, "unix://"), "DOCKER_HOST=%s is not a unix socket to proxy", h)
		sock = strings.TrimPrefix(h, "unix://")
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/palisade.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Collect(ctx); err == nil || !strings.Contains(err.Error(), "/nonexistent/palisade.sock") {
		t.Errorf("DOCKER_HOST not honoured: %v", err)
	}

	ln := testutil.Serve(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		defer c.Close()
		u, err := net.Dial("unix", sock)
		if err != nil {
			return
		}
		defer u.Close()
		go io.Copy(u, c)
		io.Copy(c, u)
	})
	addr := "tcp://" + ln.Addr().String()
	t.Setenv("DOCKER_HOST", addr)
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("DOCKER_CERT_PATH", "")
	snap, err := Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range audit.AuditDaemon(snap.Daemon) {
		if f.Check == "daemon-tcp-unauthenticated" && strings.Contains(f.Detail, addr) {
			found = true
		}
	}
	if !found {
		t.Errorf("plain-TCP daemon at %s not flagged", addr)
	}
}
