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
