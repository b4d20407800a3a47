package oci

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/audittest"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func hardened(t testing.TB) *specs.Spec {
	t.Helper()
	b, err := os.ReadFile("testdata/docker-hardened/config.json")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func dropNS(s *specs.Spec, typ specs.LinuxNamespaceType) {
	var keep []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != typ {
			keep = append(keep, ns)
		}
	}
	s.Linux.Namespaces = keep
}

func addCap(s *specs.Spec, c string) {
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, c)
	s.Process.Capabilities.Effective = append(s.Process.Capabilities.Effective, c)
}

func TestChecksOCI(t *testing.T) {
	bind := func(src string, opts ...string) func(s *specs.Spec) {
		return func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/m", Type: "bind", Source: src, Options: append([]string{"rbind"}, opts...)})
		}
	}
	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		slug string
		set  func(s *specs.Spec)
	}{
		{"runtime-socket-mount", bind("/run/containerd/containerd.sock")},
		{"host-root-mount", bind("/", "ro")},
		{"sensitive-host-mount", bind("/boot")},
		{"dangerous-capability", func(s *specs.Spec) { addCap(s, "CAP_SYS_BOOT") }},
		{"capabilities-not-dropped", func(s *specs.Spec) { addCap(s, "CAP_NET_RAW") }},
		{"seccomp-unconfined", func(s *specs.Spec) { s.Linux.Seccomp = nil }},
		{"unreadable-security-setting", func(s *specs.Spec) { s.Linux.Seccomp.DefaultAction = "" }},
		{"unreadable-security-setting", func(s *specs.Spec) { s.Linux.Seccomp.DefaultAction = "SCMP_ACT_MAYBE" }},
		{"apparmor-unconfined", func(s *specs.Spec) { s.Process.ApparmorProfile = "unconfined" }},
		{"selinux-disabled", func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:spc_t:s0" }},
		{"selinux-disabled", func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:kernel_t:s0" }},
		{"no-new-privileges-missing", func(s *specs.Spec) { s.Process.NoNewPrivileges = false }},
		{"runs-as-root", func(s *specs.Spec) { s.Process.User.UID = 0 }},
		{"host-pid", func(s *specs.Spec) { dropNS(s, specs.PIDNamespace) }},
		{"host-network", func(s *specs.Spec) { dropNS(s, specs.NetworkNamespace) }},
		{"host-ipc", func(s *specs.Spec) {
			dropNS(s, specs.IPCNamespace)
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.IPCNamespace, Path: "/proc/1/ns/ipc"})
		}},
		{"host-uts", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace) }},
		{"host-userns", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
		}},
		{"writable-root-fs", func(s *specs.Spec) { s.Root.Readonly = false }},
		{"no-memory-limit", func(s *specs.Spec) { s.Linux.Resources.Memory = nil }},
		{"no-pids-limit", func(s *specs.Spec) { s.Linux.Resources.Pids.Limit = i64(0) }},
		{"device-access", func(s *specs.Spec) {
			s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/sdb", Type: "b", Major: 8, Minor: 16})
		}},
		{"device-access", func(s *specs.Spec) {
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"})
		}},
		{"unmasked-proc", func(s *specs.Spec) { s.Linux.MaskedPaths = nil }},
		{"shared-mount-propagation", bind("/srv/x", "rshared")},
		{"shared-mount-propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "shared" }},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			s := hardened(t)
			tt.set(s)
			fs := audittest.AuditAll([]*audit.Container{FromSpec(s, "b/config.json")}, nil)
			if len(fs) != 1 || fs[0].Check != tt.slug {
				t.Fatalf("want exactly %s, got:\n%s", tt.slug, audittest.Brief(fs))
			}
			if fs[0].Target != "bundle b" || fs[0].Fix == "" {
				t.Errorf("finding %+v", fs[0])
			}
		})
	}
}

func TestUserNamespaceMapsRoot(t *testing.T) {
	s := hardened(t)
	s.Process.User.UID = 0
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	if fs := audit.Audit(FromSpec(s, "config.json")); len(fs) != 0 {
		t.Fatalf("uid 0 in a user namespace flagged:\n%s", audittest.Brief(fs))
	}
}

func TestGolden(t *testing.T) {
	for _, dir := range []string{"docker-hardened", "docker-sysadmin-hostpid", "runc-default"} {
		t.Run(dir, func(t *testing.T) {
			p := filepath.Join("testdata", dir, "config.json")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(p, data)
			if err != nil {
				t.Fatal(err)
			}
			fs := audittest.AuditAll([]*audit.Container{c}, nil)
			if dir == "docker-hardened" && len(fs) != 0 {
				t.Errorf("hardened config has findings:\n%s", audittest.Brief(fs))
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", dir+".json"), audittest.JSON(t, fs))
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"syntax", "{\n \"ociVersion\": \"1.0.2\",\n \"process\": {,}\n}", "c.json:3:14: invalid JSON"},
		{"type", "{\"ociVersion\": \"1.0.2\", \"root\": {\"readonly\": \"no\"}}", "c.json:1:"},
		{"no version", "{\"process\": {}}", "c.json: no ociVersion"},
	}
	for _, tt := range tests {
		_, err := Parse("c.json", []byte(tt.doc))
		var ie *srcpos.Error
		if err == nil || !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want prefix %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	audittest.Seed(f, "testdata/docker-hardened/config.json", "testdata/docker-sysadmin-hostpid/config.json", "testdata/runc-default/config.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.json", data)
		var cs []*audit.Container
		if err == nil {
			cs = append(cs, c)
		}
		audittest.CheckParsed(t, cs, err)
	})
}
