package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/engine"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func runAuditCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"audit"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func auditTree(t *testing.T) string {
	return filepath.Join(testutil.RepoRoot(t), "internal", "audit", "scan", "testdata", "tree")
}

func TestAuditJSONAndExitCodes(t *testing.T) {
	tree := auditTree(t)
	code, out, errs := runAuditCLI(t, tree, "-o", "json")
	if code != 0 || errs != "" {
		t.Fatalf("code %d stderr %q", code, errs)
	}
	var doc struct {
		Findings []struct {
			Check, Severity, Title, Target, File, Fix string
			Line                                      int
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range doc.Findings {
		seen[f.Check] = true
		if f.Check == "" || f.Severity == "" || f.Title == "" || f.Target == "" || f.Fix == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	for _, want := range []string{"runtime-socket-mount", "host-network", "dangerous-capability", "host-pid", "seccomp-unconfined"} {
		if !seen[want] {
			t.Errorf("no %s finding", want)
		}
	}

	code, _, errs = runAuditCLI(t, tree, "--fail-on", "high")
	if code != 1 || !strings.Contains(errs, "at or above high (--fail-on high)") || strings.Count(errs, "\n") != 1 {
		t.Errorf("--fail-on high: code %d stderr %q", code, errs)
	}
	code, _, errs = runAuditCLI(t, filepath.Join(tree, "k8s"), "--fail-on", "critical")
	if code != 0 {
		t.Errorf("--fail-on critical with only high findings: code %d stderr %q", code, errs)
	}
	code, out, _ = runAuditCLI(t, filepath.Join(tree, "k8s"), "--ignore", "host-network,dangerous-capability")
	if code != 0 || strings.TrimSpace(out) != "no findings" {
		t.Errorf("--ignore: code %d out %q", code, out)
	}
}

func TestAuditUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"-o", "xml", "."},
		{"--ignore", "no-such-check", "."},
		{"--fail-on", "severe", "."},
	}
	for _, args := range tests {
		code, out, errs := runAuditCLI(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "palisade: ") {
			t.Errorf("%v: code %d stdout %q stderr %q", args, code, out, errs)
		}
	}
}

// TestAuditMultiDocumentNotes: a PodSecurityPolicy between two pods is
// skipped with a note on stderr (exit 0) and the second pod is still audited;
// a broken document exits 2 naming its index and line.
func TestAuditMultiDocumentNotes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.yaml")
	os.WriteFile(p, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: x}]\n---\napiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: psp}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  hostPID: true\n  containers: [{name: c, image: x}]\n"), 0o644)
	code, out, errs := runAuditCLI(t, p, "-o", "json")
	if code != 0 || errs != "palisade: note: "+p+`:8: document 2: unknown kind "PodSecurityPolicy" in apiVersion "policy/v1beta1": not audited`+"\n" {
		t.Errorf("code %d stderr %q", code, errs)
	}
	if !strings.Contains(out, `"check": "host-pid"`) {
		t.Errorf("second pod not reported:\n%s", out)
	}
	os.WriteFile(p, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  hostPID: true\n  containers: [{name: c, image: x}]\n---\nkind: Pod\n"), 0o644)
	code, out, errs = runAuditCLI(t, p, "-o", "json")
	if code != 2 || !strings.Contains(errs, p+":2: document 1: invalid YAML") || !strings.Contains(errs, p+":12: document 3: document has no kind") || !strings.HasSuffix(errs, "(2 errors)\n") {
		t.Errorf("code %d stderr %q", code, errs)
	}
	if !strings.Contains(out, `"check": "host-pid"`) {
		t.Errorf("good document not reported:\n%s", out)
	}
}

func TestAuditBadInputStillAuditsTheRest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "good.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  hostIPC: true\n  containers: [{name: c, image: x}]\n"), 0o644)
	code, out, errs := runAuditCLI(t, dir, "-o", "json")
	if code != 2 {
		t.Errorf("code %d", code)
	}
	if !strings.Contains(errs, filepath.Join(dir, "bad.yaml")+":2: invalid YAML") || strings.Count(errs, "\n") != 1 {
		t.Errorf("stderr %q", errs)
	}
	if !strings.Contains(out, `"check": "host-ipc"`) {
		t.Errorf("good file not reported:\n%s", out)
	}
}

func TestAuditSARIFToFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.sarif")
	code, out, errs := runAuditCLI(t, auditTree(t), "-o", "sarif", "--out", p)
	if code != 0 || out != "" || errs != "" {
		t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
		t.Fatalf("sarif: %v %+v", err, log)
	}
}

func TestAuditTableEscapesNames(t *testing.T) {
	code, out, _ := runAuditCLI(t, filepath.Join(auditTree(t), "inspect"))
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `container evil\x1b[31mred\x07`) {
		t.Errorf("container name not escaped:\n%q", out)
	}
}

func TestAuditListChecks(t *testing.T) {
	code, out, _ := runAuditCLI(t, "--list-checks", "-o", "json")
	var rows []struct {
		Check   string   `json:"check"`
		Sources []string `json:"sources"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != len(audit.Checks()) {
		t.Fatalf("code %d rows %d", code, len(rows))
	}
}

func TestAuditFix(t *testing.T) {
	p := filepath.Join(testutil.RepoRoot(t), "internal", "audit", "kube", "testdata", "insecure.yaml")
	code, out, errs := runAuditCLI(t, "--fix", p)
	if code != 0 || errs != "" || !strings.Contains(out, "allowPrivilegeEscalation: false") || strings.Contains(out, "hostPID") {
		t.Fatalf("code %d stderr %q out:\n%s", code, errs, out)
	}
	code, _, errs = runAuditCLI(t, "--fix", filepath.Join(auditTree(t), "bundle", "config.json"))
	if code != 2 || !strings.Contains(errs, "--fix rewrites compose files and Kubernetes manifests only") {
		t.Errorf("--fix on OCI config: code %d stderr %q", code, errs)
	}
	code, _, _ = runAuditCLI(t, "--fix", p, p)
	if code != 2 {
		t.Errorf("--fix with two files: code %d", code)
	}
}

func TestAuditStdin(t *testing.T) {
	var out, errb bytes.Buffer
	in := strings.NewReader("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    hostPID: true\n    containers: [{name: c, image: x}]\n")
	code := Run(context.Background(), []string{"audit", "-", "-o", "json"}, in, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), `"file": "\u003cstdin\u003e"`) || !strings.Contains(out.String(), `"check": "host-pid"`) {
		t.Fatalf("code %d stderr %q out %s", code, errb.String(), out.String())
	}
}

func TestAuditProgressBar(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "tty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	short := progressReporter(f)
	for i := 1; i <= 10; i++ {
		short(i, 10)
	}
	long := progressReporter(f)
	for i := 1; i <= progressThreshold; i++ {
		long(i, progressThreshold)
	}
	b, _ := os.ReadFile(f.Name())
	if !strings.Contains(string(b), "auditing") || strings.Contains(string(b), "/10 ") {
		t.Errorf("progress output %q", b)
	}
}

// TestAuditDockerCommand runs `palisade audit --docker -o json` end to end
// against a container started with --pid host and a docker.sock bind.
func TestAuditDockerCommand(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	name := fmt.Sprintf("palisade-audit-cli-%d", os.Getpid())
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	out, err := exec.Command("docker", "run", "-d", "--name", name, "--pid", "host",
		"-v", "/var/run/docker.sock:/var/run/docker.sock", img).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	code, stdout, stderr := runAuditCLI(t, "--docker", "-o", "json", "--fail-on", "critical")
	if code != 1 || !strings.Contains(stderr, "--fail-on critical") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	var doc struct {
		Findings []struct{ Check, Target, Fix string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range doc.Findings {
		if f.Target == "container "+name {
			got[f.Check] = f.Fix
		}
	}
	if got["host-pid"] != "remove --pid host" || !strings.Contains(got["runtime-socket-mount"], "/var/run/docker.sock") {
		t.Errorf("findings for %s: %v", name, got)
	}
}

// TestAuditDockerKernelExposure: on the same host, a container under
// Docker's default profile and one with seccomp=unconfined plus
// CAP_SYS_ADMIN reach different kernel bugs, and the findings name what
// makes the difference (the profile's unshare rule, the capability).
func TestAuditDockerKernelExposure(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	prefix := fmt.Sprintf("palisade-exposure-%d-", os.Getpid())
	def, wide := prefix+"default", prefix+"wide"
	for name, flags := range map[string][]string{
		def:  nil,
		wide: {"--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN"},
	} {
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
		args := append(append([]string{"run", "-d", "--name", name}, flags...), img)
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker run: %v: %s", err, out)
		}
	}
	code, stdout, stderr := runAuditCLI(t, "--docker", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Findings []struct{ Check, Target, Detail, Fix string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	// Every bug the container can reach, whatever this kernel's version:
	// the ids in its kernel findings.
	reach := map[string]map[string]bool{def: {}, wide: {}}
	fixes := map[string]string{}
	for _, f := range doc.Findings {
		name := strings.TrimPrefix(f.Target, "container ")
		if reach[name] == nil || !strings.HasPrefix(f.Check, "kernel-") {
			continue
		}
		for _, id := range cveRE.FindAllString(f.Detail, -1) {
			reach[name][id] = true
		}
		fixes[name] += f.Fix + "\n"
	}
	if len(reach[wide]) <= len(reach[def]) {
		t.Errorf("unconfined+SYS_ADMIN reaches %d bugs, default %d; want more:\n%v\n%v", len(reach[wide]), len(reach[def]), reach[wide], reach[def])
	}
	for id := range reach[def] {
		if !reach[wide][id] {
			t.Errorf("%s reachable from the default container but not the wider one", id)
		}
	}
	// Sequoia needs a user namespace and a mount: the default profile
	// refuses unshare(CLONE_NEWUSER), unconfined does not.
	if reach[def]["CVE-2021-33909"] || !reach[wide]["CVE-2021-33909"] {
		t.Errorf("CVE-2021-33909: default %v, wide %v", reach[def]["CVE-2021-33909"], reach[wide]["CVE-2021-33909"])
	}
	if !strings.Contains(fixes[wide], "drop CAP_SYS_ADMIN") || !strings.Contains(fixes[wide], "user.max_user_namespaces=0") {
		t.Errorf("fixes for the wide container lack the capability and the sysctl:\n%s", fixes[wide])
	}
	// The default container's explanation names the profile's rule.
	exp := exposureOf(t, def)
	if !strings.Contains(exp, "seccomp profile docker-default blocks unshare(CLONE_NEWUSER)") {
		t.Errorf("default container's CVE-2021-33909 explanation: %s", exp)
	}
}

var cveRE = regexp.MustCompile(`CVE-\d{4}-\d+`)

// exposureOf is the CVE-2021-33909 explanation for a running container,
// from the same engine source audit --docker uses.
func exposureOf(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	snap, err := engine.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range snap.Containers {
		if c.Target != "container "+name {
			continue
		}
		for _, k := range c.Kernel {
			if k.Bug == "CVE-2021-33909" {
				return k.Detail
			}
		}
	}
	t.Fatalf("no CVE-2021-33909 result for %s", name)
	return ""
}
