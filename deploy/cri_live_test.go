package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestDaemonSetUnderCRI runs the DaemonSet's pod as kubelet would on a
// containerd with CRI (the test's own daemon, with a pod network): the
// agent image from `make image`, the pod spec of deploy/kubernetes/
// daemonset.yaml translated by deploy/kubelet_test.go (host PID, the
// capabilities, read-only root, no_new_privs, the shipped seccomp profile
// from kubelet's seccomp directory, the ConfigMap's files, the node's
// containerd socket), then checks the process runs with exactly those
// privileges, answers its probes on the pod's address, and names the pod,
// namespace and container of a shell opened with `kubectl exec -it` in a
// neighbouring pod, and of what the shell ran. Then it stops within the
// grace period with status 0.
func TestDaemonSetUnderCRI(t *testing.T) {
	testutil.RequireBPF(t)
	start := time.Now()
	c := testutil.StartCRIContainerd(t, testutil.WithPodNetwork())
	t.Logf("containerd: %v", time.Since(start).Round(time.Millisecond))
	ds := loadDaemonSet(t)
	image := buildImage(t, "cri-test", "0000000000000000000000000000000000000002")
	t.Logf("make image: %v", time.Since(start).Round(time.Millisecond))
	c.ImportDockerImage(image, testutil.NormalizedRef(ds.Spec.Template.Spec.Containers[0].Image))
	t.Logf("imported: %v", time.Since(start).Round(time.Millisecond))

	dir, err := os.MkdirTemp("", "kubelet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := testNode(t, dir, c.Socket)
	n.MemoryBytes = memTotal(t)
	uid := fmt.Sprintf("5a6e7c2d-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
	agent, err := agentPodConfigs(n, ds, uid)
	if err != nil {
		t.Fatal(err)
	}
	pod := c.RunPodSandbox(agent.Sandbox)
	agentID := c.StartContainer(pod, agent.Containers[0])
	agentLog := filepath.Join(agent.Sandbox.LogDirectory, agent.Containers[0].LogPath)
	podIP := sandboxIP(t, c, pod.ID)
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for start := time.Now(); !ok(); time.Sleep(200 * time.Millisecond) {
			if time.Since(start) > d {
				st, _ := c.RT.ContainerStatus(context.Background(), &runtimeapi.ContainerStatusRequest{ContainerId: agentID})
				t.Fatalf("%s: not within %v\nagent %v\nlog:\n%s", what, d, st.GetStatus(), readCRILog(agentLog).all)
			}
		}
	}
	waitFor("agent watching", 60*time.Second, func() bool { return strings.Contains(readCRILog(agentLog).stderr, "watching:") })
	for _, p := range agent.Probes {
		url := fmt.Sprintf("http://%s:%d%s", podIP, p.Port, p.Path)
		waitFor(p.Kind+" probe "+url, 10*time.Second, func() bool {
			res, err := (&http.Client{Timeout: time.Second}).Get(url)
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode >= 200 && res.StatusCode < 400 // kubelet's success
		})
	}
	checkConfinement(t, c.PID(agentID))
	t.Logf("agent ready: %v", time.Since(start).Round(time.Millisecond))

	// A neighbouring pod, also translated from a pod spec, and a shell
	// opened in it as `kubectl exec -it web-... -- sh` does.
	run := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	webName, webUID := "web-"+run, fmt.Sprintf("5a6e7c2d-0000-4000-8000-%012d", (time.Now().UnixNano()+1)%1e12)
	web, err := kubeletPodConfigs(n, webName, "shop", webUID, metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, corev1.PodSpec{
		Containers: []corev1.Container{{Name: "nginx", Image: testutil.CRIImage, ImagePullPolicy: corev1.PullNever, Command: []string{"sleep", "3600"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	webPod := c.RunPodSandbox(web.Sandbox)
	webID := c.StartContainer(webPod, web.Containers[0])
	out := c.ExecTTY(webID, "cat /etc/shadow >/dev/null; echo done-$((6*7)); exit\n", "sh")
	if !strings.Contains(out, "done-42") {
		t.Fatalf("the shell did not run what was typed; the terminal printed %q", out)
	}
	for _, rule := range []string{"Terminal shell in container", "Read sensitive file untrusted"} {
		var a criAlert
		waitFor("alert "+rule+" from "+webName, 20*time.Second, func() bool {
			var ok bool
			a, ok = findAlert(readCRILog(agentLog).stdout, rule, webName)
			return ok
		})
		want := map[string]string{"k8s.pod.name": webName, "k8s.ns.name": "shop", "container.name": "nginx", "container.id": webID[:12]}
		for k, v := range want {
			if a.OutputFields[k] != v {
				t.Errorf("%s: %s = %v, want %s", rule, k, a.OutputFields[k], v)
			}
		}
		if a.Hostname != "test-node" {
			t.Errorf("%s: hostname %q, want the node's name from $(NODE_NAME)", rule, a.Hostname)
		}
		t.Logf("%s", a.Output)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(agent.StopTimeout+10)*time.Second)
	defer cancel()
	if _, err := c.RT.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: agentID, Timeout: agent.StopTimeout}); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	st, err := c.RT.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: agentID})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.ExitCode != 0 || st.Status.Reason != "Completed" {
		t.Errorf("agent stopped with %d (%s) under its seccomp profile, want 0 within the grace period\n%s", st.Status.ExitCode, st.Status.Reason, readCRILog(agentLog).stderr)
	}
	t.Logf("total: %v", time.Since(start).Round(time.Millisecond))
}

// checkConfinement reads the agent's /proc status: exactly the manifest's
// capabilities, no_new_privs, a seccomp filter, and a read-only root.
func checkConfinement(t *testing.T, pid int) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	capNum := map[string]uint{"DAC_READ_SEARCH": 2, "SYS_PTRACE": 19, "SYS_NICE": 23, "PERFMON": 38, "BPF": 39}
	var want uint64
	for _, name := range agentCaps {
		want |= 1 << capNum[name]
	}
	fields := map[string]string{}
	for _, l := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	for k, v := range map[string]string{"CapEff": fmt.Sprintf("%016x", want), "CapPrm": fmt.Sprintf("%016x", want),
		"CapBnd": fmt.Sprintf("%016x", want), "NoNewPrivs": "1", "Seccomp": "2", "Uid": "0\t0\t0\t0"} {
		if fields[k] != v {
			t.Errorf("agent %s: %s, want %s", k, fields[k], v)
		}
	}
	mountinfo, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mountinfo), "\n") {
		f := strings.Fields(l)
		if len(f) > 5 && f[4] == "/" && !strings.HasPrefix(f[5], "ro") {
			t.Errorf("the agent's root is mounted %s, want read-only", f[5])
		}
	}
}

func sandboxIP(t *testing.T, c *testutil.CRIContainerd, id string) string {
	t.Helper()
	st, err := c.RT.PodSandboxStatus(context.Background(), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || st.Status.GetNetwork().GetIp() == "" {
		t.Fatalf("the agent's pod has no address: %v %v", st.GetStatus().GetNetwork(), err)
	}
	return st.Status.Network.Ip
}

func memTotal(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// criLog is a container's log as the CRI writes it (TIME STREAM TAG MSG,
// a line split over several entries tagged P until one tagged F).
type criLog struct{ stdout, stderr, all string }

func readCRILog(path string) criLog {
	var l criLog
	f, err := os.Open(path)
	if err != nil {
		return l
	}
	defer f.Close()
	var out, errs, all strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) < 4 {
			continue
		}
		msg := parts[3]
		if parts[2] == "F" {
			msg += "\n"
		}
		all.WriteString(parts[1] + " " + msg)
		if parts[1] == "stdout" {
			out.WriteString(msg)
		} else {
			errs.WriteString(msg)
		}
	}
	return criLog{out.String(), errs.String(), all.String()}
}

type criAlert struct {
	Rule         string         `json:"rule"`
	Output       string         `json:"output"`
	Hostname     string         `json:"hostname"`
	OutputFields map[string]any `json:"output_fields"`
}

// findAlert finds rule's alert naming pod in watch's JSON lines.
func findAlert(stdout, rule, pod string) (criAlert, bool) {
	for _, line := range strings.Split(stdout, "\n") {
		var a criAlert
		if json.Unmarshal([]byte(line), &a) == nil && a.Rule == rule && a.OutputFields["k8s.pod.name"] == pod {
			return a, true
		}
	}
	return criAlert{}, false
}
