package harden

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/audittest"
	"github.com/palisade-sec/palisade/internal/audit/compose"
	"github.com/palisade-sec/palisade/internal/audit/kube"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// fixable are the checks --fix resolves without asking for a value.
var fixable = []string{"host-path-volume", "privileged", "dangerous-capability", "capabilities-not-dropped", "seccomp-unconfined",
	"apparmor-unconfined", "selinux-disabled", "no-new-privileges-missing", "host-pid", "host-network",
	"host-ipc", "host-uts", "host-userns", "writable-root-fs", "unmasked-proc", "shared-mount-propagation"}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkFixed(t *testing.T, before, after []audit.Finding) {
	t.Helper()
	had, has := audittest.Slugs(before), audittest.Slugs(after)
	for _, s := range fixable {
		if has[s] {
			t.Errorf("%s still found after --fix", s)
		}
	}
	for s := range has {
		if !had[s] {
			t.Errorf("--fix introduced %s", s)
		}
	}
	if len(after) >= len(before) {
		t.Errorf("--fix did not reduce findings: %d -> %d", len(before), len(after))
	}
}

func TestManifests(t *testing.T) {
	for _, name := range []string{"insecure.yaml", "kinds.yaml", "hardened.yaml"} {
		t.Run(name, func(t *testing.T) {
			src := read(t, filepath.Join("..", "kube", "testdata", name))
			out, err := Manifest(name, src)
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", name), out)
			cs, _, err := kube.Parse(name, src)
			if err != nil {
				t.Fatal(err)
			}
			before := audittest.AuditAll(cs, nil)
			cs, _, err = kube.Parse("fixed-"+name, out)
			if err != nil {
				t.Fatalf("fixed output does not parse: %v\n%s", err, out)
			}
			after := audittest.AuditAll(cs, nil)
			if name == "hardened.yaml" {
				if string(out) != string(src) {
					t.Errorf("hardened manifest changed:\n%s", out)
				}
				return
			}
			checkFixed(t, before, after)
			if strings.HasPrefix(string(src), "#") && !strings.HasPrefix(string(out), "#") {
				t.Error("leading comment lost")
			}
		})
	}
}

func TestCompose(t *testing.T) {
	for _, dir := range []string{"insecure", "hardened"} {
		t.Run(dir, func(t *testing.T) {
			p := filepath.Join("..", "compose", "testdata", dir, "compose.yaml")
			src := read(t, p)
			out, err := Compose(p, src)
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", dir+"-compose.yaml"), out)
			env := compose.Options{Env: []string{"HOME=/home/alice"}}
			cs, err := compose.Parse(context.Background(), []string{p}, env)
			if err != nil {
				t.Fatal(err)
			}
			before := audittest.AuditAll(cs, nil)
			fixed := filepath.Join(t.TempDir(), "compose.yaml")
			os.WriteFile(fixed, out, 0o644)
			cs, err = compose.Parse(context.Background(), []string{fixed}, env)
			if err != nil {
				t.Fatalf("fixed output does not load: %v\n%s", err, out)
			}
			after := audittest.AuditAll(cs, nil)
			if dir == "hardened" {
				if string(out) != string(src) {
					t.Errorf("hardened compose file changed:\n%s", out)
				}
				return
			}
			checkFixed(t, before, after)
			if !strings.Contains(string(out), "# palisade: runtime-socket-mount") {
				t.Error("kept socket mount not annotated")
			}
		})
	}
}

func TestErrors(t *testing.T) {
	if _, err := Compose("c.yaml", []byte("services: [\n")); err == nil || !strings.HasPrefix(err.Error(), "c.yaml:1: invalid YAML") {
		t.Errorf("compose: %v", err)
	}
	if _, err := Compose("c.yaml", []byte("x: 1\n")); err == nil {
		t.Error("compose without services accepted")
	}
	if _, err := Manifest("m.yaml", []byte("a: 1\n---\nb: [\n")); err == nil || !strings.HasPrefix(err.Error(), "m.yaml:3: invalid YAML") {
		t.Errorf("manifest: %v", err)
	}
}

// TestUnusedHostPathVolumes: --fix removes sensitive hostPath volumes no
// container mounts (nothing can break) and keeps mounted and harmless ones.
func TestUnusedHostPathVolumes(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: x
      volumeMounts: [{name: etc, mountPath: /e}]
  volumes:
    - {name: sock, hostPath: {path: /var/run/docker.sock}}
    - {name: etc, hostPath: {path: /etc}}
    - {name: data, hostPath: {path: /srv/data}}
    - {name: logs, hostPath: {path: /var/log}}
`
	out, err := Manifest("v.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	o := string(out)
	if strings.Contains(o, "docker.sock") || strings.Contains(o, "/var/log") || !strings.Contains(o, "/etc") || !strings.Contains(o, "/srv/data") {
		t.Errorf("volumes after --fix:\n%s", o)
	}
	cs, _, err := kube.Parse("v.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	if audittest.Has(audittest.AuditAll(cs, nil), "host-path-volume", 0) {
		t.Errorf("host-path-volume left:\n%s", o)
	}
}

// TestComposeEveryDocument: --fix rewrites each document of a multi-document
// compose file and keeps them all.
func TestComposeEveryDocument(t *testing.T) {
	src := "services:\n  a: {image: x, privileged: true}\n---\nservices:\n  b: {image: x, pid: host}\n"
	out, err := Compose("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	o := string(out)
	if strings.Count(o, "services:") != 2 || strings.Contains(o, "privileged") || strings.Contains(o, "pid: host") || !strings.Contains(o, "---\n") {
		t.Errorf("fixed:\n%s", o)
	}
}
