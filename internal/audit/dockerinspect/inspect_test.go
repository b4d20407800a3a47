package dockerinspect

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/audit/audittest"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// hardened loads the real inspect output of a hardened container as a
// generic map the cases then change.
func hardened(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/hardened.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func hc(m map[string]any) map[string]any { return m["HostConfig"].(map[string]any) }

func TestChecksDocker(t *testing.T) {
	bind := func(src, dst string, rw bool, prop string) func(m map[string]any) {
		return func(m map[string]any) {
			m["Mounts"] = []any{map[string]any{"Type": "bind", "Source": src, "Destination": dst, "RW": rw, "Propagation": prop}}
		}
	}
	secopt := func(opts ...string) func(m map[string]any) {
		return func(m map[string]any) {
			all := []any{"no-new-privileges"}
			for _, o := range opts {
				all = append(all, o)
			}
			hc(m)["SecurityOpt"] = all
		}
	}
	tests := []struct {
		slug string
		set  func(m map[string]any)
	}{
		{"runtime-socket-mount", bind("/var/run/docker.sock", "/var/run/docker.sock", false, "rprivate")},
		{"host-root-mount", bind("/", "/host", false, "rprivate")},
		{"sensitive-host-mount", bind("/proc", "/hostproc", false, "rprivate")},
		{"privileged", func(m map[string]any) { hc(m)["Privileged"] = true }},
		{"dangerous-capability", func(m map[string]any) { hc(m)["CapAdd"] = []any{"CAP_SYS_RAWIO"} }},
		{"capabilities-not-dropped", func(m map[string]any) { hc(m)["CapDrop"] = nil }},
		{"seccomp-unconfined", secopt("seccomp=unconfined")},
		{"apparmor-unconfined", func(m map[string]any) { m["AppArmorProfile"] = "unconfined" }},
		{"selinux-disabled", secopt("label=disable")},
		{"no-new-privileges-missing", func(m map[string]any) { hc(m)["SecurityOpt"] = nil }},
		{"runs-as-root", func(m map[string]any) { m["Config"].(map[string]any)["User"] = "" }},
		{"host-pid", func(m map[string]any) { hc(m)["PidMode"] = "host" }},
		{"host-network", func(m map[string]any) { hc(m)["NetworkMode"] = "host" }},
		{"host-ipc", func(m map[string]any) { hc(m)["IpcMode"] = "host" }},
		{"host-uts", func(m map[string]any) { hc(m)["UTSMode"] = "host" }},
		{"host-userns", func(m map[string]any) { hc(m)["UsernsMode"] = "host" }},
		{"writable-root-fs", func(m map[string]any) { hc(m)["ReadonlyRootfs"] = false }},
		{"no-memory-limit", func(m map[string]any) { hc(m)["Memory"] = 0 }},
		{"no-pids-limit", func(m map[string]any) { hc(m)["PidsLimit"] = nil }},
		{"device-access", func(m map[string]any) {
			hc(m)["Devices"] = []any{map[string]any{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda", "CgroupPermissions": "rwm"}}
		}},
		{"unmasked-proc", func(m map[string]any) { hc(m)["MaskedPaths"] = []any{} }},
		{"shared-mount-propagation", bind("/srv/x", "/x", true, "rshared")},
		// Options dockerd would refuse are findings of their own, never fine.
		{"unreadable-security-setting", secopt("seccomp=")},
		{"unreadable-security-setting", secopt(`seccomp={"defaultAction": "SCMP_ACT_ERRNO",`)},
		{"unreadable-security-setting", secopt("seccom=unconfined")},
		{"unreadable-security-setting", secopt("label=type")},
		{"unreadable-security-setting", secopt("apparmor=")},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			m := hardened(t)
			tt.set(m)
			b, _ := json.Marshal(m)
			cs, err := Parse("i.json", b)
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, nil)
			if len(fs) != 1 || fs[0].Check != tt.slug {
				t.Fatalf("want exactly %s, got:\n%s", tt.slug, audittest.Brief(fs))
			}
			if fs[0].Target != "container pa-fix-good" || fs[0].Fix == "" {
				t.Errorf("finding %+v", fs[0])
			}
		})
	}
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"two.json", "hardened.json"} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join("testdata", name)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := Parse(p, data)
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll(cs, nil)
			if name == "hardened.json" && len(fs) != 0 {
				t.Errorf("hardened container has findings:\n%s", audittest.Brief(fs))
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", name), audittest.JSON(t, fs))
		})
	}
}

// TestDaemonAddedLabelDisable: dockerd adds label=disable with --pid host;
// only host-pid is reported.
func TestDaemonAddedLabelDisable(t *testing.T) {
	m := hardened(t)
	hc(m)["PidMode"] = "host"
	hc(m)["SecurityOpt"] = []any{"no-new-privileges", "label=disable"}
	b, _ := json.Marshal(m)
	cs, err := Parse("i.json", b)
	if err != nil {
		t.Fatal(err)
	}
	if fs := audittest.AuditAll(cs, nil); len(fs) != 1 || fs[0].Check != "host-pid" {
		t.Fatalf("findings:\n%s", audittest.Brief(fs))
	}
}

func TestBindFallback(t *testing.T) {
	// Hand-written dumps may carry only HostConfig.Binds.
	doc := `{"Name": "/x", "Config": {"User": "1"}, "HostConfig": {"Binds": ["/etc:/e:ro,rshared", "vol:/data"], "CapDrop": ["ALL"]}}`
	cs, err := Parse("b.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := audittest.Slugs(audittest.AuditAll(cs, nil))
	if !s["sensitive-host-mount"] || !s["shared-mount-propagation"] {
		t.Errorf("binds not read: %v", s)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"syntax", "[\n  {\"HostConfig\": {}},\n  {\"HostConfig\": }\n]", "i.json:3:18: invalid JSON"},
		{"type", "{\"HostConfig\": {\"Privileged\": \"yes\"}}", "i.json:1:"},
		{"empty array", "[]", "i.json: no containers"},
		{"not a container", "[{\"Id\": \"sha256:abc\", \"RepoTags\": []}]", "i.json: element 0 has no HostConfig"},
	}
	for _, tt := range tests {
		_, err := Parse("i.json", []byte(tt.doc))
		var ie *srcpos.Error
		if err == nil || !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want prefix %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	audittest.Seed(f, "testdata/two.json", "testdata/hardened.json")
	f.Add([]byte(`{"HostConfig": {"Binds": ["/:/h"], "Privileged": true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := Parse("f.json", data)
		audittest.CheckParsed(t, cs, err)
	})
}
