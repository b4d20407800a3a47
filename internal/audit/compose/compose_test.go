package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/audittest"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// base is a service that passes every check. #SVC marks where cases add
// keys; the line that should carry the finding ends in "#want".
const base = `services:
  app:
    image: x
    user: "1000:1000"
    read_only: true
    cap_drop: [ALL]
    security_opt: [no-new-privileges:true]
    mem_limit: 64m
    pids_limit: 64
#SVC
`

func render(svc string, replace ...string) string {
	s := strings.Replace(base, "#SVC\n", svc, 1)
	for i := 0; i+1 < len(replace); i += 2 {
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	return s
}

func parseString(t *testing.T, doc string) ([]*audit.Container, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return Parse(context.Background(), []string{p}, Options{Env: []string{"HOME=/home/alice"}})
}

func TestHardenedService(t *testing.T) {
	cs, err := parseString(t, render(""))
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); len(fs) != 0 {
		t.Fatalf("hardened service has findings:\n%s", audittest.Brief(fs))
	}
}

func TestChecksCompose(t *testing.T) {
	tests := []struct {
		slug, doc string
	}{
		{"runtime-socket-mount", render("    volumes:\n      - /run/podman/podman.sock:/s #want\n")},
		{"runtime-socket-mount", render("    volumes:\n      - type: bind #want\n        source: /var/run/docker.sock\n        target: /var/run/docker.sock\n        read_only: true\n")},
		{"host-root-mount", render("    volumes: [\"/:/host:ro\"] #want\n")},
		{"sensitive-host-mount", render("    volumes:\n      - ./data:/data\n      - ~/.ssh:/keys:ro #want\n")},
		{"privileged", render("    privileged: true #want\n")},
		{"dangerous-capability", render("    cap_add: [DAC_READ_SEARCH] #want\n")},
		{"risky-capability", render("    cap_add: [SYSLOG] #want\n")},
		{"added-capability", render("    cap_add: [CAP_CHOWN] #want\n")},
		{"capabilities-not-dropped", render("", "    cap_drop: [ALL]\n", "    cap_drop: [NET_RAW] #want\n")},
		{"seccomp-unconfined", render("", "[no-new-privileges:true]", "[no-new-privileges:true, seccomp=unconfined] #want")},
		{"apparmor-unconfined", render("", "    security_opt: [no-new-privileges:true]\n", "    security_opt:\n      - no-new-privileges:true\n      - apparmor:unconfined #want\n")},
		{"selinux-disabled", render("", "    security_opt: [no-new-privileges:true]\n", "    security_opt:\n      - label=type:spc_t #want\n      - no-new-privileges:true\n")},
		{"no-new-privileges-missing", render("", "[no-new-privileges:true]", "[no-new-privileges:false] #want")},
		{"runs-as-root", render("", `user: "1000:1000"`, `user: "0:0" #want`)},
		{"runs-as-root", render("", "    user: \"1000:1000\"\n", "", "  app:\n", "  app: #want\n")},
		{"host-pid", render("    pid: host #want\n")},
		{"host-network", render("    network_mode: host #want\n")},
		{"host-ipc", render("    ipc: host #want\n")},
		{"host-uts", render("    uts: host #want\n")},
		{"host-userns", render("    userns_mode: host #want\n")},
		{"writable-root-fs", render("", "read_only: true", "read_only: false #want")},
		{"no-memory-limit", render("", "    mem_limit: 64m\n", "", "  app:\n", "  app: #want\n")},
		{"no-pids-limit", render("", "    pids_limit: 64\n", "", "  app:\n", "  app: #want\n")},
		{"device-access", render("    devices:\n      - /dev/fuse:/dev/fuse\n      - /dev/mem:/dev/mem #want\n")},
		{"device-access", render("    device_cgroup_rules: ['c *:* rmw'] #want\n")},
		{"unmasked-proc", render("", "[no-new-privileges:true]", "[no-new-privileges:true, systempaths=unconfined] #want")},
		{"shared-mount-propagation", render("    volumes:\n      - /srv/a:/a:rshared #want\n")},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			cs, err := parseString(t, tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, nil)
			line := audittest.WantLine(tt.doc)
			if !audittest.Has(fs, tt.slug, line) {
				t.Fatalf("want %s at line %d, got:\n%s\ndoc:\n%s", tt.slug, line, audittest.Brief(fs), tt.doc)
			}
			for _, f := range fs {
				if f.Check != tt.slug && !(tt.slug == "device-access" && f.Check == "device-access") {
					t.Errorf("extra finding %s@%d", f.Check, f.Line)
				}
			}
		})
	}
}

func TestDeployLimits(t *testing.T) {
	doc := render("    deploy:\n      resources:\n        limits: {memory: 128M, pids: 50}\n", "    mem_limit: 64m\n", "", "    pids_limit: 64\n", "")
	cs, err := parseString(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); len(fs) != 0 {
		t.Fatalf("deploy.resources.limits not honoured:\n%s", audittest.Brief(fs))
	}
}

func TestProfilesAreAllAudited(t *testing.T) {
	cs, err := parseString(t, render("")+"  debug:\n    image: x\n    profiles: [debug]\n    privileged: true\n")
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); !audittest.Has(fs, "privileged", 13) {
		t.Fatalf("service behind a profile not audited:\n%s", audittest.Brief(fs))
	}
}

func TestGolden(t *testing.T) {
	for _, dir := range []string{"insecure", "hardened", "extends", "interp"} {
		t.Run(dir, func(t *testing.T) {
			p := filepath.Join("testdata", dir, "compose.yaml")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := Parse(context.Background(), []string{p}, Options{Env: []string{"HOME=/home/alice"}})
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, data)
			if dir == "hardened" && len(fs) != 0 {
				t.Errorf("hardened example has findings:\n%s", audittest.Brief(fs))
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", dir+".json"), audittest.JSON(t, fs))
		})
	}
}

func TestExtendsAndInterpolation(t *testing.T) {
	cs, err := Parse(context.Background(), []string{"testdata/extends/compose.yaml"}, Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fs := audittest.AuditAll(cs, nil)
	if !audittest.Has(fs, "privileged", 0) || !audittest.Has(fs, "runtime-socket-mount", 0) {
		t.Errorf("extends: settings from base.yaml not audited:\n%s", audittest.Brief(fs))
	}
	cs, err = Parse(context.Background(), []string{"testdata/interp/compose.yaml"}, Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fs = audittest.AuditAll(cs, nil)
	if !audittest.Has(fs, "runtime-socket-mount", 8) || !audittest.Has(fs, "host-network", 6) {
		t.Errorf("interpolation from .env not applied:\n%s", audittest.Brief(fs))
	}
	// The environment wins over .env, as in docker compose.
	cs, err = Parse(context.Background(), []string{"testdata/interp/compose.yaml"}, Options{Env: []string{"NET_MODE=bridge", "SOCKET=/srv/harmless"}})
	if err != nil {
		t.Fatal(err)
	}
	fs = audittest.AuditAll(cs, nil)
	if audittest.Has(fs, "runtime-socket-mount", 0) || audittest.Has(fs, "host-network", 0) {
		t.Errorf("environment did not override .env:\n%s", audittest.Brief(fs))
	}
}

func TestOverrideFile(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "compose.yaml")
	over := filepath.Join(dir, "compose.override.yaml")
	os.WriteFile(base, []byte(render("")), 0o644)
	os.WriteFile(over, []byte("services:\n  app:\n    pid: host\n"), 0o644)
	cs, err := Parse(context.Background(), []string{base, over}, Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); !audittest.Has(fs, "host-pid", 0) {
		t.Fatalf("override not applied:\n%s", audittest.Brief(fs))
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"broken yaml", "services:\n  a:\n    image: x\n\tprivileged: true\n", "compose.yaml:3: invalid YAML"},
		{"mapping in scalar", "services:\n  a:\n    image: x: y\n", "compose.yaml:3: invalid YAML"},
		{"required variable", "services:\n  a:\n    image: ${IMAGE:?set IMAGE}\n", "compose.yaml:"},
		{"wrong type", "services:\n  a:\n    image: x\n    privileged: [1]\n", "compose.yaml:4: load compose project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseString(t, tt.doc)
			if err == nil {
				t.Fatal("no error")
			}
			var ie *srcpos.Error
			if !errors.As(err, &ie) {
				t.Fatalf("not a *srcpos.Error: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for name, want := range map[string]bool{"compose.yaml": true, "docker-compose.yml": true, "compose.prod.yaml": true, "docker-compose.override.yml": true, "x/compose.yml": true, "values.yaml": false, "composer.yaml": false} {
		if IsComposeName(name) != want {
			t.Errorf("IsComposeName(%q) != %v", name, want)
		}
	}
	if !IsOverrideName("compose.override.yaml") || IsOverrideName("compose.yaml") {
		t.Error("IsOverrideName")
	}
}

func FuzzParse(f *testing.F) {
	audittest.Seed(f, "testdata/insecure/compose.yaml", "testdata/hardened/compose.yaml", "testdata/interp/compose.yaml")
	f.Add([]byte(render("    volumes: [\"/:/host\"]\n")))
	f.Add([]byte(render("    volumes: [\"s:/s\"]\n    security_opt: [\"seccomp=\", \"label=role:r\"]\n") + "volumes:\n  s: {driver_opts: {type: none, o: bind, device: /etc}}\n---\nservices:\n  b: {image: x, cap_add: [SYS_TIME]}\n---\n{broken\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cs, err := Parse(context.Background(), []string{p}, Options{Env: []string{}})
		audittest.CheckParsed(t, cs, err)
	})
}

// TestProjectLocalBinds: ./data in a project under /root or /etc is the
// project's own directory, not a sensitive host path; ../ escaping it is.
func TestProjectLocalBinds(t *testing.T) {
	c := &audit.Container{Source: audit.SourceCompose, DropsAll: true, NoNewPrivileges: true, ReadOnlyRoot: true, MemoryLimit: 1, PidsLimit: 1,
		Mounts: []audit.Mount{{HostPath: "/root/app/data", Destination: "/data"}, {HostPath: "/root/.ssh", Destination: "/k"}, {HostPath: "/root/app/docker.sock", Destination: "/s"}}}
	markInProject(c, "/root/app")
	var got []string
	for _, f := range audit.Audit(c) {
		got = append(got, f.Check+" "+f.Detail)
	}
	if len(got) != 2 || !strings.Contains(got[0], "runtime-socket-mount") || !strings.Contains(got[1], "/root/.ssh") {
		t.Fatalf("findings: %q", got)
	}
}

// TestMultiDocument: the documents of one compose file merge in order as
// docker compose merges them, findings point at the document that set the
// key, and a broken document is reported with its index and line while the
// others are still loaded and audited.
func TestMultiDocument(t *testing.T) {
	doc := render("", "    pids_limit: 64\n", "    pids_limit: 64\n    privileged: true\n") + `---
services:
  app:
    privileged: false
  worker:
    image: x
    pid: host #want
---
services:
  broken: {image: [x
---
services:
  late:
    image: x
    network_mode: host
`
	cs, err := parseString(t, doc)
	var names []string
	for _, c := range cs {
		names = append(names, c.Target)
	}
	if got := strings.Join(names, "|"); got != "service app|service late|service worker" {
		t.Fatalf("services %q (err %v)", got, err)
	}
	if err == nil || !strings.Contains(err.Error(), "compose.yaml:19: document 3: invalid YAML") {
		t.Errorf("error: %v", err)
	}
	var ie *srcpos.Error
	if !errors.As(err, &ie) || ie.Pos.Line != 19 {
		t.Errorf("not a positioned *srcpos.Error: %#v", err)
	}
	fs := audittest.AuditAll(cs, nil)
	// privileged: false in document 2 overrides document 1, as in docker compose.
	if audittest.Has(fs, "privileged", 0) {
		t.Errorf("document 2 did not override document 1:\n%s", audittest.Brief(fs))
	}
	if !audittest.Has(fs, "host-pid", audittest.WantLine(doc)) || !audittest.Has(fs, "host-network", 25) {
		t.Errorf("findings:\n%s", audittest.Brief(fs))
	}
}

// TestUnreadableSecurityOpts: security_opt entries dockerd refuses are
// findings of their own; a malformed no-new-privileges does not count as set.
func TestUnreadableSecurityOpts(t *testing.T) {
	tests := []struct {
		opt  string
		want string
	}{
		{"seccomp=", "unreadable-security-setting"},
		{"seccomp", "unreadable-security-setting"},
		{"apparmor:", "unreadable-security-setting"},
		{"label=type:", "unreadable-security-setting"},
		{"label=kind:x", "unreadable-security-setting"},
		{"systempaths=masked", "unreadable-security-setting"},
		{"seccomp_profile=unconfined", "unreadable-security-setting"},
		{"seccomp=./profile.json", ""},
		{"label=type:container_t", ""},
		{"label=nested", ""},
		{"label=type:container_runtime_t", "selinux-disabled"},
		{"label:type:kernel_t", "selinux-disabled"},
		{"label=user:system_u", "selinux-custom-options"},
		{"label=role:sysadm_r", "selinux-custom-options"},
		{"label=type:my_app_t", "selinux-custom-options"},
		{"label=level:s0:c1,c2", ""},
		{"mask=/proc/acpi", ""},
		{"unmask=ALL", "unmasked-proc"},
	}
	for _, tt := range tests {
		t.Run(tt.opt, func(t *testing.T) {
			doc := render("", "[no-new-privileges:true]", "\n      - no-new-privileges:true\n      - \""+tt.opt+"\" #want")
			cs, err := parseString(t, doc)
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, nil)
			if tt.want == "" {
				if len(fs) != 0 {
					t.Fatalf("valid option has findings:\n%s", audittest.Brief(fs))
				}
				return
			}
			if len(fs) != 1 || !audittest.Has(fs, tt.want, audittest.WantLine(doc)) || !strings.Contains(fs[0].Fix, "option") && !strings.Contains(fs[0].Fix, "seccomp") && !strings.Contains(fs[0].Fix, "label") && !strings.Contains(fs[0].Fix, "security_opt") {
				t.Fatalf("want %s at line %d, got:\n%s%s", tt.want, audittest.WantLine(doc), audittest.Brief(fs), doc)
			}
		})
	}
	doc := render("", "[no-new-privileges:true]", "[no-new-privileges:maybe]")
	cs, err := parseString(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); !audittest.Has(fs, "unreadable-security-setting", 7) || !audittest.Has(fs, "no-new-privileges-missing", 7) || len(fs) != 2 {
		t.Errorf("no-new-privileges:maybe:\n%s", audittest.Brief(fs))
	}
}

// TestBoundVolumes: a top-level volume whose driver_opts bind a host path is
// judged as that bind where a service mounts it, and as a volume of its own
// (reported once for the project) where none does.
func TestBoundVolumes(t *testing.T) {
	doc := render("    volumes:\n      - sock:/var/run/docker.sock #want\n", "  app:\n", "  app:\n") + `  other:
    image: x
    volumes: [plain:/data, remote:/r]
volumes:
  sock:
    driver: local
    driver_opts: {type: none, o: bind, device: /var/run/docker.sock}
  etc:
    driver_opts:
      type: none
      o: bind,ro
      device: /etc
  plain: {}
  remote:
    driver_opts: {type: nfs, o: "addr=10.0.0.1,rw", device: ":/export"}
  harmless:
    driver_opts: {type: none, o: bind, device: /srv/cache}
`
	cs, err := parseString(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range audittest.AuditAll(cs, nil) {
		if f.Check == "host-path-volume" || strings.Contains(f.Check, "mount") {
			got = append(got, fmt.Sprintf("%s@%d %s", f.Check, f.Line, f.Target))
		}
	}
	want := []string{
		fmt.Sprintf("runtime-socket-mount@%d service app", audittest.WantLine(doc)),
		"host-path-volume@23 volume etc",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), doc)
	}
}
