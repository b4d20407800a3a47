package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// podmanFlags turns the DaemonSet's pod spec into podman run flags, so the
// manifest is the one source of truth for the agent's privileges. podman,
// not Docker, because Docker 20.10 (this machine's) refuses CAP_BPF and
// CAP_PERFMON by name; podman and containerd know them. The runtime socket
// is the one difference: the manifest mounts containerd's (Kubernetes
// nodes), the test mounts Docker's, whose containers it starts. drop lists
// capabilities to leave out, for the negative cases.
func podmanFlags(t *testing.T, configDir, spoolDir string, drop ...string) (flags, args []string) {
	t.Helper()
	ds := loadDaemonSet(t)
	pod := ds.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	flags = append(flags, testutil.PodmanRunFlags...)
	for _, d := range sc.Capabilities.Drop {
		flags = append(flags, "--cap-drop", strings.ToLower(string(d)))
	}
	for _, a := range sc.Capabilities.Add {
		if !contains(drop, string(a)) {
			flags = append(flags, "--cap-add", string(a))
		}
	}
	if pod.HostPID {
		flags = append(flags, "--pid", "host")
	}
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		flags = append(flags, "--read-only")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		flags = append(flags, "--security-opt", "no-new-privileges")
	}
	if sp := pod.SecurityContext.SeccompProfile; sp != nil && sp.Type == corev1.SeccompProfileTypeLocalhost {
		flags = append(flags, "--security-opt", "seccomp="+repoFile(t, "deploy/seccomp/"+filepath.Base(*sp.LocalhostProfile)))
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = "test-node"
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
		flags = append(flags, "--env", e.Name+"="+env[e.Name])
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v := volumes[m.Name]
		var host string
		switch {
		case v.ConfigMap != nil:
			host = filepath.Join(configDir, m.SubPath)
		case v.Secret != nil:
			host = filepath.Join(configDir, "secret-"+v.Secret.SecretName)
		case v.HostPath != nil && v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathSocket:
			host = "/var/run/docker.sock"
			m.MountPath = "/var/run/docker.sock"
		case v.HostPath != nil:
			host = spoolDir
		default:
			t.Fatalf("volume %s: no translation for %+v", m.Name, v)
		}
		opt := ""
		if m.ReadOnly {
			opt = ":ro"
		}
		flags = append(flags, "-v", host+":"+m.MountPath+opt)
	}
	for _, a := range c.Args {
		for k, v := range env {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		args = append(args, a)
	}
	return flags, args
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// configDir writes the ConfigMap's files and a metrics token where
// podmanFlags mounts them from.
func configDir(t *testing.T) string {
	t.Helper()
	cm := loadConfigMap(t)
	dir := t.TempDir()
	for name, body := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(dir, "secret-palisade-metrics")
	if err := os.MkdirAll(secret, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secret, "token"), []byte("deploy-test-token-0123456789"), 0o400); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestManifestPrivilegesDetect starts the agent image with exactly the
// DaemonSet's privileges and its own seccomp profile, and checks it detects
// /etc/shadow read three ways in other containers, each alert naming the
// container: a new container, docker exec into a running one, and a shell
// that was running before the agent started (known only through the host's
// /proc: hostPID, SYS_PTRACE); and the next three of the attack scenarios
// (a write below /bin, an outbound connection, the Docker socket used from a
// container). Then it stops cleanly under the profile.
// Without CAP_BPF it fails with one line naming what is missing.
func TestManifestPrivilegesDetect(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	testutil.RequireTool(t, "podman")
	busybox := testutil.RequireBusyboxImage(t)
	image := buildImage(t, "live-test", "0000000000000000000000000000000000000001")
	load := exec.Command("sh", "-c", "docker save "+image+" | podman load -q")
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("docker save | podman load: %v\n%s", err, out)
	}
	t.Cleanup(func() { testutil.Podman("rmi", "-f", "localhost/"+image).Run() })

	tag := fmt.Sprintf("%d", os.Getpid())
	attacker := testutil.BuildStatic(t, "./internal/scenario/testdata/attacker", filepath.Join(t.TempDir(), "bin", "attacker"))
	listener := "palisade-deploy-listener-" + tag
	if out, err := exec.Command("docker", "run", "-d", "--name", listener, busybox, "sh", "-c",
		"while true; do nc -l -p 8080 </dev/null >/dev/null 2>&1; done").CombinedOutput(); err != nil {
		t.Fatalf("docker run listener: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", listener).Run() })
	ipOut, err := exec.Command("docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", listener).Output()
	listenerIP := strings.TrimSpace(string(ipOut))
	if err != nil || listenerIP == "" {
		t.Fatalf("listener has no IP address: %v", err)
	}
	pre := "palisade-deploy-pre-" + tag
	if out, err := exec.Command("docker", "run", "-d", "--network", "none", "--name", pre, busybox,
		"sh", "-c", "while :; do sleep 1; read x < /etc/shadow; done").CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", pre).Run() })

	agent := "palisade-deploy-agent-" + tag
	flags, args := podmanFlags(t, configDir(t), t.TempDir())
	run := append(append([]string{"run", "-d", "--name", agent}, flags...), append([]string{"localhost/" + image}, args...)...)
	if out, err := testutil.Podman(run...).CombinedOutput(); err != nil {
		t.Fatalf("podman %v: %v\n%s", run, err, out)
	}
	t.Cleanup(func() { testutil.Podman("rm", "-f", agent).Run() })
	logs := func() (string, string) {
		cmd := testutil.Podman("logs", agent)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		return stdout.String(), stderr.String()
	}
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for start := time.Now(); !ok(); time.Sleep(200 * time.Millisecond) {
			if time.Since(start) > d {
				out, errs := logs()
				t.Fatalf("%s: not within %v\nstdout:\n%s\nstderr:\n%s", what, d, out, errs)
			}
		}
	}
	waitFor("agent watching", 60*time.Second, func() bool { _, e := logs(); return strings.Contains(e, "watching:") })

	victim := "palisade-deploy-victim-" + tag
	if out, err := exec.Command("docker", "run", "--rm", "--network", "none", "--name", victim, busybox, "cat", "/etc/shadow").CombinedOutput(); err != nil {
		t.Fatalf("victim: %v\n%s", err, out)
	}
	if out, err := exec.Command("docker", "exec", pre, "cat", "/etc/shadow").CombinedOutput(); err != nil {
		t.Fatalf("docker exec: %v\n%s", err, out)
	}
	attacks := [][]string{
		{"--network", "none", "--name", victim + "-bin", busybox, "sh", "-c", "echo x > /bin/evil"},
		{"--name", victim + "-net", busybox, "sh", "-c", "nc -w 1 " + listenerIP + " 8080 </dev/null"},
		{"--network", "none", "--name", victim + "-sock", "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", filepath.Dir(attacker) + ":/attacker:ro",
			busybox, "/attacker/attacker", "unix", "/var/run/docker.sock"},
	}
	for _, a := range attacks {
		exec.Command("docker", append([]string{"run", "--rm"}, a...)...).Run() // their own exit status does not matter
	}
	want := map[string]string{
		"new container":        "process=cat cmdline=cat /etc/shadow .*container_name=" + victim + " ",
		"docker exec":          "process=cat cmdline=cat /etc/shadow .*container_name=" + pre + " ",
		"older than the agent": "process=sh cmdline=sh -c while :; do sleep 1; read x \\\\u003c /etc/shadow; done .*container_name=" + pre + " ",
		// The next three of the attack scenarios (internal/scenario).
		"binary dir write": `"rule":"Write below binary dir".*container_name=` + victim + "-bin ",
		"outbound":         `"rule":"Unexpected outbound connection destination".*container_name=` + victim + "-net ",
		"runtime socket":   `"rule":"Container runtime socket access from container".*container_name=` + victim + "-sock ",
	}
	for what, re := range want {
		waitFor("alert for "+what, 20*time.Second, func() bool {
			out, _ := logs()
			return matchLine(out, re)
		})
	}
	out, _ := logs()
	if !strings.Contains(out, `"hostname":"test-node"`) {
		t.Errorf("alerts do not carry the node's name from $(NODE_NAME):\n%s", firstLine(out))
	}

	if o, err := testutil.Podman("stop", "-t", "10", agent).CombinedOutput(); err != nil {
		t.Fatalf("podman stop: %v\n%s", err, o)
	}
	code, _ := testutil.Podman("inspect", "-f", "{{.State.ExitCode}}", agent).Output()
	if strings.TrimSpace(string(code)) != "0" {
		_, errs := logs()
		t.Errorf("agent exited %s under its seccomp profile after SIGTERM, want 0\n%s", code, errs)
	}

	// One capability fewer: one line that says what is missing, exit 3.
	flags, args = podmanFlags(t, configDir(t), t.TempDir(), "BPF")
	cmd := testutil.Podman(append(append(append([]string{"run", "--rm"}, flags...), "localhost/"+image), args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || len(lines) != 1 ||
		!strings.Contains(lines[0], "eBPF capture not permitted: needs root or CAP_BPF+CAP_PERFMON") {
		t.Errorf("without CAP_BPF: %v, stderr:\n%s\nwant exit 3 and one line naming CAP_BPF+CAP_PERFMON", err, stderr.String())
	}
}

func matchLine(text, re string) bool {
	r := regexp.MustCompile(re)
	for _, l := range strings.Split(text, "\n") {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
