package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seccompCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func seccompTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSeccompEval(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "x86_64", "--syscall", "read"}, "SCMP_ACT_ALLOW"},
		{[]string{"--arch", "SCMP_ARCH_X86_64", "--syscall", "mount"}, "SCMP_ACT_ERRNO(1)"},
		{[]string{"--arch", "x86_64", "--syscall", "mount", "--caps", "CAP_SYS_ADMIN"}, "SCMP_ACT_ALLOW"},
		{[]string{"--arch", "x86_64", "--syscall", "clone", "--arg0", "0x10000000"}, "SCMP_ACT_ERRNO(1)"},
		{[]string{"--arch", "x86_64", "--syscall", "clone", "--arg0", "0x11"}, "SCMP_ACT_ALLOW"},
		{[]string{"--arch", "x86_64", "--syscall", "clone3"}, "SCMP_ACT_ERRNO(38)"},
		{[]string{"--arch", "x86", "--syscall", "socketcall"}, "SCMP_ACT_ALLOW"},
		{[]string{"--arch", "x32", "--syscall", "read"}, "SCMP_ACT_ALLOW"},
		{[]string{"--arch", "aarch64", "--syscall", "keyctl"}, "SCMP_ACT_ERRNO(1)"},
		{[]string{"--arch", "arm", "--syscall", "cacheflush"}, "SCMP_ACT_ALLOW"},
		{[]string{"--arch", "x86_64", "--syscall", "socket", "--arg0", "40"}, "SCMP_ACT_ERRNO(1)"},
		{[]string{"--arch", "x86_64", "--syscall", "ptrace", "--kernel", "4.7"}, "SCMP_ACT_ERRNO(1)"},
		{[]string{"--arch", "x86_64", "--syscall", "999"}, "SCMP_ACT_ERRNO(38)"},
	}
	for _, tt := range tests {
		args := append([]string{"seccomp", "eval", "--builtin", "docker-default"}, tt.args...)
		code, out, errs := seccompCLI(t, args...)
		if code != 0 || strings.TrimSpace(out) != tt.want {
			t.Errorf("%v: exit %d, %q (stderr %q), want %s", tt.args, code, out, errs, tt.want)
		}
	}
}

func TestSeccompEvalAllJSON(t *testing.T) {
	code, out, errs := seccompCLI(t, "seccomp", "eval", "--builtin", "docker-default", "--arch", "x86_64", "--all", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		Syscalls map[string]string `json:"syscalls"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Syscalls["read"] != "SCMP_ACT_ALLOW" || v.Syscalls["bpf"] != "SCMP_ACT_ERRNO(1)" || len(v.Syscalls) < 300 {
		t.Fatalf("read=%s bpf=%s n=%d", v.Syscalls["read"], v.Syscalls["bpf"], len(v.Syscalls))
	}
}

func TestSeccompStatsJSON(t *testing.T) {
	code, out, errs := seccompCLI(t, "seccomp", "stats", "--builtin", "docker-default", "--arch", "x86_64", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		Instructions int     `json:"instructions"`
		Avg          float64 `json:"avg_executed_allowed"`
		Max          int     `json:"max_executed_allowed"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.Instructions <= 0 || v.Instructions >= 1056 || v.Avg <= 0 || v.Avg > 12 || v.Max > 24 {
		t.Fatalf("%+v", v)
	}
}

func TestSeccompCompileFormats(t *testing.T) {
	outFile := filepath.Join(t.TempDir(), "f.bpf")
	code, _, errs := seccompCLI(t, "seccomp", "compile", "--builtin", "docker-default", "--arch", "x86_64", "-o", "raw", "--out", outFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := seccompCLI(t, "seccomp", "compile", "--builtin", "docker-default", "--arch", "x86_64", "-o", "json")
	var v struct {
		Instructions int `json:"instructions"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || len(raw) != 8*v.Instructions {
		t.Fatalf("raw has %d bytes, json says %d instructions", len(raw), v.Instructions)
	}
	code, out, _ = seccompCLI(t, "seccomp", "compile", "--builtin", "docker-default", "--arch", "aarch64")
	if code != 0 || !strings.Contains(out, "ld [4]  ; arch") || !strings.Contains(out, "aarch64, arm") {
		t.Fatalf("asm output:\n%.400s", out)
	}
}

func TestSeccompErrors(t *testing.T) {
	bad := seccompTemp(t, "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALOW\"}]\n}")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"seccomp", "compile", bad}, 2, bad + ":3:47: unknown action \"SCMP_ACT_ALOW\""},
		{[]string{"seccomp", "compile", "/no/such/file.json"}, 2, "read profile"},
		{[]string{"seccomp", "compile"}, 2, "no profile"},
		{[]string{"seccomp", "compile", "--builtin", "nope"}, 2, "unknown builtin profile"},
		{[]string{"seccomp", "eval", "--builtin", "docker-default", "--arch", "mips", "--syscall", "read"}, 2, "unknown architecture"},
		{[]string{"seccomp", "eval", "--builtin", "docker-default", "--syscall", "nosuchcall"}, 2, "no syscall"},
		{[]string{"seccomp", "eval", "--builtin", "docker-default", "--syscall", "read", "--arg0", "zz"}, 2, "not a number"},
		{[]string{"seccomp", "stats", "--builtin", "docker-default", "--caps", "CAP_NOPE"}, 2, "unknown capability"},
		{[]string{"seccomp", "compile", "--builtin", "docker-default", "-o", "xml"}, 2, "unknown output format"},
	}
	for _, tt := range tests {
		code, out, errs := seccompCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d stderr %q, want %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
		if strings.Count(errs, "\n") != 1 || out != "" {
			t.Errorf("%v: want one error line and no output, got %q / %q", tt.args, errs, out)
		}
	}
}

func TestSeccompLint(t *testing.T) {
	code, out, _ := seccompCLI(t, "seccomp", "lint", "--builtin", "docker-default", "--arch", "x86_64", "-o", "json")
	if code != 0 {
		t.Fatalf("docker-default has no high finding, exit %d", code)
	}
	var v struct {
		Findings []struct {
			ID, Severity, Syscall string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range v.Findings {
		ids = append(ids, f.ID+":"+f.Syscall)
	}
	if !strings.Contains(strings.Join(ids, " "), "dangerous-syscall:ptrace") {
		t.Errorf("docker-default findings %v lack ptrace", ids)
	}
	weak := seccompTemp(t, `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
 "syscalls": [{"names": ["mount", "umount2"], "action": "SCMP_ACT_ERRNO"},
  {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_EQ"}]}]}`)
	code, out, _ = seccompCLI(t, "seccomp", "lint", weak, "--arch", "x86_64")
	if code != 1 {
		t.Fatalf("weak profile: exit %d", code)
	}
	for _, want := range []string{"default-allow", "dangerous-syscall [x86_64,x86]: bpf", "namespace-creation", "socket(AF_VSOCK)", ":3:3: medium: socket-family"} {
		if !strings.Contains(out, want) {
			t.Errorf("lint output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "socket(AF_ALG)") {
		t.Errorf("AF_ALG is denied by the profile but reported:\n%s", out)
	}
	code, out, _ = seccompCLI(t, "seccomp", "lint", weak, "--arch", "x86_64", "-o", "sarif", "--fail-on", "never")
	if code != 0 || !strings.Contains(out, `"version": "2.1.0"`) || !strings.Contains(out, `"startLine"`) {
		t.Fatalf("sarif: exit %d\n%.300s", code, out)
	}
}

func TestSeccompDiffAndExplain(t *testing.T) {
	// Docker's default plus keyctl, minus read, with personality changed.
	mod := seccompTemp(t, `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
 "architectures": ["SCMP_ARCH_X86_64"],
 "syscalls": [{"names": ["keyctl", "write"], "action": "SCMP_ACT_ALLOW"},
  {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}`)
	code, out, errs := seccompCLI(t, "seccomp", "diff", "builtin:docker-default", mod, "--arch", "x86_64", "-o", "json")
	if code != 1 {
		t.Fatalf("diff exit %d: %s", code, errs)
	}
	var d struct {
		Added, Removed, Changed []struct {
			Syscall string   `json:"syscall"`
			Arches  []string `json:"arches"`
		}
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	has := func(l []struct {
		Syscall string   `json:"syscall"`
		Arches  []string `json:"arches"`
	}, name, arch string) bool {
		for _, e := range l {
			if e.Syscall == name && strings.Contains(strings.Join(e.Arches, ","), arch) {
				return true
			}
		}
		return false
	}
	if !has(d.Added, "keyctl", "x86_64") || !has(d.Removed, "read", "x86_64") || !has(d.Changed, "personality", "x86_64") || has(d.Changed, "write", "x86_64") {
		t.Fatalf("diff: %s", out)
	}
	if code, _, _ := seccompCLI(t, "seccomp", "diff", "builtin:docker-default", "builtin:docker-default"); code != 0 {
		t.Fatalf("identical profiles: exit %d", code)
	}
	// --builtin NAME stands for A, as in the other seccomp commands.
	if code, out2, errs := seccompCLI(t, "seccomp", "diff", "--builtin", "docker-default", mod, "--arch", "x86_64", "-o", "json"); code != 1 || out2 != out {
		t.Fatalf("diff --builtin: exit %d, %s\n%s", code, errs, out2)
	}
	for _, args := range [][]string{{"--builtin", "docker-default", "builtin:docker-default", mod}, {mod}} {
		if code, _, errs := seccompCLI(t, append([]string{"seccomp", "diff"}, args...)...); code != 2 || strings.Count(errs, "\n") != 1 {
			t.Errorf("diff %q: exit %d, %q; want 2 and one line", args, code, errs)
		}
	}
	code, out, _ = seccompCLI(t, "seccomp", "explain", "builtin:docker-default", "clone", "--arch", "x86_64", "--arg0", "0x10000000")
	if code != 0 || !strings.Contains(out, "action: SCMP_ACT_ERRNO(1)") || !strings.Contains(out, "includes.caps: the container lacks CAP_SYS_ADMIN") || !strings.Contains(out, "conditions do not hold") {
		t.Fatalf("explain clone:\n%s", out)
	}
	code, out, _ = seccompCLI(t, "seccomp", "explain", "--builtin", "docker-default", "mount", "--caps", "CAP_SYS_ADMIN", "--arch", "x86_64", "-o", "json")
	if code != 0 || !strings.Contains(out, `"action": "SCMP_ACT_ALLOW"`) || !strings.Contains(out, "builtin:docker-default:") {
		t.Fatalf("explain mount:\n%s", out)
	}
}

func TestSeccompEscapesPaths(t *testing.T) {
	dir := t.TempDir()
	evil := filepath.Join(dir, "x\x1b[31m.json")
	if err := os.WriteFile(evil, []byte(`{"defaultAction": "SCMP_ACT_NOPE"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, errs := seccompCLI(t, "seccomp", "compile", evil)
	if strings.ContainsRune(errs, 0x1b) || !strings.Contains(errs, `x\x1b[31m.json:1:19`) {
		t.Fatalf("terminal escape not neutralised: %q", errs)
	}
	_, _, errs = seccompCLI(t, "seccomp", "compile", filepath.Join(dir, "missing\x1b.json"))
	if strings.ContainsRune(errs, 0x1b) {
		t.Fatalf("terminal escape in read error: %q", errs)
	}
}
