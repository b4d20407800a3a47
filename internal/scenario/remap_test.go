package scenario

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestUsernsRemapDocker: a second rootful dockerd with
// --userns-remap=default runs beside the host's. Its socket is given to
// watch as DOCKER_HOST; the host's is still found at /var/run/docker.sock.
// `cat /etc/shadow` in a container of each, at the same time: each alert
// names its own container, image and runtime (neither engine's containers
// lose their names because the other is there), and the remapped root is
// uid 0 "root" inside with dockremap's first subordinate uid on the host.
// The host's docker0 must be there after the test as before.
func TestUsernsRemapDocker(t *testing.T) {
	testutil.RequireBPF(t)
	mainImg := testutil.RequireBusyboxImage(t)
	_, bridgeErr := os.Stat("/sys/class/net/docker0")
	// Registered first, so it runs after every other cleanup.
	t.Cleanup(func() {
		if _, err := os.Stat("/sys/class/net/docker0"); bridgeErr == nil && err != nil {
			t.Errorf("the host's docker0 is gone after the test: %v", err)
		}
	})
	d := testutil.StartRemapDocker(t)
	t.Setenv("DOCKER_HOST", d.Host)
	rules := filepath.Join(t.TempDir(), "user.yaml")
	os.WriteFile(rules, []byte(userOutput), 0o644)
	stdout, stderr := startWatch(t, rules)

	run := fmt.Sprintf("palisade-um-%d", time.Now().UnixNano()%1e6)
	remapName, mainName := run+"-remap", run+"-main"
	t.Cleanup(func() {
		d.Docker("rm", "-f", remapName).Run()
		exec.Command("docker", "-H", "unix:///var/run/docker.sock", "rm", "-f", mainName).Run()
	})
	shadow := []string{"sh", "-c", "cat /etc/shadow >/dev/null; sleep 30"}
	remapRun := d.Docker(append([]string{"run", "-d", "--name", remapName, "--network", "none", d.Image}, shadow...)...)
	// The host's daemon, whatever DOCKER_HOST says.
	mainRun := exec.Command("docker", append([]string{"-H", "unix:///var/run/docker.sock", "run", "-d", "--name", mainName,
		"--network", "none", mainImg}, shadow...)...)
	var remapID, mainID string
	errs := make(chan error, 2)
	go func() {
		out, err := remapRun.CombinedOutput()
		remapID = strings.TrimSpace(string(out))
		errs <- err
	}()
	go func() {
		out, err := mainRun.CombinedOutput()
		mainID = strings.TrimSpace(string(out))
		errs <- err
	}()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("docker run: %v (remapped %q, host %q)", err, remapID, mainID)
		}
	}
	// The premise: the remapped container's root is dockremap's first
	// subordinate uid on the host.
	pid, err := d.Docker("inspect", "-f", "{{.State.Pid}}", remapName).Output()
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/uid_map"); !strings.Contains(strings.Join(strings.Fields(string(m)), " "), "0 "+strconv.Itoa(d.SubUID)+" ") {
		t.Fatalf("remapped container's uid_map %q does not start at dockremap's %d", m, d.SubUID)
	}

	for _, want := range []struct {
		what, name, id, hostUID string
	}{
		{"remapped", remapName, remapID, strconv.Itoa(d.SubUID)},
		{"host's", mainName, mainID, "0"},
	} {
		a, ok := ruleAlert(stdout, "Read sensitive file untrusted", want.id)
		if !ok {
			t.Errorf("%s daemon: no alert from %s (%s):\n%s\n%s", want.what, want.name, shortID(want.id), stdout.String(), stderr.String())
			continue
		}
		t.Logf("%s daemon: %s", want.what, a.Output)
		f := a.OutputFields
		if f["container.id"] != shortID(want.id) || f["container.name"] != want.name || f["container.type"] != "docker" ||
			f["container.image.repository"] != "palisade-test" {
			t.Errorf("%s daemon: %v, want id %s, name %s, type docker, repository palisade-test", want.what, f, shortID(want.id), want.name)
		}
		// The remapped container's files are protected by identity like
		// any other's (its alerts once had an empty identity=).
		if f["fd.identity"] != "/etc/shadow" {
			t.Errorf("%s daemon: fd.identity=%q, want /etc/shadow", want.what, f["fd.identity"])
		}
		if num(f["user.uid"]) != "0" || f["user.name"] != "root" || num(f["user.host_uid"]) != want.hostUID {
			t.Errorf("%s daemon: user.uid=%v user.name=%v user.host_uid=%v, want 0 root %s", want.what, f["user.uid"], f["user.name"], f["user.host_uid"], want.hostUID)
		}
	}
}
