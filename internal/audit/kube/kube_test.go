package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/audit/audittest"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// base is a Pod that passes every check. Cases add lines at the markers or
// replace lines; the line that should carry the finding ends in "#want".
const base = `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns}
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
#POD
  containers:
    - name: c
      image: x
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
#SC
      resources: {limits: {memory: 64Mi}}
#CTR
`

func render(pod, sc, ctr string, replace ...string) string {
	s := strings.Replace(base, "#POD\n", pod, 1)
	s = strings.Replace(s, "#SC\n", sc, 1)
	s = strings.Replace(s, "#CTR\n", ctr, 1)
	for i := 0; i+1 < len(replace); i += 2 {
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	return s
}

func TestHardenedPod(t *testing.T) {
	cs, _, err := Parse("p.yaml", []byte(render("", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); len(fs) != 0 {
		t.Fatalf("hardened pod has findings:\n%s", audittest.Brief(fs))
	}
}

func TestChecksKubernetes(t *testing.T) {
	tests := []struct {
		slug string
		doc  string
		also string // a second check the setting implies
	}{
		{"runtime-socket-mount", render("  volumes: [{name: s, hostPath: {path: /run/containerd/containerd.sock}}] #want\n", "", "      volumeMounts: [{name: s, mountPath: /s}]\n"), ""},
		{"host-root-mount", render("  volumes:\n    - name: r\n      hostPath:\n        path: / #want\n", "", "      volumeMounts: [{name: r, mountPath: /host, readOnly: true}]\n"), ""},
		{"sensitive-host-mount", render("  volumes:\n    - name: k\n      hostPath:\n        path: /var/lib/kubelet #want\n", "", "      volumeMounts: [{name: k, mountPath: /k}]\n"), ""},
		{"sensitive-host-mount", render("  volumes:\n    - name: v\n      hostPath:\n        path: /srv #want\n", "", "      volumeMounts: [{name: v, mountPath: /k, subPath: ../etc}]\n"), ""},
		{"privileged", render("", "        privileged: true #want\n", ""), "no-new-privileges-missing"},
		{"dangerous-capability", render("", "", "", "capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL], add: [CAP_BPF]} #want"), ""},
		{"risky-capability", render("", "", "", "capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL], add: [SYS_TIME]} #want"), ""},
		{"risky-capability", render("", "", "", "capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL], add: [NET_RAW]} #want"), ""},
		{"added-capability", render("", "", "", "capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL], add: [NET_BIND_SERVICE, SETUID]} #want"), ""},
		{"unreadable-security-setting", render("", "", "", "capabilities: {drop: [ALL]}", "capabilities: {drop: [ALL], add: [CAP_SYS_AMDIN]} #want"), ""},
		{"capabilities-not-dropped", render("", "", "", "        capabilities: {drop: [ALL]}\n", "        capabilities: {add: [NET_BIND_SERVICE]} #want\n"), ""},
		{"seccomp-unconfined", render("", "        seccompProfile: {type: Unconfined} #want\n", ""), ""},
		{"seccomp-unconfined", render("", "", "", "    seccompProfile: {type: RuntimeDefault}\n", "", "      securityContext:\n", "      securityContext: #want\n"), ""},
		{"apparmor-unconfined", render("", "        appArmorProfile: {type: Unconfined} #want\n", ""), ""},
		// Settings the API server rejects are findings, never read as confined.
		{"unreadable-security-setting", render("", "        seccompProfile: {} #want\n", ""), ""},
		{"unreadable-security-setting", render("", "        seccompProfile: {type: custom} #want\n", ""), ""},
		{"unreadable-security-setting", render("", "        seccompProfile: {type: LocalPort} #want\n", ""), ""},
		{"unreadable-security-setting", render("", "", "", "    seccompProfile: {type: RuntimeDefault}", "    seccompProfile: {type: Localhost} #want"), ""},
		{"unreadable-security-setting", render("", "        seccompProfile: {type: RuntimeDefault, localhostProfile: p.json} #want\n", ""), ""},
		{"unreadable-security-setting", render("", "        appArmorProfile: {type: Localhost} #want\n", ""), ""},
		{"unreadable-security-setting", render("", "        appArmorProfile: {} #want\n", ""), ""},
		{"unreadable-security-setting", render("", "", "", "metadata: {name: p, namespace: ns}", "metadata:\n  name: p\n  annotations: {container.apparmor.security.beta.kubernetes.io/c: confined}", "    - name: c\n", "    - name: c #want\n"), ""},
		{"unreadable-security-setting", render("", "        procMount: Masked #want\n", ""), ""},
		{"apparmor-unconfined", render("", "", "", "    runAsNonRoot: true\n", "    runAsNonRoot: true\n    appArmorProfile: {type: Unconfined} #want\n"), ""},
		{"selinux-disabled", render("", "        seLinuxOptions:\n          type: spc_t #want\n", ""), ""},
		{"no-new-privileges-missing", render("", "", "", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true #want"), ""},
		{"runs-as-root", render("", "        runAsUser: 0 #want\n", ""), ""},
		{"runs-as-root", render("", "", "", "    runAsNonRoot: true\n", "", "      securityContext:\n", "      securityContext: #want\n"), ""},
		{"host-pid", render("  hostPID: true #want\n", "", ""), ""},
		{"host-network", render("  hostNetwork: true #want\n", "", ""), ""},
		{"host-ipc", render("  hostIPC: true #want\n", "", ""), ""},
		{"writable-root-fs", render("", "", "", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false #want"), ""},
		{"no-memory-limit", render("", "", "", "{limits: {memory: 64Mi}}", "{limits: {cpu: 100m}} #want"), ""},
		{"device-access", render("  volumes:\n    - name: d\n      hostPath:\n        path: /dev/kvm #want\n        type: CharDevice\n", "", "      volumeMounts: [{name: d, mountPath: /dev/kvm}]\n"), ""},
		{"unmasked-proc", render("", "        procMount: Unmasked #want\n", ""), ""},
		{"host-path-volume", render("  volumes:\n    - name: sock\n      hostPath:\n        path: /var/run/docker.sock #want\n", "", ""), ""},
		{"host-path-volume", render("  volumes:\n    - name: logs\n      hostPath: {path: /var/log} #want\n", "", ""), ""},
		{"sensitive-host-mount", render("  volumes:\n    - name: logs\n      hostPath: {path: /var/log/pods} #want\n", "", "      volumeMounts: [{name: logs, mountPath: /logs}]\n"), ""},
		{"shared-mount-propagation", render("  volumes: [{name: v, hostPath: {path: /srv/x}}]\n", "", "      volumeMounts:\n        - name: v\n          mountPath: /x\n          mountPropagation: Bidirectional #want\n"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			cs, _, err := Parse("p.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, nil)
			line := audittest.WantLine(tt.doc)
			if line == 0 {
				t.Fatal("case has no #want line")
			}
			if !audittest.Has(fs, tt.slug, line) {
				t.Fatalf("want %s at line %d, got:\n%s\ndoc:\n%s", tt.slug, line, audittest.Brief(fs), tt.doc)
			}
			for _, f := range fs {
				if f.Check != tt.slug && f.Check != tt.also {
					t.Errorf("extra finding %s@%d", f.Check, f.Line)
				}
				if !strings.Contains(f.Fix, "hostPath") && !strings.Contains(f.Fix, "securityContext") && !strings.Contains(f.Fix, "host") && !strings.Contains(f.Fix, "resources") && !strings.Contains(f.Fix, "mountPropagation") && !strings.Contains(f.Fix, "Profile") && !strings.Contains(f.Fix, "procMount") && !strings.Contains(f.Fix, "capabilities") {
					t.Errorf("fix not in Kubernetes terms: %q", f.Fix)
				}
			}
		})
	}
}

// TestSELinux: host domains are selinux-disabled; user, role and types
// Pod Security Standards do not allow are selinux-custom-options, at the
// seLinuxOptions line; container types and a level are fine.
func TestSELinux(t *testing.T) {
	tests := []struct{ opts, want string }{
		{"{type: spc_t}", "selinux-disabled"},
		{"{type: container_runtime_t}", "selinux-disabled"},
		{"{type: kernel_t}", "selinux-disabled"},
		{"{type: unconfined_service_t}", "selinux-disabled"},
		{"{type: initrc_t}", "selinux-disabled"},
		{"{type: init_t}", "selinux-disabled"},
		{"{user: system_u}", "selinux-custom-options"},
		{"{role: sysadm_r}", "selinux-custom-options"},
		{"{type: my_app_t}", "selinux-custom-options"},
		{"{type: container_t, user: unconfined_u, role: system_r}", "selinux-custom-options,selinux-custom-options"},
		{"{type: container_init_t}", ""},
		{"{type: container_engine_t, level: 's0:c123,c456'}", ""},
	}
	for _, tt := range tests {
		for _, podLevel := range []bool{false, true} {
			doc := render("", "        seLinuxOptions: "+tt.opts+" #want\n", "")
			if podLevel {
				doc = render("", "", "", "    runAsNonRoot: true\n", "    runAsNonRoot: true\n    seLinuxOptions: "+tt.opts+" #want\n")
			}
			cs, _, err := Parse("p.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range audittest.AuditAll(cs, nil) {
				got = append(got, f.Check)
				if f.Line != audittest.WantLine(doc) {
					t.Errorf("%s (pod %v): %s at line %d, want %d", tt.opts, podLevel, f.Check, f.Line, audittest.WantLine(doc))
				}
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("%s (pod %v): got %v, want %s", tt.opts, podLevel, got, tt.want)
			}
		}
	}
}

// TestSecurityContextMerge checks Kubernetes' precedence: container fields
// override the pod's; privileged and CAP_SYS_ADMIN force privilege escalation.
func TestSecurityContextMerge(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // slugs, comma-separated, sorted by the audit's order
	}{
		{"container seccomp overrides pod", render("", "        seccompProfile: {type: Localhost, localhostProfile: p.json}\n", "", "{type: RuntimeDefault}", "{type: Unconfined}"), ""},
		{"pod uid 0 overridden by container", render("", "        runAsUser: 1000\n", "", "    runAsNonRoot: true\n", "    runAsUser: 0\n"), ""},
		{"container uid 0 despite pod non-root", render("", "        runAsUser: 0\n", ""), "runs-as-root"},
		{"hostUsers false maps root", render("  hostUsers: false\n", "        runAsUser: 0\n", ""), ""},
		{"SYS_ADMIN forces escalation", render("", "", "", "{drop: [ALL]}", "{drop: [ALL], add: [SYS_ADMIN]}"), "dangerous-capability,no-new-privileges-missing"},
		{"apparmor annotation", render("", "", "", "metadata: {name: p, namespace: ns}", "metadata:\n  name: p\n  annotations: {container.apparmor.security.beta.kubernetes.io/c: unconfined}"), "apparmor-unconfined"},
		{"pod seLinux spc_t", render("", "", "", "    runAsNonRoot: true\n", "    runAsNonRoot: true\n    seLinuxOptions: {type: spc_t}\n"), "selinux-disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, _, err := Parse("p.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range audittest.AuditAll(cs, nil) {
				got = append(got, f.Check)
			}
			if s := strings.Join(sortedUnique(got), ","); s != tt.want {
				t.Errorf("got %q want %q\n%s", s, tt.want, tt.doc)
			}
		})
	}
}

func sortedUnique(s []string) []string {
	m := map[string]bool{}
	var out []string
	for _, v := range s {
		if !m[v] {
			m[v] = true
			out = append(out, v)
		}
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestKinds checks every workload kind, List, multi-document streams, init
// and ephemeral containers, and custom resources with a pod template.
func TestKinds(t *testing.T) {
	cs, _, err := Parse("testdata/kinds.yaml", mustRead(t, "testdata/kinds.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, c := range cs {
		targets = append(targets, c.Target)
	}
	want := []string{
		"Pod default/debug-me container app",
		"Pod default/debug-me ephemeral container debugger",
		"Deployment web init container init",
		"Deployment web container web",
		"StatefulSet db container db",
		"DaemonSet agent container agent",
		"ReplicaSet rs container c",
		"ReplicationController rc container c",
		"Job once container c",
		"CronJob nightly container c",
		"PodTemplate tpl container c",
		"Pod in-list container c",
		"Deployment in-list container c",
		"Rollout canary container c",
	}
	if strings.Join(targets, "\n") != strings.Join(want, "\n") {
		t.Fatalf("targets:\n%s\nwant:\n%s", strings.Join(targets, "\n"), strings.Join(want, "\n"))
	}
	fs := audittest.AuditAll(cs, nil)
	// Each workload's one privileged container is found at its own line.
	n := 0
	for _, f := range fs {
		if f.Check == "privileged" {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("privileged findings: %d, want %d\n%s", n, len(want), audittest.Brief(fs))
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"insecure.yaml", "hardened.yaml", "kinds.yaml", "ignored.yaml"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join("testdata", name)
			data := mustRead(t, p)
			cs, _, err := Parse(p, data)
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, data)
			if name == "hardened.yaml" && len(fs) != 0 {
				t.Errorf("hardened example has findings:\n%s", audittest.Brief(fs))
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".yaml")+".json"), audittest.JSON(t, fs))
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"broken yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n", "m.yaml:3: invalid YAML"},
		{"broken second doc", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: Pod\n  bad: indent\n", "m.yaml:7: document 2: invalid YAML"},
		{"wrong type", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      securityContext:\n        privileged: \"very\"\n", "m.yaml:8: Pod: field spec.containers.securityContext.privileged"},
		{"no kind", "apiVersion: v1\nmetadata: {name: p}\n", "m.yaml:1: document has no kind"},
		{"scalar doc", "apiVersion: v1\nkind: Pod\n---\njust a string\n", "m.yaml:4: document 2: a Kubernetes object must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("m.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			var ie *srcpos.Error
			if !errors.As(err, &ie) {
				t.Errorf("not a *srcpos.Error: %T", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestLooks(t *testing.T) {
	if !Looks([]byte("# c\n---\napiVersion: v1\nkind: Pod\n")) || Looks([]byte("services:\n  a: {}\n")) || Looks([]byte("{\"a\": 1}")) {
		t.Error("Looks")
	}
}

func FuzzParse(f *testing.F) {
	audittest.Seed(f, "testdata/insecure.yaml", "testdata/hardened.yaml", "testdata/kinds.yaml")
	f.Add([]byte(render("", "", "")))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: []\n"))
	f.Add([]byte("apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\n---\napiVersion: v1\nkind: Pod\nspec: {volumes: [{name: s, hostPath: {path: /var/log}}], containers: [{name: c, securityContext: {seccompProfile: {}, seLinuxOptions: {role: r}, capabilities: {add: [SYSLOG, NOPE]}}}]}\n---\n{broken\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, _, err := Parse("f.yaml", data)
		audittest.CheckParsed(t, cs, err)
	})
}

// TestYAMLAsKubectlReadsIt: "yes" is a boolean and merge keys apply, as
// kubectl reads manifests.
func TestYAMLAsKubectlReadsIt(t *testing.T) {
	doc := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - &c {name: a, image: x, securityContext: {privileged: yes}}\n    - <<: *c\n      name: b\n"
	cs, _, err := Parse("p.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || !cs[0].Privileged || !cs[1].Privileged || cs[1].Target != "Pod p container b" {
		t.Fatalf("containers: %+v", cs)
	}
}

// splitErrors undoes errors.Join.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// TestMultiDocument: each document stands alone. An unknown kind between two
// pods is skipped with a note, a broken document is reported with its index
// and line, and every other document is still audited.
func TestMultiDocument(t *testing.T) {
	doc := `apiVersion: v1
kind: Pod
metadata: {name: first}
spec:
  containers: [{name: c, image: x, securityContext: {privileged: true}}]
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: psp}
spec: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: broken}
spec:
  containers: [{name: c, image: x
---
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: crd-instance}
spec: {cronSpec: "* * * * */5"}
---
apiVersion: v1
kind: Pod
metadata: {name: typed}
spec:
  containers:
    - name: c
      securityContext: {runAsUser: "root"}
---
apiVersion: v1
kind: Pod
metadata: {name: second}
spec:
  hostPID: true
  containers: [{name: c, image: x}]
`
	cs, notes, err := Parse("m.yaml", []byte(doc))
	var targets []string
	for _, c := range cs {
		targets = append(targets, c.Target)
	}
	if got := strings.Join(targets, "|"); got != "Pod first container c|Pod second container c" {
		t.Errorf("audited %q", got)
	}
	fs := audittest.AuditAll(cs, nil)
	if !audittest.Has(fs, "privileged", 5) || !audittest.Has(fs, "host-pid", 35) {
		t.Errorf("findings:\n%s", audittest.Brief(fs))
	}
	var errs []string
	for _, e := range splitErrors(err) {
		errs = append(errs, e.Error())
	}
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "m.yaml:15: document 3: invalid YAML") ||
		!strings.HasPrefix(errs[1], "m.yaml:29: document 5: Pod: field spec.containers.securityContext.runAsUser") {
		t.Errorf("errors:\n%s", strings.Join(errs, "\n"))
	}
	var ns []string
	for _, n := range notes {
		ns = append(ns, n.String())
	}
	want := []string{
		`m.yaml:8: document 2: unknown kind "PodSecurityPolicy" in apiVersion "policy/v1beta1": not audited`,
		`m.yaml:19: document 4: custom resource CronTab (stable.example.com/v1) embeds no pod template (spec.template.spec): not audited`,
	}
	if strings.Join(ns, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(ns, "\n"), strings.Join(want, "\n"))
	}
}

// TestListItemsStandAlone: a List item of an unknown kind or with a broken
// field does not hide the items after it.
func TestListItemsStandAlone(t *testing.T) {
	doc := `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pdo
    metadata: {name: typo}
  - apiVersion: v1
    kind: Pod
    metadata: {name: bad}
    spec: {hostPID: "yes please"}
  - apiVersion: v1
    kind: Pod
    metadata: {name: ok}
    spec:
      hostNetwork: true
      containers: [{name: c, image: x}]
`
	cs, notes, err := Parse("l.yaml", []byte(doc))
	if len(cs) != 1 || cs[0].Target != "Pod ok container c" || !cs[0].HostNetwork {
		t.Fatalf("containers: %v", cs)
	}
	if len(notes) != 1 || notes[0].String() != `l.yaml:5: unknown kind "Pdo" in apiVersion "v1": not audited` {
		t.Errorf("notes: %v", notes)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "l.yaml:10: Pod: field spec.hostPID") {
		t.Errorf("error: %v", err)
	}
}

// TestUnmountedHostPathVolumes: a hostPath volume no container mounts is a
// finding on the volume, reported once per workload; once any container
// (an ephemeral one included) mounts it, the stronger mount finding replaces
// it. Harmless host paths are not findings either way.
func TestUnmountedHostPathVolumes(t *testing.T) {
	doc := `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      volumes:
        - {name: sock, hostPath: {path: /var/run/docker.sock}}
        - {name: root, hostPath: {path: /}}
        - {name: proc, hostPath: {path: /proc}}
        - {name: sys, hostPath: {path: /sys}}
        - {name: etc, hostPath: {path: /etc}}
        - {name: data, hostPath: {path: /srv/data}}
        - {name: dev, hostPath: {path: /dev/sda}}
        - {name: used, hostPath: {path: /var/lib/kubelet}}
        - {name: scratch, emptyDir: {}}
      containers:
        - {name: a, image: x, volumeMounts: [{name: scratch, mountPath: /tmp}]}
        - {name: b, image: x}
      ephemeralContainers:
        - {name: dbg, image: x, volumeMounts: [{name: used, mountPath: /k}]}
`
	cs, _, err := Parse("v.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range audittest.AuditAll(cs, nil) {
		if f.Check == "host-path-volume" || strings.Contains(f.Check, "mount") || f.Check == "device-access" {
			got = append(got, fmt.Sprintf("%s@%d %s", f.Check, f.Line, f.Target))
		}
	}
	// The most severe first, then by line.
	want := []string{
		"sensitive-host-mount@15 Deployment d ephemeral container dbg",
		"host-path-volume@8 Deployment d",
		"host-path-volume@9 Deployment d",
		"host-path-volume@10 Deployment d",
		"host-path-volume@11 Deployment d",
		"host-path-volume@12 Deployment d",
		"host-path-volume@14 Deployment d",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
