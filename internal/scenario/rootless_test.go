package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// userOutput appends the runtime and both views of the user to the
// built-in rules the rootless test triggers.
const userOutput = `
- rule: Read sensitive file untrusted
  output: type=%container.type host_uid=%user.host_uid
  override:
    output: append
- rule: Network tool run in container
  output: type=%container.type host_uid=%user.host_uid
  override:
    output: append
- rule: Terminal shell in container
  output: type=%container.type host_uid=%user.host_uid
  override:
    output: append
`

// TestRootlessDocker: a rootless Docker daemon on cgroup v1 runs its
// containers with cgroup driver "none", so their processes sit in the
// user's cgroup; before namespace attribution they were the host and no
// container-only rule fired. Each alert must name the container, its
// image and runtime, and give the user as the container sees it (root is
// uid 0 inside, the daemon's user outside; uid 33 is "www" from the
// image's /etc/passwd, a subordinate uid outside).
func TestRootlessDocker(t *testing.T) {
	testutil.RequireBPF(t)
	d := testutil.StartRootlessDocker(t)
	rules := filepath.Join(t.TempDir(), "user.yaml")
	os.WriteFile(rules, []byte(userOutput), 0o644)
	stdout, stderr := startWatch(t, rules)
	name := fmt.Sprintf("palisade-rl-%d", time.Now().UnixNano()%1e6)
	t.Cleanup(func() { d.Docker("rm", "-f", name, name+"-www").Run() })

	out, err := d.Docker("run", "-d", "--name", name, "--network", "none", d.Image,
		"sh", "-c", "cat /etc/shadow >/dev/null; sleep 60").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run (rootless): %v %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	// The container has no cgroup of its own: the premise of the test.
	pid, err := d.Docker("inspect", "-f", "{{.State.Pid}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	cg, _ := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/cgroup")
	if strings.Contains(string(cg), id[:12]) {
		t.Logf("note: the container has a cgroup of its own here (cgroup v2?):\n%s", cg)
	}

	want := func(a alertJSON, rule, uid, user, hostUID string) {
		t.Helper()
		f := a.OutputFields
		t.Logf("%s: %s", rule, a.Output)
		if a.Rule != rule || f["container.id"] != id[:12] || f["container.name"] != name || f["container.type"] != "docker" ||
			f["container.image.repository"] != "palisade-test" {
			t.Errorf("%s: alert %q with %v, want container %s (%s), type docker, repository palisade-test", rule, a.Rule, f, id[:12], name)
		}
		if uid != "" && (num(f["user.uid"]) != uid || f["user.name"] != user || num(f["user.host_uid"]) != hostUID) {
			t.Errorf("%s: user.uid=%v user.name=%v user.host_uid=%v, want %s %s %s", rule, f["user.uid"], f["user.name"], f["user.host_uid"], uid, user, hostUID)
		}
	}
	a, ok := ruleAlert(stdout, "Read sensitive file untrusted", id)
	if !ok {
		t.Fatalf("no alert from rootless container %s:\n%s\n%s", id[:12], stdout.String(), stderr.String())
	}
	// Root in a rootless container is the daemon's own user on the host.
	want(a, "Read sensitive file untrusted", "0", "root", strconv.Itoa(d.UID))

	// Container-only rules fire: a network tool, and a shell with a terminal.
	if out, err := d.Docker("exec", name, "nc", "-h").CombinedOutput(); err != nil && !strings.Contains(string(out), "Usage") {
		t.Logf("nc -h: %v %s", err, out) // busybox nc prints usage and exits 1
	}
	if a, ok := ruleAlert(stdout, "Network tool run in container", id); !ok {
		t.Errorf("Network tool run in container did not fire in the rootless container:\n%s", stdout.String())
	} else {
		want(a, "Network tool run in container", "0", "root", strconv.Itoa(d.UID))
	}
	if out, err := d.Docker("exec", "-t", name, "sh", "-c", "true").CombinedOutput(); err != nil {
		t.Fatalf("docker exec -t: %v %s", err, out)
	}
	if a, ok := ruleAlert(stdout, "Terminal shell in container", id); !ok {
		t.Errorf("Terminal shell in container did not fire in the rootless container:\n%s", stdout.String())
	} else {
		want(a, "Terminal shell in container", "", "", "")
	}

	// A container that reads and is gone (--rm): it is known from the
	// engine's create event and its shim, never from a list of running ones.
	nameRm := name + "-rm"
	if out, err := d.Docker("run", "--rm", "--name", nameRm, "--network", "none", d.Image, "cat", "/etc/shadow").CombinedOutput(); err != nil {
		t.Fatalf("docker run --rm: %v %s", err, out)
	}
	var rm alertJSON
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && rm.Rule == ""; time.Sleep(50 * time.Millisecond) {
		for _, a := range alertsFor(stdout.String(), nameRm) {
			if a.Rule == "Read sensitive file untrusted" {
				rm = a
			}
		}
	}
	if rm.Rule == "" || rm.OutputFields["container.type"] != "docker" || rm.OutputFields["container.image.repository"] != "palisade-test" {
		t.Errorf("docker run --rm cat /etc/shadow: no alert naming %s with type docker and its image:\n%s", nameRm, stdout.String())
	} else {
		t.Logf("--rm: %s", rm.Output)
	}

	// A non-root user: uid 33 inside is "www" in the image's passwd, and a
	// subordinate uid on the host (container uid 1 is the range's first).
	name33 := name + "-www"
	out, err = d.Docker("run", "-d", "--name", name33, "--user", "33:33", "--network", "none", d.Image,
		"sh", "-c", "nc -h 2>/dev/null; sleep 60").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run --user 33: %v %s", err, out)
	}
	id33 := strings.TrimSpace(string(out))
	a, ok = ruleAlert(stdout, "Network tool run in container", id33)
	if !ok {
		t.Fatalf("no alert from %s (uid 33):\n%s", id33[:12], stdout.String())
	}
	t.Logf("uid 33: %s", a.Output)
	f := a.OutputFields
	if f["container.name"] != name33 || num(f["user.uid"]) != "33" || f["user.name"] != "www" ||
		num(f["user.host_uid"]) != strconv.Itoa(d.SubUID+32) {
		t.Errorf("uid 33: %v, want name %s, user.uid 33, user.name www, user.host_uid %d", f, name33, d.SubUID+32)
	}
}

// ruleAlert waits up to 10 s for an alert of rule from the container id.
func ruleAlert(stdout *syncBuffer, rule, id string) (alertJSON, bool) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, line := range strings.Split(stdout.String(), "\n") {
			var a alertJSON
			if json.Unmarshal([]byte(line), &a) == nil && a.Rule == rule && a.OutputFields["container.id"] == shortID(id) {
				return a, true
			}
		}
	}
	return alertJSON{}, false
}

// num formats a JSON number as an integer ("" for anything else).
func num(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

// TestRootlessPodman: rootless podman on cgroup v1 also leaves its
// containers' processes in the user's cgroup. Its containers are tied to
// them through their namespaces and conmon, named through the user's
// podman API service, with container.type podman and root as uid 0.
func TestRootlessPodman(t *testing.T) {
	testutil.RequireBPF(t)
	p := testutil.StartRootlessPodman(t)
	rules := filepath.Join(t.TempDir(), "user.yaml")
	os.WriteFile(rules, []byte(userOutput), 0o644)
	stdout, stderr := startWatch(t, rules)
	name := fmt.Sprintf("palisade-rp-%d", time.Now().UnixNano()%1e6)
	t.Cleanup(func() { p.Podman("rm", "-f", name).Run() })
	out, err := p.Podman(append(append([]string{"run", "-d", "--name", name}, testutil.PodmanRunFlags...),
		p.Image, "sh", "-c", "cat /etc/shadow >/dev/null; sleep 60")...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman run (rootless): %v %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(id, '\n'); i >= 0 {
		id = id[i+1:] // warnings before the id
	}
	for _, step := range []struct {
		rule string
		run  func() error
	}{
		{"Read sensitive file untrusted", nil},
		{"Network tool run in container", func() error { p.Podman("exec", name, "nc", "-h").Run(); return nil }},
	} {
		if step.run != nil {
			step.run()
		}
		a, ok := ruleAlert(stdout, step.rule, id)
		if !ok {
			t.Errorf("%s: no alert from rootless podman container %s:\n%s\n%s", step.rule, shortID(id), stdout.String(), stderr.String())
			continue
		}
		t.Logf("%s: %s", step.rule, a.Output)
		f := a.OutputFields
		if f["container.name"] != name || f["container.type"] != "podman" || f["container.image.repository"] != "localhost/palisade-test" ||
			num(f["user.uid"]) != "0" || f["user.name"] != "root" || num(f["user.host_uid"]) != strconv.Itoa(p.UID) {
			t.Errorf("%s: %v, want name %s, type podman, repository localhost/palisade-test, uid 0 root, host uid %d", step.rule, f, name, p.UID)
		}
	}
}
