package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/kernel"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// Daemon text reaches the report as the daemon sent it; the text output
// must escape it.
func TestDoctorEscapesDaemonText(t *testing.T) {
	checks := container.EngineChecks("/run/docker.sock", container.Engine{ServerVersion: "19.03.\x1b[31mevil\u202e", API: "1.40", CgroupVersion: "2"})
	var buf bytes.Buffer
	if err := kernel.NewReport(checks).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\x1b\u202e") || !strings.Contains(buf.String(), `Docker Engine 19.03.\x1b[31mevil\u202e at /run/docker.sock (API 1.40`) {
		t.Errorf("daemon text not escaped:\n%s", buf.String())
	}
}

// The real command on this host: root, eBPF and Docker are all there.
func TestDoctorCommand(t *testing.T) {
	testutil.RequireBPF(t)
	testutil.RequireDocker(t)
	code, stdout, stderr := run(t, "", "doctor", "-o", "json")
	if code != 0 {
		t.Fatalf("doctor exit %d\n%s\n%s", code, stdout, stderr)
	}
	var r kernel.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, stdout)
	}
	seen := map[string]kernel.Status{}
	for _, c := range r.Checks {
		seen[c.Name] = c.Status
	}
	for _, name := range []string{"kernel", "privileges", "btf", "ringbuf", "tracepoints", "lockdown", "cgroup", "capture", "docker"} {
		if seen[name] == kernel.Fail || seen[name] == "" {
			t.Errorf("check %s: %q", name, seen[name])
		}
	}
	for _, name := range []string{"tracefs", "docker-seccomp", "docker-userns", "docker-mac"} {
		if seen[name] == "" {
			t.Errorf("check %s missing", name)
		}
	}
	code, stdout, _ = run(t, "", "doctor")
	if code != 0 || !strings.Contains(stdout, "palisade can run here") || !strings.Contains(stdout, "capture") {
		t.Errorf("doctor text exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "", "doctor", "-o", "yaml"); code != 2 || !strings.Contains(stderr, "yaml") {
		t.Errorf("bad format: exit %d, %s", code, stderr)
	}
}

// doctor names every engine it finds: Docker, a podman service, and a
// containerd with its CRI, each with its socket and version.
func TestDoctorEngines(t *testing.T) {
	testutil.RequireDocker(t)
	c := testutil.StartCRIContainerd(t)
	t.Setenv("CONTAINERD_ADDRESS", c.Socket)
	podman := testutil.StartPodmanService(t)
	t.Setenv("CONTAINER_HOST", podman)
	code, stdout, stderr := run(t, "", "doctor", "-o", "json")
	var r kernel.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("doctor -o json (exit %d): %v\n%s\n%s", code, err, stdout, stderr)
	}
	found := map[string]string{}
	for _, ch := range r.Checks {
		if strings.HasPrefix(ch.Name, "engine-") {
			t.Logf("%s %s: %s", ch.Name, ch.Status, ch.Detail)
			if ch.Status == kernel.OK {
				found[ch.Name] += ch.Detail + "\n"
			}
		}
	}
	for name, want := range map[string][]string{
		"engine-docker":     {"docker (Engine API) at unix:///var/run/docker.sock"},
		"engine-podman":     {"podman (Engine API) at " + podman},
		"engine-containerd": {"containerd (containerd API) at unix://" + c.Socket + ": containerd 1."},
		"engine-cri":        {"containerd (CRI) at unix://" + c.Socket + ": containerd 1.", "(CRI v1)"},
	} {
		for _, w := range want {
			if !strings.Contains(found[name], w) {
				t.Errorf("%s: no %q in\n%s", name, w, found[name])
			}
		}
	}
}
