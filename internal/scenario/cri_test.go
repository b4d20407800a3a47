package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// podOutput appends what an alert says of the pod to the built-in rule's
// output, so that output_fields carry it.
const podOutput = `
- rule: Read sensitive file untrusted
  output: type=%container.type pod=%k8s.pod.name ns=%k8s.ns.name uid=%k8s.pod.uid app=%k8s.pod.label[app] image=%container.image
  override:
    output: append
`

// shadowAlertIn finds "Read sensitive file untrusted" from container id
// in lines of watch's JSON output.
func shadowAlertIn(lines []string, id string) (alertJSON, bool) {
	for _, line := range lines {
		var a alertJSON
		if json.Unmarshal([]byte(line), &a) == nil && a.Rule == "Read sensitive file untrusted" && a.OutputFields["container.id"] == shortID(id) {
			return a, true
		}
	}
	return alertJSON{}, false
}

// TestCRIPodAlert: `cat /etc/shadow` run in a pod's container through the
// CRI (ExecSync, as kubectl exec does) on a containerd with CRI the test
// starts: the alert of `watch --builtin` names the container, its image,
// runtime, pod, namespace, pod uid and a pod label. Then the daemon is
// killed: the agent keeps running, says so once, and the container's next
// read still alerts; once the daemon is back it says that too.
func TestCRIPodAlert(t *testing.T) {
	testutil.RequireBPF(t)
	c := testutil.StartCRIContainerd(t)
	// containerd's own API and its CRI on one socket, as on a node.
	t.Setenv("CONTAINERD_ADDRESS", c.Socket)
	rules := filepath.Join(t.TempDir(), "pod.yaml")
	os.WriteFile(rules, []byte(podOutput), 0o644)
	stdout, stderr := startWatch(t, rules)
	run := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	uid := fmt.Sprintf("7f3d2a10-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
	name := "web-" + run
	pod := c.RunPod(name, "shop", uid, map[string]string{"app": "web"})
	// A busybox loop that reads /etc/shadow whenever /tmp/go appears.
	id := c.RunContainer(pod, "nginx", "sh", "-c", "while :; do if [ -e /tmp/go ]; then rm /tmp/go; cat /etc/shadow >/dev/null; fi; sleep 0.1; done")
	c.Exec(id, "cat", "/etc/shadow")
	a, ok := shadowAlert(t, stdout, id)
	if !ok {
		t.Fatalf("no alert from %s:\n%s\n%s", id, stdout.String(), stderr.String())
	}
	t.Logf("%s", a.Output)
	want := map[string]any{"container.id": shortID(id), "container.name": "nginx", "container.type": "containerd",
		"container.image": testutil.CRIImage, "k8s.pod.name": name, "k8s.ns.name": "shop", "k8s.pod.uid": uid, "k8s.pod.label[app]": "web"}
	for k, v := range want {
		if a.OutputFields[k] != v {
			t.Errorf("%s = %v, want %v", k, a.OutputFields[k], v)
		}
	}

	// The daemon dies; its container runs on under its shim.
	pid := c.PID(id)
	c.Kill()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stderr.String(), "not answering"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no warning after the daemon died:\n%s", stderr.String())
		}
	}
	before := strings.Count(stdout.String(), "\n")
	trigger := fmt.Sprintf("/proc/%d/root/tmp/go", pid)
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var after alertJSON
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		lines := strings.Split(stdout.String(), "\n")
		if len(lines) > before {
			if a, ok := shadowAlertIn(lines[before:], id); ok {
				after = a
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert from the container while its daemon is dead:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	if after.OutputFields["k8s.pod.name"] != name {
		t.Errorf("cached pod name lost while the daemon is dead: %v", after.OutputFields)
	}
	time.Sleep(6 * time.Second) // more pings fail: still one warning
	if n := strings.Count(stderr.String(), "not answering"); n != 1 {
		t.Errorf("%d warnings about the dead daemon, want 1:\n%s", n, stderr.String())
	}
	c.Start()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stderr.String(), "answers again"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted daemon was never seen:\n%s", stderr.String())
		}
	}
}
