package scenario

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// allOutput appends the runtime and the pod to the two built-in rules the
// all-runtimes test triggers, so that output_fields carry them.
const allOutput = `
- rule: Read sensitive file untrusted
  output: type=%container.type pod=%k8s.pod.name ns=%k8s.ns.name uid=%k8s.pod.uid app=%k8s.pod.label[app]
  override:
    output: append
- rule: Terminal shell in container
  output: type=%container.type
  override:
    output: append
`

// TestAllRuntimesAtOnce: rootful Docker, podman (through its API
// service), a pod on a CRI containerd and a rootless Docker run side by
// side under one `watch --builtin`. `cat /etc/shadow` in a container of
// each, and a shell with a terminal in each that has `exec -t`: every
// alert names its own container, image and runtime (and the pod for the
// CRI one). No engine's containers lose their names because another
// engine is present.
func TestAllRuntimesAtOnce(t *testing.T) {
	testutil.RequireBPF(t)
	start := time.Now()
	dockerImg := testutil.RequireBusyboxImage(t)
	podmanImg := testutil.RequirePodmanImage(t)
	t.Setenv("CONTAINER_HOST", testutil.StartPodmanService(t))
	cri := testutil.StartCRIContainerd(t)
	t.Setenv("CONTAINERD_ADDRESS", cri.Socket)
	rl := testutil.StartRootlessDocker(t)
	t.Logf("engines up in %v", time.Since(start).Round(time.Millisecond))

	rules := filepath.Join(t.TempDir(), "all.yaml")
	os.WriteFile(rules, []byte(allOutput), 0o644)
	stdout, stderr := startWatch(t, rules)

	run := fmt.Sprintf("palisade-all-%d", time.Now().UnixNano()%1e6)
	dockName, podName, rlName := run+"-docker", run+"-podman", run+"-rootless"
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", dockName).Run()
		testutil.Podman("rm", "-f", podName).Run()
		rl.Docker("rm", "-f", rlName).Run()
	})
	// Each reads /etc/shadow as soon as it starts, then waits for exec -t.
	script := []string{"sh", "-c", "cat /etc/shadow >/dev/null; sleep 60"}
	runOut := func(what string, cmd *exec.Cmd) string {
		t.Helper()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v %s", what, err, out)
		}
		id := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(id, '\n'); i >= 0 {
			id = id[i+1:] // warnings before the id
		}
		return id
	}
	dockID := runOut("docker run", exec.Command("docker", append([]string{"run", "-d", "--name", dockName, "--network", "none", dockerImg}, script...)...))
	podID := runOut("podman run", testutil.Podman(append(append(append([]string{"run", "-d", "--name", podName}, testutil.PodmanRunFlags...), podmanImg), script...)...))
	rlID := runOut("docker run (rootless)", rl.Docker(append([]string{"run", "-d", "--name", rlName, "--network", "none", rl.Image}, script...)...))
	podRef := runOut("podman inspect", testutil.Podman("inspect", "-f", "{{.ImageName}}", podName))
	podRepo, _, _ := container.SplitImage(podRef)
	criRepo, _, _ := container.SplitImage(testutil.CRIImage)

	podUID := fmt.Sprintf("7f3d2a10-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
	kname := "web-" + run
	pod := cri.RunPod(kname, "shop", podUID, map[string]string{"app": "web"})
	criID := cri.RunContainer(pod, "nginx", "sleep", "60")
	cri.Exec(criID, "cat", "/etc/shadow")

	type want struct {
		engine, id  string
		fields      map[string]any
		terminal    func() error // exec -t sh in the container; nil where there is none (ExecSync has no terminal)
		sawTerminal bool
	}
	wants := []*want{
		{"rootful docker", dockID, map[string]any{"container.name": dockName, "container.type": "docker", "container.image.repository": "palisade-test"},
			func() error { return exec.Command("docker", "exec", "-t", dockName, "sh", "-c", "true").Run() }, false},
		{"podman", podID, map[string]any{"container.name": podName, "container.type": "podman", "container.image.repository": podRepo},
			func() error { return testutil.Podman("exec", "-t", podName, "sh", "-c", "true").Run() }, false},
		{"rootless docker", rlID, map[string]any{"container.name": rlName, "container.type": "docker", "container.image.repository": "palisade-test"},
			func() error { return rl.Docker("exec", "-t", rlName, "sh", "-c", "true").Run() }, false},
		{"cri", criID, map[string]any{"container.name": "nginx", "container.type": "containerd", "container.image.repository": criRepo,
			"k8s.pod.name": kname, "k8s.ns.name": "shop", "k8s.pod.uid": podUID, "k8s.pod.label[app]": "web"}, nil, false},
	}
	check := func(w *want, rule string, a alertJSON, withPod bool) {
		t.Helper()
		t.Logf("%s: %s: %s", w.engine, rule, a.Output)
		if a.OutputFields["container.id"] != shortID(w.id) {
			t.Errorf("%s: %s: container.id %v, want %s", w.engine, rule, a.OutputFields["container.id"], shortID(w.id))
		}
		for k, v := range w.fields {
			if strings.HasPrefix(k, "k8s.") && !withPod {
				continue
			}
			if a.OutputFields[k] != v {
				t.Errorf("%s: %s: %s = %v, want %v", w.engine, rule, k, a.OutputFields[k], v)
			}
		}
	}
	for _, w := range wants {
		a, ok := ruleAlert(stdout, "Read sensitive file untrusted", w.id)
		if !ok {
			t.Errorf("%s: no alert from %s:\n%s\n%s", w.engine, shortID(w.id), stdout.String(), stderr.String())
			continue
		}
		check(w, "Read sensitive file untrusted", a, true)
	}
	for _, w := range wants {
		if w.terminal == nil {
			continue
		}
		if err := w.terminal(); err != nil {
			t.Errorf("%s: exec -t: %v", w.engine, err)
			continue
		}
		a, ok := ruleAlert(stdout, "Terminal shell in container", w.id)
		if !ok {
			t.Errorf("%s: Terminal shell in container did not fire:\n%s", w.engine, stdout.String())
			continue
		}
		check(w, "Terminal shell in container", a, false)
	}
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}
