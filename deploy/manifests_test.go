package deploy

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-sec/palisade/internal/metrics"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// agentCaps is the measured least set (docs/deploy.md, "Least privilege").
var agentCaps = []string{"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_NICE"}

// accepted are the audit findings above low that our own manifests keep on
// purpose, each silenced in the file by a palisade:ignore comment under the
// reason. A finding above low that is not here fails the test, and so does
// an entry here that no longer fires.
var accepted = map[string]string{
	"host-pid":             "processes older than the agent are read from the host's /proc",
	"dangerous-capability": "BPF, PERFMON load the capture; SYS_PTRACE, DAC_READ_SEARCH read other processes' /proc entries",
	"risky-capability":     "SYS_NICE keeps the agent scheduled on a busy node (--nice -10)",
	"runs-as-root":         "uid 0 with only the listed capabilities; file capabilities are ignored under no_new_privs",
	"runtime-socket-mount": "container names come from the engine's API",
}

var (
	binOnce sync.Once
	binPath string
)

// palisade builds the CLI once per test binary.
func palisade(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "palisade-deploy-test")
		if err != nil {
			t.Fatal(err)
		}
		binPath = testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	})
	if binPath == "" {
		t.Fatal("palisade did not build")
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	return filepath.Join(testutil.RepoRoot(t), rel)
}

// Every manifest decodes strictly (unknown or misspelt fields are errors)
// into the k8s.io/api type of its kind.
func TestManifestsDecodeStrictly(t *testing.T) {
	files, _ := filepath.Glob(repoFile(t, "deploy/kubernetes/*.yaml"))
	if len(files) < 4 {
		t.Fatalf("want the namespace, service account, config map and daemon set; found %v", files)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitYAML(data) {
			var meta struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: document %d: %v", f, i+1, err)
			}
			var obj any
			switch meta.APIVersion + " " + meta.Kind {
			case "v1 Namespace":
				obj = &corev1.Namespace{}
			case "v1 ServiceAccount":
				obj = &corev1.ServiceAccount{}
			case "v1 ConfigMap":
				obj = &corev1.ConfigMap{}
			case "apps/v1 DaemonSet":
				obj = &appsv1.DaemonSet{}
			default:
				t.Errorf("%s: document %d: unexpected %s %s", f, i+1, meta.APIVersion, meta.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s: document %d: %v", filepath.Base(f), i+1, err)
			}
			kinds[meta.Kind] = true
		}
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"} {
		if !kinds[k] {
			t.Errorf("no %s manifest", k)
		}
	}
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(d, "")) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// loadManifest decodes the one-document manifest rel (from the
// repository's root) strictly into a T.
func loadManifest[T any](t *testing.T, rel string) *T {
	t.Helper()
	data, err := os.ReadFile(repoFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := yaml.UnmarshalStrict(data, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func loadDaemonSet(t *testing.T) *appsv1.DaemonSet {
	t.Helper()
	return loadManifest[appsv1.DaemonSet](t, "deploy/kubernetes/daemonset.yaml")
}

func loadConfigMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	return loadManifest[corev1.ConfigMap](t, "deploy/kubernetes/configmap.yaml")
}

// The DaemonSet says what docs/deploy.md says: every node, the measured
// privileges and no more, the shipped seccomp profile, probes the agent
// answers without a credential, a rolling update, and no API access.
func TestDaemonSet(t *testing.T) {
	ds := loadDaemonSet(t)
	pod := ds.Spec.Template.Spec
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		t.Errorf("update strategy %q", ds.Spec.UpdateStrategy.Type)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists || pod.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v: want one that tolerates every taint", pod.Tolerations)
	}
	if !pod.HostPID || pod.HostNetwork || pod.HostIPC {
		t.Errorf("hostPID %v hostNetwork %v hostIPC %v: want only hostPID", pod.HostPID, pod.HostNetwork, pod.HostIPC)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the service account token is mounted; the agent asks the API server nothing")
	}
	sp := pod.SecurityContext.SeccompProfile
	if sp == nil || sp.Type != corev1.SeccompProfileTypeLocalhost || sp.LocalhostProfile == nil {
		t.Fatalf("seccomp profile %+v: want Localhost", sp)
	}
	if _, err := os.Stat(repoFile(t, "deploy/seccomp/"+filepath.Base(*sp.LocalhostProfile))); err != nil {
		t.Errorf("localhostProfile %s is not shipped in deploy/seccomp: %v", *sp.LocalhostProfile, err)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("securityContext %+v: want privileged false, allowPrivilegeEscalation false, readOnlyRootFilesystem true", sc)
	}
	var add []string
	for _, c := range sc.Capabilities.Add {
		add = append(add, string(c))
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(add, agentCaps) {
		t.Errorf("capabilities drop %v add %v; want drop [ALL] add %v", sc.Capabilities.Drop, add, agentCaps)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || !slices.Contains(metrics.Probes, p.HTTPGet.Path) || p.HTTPGet.Port.String() != "metrics" {
			t.Errorf("%s probe %+v: want an httpGet of one of %v on the metrics port", name, p, metrics.Probes)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != 9376 {
		t.Errorf("ports %+v", c.Ports)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	if c.Resources.Limits.Memory().Cmp(*c.Resources.Requests.Memory()) < 0 {
		t.Error("memory limit below the request")
	}
}

// The ConfigMap's delivery config and rules load as watch would load them
// (watch --list-syscalls reads both and needs no root).
func TestConfigMapLoads(t *testing.T) {
	cm := loadConfigMap(t)
	cfg, err := outputs.ParseConfig("palisade.yaml", []byte(cm.Data["palisade.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metrics.Address != "0.0.0.0:9376" || !cfg.Metrics.InsecureNoTLS || cfg.Metrics.TokenFile == "" {
		t.Errorf("metrics %+v: the probes and Prometheus reach the pod's address, behind a token", cfg.Metrics)
	}
	dir := t.TempDir()
	for name, body := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(palisade(t), "watch", "--list-syscalls", "--config", filepath.Join(dir, "palisade.yaml"),
		"--builtin", "-r", filepath.Join(dir, "local_rules.yaml")).CombinedOutput()
	if err != nil {
		t.Fatalf("watch --list-syscalls with the ConfigMap's files: %v\n%s", err, out)
	}
}

type finding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

func audit(t *testing.T, path string) []finding {
	t.Helper()
	out, err := exec.Command(palisade(t), "audit", "-o", "json", path).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 0 {
			t.Fatalf("palisade audit %s: %v\n%s", path, err, out)
		}
	}
	var r struct{ Findings []finding }
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, out)
	}
	return r.Findings
}

var aboveLow = map[string]bool{"medium": true, "high": true, "critical": true}

// auditOurs audits a deploy directory twice: as shipped, nothing above low
// may be left; with every palisade:ignore comment removed, every finding
// above low must be one the accepted table explains (and each accepted
// check must still fire somewhere, or the table is stale).
func auditOurs(t *testing.T, rel string, fired map[string]bool) {
	t.Helper()
	src := repoFile(t, rel)
	for _, f := range audit(t, src) {
		if aboveLow[f.Severity] {
			t.Errorf("%s:%d: %s %s left in a shipped file", f.File, f.Line, f.Severity, f.Check)
		}
	}
	bare := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.MkdirAll(bare, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	ignore := regexp.MustCompile(`#\s*palisade:ignore.*`)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bare, e.Name()), ignore.ReplaceAll(data, nil), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	found := audit(t, bare)
	if len(found) == 0 {
		t.Fatalf("no finding in %s without its ignore comments: the audit did not read it", rel)
	}
	for _, f := range found {
		if !aboveLow[f.Severity] {
			continue
		}
		if _, ok := accepted[f.Check]; !ok {
			t.Errorf("%s:%d: %s %s is not an accepted finding", rel, f.Line, f.Severity, f.Check)
		}
		fired[f.Check] = true
	}
}

func TestManifestsAudit(t *testing.T) {
	fired := map[string]bool{}
	auditOurs(t, "deploy/kubernetes", fired)
	auditOurs(t, "deploy/compose", fired)
	for check := range accepted {
		if !fired[check] {
			t.Errorf("accepted finding %s fires nowhere: remove it from the table and its ignore comment", check)
		}
	}
	if testing.Verbose() {
		t.Logf("accepted: %v", fired)
	}
}

// The compose file loads with compose-go (as docker compose loads it) and
// grants what the DaemonSet grants.
func TestComposeFile(t *testing.T) {
	path := repoFile(t, "deploy/compose/compose.yaml")
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithWorkingDirectory(filepath.Dir(path)), cli.WithName("palisade"))
	if err != nil {
		t.Fatal(err)
	}
	proj, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go: %v", err)
	}
	svc, ok := proj.Services["agent"]
	if !ok {
		t.Fatalf("no agent service in %v", proj.ServiceNames())
	}
	if !slices.Equal(svc.CapAdd, agentCaps) || !slices.Equal(svc.CapDrop, []string{"ALL"}) {
		t.Errorf("cap_add %v cap_drop %v, want %v and [ALL]", svc.CapAdd, svc.CapDrop, agentCaps)
	}
	if svc.Pid != "host" || !svc.ReadOnly || svc.Privileged || svc.MemLimit == 0 || svc.PidsLimit == 0 {
		t.Errorf("pid %q read_only %v privileged %v mem_limit %d pids_limit %d", svc.Pid, svc.ReadOnly, svc.Privileged, svc.MemLimit, svc.PidsLimit)
	}
	var seccompFile string
	for _, o := range svc.SecurityOpt {
		if f, ok := strings.CutPrefix(o, "seccomp="); ok {
			seccompFile = f
		}
	}
	if !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") || seccompFile == "" {
		t.Fatalf("security_opt %v: want no-new-privileges and the seccomp profile", svc.SecurityOpt)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), seccompFile)); err != nil {
		t.Errorf("seccomp profile %s: %v", seccompFile, err)
	}
}

// The shipped seccomp profile is what palisade profile derives from the
// committed recording of the agent (docs/deploy.md says how it was
// recorded), so it can be re-derived and reviewed.
func TestSeccompProfileFromRecording(t *testing.T) {
	shipped, err := os.ReadFile(repoFile(t, "deploy/seccomp/palisade-agent.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(palisade(t), "profile", "seccomp", repoFile(t, "deploy/seccomp/palisade-agent.recording.json"),
		"--runtime", "runc-nnp").Output()
	if err != nil {
		t.Fatalf("palisade profile seccomp: %v", err)
	}
	if string(out) != string(shipped) {
		t.Errorf("deploy/seccomp/palisade-agent.json differs from what the recording gives; regenerate it:\n" +
			"palisade profile seccomp deploy/seccomp/palisade-agent.recording.json --runtime runc-nnp --out deploy/seccomp/palisade-agent.json")
	}
	for _, call := range []string{`"bpf"`, `"exit_group"`, `"setpriority"`, `"unlinkat"`} {
		if !strings.Contains(string(shipped), call) {
			t.Errorf("the profile does not allow %s, which the agent calls", call)
		}
	}
}
