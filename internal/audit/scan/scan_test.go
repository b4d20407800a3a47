package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/audittest"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name, data string
		want       Kind
	}{
		{"compose.yaml", "services: {}", KindCompose},
		{"docker-compose.prod.yml", "x: 1", KindCompose},
		{"stack.yml", "version: '3'\nservices:\n  a: {image: x}\n", KindCompose},
		{"pod.yaml", "apiVersion: v1\nkind: Pod\n", KindKube},
		{"pod.json", `{"apiVersion": "v1", "kind": "Pod"}`, KindKube},
		{"config.json", `{"ociVersion": "1.0.2", "process": {}}`, KindOCI},
		{"dump.json", `[{"Id": "x", "HostConfig": {}}]`, KindInspect},
		{"values.yaml", "replicas: 3\n", KindUnknown},
		{"package.json", `{"name": "x"}`, KindUnknown},
		{"README.md", "services:\n", KindUnknown},
		{"templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n", KindTemplate},
		{StdinName, "apiVersion: v1\nkind: Pod\n", KindKube},
		{StdinName, `[{"Id": "x", "HostConfig": {}}]`, KindInspect},
		{StdinName, `{"apiVersion": "v1", "kind": "List", "items": []}`, KindKube},
		{StdinName, "services:\n  a: {image: x}\n", KindCompose},
	}
	for _, tt := range tests {
		if got := Detect(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("Detect(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestTreeGolden audits a directory holding every source and compares the
// three output formats with golden files.
func TestTreeGolden(t *testing.T) {
	var calls atomic.Int32
	res := Scan(context.Background(), []string{"testdata/tree"}, Options{
		ComposeEnv: []string{},
		Progress:   func(done, total int) { calls.Add(1) },
	})
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	// compose.yaml+override, deploy.yaml, config.json, evil.json; the
	// two non-container files are walked past without counting.
	if res.Files != 4 {
		t.Errorf("files audited: %d, want 4", res.Files)
	}
	if calls.Load() != 6 {
		t.Errorf("progress calls: %d, want one per file walked (6)", calls.Load())
	}
	fs := res.Findings
	if !audittest.Has(fs, "runtime-socket-mount", 5) {
		t.Errorf("override file's socket mount not attributed:\n%s", audittest.Brief(fs))
	}
	for _, f := range fs {
		if f.Target == "service admin" && (f.Check == "runs-as-root" || f.Check == "writable-root-fs") {
			t.Errorf("inline ignore on the service line not applied: %+v", f)
		}
	}
	rep := &audit.Report{Findings: fs}
	var table, js, sarif bytes.Buffer
	if err := rep.WriteTable(&table, false); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteSARIF(&sarif, "test"); err != nil {
		t.Fatal(err)
	}
	for _, out := range [][]byte{table.Bytes(), js.Bytes(), sarif.Bytes()} {
		if bytes.ContainsAny(out, "\x1b\x07") {
			t.Fatalf("attacker-controlled container name reached the output raw:\n%q", out)
		}
	}
	testutil.Golden(t, "testdata/golden/tree.txt", table.Bytes())
	testutil.Golden(t, "testdata/golden/tree.json", js.Bytes())
	testutil.Golden(t, "testdata/golden/tree.sarif", sarif.Bytes())
}

// TestBadInputs: each bad input gives one error naming the file (and line
// where there is one) while the good files are still audited.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("good.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  hostPID: true\n  containers: [{name: c, image: x}]\n")
	broken := write("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {a: b\nspec: {}\n")
	unknown := write("unknown.yaml", "apiVersion: v1\nkind: Pdo\nmetadata: {name: p}\n")
	badjson := write("inspect.json", "[{\"HostConfig\": {\"Privileged\": tru}}]")
	gone := filepath.Join(dir, "gone.yaml")
	if err := os.Symlink(filepath.Join(dir, "missing-target"), gone); err != nil {
		t.Fatal(err)
	}
	res := Scan(context.Background(), []string{dir, filepath.Join(dir, "nope.yaml")}, Options{})
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
		var ie *srcpos.Error
		if !errors.As(e, &ie) {
			t.Errorf("not a *srcpos.Error: %v", e)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		broken + ":4: invalid YAML",
		badjson + ":1:35: invalid JSON",
		gone + ": no such file or directory",
		filepath.Join(dir, "nope.yaml") + ": no such file or directory",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
	if len(res.Errors) != 4 {
		t.Errorf("%d errors, want 4:\n%s", len(res.Errors), all)
	}
	// An unknown kind is skipped with a note, not an error.
	if len(res.Notes) != 1 || res.Notes[0].String() != unknown+`:2: unknown kind "Pdo" in apiVersion "v1": not audited` {
		t.Errorf("notes: %v", res.Notes)
	}
	if !audittest.Has(res.Findings, "host-pid", 5) {
		t.Errorf("good file not audited:\n%s", audittest.Brief(res.Findings))
	}
}

func TestExplicitUnknownFile(t *testing.T) {
	res := Scan(context.Background(), []string{"testdata/tree/notes/values.yaml"}, Options{})
	if len(res.Errors) != 1 || !errors.Is(res.Errors[0], audit.ErrNotRecognized) {
		t.Fatalf("errors: %v", res.Errors)
	}
}

// manifest returns a Deployment typical of what the benchmark audits.
func manifest(i int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%d
  namespace: team-%d
  labels: {app: svc-%d, tier: backend}
spec:
  replicas: 3
  selector:
    matchLabels: {app: svc-%d}
  template:
    metadata:
      labels: {app: svc-%d}
    spec:
      serviceAccountName: svc
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      initContainers:
        - name: migrate
          image: registry.example/svc:%d
          command: [/bin/migrate, --up]
      containers:
        - name: app
          image: registry.example/svc:%d
          ports: [{containerPort: 8080, name: http}]
          env:
            - {name: MODE, value: production}
            - {name: REGION, value: eu-west-1}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 512Mi}
          volumeMounts:
            - {name: cache, mountPath: /cache}
            - {name: logs, mountPath: /var/log/app}
        - name: sidecar
          image: registry.example/proxy:1.4
          securityContext: {privileged: %v}
      volumes:
        - {name: cache, emptyDir: {}}
        - name: logs
          hostPath: {path: /var/log/pods/svc-%d}
---
apiVersion: v1
kind: Service
metadata: {name: svc-%d}
spec: {selector: {app: svc-%d}, ports: [{port: 80, targetPort: http}]}
`, i, i%7, i, i, i, i, i, i%10 == 0, i, i, i)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScan1000Manifests audits a directory of 1,000 manifest files.
func BenchmarkScan1000Manifests(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 1000; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%04d.yaml", i)), []byte(manifest(i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	var findings int
	for i := 0; i < b.N; i++ {
		res := Scan(context.Background(), []string{dir}, Options{})
		if len(res.Errors) != 0 || res.Files != 1000 {
			b.Fatalf("files %d errors %v", res.Files, res.Errors)
		}
		findings = len(res.Findings)
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/1000-manifests")
	// CPU time is the steadier figure on a shared machine.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/1000-manifests")
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "manifests/s")
	b.ReportMetric(float64(findings), "findings")
}

func TestStdin(t *testing.T) {
	in := strings.NewReader(`[{"Name": "/from-pipe", "Config": {"User": "1"}, "HostConfig": {"CapDrop": ["ALL"], "SecurityOpt": ["no-new-privileges"], "ReadonlyRootfs": true, "Memory": 1, "PidsLimit": 1, "NetworkMode": "host"}}]`)
	res := Scan(context.Background(), []string{Stdin}, Options{Stdin: in})
	if len(res.Errors) != 0 || len(res.Findings) != 1 || res.Findings[0].Check != "host-network" || res.Findings[0].File != StdinName {
		t.Fatalf("errors %v findings:\n%s", res.Errors, audittest.Brief(res.Findings))
	}
	res = Scan(context.Background(), []string{Stdin}, Options{Stdin: strings.NewReader("services:\n  a: {image: x}\n")})
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "<stdin>: compose files are read from disk") {
		t.Fatalf("compose on stdin: %v", res.Errors)
	}
}

func TestHelmTemplates(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	p := filepath.Join(dir, "templates", "deploy.yaml")
	os.WriteFile(p, []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n"), 0o644)
	if res := Scan(context.Background(), []string{dir}, Options{}); len(res.Errors) != 0 || res.Files != 0 {
		t.Errorf("walked Helm template: files %d errors %v", res.Files, res.Errors)
	}
	res := Scan(context.Background(), []string{p}, Options{})
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "render it first") {
		t.Errorf("named Helm template: %v", res.Errors)
	}
}

// TestComposeProjectsInParallel loads several compose projects at once (run
// with -race to check compose-go is used safely from the workers).
func TestComposeProjectsInParallel(t *testing.T) {
	res := Scan(context.Background(), []string{"../compose/testdata"}, Options{Workers: 4, ComposeEnv: []string{"HOME=/home/alice"}})
	if len(res.Errors) != 0 || res.Files != 5 { // four projects and extends/base.yaml on its own
		t.Fatalf("files %d errors %v", res.Files, res.Errors)
	}
	if !audittest.Has(res.Findings, "privileged", 0) || !audittest.Has(res.Findings, "runtime-socket-mount", 0) {
		t.Errorf("findings:\n%s", audittest.Brief(res.Findings))
	}
}
