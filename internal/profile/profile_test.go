package profile

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func loadRec(t *testing.T, name string) *record.Recording {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := record.Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got)
}

// decide evaluates the compiled program for one call on x86_64.
func decide(t *testing.T, chk *Checked, arch, name string, args ...uint64) seccomp.Action {
	t.Helper()
	nr, ok := syscalls.Number(arch, name)
	if !ok {
		t.Fatalf("no %s on %s", name, arch)
	}
	tok, _ := syscalls.AuditArch(arch)
	d := seccomp.SeccompData{Nr: uint32(nr), Arch: tok}
	copy(d.Args[:], args)
	act, _, err := seccomp.Run(chk.Program.Raw, d)
	if err != nil {
		t.Fatal(err)
	}
	return act
}

func TestSeccompFromRecording(t *testing.T) {
	r := loadRec(t, "server.recording.json")
	for _, rt := range Runtimes {
		t.Run(rt, func(t *testing.T) {
			res, err := Seccomp(r, rt)
			if err != nil {
				t.Fatal(err)
			}
			chk, err := SeccompJSON(res, seccomp.Env{})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "server.seccomp-"+rt+".json", chk.JSON)
			eperm, allow := seccomp.Errno(1), seccomp.ActAllow
			tests := []struct {
				arch, name string
				args       []uint64
				want       seccomp.Action
			}{
				{"x86_64", "openat", nil, allow},
				{"x86_64", "bind", nil, allow},
				{"x86_64", "socket", []uint64{2, 1}, allow},        // AF_INET was used
				{"x86_64", "socket", []uint64{16, 3}, eperm},       // AF_NETLINK was not
				{"x86_64", "clone", []uint64{0x1200011}, allow},    // fork-like clone
				{"x86_64", "clone", []uint64{0x10000000}, eperm},   // CLONE_NEWUSER
				{"x86_64", "unshare", []uint64{0x10000000}, eperm}, // never recorded
				{"x86_64", "mount", nil, eperm},
				{"x86_64", "ptrace", nil, eperm},
				{"x86", "socketcall", nil, allow}, // recorded in the compat ABI
				{"x86", "mount", nil, eperm},
			}
			for _, tt := range tests {
				got := decide(t, chk, tt.arch, tt.name, tt.args...)
				if tt.want == eperm && got == seccomp.Errno(38) {
					// runc's stub: numbers above the highest one named get
					// ENOSYS so libc falls back; still refused.
					got = eperm
				}
				if got != tt.want {
					t.Errorf("%s %s%v: %v, want %v", tt.arch, tt.name, tt.args, got, tt.want)
				}
			}
			// the runtime's own calls are there exactly when asked for
			calls, _ := RuntimeCalls(rt)
			for _, c := range calls {
				if got := decide(t, chk, "x86_64", c); got != allow {
					t.Errorf("%s: %s needed by the runtime: %v", rt, c, got)
				}
			}
			if rt == "none" {
				if got := decide(t, chk, "x86_64", "capset"); got != eperm {
					t.Errorf("none: capset %v, want EPERM (never recorded)", got)
				}
			}
			if !slices.IsSorted(res.Profile.Syscalls[0].Names) {
				t.Errorf("names not sorted")
			}
			if a := res.Profile.Architectures; len(a) != 2 || a[0] != "SCMP_ARCH_X86_64" || a[1] != "SCMP_ARCH_X86" {
				t.Errorf("architectures %v, want x86_64 and x86 (both recorded)", a)
			}
		})
	}
	if _, err := Seccomp(r, "crun"); err == nil || !strings.Contains(err.Error(), "unknown runtime") {
		t.Errorf("unknown runtime: %v", err)
	}
	if _, err := Seccomp(record.New(), "runc"); err == nil {
		t.Errorf("empty recording: no error")
	}
}

func TestCloneNamespacesAndClone3(t *testing.T) {
	r := record.New()
	r.Syscalls["x86_64"] = map[string]uint64{"clone3": 2, "read": 1}
	r.Args = map[string][]uint64{"clone3": {0}}
	res, err := Seccomp(r, "none")
	if err != nil {
		t.Fatal(err)
	}
	chk, err := SeccompJSON(res, seccomp.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := decide(t, chk, "x86_64", "clone3"); got != seccomp.Errno(38) {
		t.Errorf("clone3: %v, want ENOSYS so libc falls back to clone", got)
	}
	if got := decide(t, chk, "x86_64", "clone", 0x11); got != seccomp.ActAllow {
		t.Errorf("clone fallback: %v, want allow", got)
	}
	// A workload that made namespaces keeps clone3 and clone open.
	r.Args["clone3"] = []uint64{0x10000000}
	res, _ = Seccomp(r, "none")
	chk, err = SeccompJSON(res, seccomp.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := decide(t, chk, "x86_64", "clone3"); got != seccomp.ActAllow {
		t.Errorf("clone3 with recorded namespaces: %v, want allow", got)
	}
}

func TestCapsPartial(t *testing.T) {
	r := loadRec(t, "server.recording.json")
	c := Caps(r)
	if !reflect.DeepEqual(c.CapAdd, []string{"NET_BIND_SERVICE", "SETGID", "SETUID"}) {
		t.Errorf("cap_add %v", c.CapAdd)
	}
	if c.Collected || !c.Partial || c.Reason == "" {
		t.Errorf("caps must say they are partial: %+v", c)
	}
	b, _ := json.Marshal(c)
	if !strings.Contains(string(b), `"cap_add":["NET_BIND_SERVICE","SETGID","SETUID"]`) {
		t.Errorf("json: %s", b)
	}
}

func TestDerive(t *testing.T) {
	base := func(f func(r *record.Recording)) *record.Recording {
		r := record.New()
		r.Syscalls["x86_64"] = map[string]uint64{"read": 1}
		r.UIDs, r.GIDs = []uint32{0}, []uint32{0}
		f(r)
		return r
	}
	tests := []struct {
		name string
		rec  *record.Recording
		want []string
	}{
		{"read-only root", base(func(r *record.Recording) { r.Files.Write = []string{"/dev/null", "/proc/self/attr/exec"} }),
			[]string{"--cap-drop=ALL", "--security-opt=no-new-privileges", "--security-opt=seccomp=p.json", "--read-only"}},
		{"scratch dirs on tmpfs", base(func(r *record.Recording) { r.Files.Create = []string{"/tmp/x", "/run/app.pid"} }),
			[]string{"--cap-drop=ALL", "--security-opt=no-new-privileges", "--security-opt=seccomp=p.json", "--read-only", "--tmpfs=/tmp", "--tmpfs=/run"}},
		{"writes data", base(func(r *record.Recording) { r.Files.Write = []string{"/var/lib/app/db"} }),
			[]string{"--cap-drop=ALL", "--security-opt=no-new-privileges", "--security-opt=seccomp=p.json"}},
		{"non-root user", base(func(r *record.Recording) { r.UIDs, r.GIDs = []uint32{33}, []uint32{33} }),
			[]string{"--cap-drop=ALL", "--security-opt=no-new-privileges", "--security-opt=seccomp=p.json", "--read-only", "--user=33:33"}},
		{"setuid program", base(func(r *record.Recording) { r.SetIDExec = []string{"/usr/bin/ping"} }),
			[]string{"--cap-drop=ALL", "--security-opt=seccomp=p.json", "--read-only"}},
		{"proven caps", base(func(r *record.Recording) {
			r.Caps.Inferred = []record.InferredCap{{Name: "NET_BIND_SERVICE", Evidence: []string{"bind 80"}}}
		}), []string{"--cap-drop=ALL", "--cap-add=NET_BIND_SERVICE", "--security-opt=no-new-privileges", "--security-opt=seccomp=p.json", "--read-only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Derive(tt.rec, "p.json", "").DockerFlags()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestComposeAndK8sGolden(t *testing.T) {
	r := loadRec(t, "server.recording.json")
	s := Derive(r, "profiles/server.json", "palisade-server")
	y, err := s.Compose("server")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "server.compose.yaml", y)
	k, err := s.K8s()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "server.k8s.yaml", k)
	golden(t, "server.docker.txt", []byte(strings.Join(s.DockerFlags(), " ")+"\n"))
}

func TestAppArmorFromRecording(t *testing.T) {
	r := loadRec(t, "server.recording.json")
	if n := DefaultName(r); n != "palisade-server" {
		t.Errorf("default name %q", n)
	}
	prof, d, err := AppArmor(r, "palisade-server")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "server.apparmor", prof)
	for _, want := range []string{"/etc/server.conf r,", "/var/log/server.log rw,", "/usr/bin/server mrix,", "network inet stream,", "capability net_bind_service,"} {
		if !strings.Contains(string(prof), want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	if !slices.ContainsFunc(d.Skipped, func(s string) bool { return strings.Contains(s, "capability checks were not recorded") }) {
		t.Errorf("derivation does not say capabilities are partial: %v", d.Skipped)
	}
	testutil.RequireTool(t, "apparmor_parser")
	if err := apparmor.Check(context.Background(), "palisade-server", prof); err != nil {
		t.Errorf("apparmor_parser rejects the profile: %v", err)
	}
}

func TestCapsCollected(t *testing.T) {
	r := record.New()
	r.Syscalls["x86_64"] = map[string]uint64{"fchownat": 1}
	r.Caps = record.Capabilities{Collected: true, Source: record.CapSource,
		Inferred: []record.InferredCap{{Name: "NET_BIND_SERVICE", Evidence: []string{"bind 80"}}},
		Checked: []record.CheckedCap{
			{Name: "CHOWN", Granted: 2, Needed: true},
			{Name: "NET_BIND_SERVICE", Granted: 1, Needed: true},
			{Name: "SYS_ADMIN", Granted: 9, Note: record.SysAdminProbe},
			{Name: "SYS_NICE", Denied: 1},
		}}
	c := Caps(r)
	if !reflect.DeepEqual(c.CapAdd, []string{"CHOWN", "NET_BIND_SERVICE"}) {
		t.Errorf("cap_add %v, want [CHOWN NET_BIND_SERVICE]", c.CapAdd)
	}
	if !c.Collected || c.Partial || c.Reason != "" || c.Source != record.CapSource {
		t.Errorf("collected caps must not be partial: %+v", c)
	}
	ev := strings.Join(c.Evidence, "\n")
	for _, want := range []string{"CHOWN: checked by the kernel, granted 2, denied 0", "SYS_ADMIN: checked by the kernel, granted 9, denied 0; not added", "SYS_NICE: checked by the kernel, granted 0, denied 1; not added: never granted"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
	s := Derive(r, "p.json", "")
	if slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "partial") }) {
		t.Errorf("collected caps noted as partial: %v", s.Notes)
	}
	if f := s.DockerFlags(); !slices.Contains(f, "--cap-add=CHOWN") || slices.Contains(f, "--cap-add=SYS_ADMIN") {
		t.Errorf("docker flags %v, want CHOWN and not SYS_ADMIN", f)
	}
}
