package scenario

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/cli"
	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// typeOutput appends container.type to the built-in rule's output, so the
// alert says which runtime the agent thinks owns the container.
const typeOutput = `
- rule: Read sensitive file untrusted
  output: type=%container.type
  override:
    output: append
`

// TestPodmanAndDocker: `cat /etc/shadow` in a podman container and in a
// Docker container, at the same time, under one `watch --builtin`: each
// alert names its container, image and runtime. Podman's Docker API is
// served by a `podman system service` the test starts on its own socket
// and hands to watch as CONTAINER_HOST.
func TestPodmanAndDocker(t *testing.T) {
	testutil.RequireBPF(t)
	dockerImg := testutil.RequireBusyboxImage(t)
	podmanImg := testutil.RequirePodmanImage(t)
	tmp := t.TempDir()
	host := testutil.StartPodmanService(t)
	t.Setenv("CONTAINER_HOST", host)
	rules := filepath.Join(tmp, "type.yaml")
	os.WriteFile(rules, []byte(typeOutput), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"watch", "--store", "none", "--metrics", "none", "--builtin", "-r", rules, "-o", "json", "--ring-buffer", "64"}, strings.NewReader(""), &stdout, &stderr)
	}()
	for start := time.Now(); !strings.Contains(stderr.String(), "watching:"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("watch not ready: %s", stderr.String())
		}
		select {
		case c := <-done:
			t.Fatalf("watch exited %d: %s", c, stderr.String())
		default:
		}
	}

	run := fmt.Sprintf("palisade-rt-%d", time.Now().UnixNano()%1e6)
	podName, dockName := run+"-podman", run+"-docker"
	t.Cleanup(func() {
		exec.Command("podman", "rm", "-f", podName).Run()
		exec.Command("docker", "rm", "-f", dockName).Run()
	})
	podman := exec.Command("podman", append(append([]string{"run", "-d", "--name", podName}, testutil.PodmanRunFlags...),
		podmanImg, "sh", "-c", "cat /etc/shadow >/dev/null; sleep 30")...)
	dockerRun := exec.Command("docker", "run", "-d", "--name", dockName, "--network", "none", dockerImg, "sh", "-c", "cat /etc/shadow >/dev/null; sleep 30")
	var podID, dockID string
	errs := make(chan error, 2)
	go func() {
		out, err := podman.CombinedOutput()
		podID = strings.TrimSpace(string(out))
		errs <- err
	}()
	go func() {
		out, err := dockerRun.CombinedOutput()
		dockID = strings.TrimSpace(string(out))
		errs <- err
	}()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("run: %v (podman %q, docker %q)", err, podID, dockID)
		}
	}
	podRef, err := exec.Command("podman", "inspect", "-f", "{{.ImageName}}", podName).Output()
	if err != nil {
		t.Fatal(err)
	}
	podRepo, _, _ := container.SplitImage(strings.TrimSpace(string(podRef)))

	for _, want := range []struct{ name, id, typ, repo string }{
		{podName, podID, "podman", podRepo},
		{dockName, dockID, "docker", "palisade-test"},
	} {
		var got []alertJSON
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = alertsFor(stdout.String(), want.name); len(got) > 0 {
				break
			}
		}
		if len(got) == 0 {
			t.Errorf("%s: no alert naming the container; watch printed:\n%s\n%s", want.name, stdout.String(), stderr.String())
			continue
		}
		a := got[0]
		t.Logf("%s: %s", want.name, a.Output)
		if a.Rule != "Read sensitive file untrusted" || a.OutputFields["container.id"] != shortID(want.id) ||
			a.OutputFields["container.type"] != want.typ || a.OutputFields["container.image.repository"] != want.repo {
			t.Errorf("%s: alert %q with %v, want id %s, type %s, repository %s", want.name, a.Rule, a.OutputFields, shortID(want.id), want.typ, want.repo)
		}
	}
	cancel()
	<-done
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
