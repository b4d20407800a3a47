package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// testNode is a node for the DaemonSet whose files live under dir; the
// containerd socket is sock (a real socket: hostPath type Socket is
// checked).
func testNode(t *testing.T, dir, sock string) kubeletNode {
	t.Helper()
	cm := loadConfigMap(t)
	// The shipped profile, installed where docs/deploy.md tells operators to.
	seccompRoot := filepath.Join(dir, "seccomp")
	profile, err := os.ReadFile(repoFile(t, "deploy/seccomp/palisade-agent.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(seccompRoot, "palisade"), 0o755)
	if err := os.WriteFile(filepath.Join(seccompRoot, "palisade", "palisade-agent.json"), profile, 0o644); err != nil {
		t.Fatal(err)
	}
	return kubeletNode{
		Name:        "test-node",
		HostPaths:   map[string]string{"/run/containerd/containerd.sock": sock, "/var/lib/palisade": filepath.Join(dir, "var-lib-palisade")},
		ConfigMaps:  map[string]map[string]string{cm.Name: cm.Data},
		Secrets:     map[string]map[string][]byte{"palisade-metrics": {"token": []byte("deploy-test-token-0123456789")}},
		SeccompRoot: seccompRoot,
		PodsDir:     filepath.Join(dir, "pods"),
		LogsDir:     filepath.Join(dir, "logs"),
		MemoryBytes: 24 << 30,
	}
}

// listenUnix makes a socket at path for hostPath type Socket.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

// agentPodConfigs translates the shipped DaemonSet's pod (or ds, if given)
// and reports a refused field at its place in daemonset.yaml.
func agentPodConfigs(n kubeletNode, ds *appsv1.DaemonSet, uid string) (*kubeletPod, error) {
	p, err := kubeletPodConfigs(n, ds.Name+"-x7k2q", ds.Namespace, uid, ds.Spec.Template.ObjectMeta, ds.Spec.Template.Spec)
	if list, ok := err.(errorList); ok {
		data, _ := os.ReadFile(filepath.Join("kubernetes", "daemonset.yaml"))
		var lines []string
		for _, e := range list {
			path := "spec.template." + e.Path
			line, col := manifestPos(data, path)
			lines = append(lines, fmt.Sprintf("deploy/kubernetes/daemonset.yaml:%d:%d: %s: %s", line, col, path, e.Msg))
		}
		return nil, fmt.Errorf("%s", strings.Join(lines, "\n"))
	}
	return p, err
}

// The shipped DaemonSet translates to the CRI requests its comments
// promise: the host's pid namespace and no other, the five capabilities
// only, read-only root, no_new_privs, the shipped seccomp profile from
// kubelet's directory, the ConfigMap's files and the token read-only, the
// socket read-only, the spool writable, $(NODE_NAME) expanded.
func TestKubeletTranslatesDaemonSet(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	listenUnix(t, sock)
	n := testNode(t, dir, sock)
	p, err := agentPodConfigs(n, loadDaemonSet(t), "0d5e3c1a-0000-4000-8000-000000000001")
	if err != nil {
		t.Fatal(err)
	}
	sb := p.Sandbox.Linux.SecurityContext
	if ns := sb.NamespaceOptions; ns.Pid != runtimeapi.NamespaceMode_NODE || ns.Network != runtimeapi.NamespaceMode_POD || ns.Ipc != runtimeapi.NamespaceMode_POD {
		t.Errorf("namespaces %v: want pid NODE, network and ipc POD", ns)
	}
	if sb.Seccomp.ProfileType != runtimeapi.SecurityProfile_RuntimeDefault || sb.Privileged {
		t.Errorf("sandbox seccomp %v privileged %v: kubelet runs sandboxes under runtime/default, unprivileged", sb.Seccomp, sb.Privileged)
	}
	if p.Sandbox.Linux.CgroupParent != "/kubepods/burstable/pod0d5e3c1a-0000-4000-8000-000000000001" {
		t.Errorf("cgroup parent %s: requests below limits make the pod burstable", p.Sandbox.Linux.CgroupParent)
	}
	if len(p.Containers) != 1 {
		t.Fatalf("%d containers", len(p.Containers))
	}
	c := p.Containers[0]
	sc := c.Linux.SecurityContext
	if !slices.Equal(sc.Capabilities.AddCapabilities, agentCaps) || !slices.Equal(sc.Capabilities.DropCapabilities, []string{"ALL"}) {
		t.Errorf("capabilities %v", sc.Capabilities)
	}
	if !sc.ReadonlyRootfs || !sc.NoNewPrivs || sc.Privileged || sc.RunAsUser != nil {
		t.Errorf("readonly root %v, no_new_privs %v, privileged %v, runAsUser %v", sc.ReadonlyRootfs, sc.NoNewPrivs, sc.Privileged, sc.RunAsUser)
	}
	if want := filepath.Join(n.SeccompRoot, "palisade/palisade-agent.json"); sc.Seccomp.ProfileType != runtimeapi.SecurityProfile_Localhost || sc.Seccomp.LocalhostRef != want {
		t.Errorf("seccomp %v, want Localhost %s", sc.Seccomp, want)
	}
	if r := c.Linux.Resources; r.MemoryLimitInBytes != 192<<20 || r.CpuShares != 51 || r.CpuQuota != 0 || r.OomScoreAdj != -997 {
		t.Errorf("resources %v: want 192Mi, 51 shares (50m), no quota, -997 (system-node-critical)", r)
	}
	if !slices.Contains(c.Args, "--hostname=test-node") {
		t.Errorf("args %v: $(NODE_NAME) not expanded", c.Args)
	}
	mounts := map[string]*runtimeapi.Mount{}
	for _, m := range c.Mounts {
		mounts[m.ContainerPath] = m
	}
	for path, ro := range map[string]bool{"/etc/palisade/palisade.yaml": true, "/etc/palisade/rules/local_rules.yaml": true,
		"/etc/palisade/metrics": true, "/run/containerd/containerd.sock": true, "/var/lib/palisade": false, "/dev/termination-log": false} {
		if m := mounts[path]; m == nil || m.Readonly != ro {
			t.Errorf("mount %s: %v, want readonly %v", path, m, ro)
		}
	}
	if m := mounts["/run/containerd/containerd.sock"]; m != nil && m.HostPath != sock {
		t.Errorf("the socket comes from %s, want the node's %s", m.HostPath, sock)
	}
	if len(p.Probes) != 2 || p.Probes[0].Port != 9376 || p.Probes[1].Path != "/readyz" || p.StopTimeout != 10 {
		t.Errorf("probes %+v stop timeout %d", p.Probes, p.StopTimeout)
	}
}

// A field the translation does not handle fails it, naming the field and
// its place in daemonset.yaml; so does a value it cannot honour.
func TestKubeletRefusesUntranslated(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	listenUnix(t, sock)
	n := testNode(t, dir, sock)
	f := false
	for _, tc := range []struct {
		name   string
		change func(*corev1.PodSpec)
		want   string
	}{
		{"init container", func(s *corev1.PodSpec) { s.InitContainers = []corev1.Container{{Name: "init"}} }, "spec.template.spec.initContainers[0].name: set, but"},
		{"lifecycle", func(s *corev1.PodSpec) {
			s.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
		}, "spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds: set, but"},
		{"false pointer", func(s *corev1.PodSpec) { s.EnableServiceLinks = &f }, "spec.template.spec.enableServiceLinks: set, but"},
		{"dns policy", func(s *corev1.PodSpec) { s.DNSPolicy = corev1.DNSClusterFirstWithHostNet }, "spec.template.spec.dnsPolicy: set"},
		{"host port", func(s *corev1.PodSpec) { s.Containers[0].Ports[0].HostPort = 9376 }, "containers[0].ports[0].hostPort: set"},
		{"seccomp type", func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile.Type = "Default" }, "spec.template.spec.securityContext.seccompProfile.type: \"Default\""},
		{"emptyDir", func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}, "spec.template.spec.volumes[4].emptyDir: set, but"},
		{"hostPath the node lacks", func(s *corev1.PodSpec) { s.Volumes[3].HostPath.Path = "/var/lib/other" },
			spoolPathPos(t) + ": spec.template.spec.volumes[3].hostPath.path: hostPath /var/lib/other: the test's node does not provide it"},
		{"secret env", func(s *corev1.PodSpec) {
			s.Containers[0].Env[1].ValueFrom = &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}
		}, "containers[0].env[1].valueFrom.secretKeyRef.key: set"},
		{"exec probe", func(s *corev1.PodSpec) {
			s.Containers[0].LivenessProbe.HTTPGet = nil
			s.Containers[0].LivenessProbe.Exec = &corev1.ExecAction{Command: []string{"true"}}
		}, "containers[0].livenessProbe.exec.command: set"},
		{"pulled image", func(s *corev1.PodSpec) { s.Containers[0].ImagePullPolicy = corev1.PullAlways }, "imagePullPolicy: the image would be pulled"},
		{"non-root as root", func(s *corev1.PodSpec) {
			zero, yes := int64(0), true
			s.Containers[0].SecurityContext.RunAsUser, s.Containers[0].SecurityContext.RunAsNonRoot = &zero, &yes
		}, "securityContext.runAsNonRoot: runAsUser is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := loadDaemonSet(t)
			tc.change(&ds.Spec.Template.Spec)
			_, err := agentPodConfigs(n, ds, "0d5e3c1a-0000-4000-8000-000000000002")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "deploy/kubernetes/daemonset.yaml:") {
				t.Errorf("error %q does not name the manifest", err)
			}
		})
	}
}

// spoolPathPos is ":LINE:COL" of the spool volume's "path:" in
// daemonset.yaml, found by its text.
func spoolPathPos(t *testing.T) string {
	data, err := os.ReadFile(repoFile(t, "deploy/kubernetes/daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == "path: /var/lib/palisade" {
			return fmt.Sprintf(":%d:%d", i+1, strings.Index(l, "path")+1)
		}
	}
	t.Fatal("no spool path in daemonset.yaml")
	return ""
}

func TestExpandVars(t *testing.T) {
	env := map[string]string{"A": "x", "B": "$(A)"}
	for in, want := range map[string]string{
		"$(A)": "x", "--h=$(A)-$(A)": "--h=x-x", "$$(A)": "$(A)", "$(C)": "$(C)", "$(A": "$(A", "$": "$", "a$b": "a$b", "$(B)": "$(A)",
	} {
		if got := expandVars(in, env); got != want {
			t.Errorf("expandVars(%q) = %q, want %q", in, got, want)
		}
	}
}
