package seccomp

import (
	"slices"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/caps"
)

func resolveText(t *testing.T, src, host string) (*Profile, *Resolved) {
	t.Helper()
	p, err := Parse("t.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(p, Env{Arch: host, Caps: caps.DockerDefault(), Kernel: testKernel})
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func findingKeys(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+f.ID+" "+f.Syscall)
	}
	return out
}

func TestLint(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		want, not []string
	}{
		{
			name: "allow-list without dangerous calls",
			src:  `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}`,
			not:  []string{"high", "medium"},
		},
		{
			name: "deny-list",
			src:  `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}`,
			want: []string{"high default-allow ", "high dangerous-syscall bpf", "high dangerous-syscall umount2", "high namespace-creation unshare", "high namespace-creation clone", "medium socket-family socket"},
			not:  []string{"dangerous-syscall mount\n"},
		},
		{
			name: "clone with Docker's namespace filter",
			src: `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
				{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
				{"names": ["clone3"], "action": "SCMP_ACT_ALLOW"}]}`,
			want: []string{"medium namespace-creation clone3", "info compat-arch-missing "},
			not:  []string{"namespace-creation clone "},
		},
		{
			name: "order dependent",
			src: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [
				{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_GT"}]},
				{"names": ["ioctl"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}]}`,
			want: []string{"low order-dependent ioctl"},
		},
		{
			name: "compat arch bypass through socketcall",
			src: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
				{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
				{"names": ["socketcall"], "action": "SCMP_ACT_ALLOW"}]}`,
			want: []string{"low compat-arch-bypass socketcall"},
		},
		{
			// libseccomp (and so Docker) turns socket(AF_INET) into
			// socketcall(SYS_SOCKET, *) on x86, which no rule can narrow.
			name: "socket filter implies an open socketcall on x86",
			src: `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
				{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}`,
			want: []string{"low compat-arch-bypass socketcall"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := resolveText(t, tt.src, "x86_64")
			got := strings.Join(findingKeys(Lint(r)), "\n") + "\n"
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in\n%s", n, got)
				}
			}
		})
	}
}

func TestDockerDefaultLint(t *testing.T) {
	fs := Lint(dockerDefault(t, "x86_64"))
	keys := findingKeys(fs)
	if !slices.Contains(keys, "medium dangerous-syscall ptrace") {
		t.Errorf("ptrace not reported: %v", keys)
	}
	for _, f := range fs {
		if f.Severity == SevHigh {
			t.Errorf("Docker's default profile has a high finding: %+v", f)
		}
		if f.Location == "" && f.ID != "compat-arch-missing" {
			t.Errorf("finding without a location: %+v", f)
		}
	}
}

func TestDecide(t *testing.T) {
	r := dockerDefault(t, "x86_64")
	tests := []struct {
		name        string
		summary     string
		conditional bool
		mayAllow    bool
	}{
		{"read", "SCMP_ACT_ALLOW", false, true},
		{"mount", "SCMP_ACT_ERRNO(1)", false, false},
		{"clone", "SCMP_ACT_ALLOW if arg0 & 0x7e020000 == 0x0; else SCMP_ACT_ERRNO(1)", true, true},
		{"clone3", "SCMP_ACT_ERRNO(38)", false, false},
	}
	for _, tt := range tests {
		d, ok := Decide(r, "x86_64", tt.name)
		if !ok || d.Summary != tt.summary || d.Conditional != tt.conditional || d.MayAllow != tt.mayAllow {
			t.Errorf("%s: %+v", tt.name, d)
		}
	}
}

func TestExplainShadowing(t *testing.T) {
	p, _ := resolveText(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
		{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_EQ"}]},
		{"names": ["ioctl"], "action": "SCMP_ACT_TRAP"},
		{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO"},
		{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}`, "x86_64")
	ex, err := Explain(p, Env{Arch: "x86_64", Caps: caps.DockerDefault(), Kernel: testKernel}, "x86_64", "ioctl", [6]uint64{0, 5})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Action != "SCMP_ACT_TRAP" || ex.Location != "t.json:3:3" {
		t.Fatalf("%+v", ex)
	}
	want := []string{"shadowed: an unconditional rule", "decides: applies to every call", "no effect: same action as the default", "not applied: includes.caps: the container lacks CAP_SYS_ADMIN"}
	for i, w := range want {
		if !strings.HasPrefix(ex.Rules[i].Status, w) {
			t.Errorf("rule %d: %q, want %q", i, ex.Rules[i].Status, w)
		}
	}
	if _, err := Explain(p, Env{Arch: "x86_64"}, "x86_64", "ioctll", [6]uint64{}); err == nil || !strings.Contains(err.Error(), "did you mean ioctl") {
		t.Fatalf("typo: %v", err)
	}
}

func TestExplainMultiplexer(t *testing.T) {
	p, _ := resolveText(t, `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [
		{"names": ["read", "write", "getdents64"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}`, "x86_64")
	env := Env{Arch: "x86_64", Caps: caps.DockerDefault(), Kernel: testKernel}
	ex, err := Explain(p, env, "x86", "socketcall", [6]uint64{1, 0xdeadbeef})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Action != "SCMP_ACT_ALLOW" || !strings.Contains(ex.Reason, "libseccomp also applies to socketcall") || ex.Location != "t.json:3:3" {
		t.Fatalf("%+v", ex)
	}
	ex, err = Explain(p, env, "x86", "socket", [6]uint64{2})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Action != "SCMP_ACT_ERRNO(38)" || !strings.Contains(ex.Reason, "runc's stub answers ENOSYS") {
		t.Fatalf("%+v", ex)
	}
}
