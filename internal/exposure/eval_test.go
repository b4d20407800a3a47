package exposure

import (
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/seccomp"
)

func bug(t *testing.T, id string) *Bug {
	t.Helper()
	for _, b := range Builtin().Bugs {
		if b.ID == id {
			return b
		}
	}
	t.Fatalf("no %s in the table", id)
	return nil
}

// open is a subject nothing confines: only the version decides.
var open = &Subject{Name: "open", Caps: caps.All, Privileged: true}

func upstream(v string) *Host {
	return &Host{Kernel: ParseKernel(v, "", ""), Sysctls: map[string]int{}, CgroupV1: "yes"}
}

func TestVersionBoundaries(t *testing.T) {
	tests := []struct {
		id, kernel, want string
	}{
		{"CVE-2022-0847", "5.7.19", NotAffected},
		{"CVE-2022-0847", "5.8.0", Reachable},
		{"CVE-2022-0847", "5.10.101", Reachable},
		{"CVE-2022-0847", "5.10.102", Fixed},
		{"CVE-2022-0847", "5.11.22", Reachable}, // a branch with no fix
		{"CVE-2022-0847", "5.15.24", Reachable},
		{"CVE-2022-0847", "5.15.25", Fixed},
		{"CVE-2022-0847", "5.16.10", Reachable},
		{"CVE-2022-0847", "5.16.11", Fixed},
		{"CVE-2022-0847", "5.17.0", Fixed},
		{"CVE-2022-0847", "6.18.44-fc-v1272", Fixed},
		{"CVE-2016-5195", "2.6.21", NotAffected},
		{"CVE-2016-5195", "4.4.25", Reachable},
		{"CVE-2016-5195", "4.4.26", Fixed},
		{"CVE-2016-5195", "4.8.2", Reachable},
		{"CVE-2016-5195", "4.8.3", Fixed},
		{"CVE-2016-5195", "4.9", Fixed},
		{"CVE-2024-1086", "5.10.208", Reachable},
		{"CVE-2024-1086", "5.10.209", Fixed},
		{"CVE-2024-1086", "5.15.148", Reachable},
		{"CVE-2024-1086", "5.15.149", Fixed},
		{"CVE-2024-1086", "6.1.75", Reachable},
		{"CVE-2024-1086", "6.1.76", Fixed},
		{"CVE-2024-1086", "6.6.14", Reachable},
		{"CVE-2024-1086", "6.6.15", Fixed},
		{"CVE-2024-1086", "6.7.2", Reachable},
		{"CVE-2024-1086", "6.7.3", Fixed},
		{"CVE-2024-1086", "6.8.0", Fixed},
		{"CVE-2024-1086", "3.14.79", NotAffected},
		{"CVE-2023-3269", "6.0.19", NotAffected},
		{"CVE-2023-3269", "6.1.36", Reachable},
		{"CVE-2023-3269", "6.1.37", Fixed},
		{"CVE-2023-3269", "6.3.12", Reachable},
		{"CVE-2023-3269", "6.3.13", Fixed},
		{"CVE-2023-3269", "6.4.0", Reachable},
		{"CVE-2023-3269", "6.4.1", Fixed},
		{"CVE-2023-3269", "6.5.0", Fixed},
		{"CVE-2022-0185", "5.0.21", NotAffected},
		{"CVE-2022-0185", "5.4.172", Reachable},
		{"CVE-2022-0185", "5.4.173", Fixed},
		{"CVE-2022-0185", "5.16.1", Reachable},
		{"CVE-2022-0185", "5.16.2", Fixed},
		{"CVE-2023-0386", "5.10.200", NotAffected},
		{"CVE-2023-0386", "6.1.8", Reachable},
		{"CVE-2023-0386", "6.1.9", Fixed},
		{"CVE-2021-3493", "5.11.0", NotAffected}, // Ubuntu's patch only
		{"CVE-2022-0847", "not-a-version", UnknownResult},
		{"CVE-2022-0847", "", UnknownResult},
	}
	for _, tt := range tests {
		r := EvaluateBug(bug(t, tt.id), upstream(tt.kernel), open)
		if r.Outcome != tt.want {
			t.Errorf("%s on %q: %s (%s), want %s", tt.id, tt.kernel, r.Outcome, r.Version, tt.want)
		}
		if r.Outcome == Reachable && !strings.HasPrefix(r.Fixes[0], "upgrade the kernel to ") {
			t.Errorf("%s on %s: first fix %q is not the upgrade", tt.id, tt.kernel, r.Fixes[0])
		}
	}
}

func TestParseKernel(t *testing.T) {
	tests := []struct {
		release, procVersion, signature string
		upstream, vendor                string
	}{
		{"6.18.44-fc-v1272", "Linux version 6.18.44-fc-v1272 (builder@sandboxing) (gcc (GCC) 15.3.0) #1 SMP PREEMPT_DYNAMIC @0", "", "6.18.44", ""},
		{"6.1.0-18-amd64", "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)", "", "6.1.76", "debian"},
		{"6.1.0-18-amd64", "", "", "6.1.0", "debian"},
		{"5.15.0-91-generic", "Linux version 5.15.0-91-generic (buildd@lcy02-amd64-045) #101-Ubuntu SMP", "Ubuntu 5.15.0-91.101-generic 5.15.131", "5.15.131", "ubuntu"},
		{"5.15.0-91-generic", "Linux version 5.15.0-91-generic #101-Ubuntu SMP", "", "5.15.0", "ubuntu"},
		{"4.18.0-513.5.1.el8_9.x86_64", "Linux version 4.18.0-513.5.1.el8_9.x86_64 (mockbuild@x86-vm-07.build.eng.bos.redhat.com) (gcc version 8.5.0 20210514 (Red Hat 8.5.0-20))", "", "4.18.0", "rhel"},
		{"6.5.6-300.fc39.x86_64", "", "", "6.5.6", "fedora"},
		{"6.8.0-rc3", "", "", "6.8.0", ""},
		{"garbage", "", "", "", ""},
	}
	for _, tt := range tests {
		k := ParseKernel(tt.release, tt.procVersion, tt.signature)
		if k.Upstream != tt.upstream || k.Vendor != tt.vendor || k.Known != (tt.upstream != "") {
			t.Errorf("%s: upstream %q vendor %q known %v, want %q %q", tt.release, k.Upstream, k.Vendor, k.Known, tt.upstream, tt.vendor)
		}
	}
}

// dockerSubject resolves Docker's default profile through internal/seccomp
// for a container with the given capabilities.
func dockerSubject(t *testing.T, h *Host, name string, c caps.Set) *Subject {
	t.Helper()
	p, err := seccomp.LoadBuiltin("docker-default")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ResolveProfile(p, "x86_64", c, h.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	return &Subject{Name: name, Filter: &SeccompFilter{Profile: r, Label: "docker-default"}, Caps: c}
}

func sysAdmin() caps.Set {
	n, _ := caps.Number("SYS_ADMIN")
	return caps.DockerDefault() | 1<<n
}

func TestOutcomes(t *testing.T) {
	base := func() *Host {
		h := upstream("5.10.0")
		h.Sysctls = map[string]int{"user.max_user_namespaces": 63000, "kernel.io_uring_disabled": 0, "kernel.unprivileged_bpf_disabled": 2}
		h.Config = map[string]string{"CONFIG_NF_TABLES": "m", "CONFIG_PACKET": "y", "CONFIG_OVERLAY_FS": "m", "CONFIG_FUSE_FS": "y", "CONFIG_NET_CLS_ROUTE4": "m", "CONFIG_IP_NF_IPTABLES": "m", "CONFIG_WATCH_QUEUE": "y"}
		h.Loaded, h.ModulesKnown = map[string]bool{"nf_tables": true}, true
		return h
	}
	def := dockerSubject(t, base(), "container default", caps.DockerDefault())
	unconfined := &Subject{Name: "container wide", Caps: sysAdmin()}
	admin := dockerSubject(t, base(), "container admin", sysAdmin())

	tests := []struct {
		name    string
		host    func(*Host)
		subject *Subject
		id      string
		want    string
		why     string // in BlockedBy or Via
	}{
		{"default profile blocks userns for nf_tables", nil, def, "CVE-2024-1086", Blocked,
			"seccomp profile docker-default blocks unshare(CLONE_NEWUSER) (returns EPERM) and clone(CLONE_NEWUSER) (returns EPERM)"},
		{"default profile blocks io_uring", nil, def, "CVE-2021-41073", Blocked, "seccomp profile docker-default blocks io_uring_setup(1, params) (returns EPERM)"},
		{"default profile blocks bpf", func(h *Host) { h.Sysctls["kernel.unprivileged_bpf_disabled"] = 0 }, def, "CVE-2021-3490", Blocked, "seccomp profile docker-default blocks bpf(BPF_PROG_LOAD, ...)"},
		{"default caps reach af_packet", nil, def, "CVE-2021-22600", Reachable, "container default holds CAP_NET_RAW"},
		{"default profile lets splice through", nil, def, "CVE-2022-0847", Reachable, "seccomp profile docker-default allows splice()"},
		{"CAP_SYS_ADMIN opens unshare in the default profile", nil, admin, "CVE-2024-1086", Reachable, "seccomp profile docker-default allows unshare(CLONE_NEWUSER)"},
		{"unconfined reaches nf_tables through a user namespace", nil, unconfined, "CVE-2024-1086", Reachable, "CAP_NET_ADMIN inside a new user namespace (user namespaces: no seccomp filter)"},
		{"unconfined reaches io_uring", nil, unconfined, "CVE-2021-41073", Reachable, "io_uring_setup(1, params): no seccomp filter"},
		{"max_user_namespaces=0", func(h *Host) { h.Sysctls["user.max_user_namespaces"] = 0 }, unconfined, "CVE-2024-1086", Blocked, "sysctl user.max_user_namespaces=0"},
		{"unprivileged_userns_clone=0 without CAP_SYS_ADMIN", func(h *Host) { h.Sysctls["kernel.unprivileged_userns_clone"] = 0 },
			&Subject{Name: "c", Caps: caps.DockerDefault()}, "CVE-2024-1086", Blocked, "sysctl kernel.unprivileged_userns_clone=0"},
		{"io_uring_disabled=2", func(h *Host) { h.Sysctls["kernel.io_uring_disabled"] = 2 }, unconfined, "CVE-2021-41073", Blocked, "sysctl kernel.io_uring_disabled=2"},
		{"io_uring_disabled=1 lets CAP_SYS_ADMIN through", func(h *Host) { h.Sysctls["kernel.io_uring_disabled"] = 1 }, unconfined, "CVE-2021-41073", Reachable, ""},
		{"unprivileged bpf off", nil, &Subject{Name: "c", Caps: caps.DockerDefault()}, "CVE-2021-3490", Blocked, "sysctl kernel.unprivileged_bpf_disabled=2"},
		{"module built without", func(h *Host) { delete(h.Config, "CONFIG_NET_CLS_ROUTE4") }, unconfined, "CVE-2022-2588", Blocked, "the kernel is built without CONFIG_NET_CLS_ROUTE4"},
		{"module not loaded, modules_disabled=1", func(h *Host) { h.Sysctls["kernel.modules_disabled"] = 1 }, unconfined, "CVE-2022-2588", Blocked, "module cls_route not loaded and kernel.modules_disabled=1"},
		{"module loads on demand", nil, unconfined, "CVE-2022-2588", Reachable, "module cls_route is not loaded but loads on demand"},
		{"loaded module ignores modules_disabled", func(h *Host) { h.Sysctls["kernel.modules_disabled"] = 1 }, unconfined, "CVE-2024-1086", Reachable, "module nf_tables is loaded"},
		{"cgroup v2 only", func(h *Host) { h.CgroupV1 = "no" }, unconfined, "CVE-2022-0492", Blocked, "cgroup v2 only"},
		{"no /dev/fuse", nil, unconfined, "CVE-2023-0386", NotAffected, ""},
		{"vendor kernel in the affected range", func(h *Host) {
			h.Kernel = ParseKernel("5.10.0-20-amd64", "Linux version 5.10.0-20-amd64 #1 SMP Debian 5.10.158-2 (2022-12-13)", "")
		}, unconfined, "CVE-2024-1086", VendorCheck, ""},
		{"vendor kernel past the fix", func(h *Host) {
			h.Kernel = ParseKernel("5.10.0-20-amd64", "Linux version 5.10.0-20-amd64 #1 SMP Debian 5.10.158-2 (2022-12-13)", "")
		}, unconfined, "CVE-2022-0847", Fixed, ""},
		{"vendor kernel, blocked anyway", func(h *Host) {
			h.Kernel = ParseKernel("5.10.0-20-amd64", "Linux version 5.10.0-20-amd64 #1 SMP Debian 5.10.158-2 (2022-12-13)", "")
		}, def, "CVE-2024-1086", Blocked, "blocks unshare(CLONE_NEWUSER)"},
		{"ubuntu-only bug on ubuntu", func(h *Host) {
			h.Kernel = ParseKernel("5.15.0-91-generic", "", "Ubuntu 5.15.0-91.101-generic 5.15.131")
		}, unconfined, "CVE-2023-2640", VendorCheck, ""},
		{"ubuntu-only bug elsewhere", nil, unconfined, "CVE-2023-2640", NotAffected, ""},
		{"unknown version is never safe", func(h *Host) { h.Kernel = ParseKernel("???", "", "") }, unconfined, "CVE-2022-0847", UnknownResult, ""},
		{"unknown version, blocked", func(h *Host) { h.Kernel = ParseKernel("???", "", "") }, def, "CVE-2024-1086", Blocked, ""},
		{"unknown config is assumed present", func(h *Host) { h.Config = nil; h.Loaded = nil; h.ModulesKnown = false }, unconfined, "CVE-2022-2588", Reachable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := base()
			if tt.host != nil {
				tt.host(h)
			}
			r := EvaluateBug(bug(t, tt.id), h, tt.subject)
			if r.Outcome != tt.want {
				t.Fatalf("%s: %s, want %s: %s", tt.id, r.Outcome, tt.want, r.Why())
			}
			if tt.why != "" && !strings.Contains(strings.Join(append(r.BlockedBy, r.Via...), "\n"), tt.why) {
				t.Errorf("explanation %q lacks %q", r.Why(), tt.why)
			}
			if (r.Outcome == Reachable || r.Outcome == VendorCheck) && len(r.Fixes) == 0 {
				t.Error("no fix")
			}
		})
	}
}

func TestRuncVersions(t *testing.T) {
	tests := []struct{ id, version, want string }{
		{"CVE-2024-21626", "1.1.11", Reachable},
		{"CVE-2024-21626", "v1.1.12-0-g51d5e94", Fixed},
		{"CVE-2024-21626", "1.0.0-rc92", NotAffected},
		{"CVE-2024-21626", "1.0.0-rc93", Reachable},
		{"CVE-2024-21626", "1.1.5+ds1-1+deb12u1", VendorCheck},
		{"CVE-2024-21626", "51d5e94601ceffbbd85688df1c928ecccbfa4685", UnknownResult},
		{"CVE-2019-5736", "1.0.0-rc6", Reachable},
		{"CVE-2019-5736", "1.0.0-rc7", Fixed},
		{"CVE-2019-5736", "1.0.0", Fixed},
	}
	for _, tt := range tests {
		h := upstream("6.18.0")
		rv := ParseRuntimeVersion(tt.version)
		h.Runc = &rv
		r := EvaluateBug(bug(t, tt.id), h, open)
		if r.Outcome != tt.want {
			t.Errorf("%s with runc %s: %s (%s), want %s", tt.id, tt.version, r.Outcome, r.Version, tt.want)
		}
	}
	if r := EvaluateBug(bug(t, "CVE-2024-21626"), upstream("6.18.0"), open); r.Outcome != UnknownResult {
		t.Errorf("no runc version reported: %s", r.Outcome)
	}
}
