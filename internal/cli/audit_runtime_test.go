package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

type runtimeFinding struct {
	Check  string `json:"check"`
	Target string `json:"target"`
	Fix    string `json:"fix"`
	Source string `json:"source"`
}

func auditRuntime(t *testing.T, args ...string) []runtimeFinding {
	t.Helper()
	code, stdout, stderr := run(t, "", append([]string{"audit", "-o", "json"}, args...)...)
	var rep struct {
		Findings []runtimeFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 {
		t.Fatalf("audit %v: exit %d, %v\n%s\n%s", args, code, err, stdout, stderr)
	}
	return rep.Findings
}

// audit --runtime on every engine at once: a Kubernetes pod on a
// containerd with CRI the test starts (judged as a pod: host network, no
// seccomp profile, with securityContext fixes), a podman container through
// a podman service, and Docker's daemon; --runtime cri keeps to the pod,
// --runtime containerd reads containerd's own records.
func TestAuditRuntimes(t *testing.T) {
	testutil.RequireDocker(t)
	img := testutil.RequirePodmanImage(t)
	c := testutil.StartCRIContainerd(t)
	t.Setenv("CONTAINERD_ADDRESS", c.Socket)
	t.Setenv("CONTAINER_HOST", testutil.StartPodmanService(t))
	n := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	pod := c.RunPod("web-"+n, "shop", fmt.Sprintf("6a1e0c2b-0000-4000-8000-%012d", time.Now().UnixNano()%1e12), nil)
	c.RunContainer(pod, "nginx", "sleep", "600")
	pname := "palisade-audit-rt-" + n
	t.Cleanup(func() { testutil.Podman("rm", "-f", pname).Run() })
	if out, err := testutil.Podman(append(append([]string{"run", "-d", "--name", pname}, testutil.PodmanRunFlags...), img, "sleep", "600")...).CombinedOutput(); err != nil {
		t.Fatalf("podman run: %v %s", err, out)
	}

	target := "pod shop/web-" + n // pod-wide findings name the pod, the others its container
	has := func(fs []runtimeFinding, check, target, fix string) bool {
		for _, f := range fs {
			if f.Check == check && strings.HasPrefix(f.Target, target) && strings.Contains(f.Fix, fix) {
				return true
			}
		}
		return false
	}
	all := auditRuntime(t, "--runtime", "auto")
	if !has(all, "host-network", target, "hostNetwork") || !has(all, "seccomp-unconfined", target, "seccompProfile") {
		t.Errorf("auto: the pod's host network and seccomp findings with pod-spec fixes are missing: %+v", findingsOf(all, target))
	}
	if len(findingsOf(all, "podman container "+pname)) == 0 {
		t.Errorf("auto: no finding for podman's container %s", pname)
	}
	if len(findingsOf(all, "daemon unix:///var/run/docker.sock")) == 0 {
		t.Errorf("auto: no finding for Docker's daemon")
	}
	for _, f := range findingsOf(all, target) {
		if f.Source != "kubernetes" {
			t.Errorf("pod finding %+v: want source kubernetes", f)
		}
	}
	cri := auditRuntime(t, "--runtime", "cri")
	for _, f := range cri {
		if !strings.HasPrefix(f.Target, "pod ") {
			t.Errorf("--runtime cri: %+v is not a pod's", f)
		}
	}
	if !has(cri, "host-network", target, "hostNetwork") {
		t.Errorf("--runtime cri: %+v", cri)
	}
	ctrd := auditRuntime(t, "--runtime", "containerd")
	if len(ctrd) == 0 || !strings.HasPrefix(ctrd[0].Target, "containerd k8s.io/") || ctrd[0].Source != "oci" {
		t.Errorf("--runtime containerd: %+v", ctrd)
	}
	if code, _, stderr := run(t, "", "audit", "--runtime", "lxc"); code != 2 || !strings.Contains(stderr, "want one of auto, docker") {
		t.Errorf("--runtime lxc: exit %d, %s", code, stderr)
	}
}

// findingsOf are the findings whose target starts with target.
func findingsOf(fs []runtimeFinding, target string) []runtimeFinding {
	var out []runtimeFinding
	for _, f := range fs {
		if strings.HasPrefix(f.Target, target) {
			out = append(out, f)
		}
	}
	return out
}
