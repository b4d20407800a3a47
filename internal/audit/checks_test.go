package audit

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// hardened returns a container from src that passes every check.
func hardened(src Source) *Container {
	return &Container{
		Source: src, File: "f", Target: "t", Line: 3,
		DropsAll: true, NoNewPrivileges: true, ReadOnlyRoot: true,
		MemoryLimit: 64 << 20, PidsLimit: 64,
		Mounts: []Mount{{HostPath: "/srv/app/static", Destination: "/static", ReadOnly: true}, {Name: "data", Destination: "/data"}},
	}
}

func TestHardenedHasNoFindings(t *testing.T) {
	for _, src := range []Source{SourceDocker, SourceCompose, SourceKubernetes, SourceOCI} {
		if fs := Audit(hardened(src)); len(fs) != 0 {
			t.Errorf("%s: hardened container has findings: %+v", src, fs)
		}
	}
}

// TestEachCheckEachSource turns on one setting at a time and expects exactly
// the one check, with a fix in that source's terms.
func TestEachCheckEachSource(t *testing.T) {
	tests := []struct {
		slug string
		set  func(c *Container)
	}{
		{"runtime-socket-mount", func(c *Container) {
			c.Mounts = append(c.Mounts, Mount{HostPath: "/run/containerd/containerd.sock", Destination: "/s", Line: 9})
		}},
		{"host-root-mount", func(c *Container) { c.Mounts = append(c.Mounts, Mount{HostPath: "/", Destination: "/host", Line: 9}) }},
		{"sensitive-host-mount", func(c *Container) {
			c.Mounts = append(c.Mounts, Mount{HostPath: "/var/lib/kubelet", Destination: "/k", Line: 9})
		}},
		{"host-path-volume", func(c *Container) {
			c.Volumes = append(c.Volumes, Volume{Name: "logs", HostPath: "/var/log", Line: 9})
		}},
		{"privileged", func(c *Container) { c.Privileged = true; c.Lines = map[Field]int{FieldPrivileged: 9} }},
		{"dangerous-capability", func(c *Container) { c.CapAdd = []string{"cap_sys_module"}; c.Lines = map[Field]int{FieldCapAdd: 9} }},
		{"risky-capability", func(c *Container) { c.CapAdd = []string{"CAP_SYS_TIME"}; c.Lines = map[Field]int{FieldCapAdd: 9} }},
		{"added-capability", func(c *Container) { c.CapAdd = []string{"LEASE"}; c.Lines = map[Field]int{FieldCapAdd: 9} }},
		{"capabilities-not-dropped", func(c *Container) {
			c.DropsAll = false
			c.KeptCaps = []string{"NET_RAW"}
			c.Lines = map[Field]int{FieldCapDrop: 9}
		}},
		{"seccomp-unconfined", func(c *Container) { c.Seccomp = "unconfined"; c.Lines = map[Field]int{FieldSeccomp: 9} }},
		{"unreadable-security-setting", func(c *Container) {
			c.Unreadable = []Unreadable{{Field: FieldSeccomp, Detail: "seccompProfile has no type", Fix: "set seccompProfile.type"}}
			c.Lines = map[Field]int{FieldSeccomp: 9}
		}},
		{"apparmor-unconfined", func(c *Container) { c.AppArmor = "unconfined"; c.Lines = map[Field]int{FieldAppArmor: 9} }},
		{"selinux-disabled", func(c *Container) { c.SELinuxDisabled = "SELinux type spc_t"; c.Lines = map[Field]int{FieldSELinux: 9} }},
		{"selinux-custom-options", func(c *Container) {
			c.SELinuxCustom = []string{"seLinuxOptions.user is set (sysadm_u)"}
			c.Lines = map[Field]int{FieldSELinuxOptions: 9}
		}},
		{"no-new-privileges-missing", func(c *Container) { c.NoNewPrivileges = false; c.Lines = map[Field]int{FieldNoNewPrivileges: 9} }},
		{"runs-as-root", func(c *Container) { c.RunsAsRoot = "uid 0"; c.Lines = map[Field]int{FieldUser: 9} }},
		{"host-pid", func(c *Container) { c.HostPID = true; c.Lines = map[Field]int{FieldHostPID: 9} }},
		{"host-network", func(c *Container) { c.HostNetwork = true; c.Lines = map[Field]int{FieldHostNetwork: 9} }},
		{"host-ipc", func(c *Container) { c.HostIPC = true; c.Lines = map[Field]int{FieldHostIPC: 9} }},
		{"host-uts", func(c *Container) { c.HostUTS = true; c.Lines = map[Field]int{FieldHostUTS: 9} }},
		{"host-userns", func(c *Container) { c.HostUserns = true; c.Lines = map[Field]int{FieldHostUserns: 9} }},
		{"writable-root-fs", func(c *Container) { c.ReadOnlyRoot = false; c.Lines = map[Field]int{FieldReadOnlyRoot: 9} }},
		{"no-memory-limit", func(c *Container) { c.MemoryLimit = 0; c.Lines = map[Field]int{FieldMemory: 9} }},
		{"no-pids-limit", func(c *Container) { c.PidsLimit = -1; c.Lines = map[Field]int{FieldPids: 9} }},
		{"device-access", func(c *Container) { c.Devices = []Device{{Host: "/dev/kvm", Line: 9}} }},
		{"unmasked-proc", func(c *Container) {
			c.UnmaskedProc = "procMount is Unmasked"
			c.Lines = map[Field]int{FieldProcMount: 9}
		}},
		{"kernel-bug-reachable", func(c *Container) {
			c.Line = 9
			c.Kernel = []KernelExposure{{Bug: "CVE-2024-1086", Outcome: "reachable", CodeReachable: true, Detail: "kernel 6.1.0 < fixed 6.1.76", Fix: "upgrade the kernel"},
				{Bug: "CVE-2022-0847", Outcome: "blocked", Detail: "seccomp"}}
		}},
		{"kernel-bug-unverified", func(c *Container) {
			c.Line = 9
			c.Kernel = []KernelExposure{{Bug: "CVE-2024-1086", Outcome: "vendor-check", CodeReachable: true, Detail: "a debian kernel", Fix: "install the vendor's kernel"}}
		}},
		{"kernel-attack-surface", func(c *Container) {
			c.Line = 9
			c.Kernel = []KernelExposure{{Bug: "CVE-2024-1086", Outcome: "fixed", CodeReachable: true, Detail: "kernel 6.18 ≥ fixed 6.8", Fix: "drop CAP_NET_ADMIN"},
				{Bug: "CVE-2022-0847", Outcome: "fixed", CodeReachable: false}}
		}},
		{"shared-mount-propagation", func(c *Container) {
			c.Mounts = append(c.Mounts, Mount{HostPath: "/srv/x", Destination: "/x", Propagation: "rshared", Line: 9})
		}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.slug] = true
		k, ok := LookupCheck(tt.slug)
		if !ok {
			t.Fatalf("no check %q", tt.slug)
		}
		for _, src := range []Source{SourceDocker, SourceCompose, SourceKubernetes, SourceOCI} {
			t.Run(tt.slug+"/"+string(src), func(t *testing.T) {
				c := hardened(src)
				tt.set(c)
				fs := Audit(c)
				if _, expressible := k.Fixes[src]; !expressible {
					if len(fs) != 0 {
						t.Fatalf("%s cannot express %s but got %+v", src, tt.slug, fs)
					}
					return
				}
				if len(fs) != 1 {
					t.Fatalf("want exactly one finding, got %+v", fs)
				}
				f := fs[0]
				if f.Check != tt.slug || f.Line != 9 || f.Fix == "" || f.Detail == "" || f.Severity != k.Severity || f.Source != src {
					t.Errorf("finding %+v", f)
				}
			})
		}
	}
	for _, k := range Checks() {
		if k.eval != nil && !covered[k.Slug] {
			t.Errorf("check %s has no test row", k.Slug)
		}
	}
}

// TestIssueSlugs pins the slug list the issue asks for: slugs are stable.
func TestIssueSlugs(t *testing.T) {
	want := []string{"runtime-socket-mount", "host-root-mount", "sensitive-host-mount", "host-path-volume", "privileged",
		"dangerous-capability", "risky-capability", "added-capability", "capabilities-not-dropped", "seccomp-unconfined", "unreadable-security-setting", "apparmor-unconfined",
		"selinux-disabled", "selinux-custom-options", "no-new-privileges-missing", "runs-as-root", "host-pid", "host-network",
		"host-ipc", "host-uts", "host-userns", "writable-root-fs", "no-memory-limit", "no-pids-limit",
		"device-access", "unmasked-proc", "shared-mount-propagation", "daemon-not-rootless",
		"daemon-tcp-unauthenticated", "daemon-default-seccomp-disabled",
		"kernel-bug-reachable", "kernel-bug-unverified", "kernel-attack-surface", "runtime-bug"}
	var got []string
	for _, k := range Checks() {
		got = append(got, k.Slug)
		if k.Title == "" || k.Breakout == "" || len(k.Fixes) == 0 || k.Severity < SeverityLow || k.Severity > SeverityCritical {
			t.Errorf("check %s is incomplete", k.Slug)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("slugs\n got %v\nwant %v", got, want)
	}
}

func TestMountKind(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/", "host-root-mount"},
		{"//", "host-root-mount"},
		{"/var/run/docker.sock", "runtime-socket-mount"},
		{"/run/user/1000/docker.sock", "runtime-socket-mount"},
		{"/run/containerd/containerd.sock", "runtime-socket-mount"},
		{"/var/run/crio/crio.sock", "runtime-socket-mount"},
		{"/run/podman/podman.sock", "runtime-socket-mount"},
		{"/var/run/docker", "runtime-socket-mount"},
		{"/run/containerd", "runtime-socket-mount"},
		{"/var/run", "runtime-socket-mount"},
		{"/etc", "sensitive-host-mount"},
		{"/etc/passwd", "sensitive-host-mount"},
		{"/proc", "sensitive-host-mount"},
		{"/sys/fs/cgroup", "sensitive-host-mount"},
		{"/boot", "sensitive-host-mount"},
		{"/dev", "sensitive-host-mount"},
		{"/dev/shm", "sensitive-host-mount"},
		{"/root", "sensitive-host-mount"},
		{"/var/lib/docker", "sensitive-host-mount"},
		{"/var/lib/kubelet", "sensitive-host-mount"},
		{"/var/lib", "sensitive-host-mount"},
		{"/home/alice/.ssh", "sensitive-host-mount"},
		{"/home/alice", "sensitive-host-mount"},
		{"/home", "sensitive-host-mount"},
		{"/dev/sda", "device-access"},
		{"/dev/kvm", "device-access"},
		{"/usr/bin", "sensitive-host-mount"},
		{"/lib/modules", "sensitive-host-mount"},
		{"/srv/data", ""},
		{"/home/alice/src/app", ""},
		{"/var/lib/docker/containers/abc/hosts", ""},
		{"/var/lib/docker/volumes/data/_data", ""},
		{"/var/lib/kubelet/pods/uid/volumes", ""},
		{"", ""},
		{"/etc/../srv", ""},
		{"/srv/../etc", "sensitive-host-mount"},
	}
	for _, tt := range tests {
		if got, _ := MountKind(tt.path); got != tt.want {
			t.Errorf("MountKind(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestPodScopeDedupe(t *testing.T) {
	var fs []Finding
	for _, name := range []string{"a", "b"} {
		c := hardened(SourceKubernetes)
		c.Target, c.Group = "Pod p container "+name, "Pod p"
		c.HostPID = true
		c.Lines = map[Field]int{FieldHostPID: 4}
		fs = append(fs, Audit(c)...)
	}
	fs = Normalize(fs)
	if len(fs) != 1 || fs[0].Target != "Pod p" || fs[0].Line != 4 {
		t.Fatalf("pod-level finding not reported once against the pod: %+v", fs)
	}
}

// TestNormalizeOrder: within a group a critical finding comes before lows,
// whatever their lines; equal severities go by line.
func TestNormalizeOrder(t *testing.T) {
	fs := []Finding{
		{Check: "low-a", Severity: SeverityLow, Group: "g", Line: 2},
		{Check: "crit", Severity: SeverityCritical, Group: "g", Line: 9},
		{Check: "other-group", Severity: SeverityCritical, Group: "h", Line: 1},
		{Check: "low-b", Severity: SeverityLow, Group: "g", Line: 1},
		{Check: "high", Severity: SeverityHigh, Group: "g", Line: 12},
	}
	var got []string
	for _, f := range Normalize(fs) {
		got = append(got, f.Check)
	}
	if want := "crit high low-b low-a other-group"; strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestDaemonChecks(t *testing.T) {
	tests := []struct {
		name string
		d    Daemon
		want []string
	}{
		{"rootless", Daemon{Rootless: true, Seccomp: "builtin"}, nil},
		{"userns", Daemon{UsernsRemap: true, Seccomp: "default"}, nil},
		{"root", Daemon{Seccomp: "builtin"}, []string{"daemon-not-rootless"}},
		{"tcp", Daemon{Rootless: true, Seccomp: "builtin", TCP: []string{"tcp://0.0.0.0:2375"}}, []string{"daemon-tcp-unauthenticated"}},
		{"seccomp off", Daemon{Rootless: true, Seccomp: "unconfined"}, []string{"daemon-default-seccomp-disabled"}},
		{"no seccomp", Daemon{Rootless: true}, []string{"daemon-default-seccomp-disabled"}},
		{"runc affected", Daemon{Rootless: true, Seccomp: "builtin", Runtime: []KernelExposure{
			{Bug: "CVE-2024-21626", Outcome: "reachable", Fix: "upgrade runc to 1.1.12 or later"}, {Bug: "CVE-2019-5736", Outcome: "fixed"}}}, []string{"runtime-bug"}},
		{"runc fixed", Daemon{Rootless: true, Seccomp: "builtin", Runtime: []KernelExposure{{Bug: "CVE-2024-21626", Outcome: "fixed"}}}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range AuditDaemon(&tt.d) {
			got = append(got, f.Check)
			if f.Fix == "" || f.Source != SourceDaemon {
				t.Errorf("%s: incomplete finding %+v", tt.name, f)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v want %v", tt.name, got, tt.want)
		}
	}
}

func TestSecurityOpts(t *testing.T) {
	c := &Container{}
	ApplySecurityOpts(c, []string{"no-new-privileges", "seccomp:unconfined", "apparmor=unconfined", "label:type:spc_t", "systempaths=unconfined"}, nil)
	if !c.NoNewPrivileges || c.Seccomp != "unconfined" || c.AppArmor != "unconfined" || c.SELinuxDisabled == "" || c.UnmaskedProc == "" {
		t.Fatalf("%+v", c)
	}
	c = &Container{}
	ApplySecurityOpts(c, []string{"no-new-privileges=false", "seccomp=/p.json", "label=level:s0"}, nil)
	if c.NoNewPrivileges || c.Seccomp != "custom" || c.SELinuxDisabled != "" {
		t.Fatalf("%+v", c)
	}
}

func TestRootUserReason(t *testing.T) {
	for user, root := range map[string]bool{"": true, "0": true, "root": true, "0:0": true, "root:100": true, "1000": false, "app": false, "1000:0": false} {
		if got := RootUserReason(user, "default") != ""; got != root {
			t.Errorf("RootUserReason(%q) root=%v want %v", user, got, root)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for _, n := range []string{"low", "Medium", "HIGH", "critical"} {
		if _, err := ParseSeverity(n); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("severe accepted")
	}
}

// TestCapabilityGrades: every added capability is reported once, under the
// check of its grade; NET_BIND_SERVICE is not; a name that is no capability
// cannot be read. For OCI the runtimes' default set is left to
// capabilities-not-dropped.
func TestCapabilityGrades(t *testing.T) {
	c := hardened(SourceKubernetes)
	c.CapAdd = []string{"SYS_ADMIN", "cap_net_raw", "SYSLOG", "SYS_TIME", "CHOWN", "NET_BIND_SERVICE", "CAP_SYS_TIME", "NET_RAWW"}
	var got []string
	for _, f := range Audit(c) {
		d, _, _ := strings.Cut(f.Detail, " (")
		d, _, _ = strings.Cut(d, " is not")
		got = append(got, f.Check+" "+f.Severity.String()+" "+d)
	}
	want := []string{
		"dangerous-capability high grants CAP_SYS_ADMIN",
		"risky-capability medium grants CAP_NET_RAW",
		"risky-capability medium grants CAP_SYSLOG",
		"risky-capability medium grants CAP_SYS_TIME",
		"added-capability low grants CAP_CHOWN",
		"unreadable-security-setting medium capability NET_RAWW",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	o := hardened(SourceOCI)
	o.CapAdd = []string{"CHOWN", "NET_RAW", "SYS_TIME", "LEASE"}
	got = got[:0]
	for _, f := range Audit(o) {
		d, _, _ := strings.Cut(f.Detail, " (")
		got = append(got, f.Check+" "+d)
	}
	if want := []string{"risky-capability grants CAP_SYS_TIME", "added-capability grants CAP_LEASE"}; !slices.Equal(got, want) {
		t.Errorf("OCI: got %q want %q", got, want)
	}
	for name, k := range capabilities {
		if k.why == "" || (k.grade != "" && k.grade != gradeHigh && k.grade != gradeMedium && k.grade != gradeLow) {
			t.Errorf("capability %s: incomplete row %+v", name, k)
		}
	}
	if len(capabilities) != 42 { // the 41 of Linux 6.x, and ALL
		t.Errorf("%d capabilities in the table", len(capabilities))
	}
}

// TestCapabilityGradesDocumented keeps the table in docs/audit.md in step
// with the one the checks use.
func TestCapabilityGradesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	word := map[string]string{gradeHigh: "high", gradeMedium: "medium", gradeLow: "low", "": "none"}
	for name, k := range capabilities {
		row := "| `" + name + "` | " + word[k.grade]
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/audit.md has no row %q", row)
		}
	}
}
