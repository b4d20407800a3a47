package seccomp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/caps"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n}", "p.json:4:1: invalid JSON"},
		{"truncated", `{"defaultAction": "SCMP_ACT_ERRNO"`, "p.json:1:35: invalid JSON: unexpected end of input"},
		{"no default", `{"syscalls": []}`, "p.json:1:1: missing defaultAction"},
		{"bad default", `{"defaultAction": "SCMP_ACT_NOPE"}`, `p.json:1:19: defaultAction: unknown action "SCMP_ACT_NOPE"`},
		{"both arch fields", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n\"architectures\": [\"SCMP_ARCH_X86_64\"],\n\"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}", "p.json:3:12: both architectures and archMap are set"},
		{"unknown arch", `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}`, `p.json:1:55: unknown architecture "SCMP_ARCH_Z80"`},
		{"unknown syscall", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n {\"names\": [\"read\", \"wirte\"], \"action\": \"SCMP_ACT_ALLOW\"}]}", `p.json:2:21: unknown syscall "wirte" (did you mean write?)`},
		{"bad op", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n  \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQQ\"}]}]}", `p.json:3:43: unknown operator "SCMP_CMP_EQQ" (did you mean SCMP_CMP_EQ?)`},
		{"index", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "argument index 6 out of range 0-5"},
		{"seven args", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [` + strings.Repeat(`{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},`, 6) + `{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`, "7 argument conditions; a syscall has at most 6 arguments"},
		{"unknown field", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"arg\": []}]}", `p.json:2:50: unknown field "arg" in syscall (did you mean args?)`},
		{"name and names", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "read", "names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`, "both name and names are set"},
		{"errnoRet on allow", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}`, "errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE"},
		{"type", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}`, `"syscalls.names" must be []string, not string`},
		{"bad kernel", "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"includes\": {\"minKernel\": \"4\"}}]}", "p.json:2:28: invalid kernel version"},
		{"bad cap", `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["SYS_ADMIN"]}}]}`, `unknown capability "SYS_ADMIN"`},
		{"trailing", `{"defaultAction": "SCMP_ACT_ERRNO"} {}`, "unexpected data after the profile"},
		{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nesting deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.json", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tt.want)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseAcceptsOtherArchNames(t *testing.T) {
	src := `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["s390_runtime_instr", "riscv_flush_icache", "read"], "action": "SCMP_ACT_ALLOW"}]}`
	if _, err := Parse("p.json", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	p, err := LoadBuiltin("docker-default")
	if err != nil {
		t.Fatal(err)
	}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse("again.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Spec, q.Spec) {
		t.Fatal("round trip changed the profile")
	}
}

// Resolve must pick exactly the rules Docker's own code picks on this host.
func TestResolveMatchesMoby(t *testing.T) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var kv mobyseccomp.KernelVersion
	if _, err := fmtSscanf(unix.ByteSliceToString(uts.Release[:]), &kv); err != nil {
		t.Fatal(err)
	}
	host := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	// An architecture guard: the comparison is written for these two.
	if host == "" {
		t.Skip("host arch not covered")
	}
	for _, capset := range []caps.Set{caps.DockerDefault(), 0, caps.All, caps.DockerDefault() | 1<<21 | 1<<19} {
		spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: capset.Names()}}}
		want, err := mobyseccomp.GetDefaultProfile(spec)
		if err != nil {
			t.Fatal(err)
		}
		p, err := LoadBuiltin("docker-default")
		if err != nil {
			t.Fatal(err)
		}
		r, err := Resolve(p, Env{Arch: host, Caps: capset, Kernel: kv})
		if err != nil {
			t.Fatal(err)
		}
		var got []specs.LinuxSyscall
		for _, rule := range r.Rules {
			call := p.Spec.Syscalls[rule.Entry]
			got = append(got, call.LinuxSyscall)
		}
		if !reflect.DeepEqual(got, want.Syscalls) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want.Syscalls)
			t.Fatalf("caps %s: rules differ from moby's\n got %s\nwant %s", capset, gj, wj)
		}
		var wantArches []string
		for _, a := range want.Architectures {
			wantArches = append(wantArches, strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_")))
		}
		if !reflect.DeepEqual(r.Arches, wantArches) {
			t.Fatalf("arches %v, moby %v", r.Arches, wantArches)
		}
	}
}

func TestResolveFilters(t *testing.T) {
	p, err := LoadBuiltin("docker-default")
	if err != nil {
		t.Fatal(err)
	}
	eval := func(env Env, name string) Action {
		r, err := Resolve(p, env)
		if err != nil {
			t.Fatal(err)
		}
		prog := mustCompile(t, r, Options{})
		_ = prog
		nr := mustNumber(t, env.Arch, name)
		tok := auditOf(t, env.Arch)
		return Evaluate(r, SeccompData{Nr: uint32(nr), Arch: tok}, Options{})
	}
	base := Env{Arch: "x86_64", Caps: caps.DockerDefault(), Kernel: testKernel}
	tests := []struct {
		name string
		env  func(Env) Env
		call string
		want Action
	}{
		{"mount denied by default", func(e Env) Env { return e }, "mount", Errno(1)},
		{"mount with CAP_SYS_ADMIN", func(e Env) Env { e.Caps |= 1 << 21; return e }, "mount", ActAllow},
		{"ptrace on 6.18", func(e Env) Env { return e }, "ptrace", ActAllow},
		{"ptrace needs 4.8", func(e Env) Env { e.Kernel = mobyseccomp.KernelVersion{Kernel: 4, Major: 7}; return e }, "ptrace", Errno(1)},
		{"clone3 ENOSYS without SYS_ADMIN", func(e Env) Env { return e }, "clone3", Errno(38)},
		{"arch_prctl only on amd64", func(e Env) Env { return e }, "arch_prctl", ActAllow},
		{"bpf with CAP_BPF", func(e Env) Env { e.Caps |= 1 << 39; return e }, "bpf", ActAllow},
		{"arm cacheflush on aarch64 host", func(e Env) Env { e.Arch = "arm"; return e }, "cacheflush", ActAllow},
	}
	for _, tt := range tests {
		if got := eval(tt.env(base), tt.call); got != tt.want {
			t.Errorf("%s: %s", tt.name, got)
		}
	}
}

func TestLoadBuiltinUnknown(t *testing.T) {
	if _, err := LoadBuiltin("nope"); err == nil || !strings.Contains(err.Error(), "docker-default") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"minimal.json", "arch-map.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("again.json", out); err != nil {
			t.Fatalf("marshal output does not parse: %v", err)
		}
		for _, host := range []string{"x86_64", "aarch64"} {
			r, err := Resolve(p, Env{Arch: host, Caps: caps.DockerDefault(), Kernel: testKernel})
			if err != nil {
				continue
			}
			_, _ = Compile(r, Options{})
		}
	})
}

// The OCI form of a resolved profile, read back as a profile, decides
// every syscall the same way.
func TestOCIRoundTrip(t *testing.T) {
	r := dockerDefault(t, "x86_64")
	oci := r.OCI()
	data, err := json.Marshal(oci)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("oci.json", data)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Resolve(p, Env{Arch: "x86_64", Caps: caps.DockerDefault(), Kernel: testKernel})
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(r, r2); !d.Empty() {
		t.Fatalf("OCI form decides differently: %+v", d)
	}
	if len(oci.Syscalls) != len(r.Rules) || oci.DefaultAction != specs.ActErrno || *oci.DefaultErrnoRet != 1 {
		t.Fatalf("OCI form: %d rules, default %s", len(oci.Syscalls), oci.DefaultAction)
	}
}
