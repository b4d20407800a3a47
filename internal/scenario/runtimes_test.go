package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

	stdout, stderr := startWatch(t, rules)
	run := fmt.Sprintf("palisade-rt-%d", time.Now().UnixNano()%1e6)
	podName, dockName := run+"-podman", run+"-docker"
	t.Cleanup(func() {
		testutil.Podman("rm", "-f", podName).Run()
		exec.Command("docker", "rm", "-f", dockName).Run()
	})
	podman := testutil.Podman(append(append([]string{"run", "-d", "--name", podName}, testutil.PodmanRunFlags...),
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
	podRef, err := testutil.Podman("inspect", "-f", "{{.ImageName}}", podName).Output()
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
}

// startWatch runs `watch --builtin -r rules -o json` until the test ends.
func startWatch(t *testing.T, rules string) (stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr, _ = watchInProcess(t, "--builtin", "-r", rules, "-o", "json", "--ring-buffer", "64")
	return stdout, stderr
}

// podmanShadow runs `cat /etc/shadow` in a new podman container and
// returns the container's id.
func podmanShadow(t *testing.T, img, name string) string {
	t.Helper()
	t.Cleanup(func() { testutil.Podman("rm", "-f", name).Run() })
	out, err := testutil.Podman(append(append([]string{"run", "-d", "--name", name}, testutil.PodmanRunFlags...),
		img, "sh", "-c", "cat /etc/shadow >/dev/null; sleep 30")...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman run: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// shadowAlert waits up to 10 s for "Read sensitive file untrusted" from
// the container id.
func shadowAlert(t *testing.T, stdout *syncBuffer, id string) (alertJSON, bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, line := range strings.Split(stdout.String(), "\n") {
			var a alertJSON
			if json.Unmarshal([]byte(line), &a) == nil && a.Rule == "Read sensitive file untrusted" && a.OutputFields["container.id"] == shortID(id) {
				return a, true
			}
		}
	}
	return alertJSON{}, false
}

// TestPodmanServiceHangsAndDies: while podman's API service is stopped
// (SIGSTOP: it hangs) a new podman container's alert still comes, with its
// id and type and <NA> names, after one warning; once the service is
// killed and started again, names return.
func TestPodmanServiceHangsAndDies(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequirePodmanImage(t)
	sock := filepath.Join(t.TempDir(), "podman.sock")
	svc := testutil.StartPodmanServiceAt(t, sock)
	t.Setenv("CONTAINER_HOST", "unix://"+sock)
	rules := filepath.Join(t.TempDir(), "type.yaml")
	os.WriteFile(rules, []byte(typeOutput), 0o644)
	stdout, stderr := startWatch(t, rules)
	run := fmt.Sprintf("palisade-hang-%d", time.Now().UnixNano()%1e6)

	if err := svc.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	hungID := podmanShadow(t, img, run+"-hung")
	a, ok := shadowAlert(t, stdout, hungID)
	if !ok {
		t.Fatalf("no alert from %s while podman's service hangs:\n%s\n%s", hungID, stdout.String(), stderr.String())
	}
	t.Logf("alert %v after podman run started, service hung: %s", time.Since(start), a.Output)
	if a.OutputFields["container.type"] != "podman" || a.OutputFields["container.name"] != nil { // <NA> is null in JSON
		t.Errorf("hung service: %v, want type podman and name <NA>", a.OutputFields)
	}
	if n := strings.Count(stderr.String(), "not answering"); n != 1 {
		t.Errorf("%d warnings about the hung service, want 1:\n%s", n, stderr.String())
	}

	svc.Process.Kill()
	svc.Process.Signal(syscall.SIGCONT)
	svc.Wait()
	testutil.StartPodmanServiceAt(t, sock)
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(stderr.String(), "answers again"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted service was never seen:\n%s", stderr.String())
		}
	}
	backID := podmanShadow(t, img, run+"-back")
	a, ok = shadowAlert(t, stdout, backID)
	if !ok || a.OutputFields["container.name"] != run+"-back" || a.OutputFields["container.type"] != "podman" {
		t.Errorf("after the restart: %v (found %v), want name %s", a.OutputFields, ok, run+"-back")
	}
}

// shortID is the id as container.id shows it (12 characters of a hex id).
func shortID(id string) string { return container.Ref{ID: id}.ShortID() }

// TestContainerdCtr: a container `ctr run` starts on containerd (cgroup
// /<namespace>/<name>, no hex id) was a host process before Palisade asked
// containerd; now its alert names it, its image and runtime.
func TestContainerdCtr(t *testing.T) {
	testutil.RequireBPF(t)
	c := testutil.StartContainerd(t)
	img := c.ImportBusybox("palisade")
	t.Setenv("CONTAINERD_ADDRESS", c.Socket)
	rules := filepath.Join(t.TempDir(), "type.yaml")
	os.WriteFile(rules, []byte(typeOutput), 0o644)
	stdout, stderr := startWatch(t, rules)
	name := fmt.Sprintf("pal-ctr-%d", time.Now().UnixNano()%1e6)
	c.Ctr("-n", "palisade", "run", "-d", "--snapshotter", "native", img, name, "sh", "-c", "cat /etc/shadow >/dev/null; sleep 30")
	a, ok := shadowAlert(t, stdout, name)
	if !ok {
		t.Fatalf("no alert from %s:\n%s\n%s", name, stdout.String(), stderr.String())
	}
	t.Logf("%s", a.Output)
	if a.OutputFields["container.name"] != name || a.OutputFields["container.type"] != "containerd" ||
		a.OutputFields["container.image.repository"] != "docker.io/library/palisade-test" {
		t.Errorf("alert %v, want name %s, type containerd, repository docker.io/library/palisade-test", a.OutputFields, name)
	}
}
