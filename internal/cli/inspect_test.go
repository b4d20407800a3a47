package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/confine"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestMain lets this test binary act as inspect's probe child: the
// in-process CLI tests re-execute os.Executable(), which is the test binary.
func TestMain(m *testing.M) {
	if name := os.Getenv(inspectKernelEnv); name != "" {
		if err := confine.KernelProbeChild(name, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(0)
	}
	if name := os.Getenv(inspectProbeEnv); name != "" {
		if err := confine.ProbeChild(name, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var buildStaticPalisadeOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "palisade-inspect-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "palisade")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/palisade-sec/palisade/cmd/palisade")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// staticPalisadeBinary builds a static palisade binary once per test run.
func staticPalisadeBinary(t *testing.T) string {
	t.Helper()
	testutil.RequireTool(t, "go")
	bin, err := buildStaticPalisadeOnce()
	if err != nil {
		t.Fatalf("build palisade: %v", err)
	}
	return bin
}

func decodeInspect(t *testing.T, out []byte) confine.Report {
	t.Helper()
	var c confine.Report
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("inspect -o json: %v\n%s", err, out)
	}
	return c
}

// TestInspectUnderUnshare runs palisade in a new user namespace (uid 0 mapped
// to our uid) with no_new_privs set by setpriv: inspect must see both.
func TestInspectUnderUnshare(t *testing.T) {
	testutil.RequireRoot(t)
	unshare := testutil.RequireTool(t, "unshare")
	setpriv := testutil.RequireTool(t, "setpriv")
	bin := staticPalisadeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, unshare, "--user", "--map-root-user", setpriv, "--no-new-privs", bin, "inspect", "-o", "json").Output()
	if err != nil {
		t.Fatalf("unshare: %v", err)
	}
	c := decodeInspect(t, out)
	if c.UserNS.Initial || len(c.UserNS.UIDMap) != 1 || c.UserNS.UIDMap[0] != (confine.IDMap{Inside: 0, Outside: uint64(os.Getuid()), Count: 1}) {
		t.Errorf("user namespace %+v", c.UserNS)
	}
	self, _ := os.Readlink("/proc/self/ns/user")
	if c.UserNS.Namespace == "" || c.UserNS.Namespace == self {
		t.Errorf("namespace %q, ours %q: want a different one", c.UserNS.Namespace, self)
	}
	if !c.NoNewPrivs {
		t.Error("setpriv --no-new-privs not seen")
	}
	if c.UID.Effective != 0 {
		t.Errorf("uid in the namespace = %d, want 0", c.UID.Effective)
	}
	// Root in a fresh user namespace holds every capability (of that namespace).
	if n := len(c.Capabilities.Effective.Names); n != c.Capabilities.Known {
		t.Errorf("effective caps in new userns: %d of %d", n, c.Capabilities.Known)
	}
}

// TestInspectInDocker runs palisade inside a container built from nothing
// but its static binary, with dropped capabilities and no-new-privileges.
func TestInspectInDocker(t *testing.T) {
	testutil.RequireDocker(t)
	bin := staticPalisadeBinary(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	for _, d := range []string{"proc/", "sys/", "dev/", "etc/", "tmp/"} {
		tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	tw.WriteHeader(&tar.Header{Name: "palisade", Mode: 0o755, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	image := "palisade-test:inspect"
	imp := exec.CommandContext(ctx, "docker", "import", "-", image)
	imp.Stdin = &rootfs
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })
	cidFile := filepath.Join(t.TempDir(), "cid")
	run := exec.CommandContext(ctx, "docker", "run", "--rm", "--cidfile", cidFile, "--network", "none",
		"--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
		image, "/palisade", "inspect", "-o", "json")
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, stderr.String())
	}
	cid, _ := os.ReadFile(cidFile)
	c := decodeInspect(t, out)

	if !reflect.DeepEqual(c.Capabilities.Effective.Names, []string{"net_bind_service"}) ||
		!reflect.DeepEqual(c.Capabilities.Bounding.Names, []string{"net_bind_service"}) {
		t.Errorf("caps %+v", c.Capabilities)
	}
	if !c.NoNewPrivs {
		t.Error("no-new-privileges not seen")
	}
	if c.Seccomp.Mode != "filter" || c.Seccomp.Filters < 1 {
		t.Errorf("seccomp %+v (Docker applies its default profile)", c.Seccomp)
	}
	if c.Container.Verdict == "no evidence" || !strings.Contains(strings.Join(c.Container.Evidence, "|"), "/.dockerenv") {
		t.Errorf("container %+v", c.Container)
	}
	if c.Container.ID != "" && c.Container.ID != strings.TrimSpace(string(cid)) {
		t.Errorf("container id %q, docker says %q", c.Container.ID, cid)
	}
	if c.Container.Verdict == "yes" && c.Container.ID == "" {
		t.Errorf("cgroup names docker but no id found: %+v", c.Cgroups)
	}
	if c.AppArmor.InKernel {
		if c.AppArmor.Profile == "" {
			t.Errorf("AppArmor in kernel but no profile read: %+v", c.AppArmor)
		}
	}
	t.Logf("in container: verdict %s, id %.12s, seccomp %+v", c.Container.Verdict, c.Container.ID, c.Seccomp)
}

func TestInspectCLI(t *testing.T) {
	code, stdout, stderr := runAppArmorCLI(t, "inspect")
	if code != 0 || !strings.Contains(stdout, "cap effective") || !strings.Contains(stdout, "apparmor") || !strings.Contains(stdout, "container") {
		t.Fatalf("inspect: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runAppArmorCLI(t, "inspect", "-o", "yaml")
	if code != 2 || !strings.HasPrefix(stderr, `palisade: unknown output format "yaml"`) {
		t.Fatalf("bad format: code %d stderr %q", code, stderr)
	}
	code, _, stderr = runAppArmorCLI(t, "inspect", "--pid", "999999999")
	if code != 1 || !strings.HasPrefix(stderr, "palisade: inspect: read process status:") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("missing pid: code %d stderr %q", code, stderr)
	}
	code, stdout, _ = runAppArmorCLI(t, "inspect", "-o", "json", "--pid", "1")
	if code != 0 || decodeInspect(t, []byte(stdout)).PID != 1 {
		t.Fatalf("--pid 1: code %d %s", code, stdout)
	}
}

func inspectSlugs(c confine.Report) map[string][]string {
	out := map[string][]string{}
	for _, f := range c.Findings {
		out[f.Check] = append(out[f.Check], f.Detail)
	}
	return out
}

func inspectProbeMap(c confine.Report) map[string]confine.ProbeResult {
	out := map[string]confine.ProbeResult{}
	for _, p := range c.Probes {
		out[p.Syscall] = p
	}
	return out
}

// runInspectContainer runs the static palisade binary in a busybox
// container with the given docker run flags and decodes inspect -o json.
func runInspectContainer(t *testing.T, flags ...string) confine.Report {
	t.Helper()
	image := testutil.RequireBusyboxImage(t)
	bin := staticPalisadeBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"run", "--rm", "--network", "none", "-v", bin + ":/palisade:ro"}, flags...)
	args = append(args, image, "/palisade", "inspect", "-o", "json")
	run := exec.CommandContext(ctx, "docker", args...)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return decodeInspect(t, out)
}

// TestInspectMisconfiguredVsHardened is the must-show: inspect run
// inside a misconfigured container (runtime socket, host /, CAP_SYS_ADMIN,
// no seccomp, unmasked /proc) and inside a hardened one reports the
// difference, and the syscall probes tell seccomp's EPERM from the kernel's.
func TestInspectMisconfiguredVsHardened(t *testing.T) {
	testutil.RequireRoot(t)
	bad := runInspectContainer(t, "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", "/:/host:ro",
		"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "systempaths=unconfined")
	good := runInspectContainer(t, "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only", "--user", "65534:65534")
	if good.Sockets == nil || good.Writable == nil || good.Findings == nil || good.Probes == nil {
		t.Errorf("hardened: an empty list came out as null: %+v %+v", good.Sockets, good.Writable)
	}
	for _, f := range append(bad.Findings, good.Findings...) {
		if f.Check == "" || f.Severity == 0 || f.Title == "" || f.Detail == "" || f.Fix == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	bs, gs := inspectSlugs(bad), inspectSlugs(good)
	t.Logf("misconfigured: %v", bs)
	t.Logf("hardened: %v", gs)

	for _, slug := range []string{"runtime-socket-mount", "host-root-mount", "dangerous-capability", "seccomp-unconfined",
		"no-new-privileges-missing", "runs-as-root", "unmasked-proc", "writable-root-fs"} {
		if len(bs[slug]) == 0 {
			t.Errorf("misconfigured: no %s finding", slug)
		}
		if len(gs[slug]) != 0 {
			t.Errorf("hardened: unexpected %s finding %v", slug, gs[slug])
		}
	}
	// The socket is found twice, as a bind in the mount table and by
	// connecting, and reported once.
	joined := strings.Join(bs["runtime-socket-mount"], "|")
	if len(bs["runtime-socket-mount"]) != 1 || !strings.Contains(joined, "is mounted at /var/run/docker.sock; it accepts connections") {
		t.Errorf("socket findings: %v", bs["runtime-socket-mount"])
	}
	if !strings.Contains(strings.Join(bs["host-root-mount"], "|"), "mounted at /host read-only") {
		t.Errorf("host-root-mount: %v", bs["host-root-mount"])
	}
	if !strings.Contains(strings.Join(bs["dangerous-capability"], "|"), "CAP_SYS_ADMIN is in the effective, permitted and bounding sets") {
		t.Errorf("dangerous-capability: %v", bs["dangerous-capability"])
	}
	if !strings.Contains(strings.Join(bs["unmasked-proc"], "|"), "/proc/sys/kernel/core_pattern") {
		t.Errorf("unmasked-proc: %v", bs["unmasked-proc"])
	}
	// Docker 20.10's read-only bind is not recursive: the host's cgroup v1
	// hierarchies under /host stay writable, release_agent included.
	if len(bs[confine.ReleaseAgentCheck]) == 0 {
		t.Errorf("misconfigured: no %s finding under the /host bind", confine.ReleaseAgentCheck)
	}
	if len(gs) != 1 || len(gs["host-userns"]) != 1 {
		t.Errorf("hardened container findings %v, want only host-userns (no userns-remap on this daemon)", gs)
	}

	bp, gp := inspectProbeMap(bad), inspectProbeMap(good)
	if len(bp) != len(confine.Probes) || len(gp) != len(confine.Probes) {
		t.Fatalf("probe tables: %d and %d rows, want %d", len(bp), len(gp), len(confine.Probes))
	}
	// No filter: with CAP_SYS_ADMIN the kernel runs mount and unshare and
	// rejects the bad arguments.
	for _, name := range []string{"mount", "unshare", "setns", "bpf"} {
		if r := bp[name]; r.Result != confine.ResultAllowed {
			t.Errorf("misconfigured %s: %+v, want allowed", name, r)
		}
	}
	for _, r := range bad.Probes {
		if r.Result == confine.ResultBlocked || r.Result == confine.ResultKilled || r.Result == confine.ResultError {
			t.Errorf("misconfigured (no filter) %s: %+v", r.Syscall, r)
		}
	}
	// Docker's default profile answers EPERM for these without CAP_SYS_ADMIN.
	for _, name := range []string{"mount", "umount2", "unshare", "setns", "bpf", "keyctl", "add_key", "open_by_handle_at"} {
		if r := gp[name]; r.Result != confine.ResultBlocked || r.ErrnoName != "EPERM" {
			t.Errorf("hardened %s: %+v, want blocked EPERM", name, r)
		}
	}
	if r := gp["personality"]; r.Result != confine.ResultAllowed {
		t.Errorf("hardened personality query: %+v", r)
	}
	if r := gp["ptrace"]; r.Result != confine.ResultAllowed || r.ErrnoName != "ESRCH" {
		t.Errorf("hardened ptrace: %+v (Docker allows ptrace on kernels >= 4.8)", r)
	}
}

// TestInspectProbeArgumentsFailInKernel runs the probes with no capabilities
// and no seccomp filter: every call must reach the kernel and fail on its
// arguments (or be absent from this kernel), so an EPERM under a filter is
// the filter's. init_module and kexec_load are the exceptions the probe
// table marks: the kernel checks their capability first.
func TestInspectProbeArgumentsFailInKernel(t *testing.T) {
	testutil.RequireRoot(t)
	c := runInspectContainer(t, "--cap-drop", "ALL", "--security-opt", "seccomp=unconfined", "--user", "65534:65534")
	if c.Seccomp.Mode != "disabled" || len(c.Probes) != len(confine.Probes) {
		t.Fatalf("seccomp %+v, %d probes", c.Seccomp, len(c.Probes))
	}
	for _, r := range c.Probes {
		p, _ := confine.LookupProbe(r.Syscall)
		switch {
		case r.Result == confine.ResultAllowed && r.Note == "":
		case r.Result == confine.ResultENOSYS && (r.Syscall == "init_module" || r.Syscall == "kexec_load"):
		case r.Result == confine.ResultDenied && p.CapGate != "" && (r.Syscall == "init_module" || r.Syscall == "kexec_load"):
		default:
			t.Errorf("%s: %+v, want the kernel's own argument error", r.Syscall, r)
		}
	}
}

// TestInspectSeccompActions runs inspect under a seccomp profile that
// answers each probed call a different way — kill the process, trap, kill
// the thread, ENOSYS, EACCES — and checks inspect survives and names each.
func TestInspectSeccompActions(t *testing.T) {
	testutil.RequireRoot(t)
	profile := filepath.Join(t.TempDir(), "profile.json")
	os.WriteFile(profile, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
	{"names": ["mount"], "action": "SCMP_ACT_KILL_PROCESS"},
	{"names": ["unshare"], "action": "SCMP_ACT_TRAP"},
	{"names": ["kexec_load"], "action": "SCMP_ACT_KILL"},
	{"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
	{"names": ["add_key"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
	{"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}
]}`), 0o644)
	c := runInspectContainer(t, "--cap-drop", "ALL", "--security-opt", "seccomp="+profile, "--user", "65534:65534")
	if c.Seccomp.Mode != "filter" {
		t.Fatalf("seccomp %+v", c.Seccomp)
	}
	p := inspectProbeMap(c)
	for name, want := range map[string]string{
		"mount": "killed", "unshare": "killed", "kexec_load": "killed", "setns": "enosys",
		"add_key": "blocked", "bpf": "blocked", "ptrace": "allowed", "clone3": "allowed", "personality": "allowed",
	} {
		if p[name].Result != want {
			t.Errorf("%s: %+v, want %s", name, p[name], want)
		}
	}
	if !strings.Contains(p["mount"].Note, "killed by SIGSYS") || !strings.Contains(p["unshare"].Note, "trap") || !strings.Contains(p["kexec_load"].Note, "hung") {
		t.Errorf("kill notes: %q %q %q", p["mount"].Note, p["unshare"].Note, p["kexec_load"].Note)
	}
	if p["bpf"].ErrnoName != "EIO" || !strings.Contains(p["bpf"].Note, "own errno") {
		t.Errorf("bpf: %+v", p["bpf"])
	}
}

// TestInspectKernelExposure: from inside a container under Docker's default
// profile and one with seccomp=unconfined plus CAP_SYS_ADMIN, inspect's
// probes (a real clone(CLONE_NEWUSER), real sockets, io_uring_setup,
// fsopen) give different reachability, named in the explanation.
func TestInspectKernelExposure(t *testing.T) {
	testutil.RequireRoot(t)
	def := runInspectContainer(t)
	wide := runInspectContainer(t, "--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN")
	if def.Kernel == nil || wide.Kernel == nil || def.UsernsProbe == nil || wide.UsernsProbe == nil {
		t.Fatal("no kernel exposure in inspect's report")
	}
	if def.UsernsProbe.Result != "refused" || def.UsernsProbe.ErrnoName != "EPERM" {
		t.Errorf("default profile: new user namespace %+v, want refused with EPERM", def.UsernsProbe)
	}
	if wide.UsernsProbe.Result != "ok" {
		t.Errorf("unconfined: new user namespace %+v, want ok", wide.UsernsProbe)
	}
	count := func(c confine.Report) (n int, r map[string]bool) {
		r = map[string]bool{}
		for _, res := range c.Kernel.Results {
			if res.Reachable {
				n++
				r[res.Bug.ID] = true
			}
		}
		return n, r
	}
	nd, rd := count(def)
	nw, rw := count(wide)
	t.Logf("code reachable: default %d, unconfined+SYS_ADMIN %d", nd, nw)
	if nw <= nd {
		t.Errorf("unconfined+SYS_ADMIN reaches %d bugs' code, default %d", nw, nd)
	}
	for id := range rd {
		if !rw[id] {
			t.Errorf("%s reachable under the default profile only", id)
		}
	}
	why := func(c confine.Report, id string) string {
		for _, res := range c.Kernel.Results {
			if res.Bug.ID == id {
				return strings.Join(append(res.BlockedBy, res.Via...), "|")
			}
		}
		return ""
	}
	if w := why(def, "CVE-2021-33909"); !strings.Contains(w, "a child in a new user namespace was refused with EPERM") {
		t.Errorf("default CVE-2021-33909: %s", w)
	}
	if w := why(wide, "CVE-2021-33909"); !strings.Contains(w, "holds CAP_SYS_ADMIN") || !strings.Contains(w, "allows unshare(CLONE_NEWUSER)") {
		t.Errorf("unconfined CVE-2021-33909: %s", w)
	}
	for _, k := range def.KernelProbes {
		if k.Name == "fsopen" && (k.Here.Result != "refused" || k.InUserns != nil) {
			t.Errorf("default fsopen: %+v (no CAP_SYS_ADMIN, no user namespace to retry in)", k)
		}
	}
}
