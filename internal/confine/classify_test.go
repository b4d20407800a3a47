package confine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	mount, _ := LookupProbe("mount")
	kexec, _ := LookupProbe("kexec_load")
	pers, _ := LookupProbe("personality")
	obh, _ := LookupProbe("open_by_handle_at")
	for _, tc := range []struct {
		name     string
		p        Probe
		o        Outcome
		filtered bool
		caps     []string
		kernel   string
		want     string
		note     string
	}{
		{"kernel ran it", mount, Outcome{Errno: syscall.EFAULT}, true, nil, "", ResultAllowed, ""},
		{"filter EPERM", mount, Outcome{Errno: syscall.EPERM}, true, nil, "", ResultBlocked, ""},
		{"no filter EPERM is a capability", mount, Outcome{Errno: syscall.EPERM}, false, nil, "", ResultDenied, "no seccomp filter"},
		{"filter ENOSYS", mount, Outcome{Errno: syscall.ENOSYS}, true, nil, "", ResultENOSYS, ""},
		{"kernel lacks it", kexec, Outcome{Errno: syscall.ENOSYS}, false, nil, "", ResultENOSYS, "kernel lacks"},
		{"filter own errno", mount, Outcome{Errno: syscall.EACCES + 100}, true, nil, "", ResultBlocked, "its own errno"},
		{"killed", mount, Outcome{Killed: true, Note: "killed by SIGSYS"}, true, nil, "", ResultKilled, "SIGSYS"},
		{"cap-gated EPERM without cap", kexec, Outcome{Errno: syscall.EPERM}, true, []string{"chown"}, "", ResultUnclear, "CAP_SYS_BOOT"},
		{"cap-gated EPERM with cap", kexec, Outcome{Errno: syscall.EPERM}, true, []string{"sys_boot"}, "", ResultBlocked, ""},
		{"cap-gated EPERM unfiltered", kexec, Outcome{Errno: syscall.EPERM}, false, nil, "", ResultDenied, "requires CAP_SYS_BOOT"},
		{"gate gone on new kernel", obh, Outcome{Errno: syscall.EPERM}, true, nil, "6.18.0-1-amd64", ResultBlocked, ""},
		{"gate on old kernel", obh, Outcome{Errno: syscall.EPERM}, true, nil, "5.15.0", ResultUnclear, "CAP_DAC_READ_SEARCH"},
		{"query succeeds", pers, Outcome{}, true, nil, "", ResultAllowed, ""},
		{"unexpected success", mount, Outcome{}, true, nil, "", ResultAllowed, "unexpected success"},
		{"child failed", mount, Outcome{Failed: true, Note: "x"}, true, nil, "", ResultError, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Classify(tc.p, tc.o, Env{Filtered: tc.filtered, Effective: tc.caps, Kernel: tc.kernel})
			if r.Result != tc.want || (tc.note == "" && r.Note != "") || !strings.Contains(r.Note, tc.note) {
				t.Errorf("%+v, want %s with note %q", r, tc.want, tc.note)
			}
			if r.Errno != int(tc.o.Errno) {
				t.Errorf("errno %d", r.Errno)
			}
		})
	}
}

func TestProbeTableComplete(t *testing.T) {
	for _, p := range Probes {
		if _, ok := probeCalls[p.Syscall]; !ok {
			t.Errorf("%s: no call", p.Syscall)
		}
		if p.Args == "" || p.Why == "" || (len(p.Expect) == 0) == !p.Success {
			t.Errorf("%s: incomplete: %+v", p.Syscall, p)
		}
	}
	if len(probeCalls) != len(Probes) {
		t.Errorf("%d calls for %d probes", len(probeCalls), len(Probes))
	}
}

func TestParseChildOutput(t *testing.T) {
	for in, want := range map[string]syscall.Errno{"errno 1\n": syscall.EPERM, "ok 0\n": 0, "ok 4194304": 0} {
		if got, err := ParseChildOutput(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "errno", "errno x", "errno 0", "errno 99999", "boom 1"} {
		if _, err := ParseChildOutput(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func slugs(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Check)
	}
	return strings.Join(s, " ")
}

func TestPostureFindings(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Posture
		want string
	}{
		{"hardened", Posture{EffectiveUID: 65534, NoNewPrivs: true, SeccompMode: "filter", InitialUserNS: false}, ""},
		{"host userns non-root", Posture{EffectiveUID: 65534, NoNewPrivs: true, SeccompMode: "filter", InitialUserNS: true}, "host-userns"},
		{"misconfigured", Posture{EffectiveUID: 0, SeccompMode: "disabled", InitialUserNS: true,
			Effective: []string{"chown", "sys_admin"}, Permitted: []string{"chown", "sys_admin"}, Bounding: []string{"chown", "sys_admin"}},
			"runs-as-root host-userns dangerous-capability no-new-privileges-missing seccomp-unconfined"},
		{"bounding only with nnp", Posture{EffectiveUID: 1, NoNewPrivs: true, SeccompMode: "filter", Bounding: []string{"sys_admin"}}, ""},
		{"bounding only without nnp", Posture{EffectiveUID: 1, NoNewPrivs: false, SeccompMode: "filter", Bounding: []string{"net_admin"}},
			"dangerous-capability no-new-privileges-missing"},
		{"root in own userns", Posture{EffectiveUID: 0, NoNewPrivs: true, SeccompMode: "filter"}, ""},
		{"apparmor unconfined", Posture{EffectiveUID: 1, NoNewPrivs: true, SeccompMode: "filter", AppArmorInKernel: true, AppArmorProfile: "unconfined"}, "apparmor-unconfined"},
		{"selinux spc_t", Posture{EffectiveUID: 1, NoNewPrivs: true, SeccompMode: "filter", SELinuxEnabled: true, SELinuxLabel: "system_u:system_r:spc_t:s0"}, "selinux-disabled"},
		{"selinux host domain", Posture{EffectiveUID: 1, NoNewPrivs: true, SeccompMode: "filter", SELinuxEnabled: true, SELinuxLabel: "system_u:system_r:container_runtime_t:s0"}, "selinux-disabled"},
		{"selinux container_t", Posture{EffectiveUID: 1, NoNewPrivs: true, SeccompMode: "filter", SELinuxEnabled: true, SELinuxLabel: "system_u:system_r:container_t:s0:c1,c2"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slugs(PostureFindings(tc.p)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	fs := PostureFindings(Posture{Effective: []string{"sys_admin"}, Bounding: []string{"sys_admin"}, SeccompMode: "filter", NoNewPrivs: true})
	if len(fs) != 1 || fs[0].Detail != "CAP_SYS_ADMIN is in the effective and bounding sets (of a non-initial user namespace: it acts only on what that namespace owns)" || fs[0].Fix != "remove --cap-add SYS_ADMIN" {
		t.Errorf("%+v", fs)
	}
	// Capabilities in the same sets are one finding, not a line each.
	all := []string{"net_admin", "sys_admin", "sys_module"}
	fs = PostureFindings(Posture{Effective: all, Permitted: all, Bounding: append(all, "sys_ptrace"), SeccompMode: "filter", InitialUserNS: true})
	var caps []Finding
	for _, f := range fs {
		if f.Check == "dangerous-capability" {
			caps = append(caps, f)
		}
	}
	if len(caps) != 2 ||
		caps[0].Detail != "CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_MODULE are in the effective, permitted and bounding sets" ||
		caps[0].Fix != "remove --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add SYS_MODULE" ||
		caps[1].Detail != "CAP_SYS_PTRACE is only in the bounding set, and with no_new_privs off a setuid or file-capability program can raise it" {
		t.Errorf("%+v", caps)
	}
}

// TestMergeSocketFindings: a mounted socket that also accepts connections,
// reached by two paths, is one finding.
func TestMergeSocketFindings(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "docker.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	varRun := filepath.Join(dir, "varrun")
	if err := os.Symlink(run, varRun); err != nil {
		t.Fatal(err)
	}
	mounted := MountFindings([]Mount{{MountPoint: filepath.Join(varRun, "docker.sock"), Root: "/run/docker.sock", Device: "0:25", FSType: "tmpfs", Source: "tmpfs"}})
	if slugs(mounted) != "runtime-socket-mount" {
		t.Fatalf("mount: %+v", mounted)
	}
	sockets := SocketFindings([]SocketCheck{
		{Path: filepath.Join(varRun, "docker.sock"), Connected: true},
		{Path: filepath.Join(run, "docker.sock"), Connected: true},
		{Path: "/elsewhere/containerd.sock", Connected: true},
	})
	fs := MergeSocketFindings(mounted, sockets)
	if len(fs) != 2 || !strings.HasSuffix(fs[0].Detail, "; it accepts connections: its API can start a privileged container") ||
		!strings.HasPrefix(fs[1].Detail, "/elsewhere/containerd.sock accepts connections") {
		t.Errorf("%+v", fs)
	}
}

func TestWriteFindings(t *testing.T) {
	fs := WriteFindings([]WriteCheck{{Path: "/proc/sys/kernel/core_pattern", Writable: true}, {Path: "/proc/sysrq-trigger", Error: "read-only file system"}},
		[]WriteCheck{{Path: "/sys/fs/cgroup/memory/release_agent", Writable: true}, {Path: "/sys/fs/cgroup/pids/release_agent", Writable: true}, {Path: "/x/release_agent"}})
	if got := slugs(fs); got != "unmasked-proc "+ReleaseAgentCheck {
		t.Errorf("%q", got)
	}
	if want := "2 release_agent files (/sys/fs/cgroup/memory/release_agent, /sys/fs/cgroup/pids/release_agent) can be opened for writing"; !strings.HasPrefix(fs[1].Detail, want) {
		t.Errorf("%q", fs[1].Detail)
	}
}

func TestKernelBefore(t *testing.T) {
	for _, tc := range []struct {
		rel, v string
		want   bool
	}{{"6.18.0-1-amd64", "6.9", false}, {"6.8.12", "6.9", true}, {"5.10.0", "5.11", true}, {"6.9", "6.9", false}, {"junk", "6.9", true}, {"10.1", "6.9", false}} {
		if got := kernelBefore(tc.rel, tc.v); got != tc.want {
			t.Errorf("kernelBefore(%q, %q) = %v", tc.rel, tc.v, got)
		}
	}
}
