package profile_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/profile"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/syscalls"
	"github.com/palisade-sec/palisade/internal/testutil"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// palisade builds the binary once per test run.
func palisade(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "palisade-profile-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "palisade")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/palisade")
		cmd.Dir = testutil.RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build palisade: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else {
			t.Fatalf("%s %v: %v", name, args, err)
		}
	}
	return r
}

func must(t *testing.T, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
	}
	return r
}

// TestRecordedProfileUnderPalisadeRun is the proof: a workload recorded
// with palisade record runs again under the seccomp profile generated from
// that recording, with all capabilities dropped and no_new_privs; a
// syscall the recording never saw (unshare) is refused with EPERM by the
// filter (the control run shows the same call succeeds without it).
func TestRecordedProfileUnderPalisadeRun(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	bb := testutil.RequireTool(t, "busybox")
	bin := palisade(t)
	dir := t.TempDir()
	work := fmt.Sprintf("cat /etc/hostname; ls %[1]s >/dev/null; echo data > %[1]s/out; cat %[1]s/out", dir)
	rec, prof := filepath.Join(dir, "rec.json"), filepath.Join(dir, "seccomp.json")

	must(t, run(t, bin, "record", "--out", rec, "--", bb, "sh", "-c", work), "record")
	g := must(t, run(t, bin, "profile", "seccomp", rec, "--runtime", "palisade-run", "--out", prof), "profile")
	t.Logf("profile: %s", strings.TrimSpace(g.stderr))

	host, _ := os.Hostname()
	r := must(t, run(t, bin, "run", "--cap-drop", "ALL", "--no-new-privileges", "--seccomp", prof, "--", bb, "sh", "-c", work), "run under the generated profile")
	if !strings.Contains(r.stdout, host) || !strings.Contains(r.stdout, "data") {
		t.Errorf("workload output under the profile: %q, want the hostname and data", r.stdout)
	}

	// Control: with every capability and no filter, unshare -U works.
	must(t, run(t, bin, "run", "--privileged", "--", bb, "unshare", "-U", "true"), "control: unshare -U without a filter")
	// Under the generated filter (still every capability, so only seccomp
	// can refuse it) the workload works and unshare is refused with EPERM.
	r = run(t, bin, "run", "--privileged", "--seccomp", prof, "--", bb, "sh", "-c", work+"; "+bb+" unshare -U true")
	if r.code == 0 || !strings.Contains(r.stderr, "unshare(0x10000000): Operation not permitted") {
		t.Errorf("unshare under the generated profile: exit %d, stderr %q; want EPERM", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "data") {
		t.Errorf("the recorded part of the workload failed: %q", r.stdout)
	}
	// A filter made without the launcher's own calls stops the launch:
	// the runtime set is needed, not decoration.
	bare := filepath.Join(dir, "bare.json")
	must(t, run(t, bin, "profile", "seccomp", rec, "--runtime", "none", "--out", bare), "profile --runtime none")
	r = run(t, bin, "run", "--privileged", "--seccomp", bare, "--", bb, "true")
	if r.code == 0 {
		t.Errorf("a profile without palisade run's post-filter calls started the command; runtime set unnecessary?")
	}
}

// TestBaselineUnderPalisadeRun is enforcement from a baseline
// (docs/drift.md): a recording bound to a workload with baseline
// from-recording, then palisade run --baseline runs the workload under
// the baseline's seccomp profile and capabilities; a call outside the
// baseline (unshare) is refused with EPERM.
func TestBaselineUnderPalisadeRun(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	bb := testutil.RequireTool(t, "busybox")
	bin := palisade(t)
	dir := t.TempDir()
	work := fmt.Sprintf("cat /etc/hostname; echo data > %[1]s/out; cat %[1]s/out", dir)
	rec, base := filepath.Join(dir, "rec.json"), filepath.Join(dir, "web.json")
	must(t, run(t, bin, "record", "--out", rec, "--", bb, "sh", "-c", work), "record")
	must(t, run(t, bin, "baseline", "from-recording", rec, "--image", "local/web:1", "--out", base), "baseline from-recording")
	r := must(t, run(t, bin, "run", "--baseline", base, "--", bb, "sh", "-c", work), "run --baseline")
	if !strings.Contains(r.stdout, "data") {
		t.Errorf("workload output under its baseline: %q", r.stdout)
	}
	r = run(t, bin, "run", "--baseline", base, "--", bb, "sh", "-c", work+"; "+bb+" unshare -U true")
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("unshare under the baseline: exit %d, stderr %q; want EPERM", r.code, r.stderr)
	}
	// Complain mode: the same profile logs instead of refusing.
	g := must(t, run(t, bin, "baseline", "profile", "seccomp", base, "--complain"), "baseline profile --complain")
	if !strings.Contains(g.stdout, "SCMP_ACT_LOG") {
		t.Errorf("complain profile: %s", g.stdout)
	}
}

// runcPostFilterCalls records a docker run and returns the calls runc
// init's filtered thread makes from prctl(PR_SET_SECCOMP)/seccomp(SET_MODE_FILTER)
// up to the exec of the container's program.
func runcPostFilterCalls(t *testing.T, img string, dockerArgs ...string) []string {
	t.Helper()
	src, err := ebpf.Open(ebpf.Options{Syscalls: record.AllSyscalls(), IgnoreSelf: true, RingBufferBytes: 128 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// docker create, then start: the container id is known before runc
	// runs, so runc inits of other containers on a shared host (their exec
	// record names a different cgroup) are left out.
	args := append(append([]string{"create"}, dockerArgs...), img, "/bin/true")
	cr, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker create: %v", err)
	}
	id := strings.TrimSpace(string(cr))
	defer exec.Command("docker", "rm", "-f", id).Run()
	done := make(chan struct{})
	var out []byte
	var runErr error
	go func() {
		out, runErr = exec.Command("docker", "start", "-a", id).CombinedOutput()
		close(done)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-done
		time.Sleep(time.Second)
		cancel()
	}()
	pending := map[uint32]map[string]bool{} // tid that installed a filter -> its calls since
	calls := map[string]bool{}
	execs := 0
	var r ebpf.Record
	for src.ReadInto(ctx, &r) == nil {
		switch r.Kind {
		case ebpf.KindSyscall:
			if pending[r.TID] == nil && r.Comm != "runc:[2:INIT]" {
				continue
			}
			arch := "x86_64"
			if r.Compat {
				arch = "x86"
			}
			name, _ := syscalls.Name(arch, r.Nr)
			if pending[r.TID] != nil {
				pending[r.TID][name] = true
			} else if r.Ret >= 0 && (name == "prctl" && r.Args[0] == 22 && r.Args[1] == 2 || name == "seccomp" && r.Args[0] == 1) {
				pending[r.TID] = map[string]bool{}
			}
		case ebpf.KindExec:
			if c := pending[r.TID]; c != nil {
				delete(pending, r.TID)
				if !strings.Contains(r.Cgroup, id) {
					continue // another container's runc
				}
				for n := range c {
					calls[n] = true
				}
				execs++
			}
		}
	}
	if runErr != nil {
		t.Fatalf("docker start: %v\n%s", runErr, out)
	}
	if _, drops, _ := src.Stats(); drops > 0 {
		t.Logf("%d records lost host-wide", drops)
	}
	if execs == 0 {
		t.Fatalf("saw no runc init thread of container %s install a filter and exec", id[:12])
	}
	var names []string
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestRuncCallsAfterSeccomp measures what runc needs after its filter is
// installed and checks the runc runtime set covers it.
func TestRuncCallsAfterSeccomp(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	for _, tt := range []struct {
		runtime string
		args    []string
	}{
		{"runc", nil},
		{"runc", []string{"--security-opt", "no-new-privileges"}},
		{"runc-nnp", []string{"--security-opt", "no-new-privileges"}},
	} {
		want, _ := profile.RuntimeCalls(tt.runtime)
		got := runcPostFilterCalls(t, img, tt.args...)
		t.Logf("docker run %v: runc calls after the filter: %v", tt.args, got)
		for _, c := range got {
			if c != "execve" && !slices.Contains(want, c) {
				t.Errorf("docker run %v: runc called %s after installing the filter; add it to the %s set", tt.args, c, tt.runtime)
			}
		}
	}
}

// TestRecordedContainerUnderDocker records a running container by its
// cgroup, generates the profile and runs the same work in a new container
// under it with Docker itself: the work succeeds, unshare is refused even
// with CAP_SYS_ADMIN (and succeeds without the filter).
func TestRecordedContainerUnderDocker(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	bin := palisade(t)
	dir := t.TempDir()
	work := "cat /etc/passwd >/dev/null; ls /tmp >/dev/null; echo data > /tmp/out; cat /tmp/out"
	name := fmt.Sprintf("palisade-record-test-%d", os.Getpid())
	must(t, run(t, "docker", "run", "-d", "--name", name, img, "sh", "-c", "sleep 5; "+work+"; sleep 1"), "docker run -d")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	rec, prof := filepath.Join(dir, "rec.json"), filepath.Join(dir, "seccomp.json")
	r := must(t, run(t, bin, "record", "--container", name, "--duration", "60s", "--out", rec), "record --container")
	t.Logf("record: %s", strings.TrimSpace(r.stderr))
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	recd, err := record.Parse(rec, data)
	if err != nil {
		t.Fatal(err)
	}
	if recd.Sources[0].Ended != "exited" {
		t.Errorf("recording ended %q, want exited (the container stopped)", recd.Sources[0].Ended)
	}
	if !slices.Contains(recd.Files.Read, "/etc/passwd") || !slices.Contains(recd.Files.Write, "/tmp/out") {
		t.Errorf("files read %v / written %v: want /etc/passwd and /tmp/out", recd.Files.Read, recd.Files.Write)
	}
	g := must(t, run(t, bin, "profile", "seccomp", rec, "--out", prof), "profile seccomp")
	t.Logf("profile: %s", strings.TrimSpace(g.stderr))

	r = must(t, run(t, "docker", "run", "--rm", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--security-opt", "seccomp="+prof, img, "sh", "-c", work), "docker run under the generated profile")
	if strings.TrimSpace(r.stdout) != "data" {
		t.Errorf("output %q, want data", r.stdout)
	}
	must(t, run(t, "docker", "run", "--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", img, "unshare", "-U", "true"), "control: unshare without a filter")
	r = run(t, "docker", "run", "--rm", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp="+prof, img, "sh", "-c", work+"; unshare -U true")
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("unshare under the generated profile: exit %d, stderr %q; want EPERM", r.code, r.stderr)
	}
}

// TestRecordedCapabilityUnderPalisadeRun: a web server on a privileged
// port, recorded; the recording proves NET_BIND_SERVICE (the host's
// ip_unprivileged_port_start is above the port), and the workload runs
// under palisade run with --cap-drop ALL --cap-add <recorded caps>
// --no-new-privileges --seccomp <generated>, but fails when the recorded
// capability is withheld.
func TestRecordedCapabilityUnderPalisadeRun(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	bb := testutil.RequireTool(t, "busybox")
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	testutil.RequireFeature(t, err == nil, "a kernel with net.ipv4.ip_unprivileged_port_start: %v", err)
	var start int
	fmt.Sscan(string(data), &start)
	port := 0
	for p := min(start, 1024) - 1; p > 900; p-- {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			port = p
			break
		}
	}
	testutil.RequireFeature(t, port != 0, "a free privileged port below %d on 127.0.0.1", start)
	bin := palisade(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("palisade-served\n"), 0o644)
	work := fmt.Sprintf("%[1]s httpd -f -p 127.0.0.1:%[2]d -h %[3]s & pid=$!; sleep 0.5; %[1]s wget -q -O - http://127.0.0.1:%[2]d/index.html; r=$?; kill $pid; exit $r", bb, port, dir)
	rec, prof := filepath.Join(dir, "rec.json"), filepath.Join(dir, "seccomp.json")
	must(t, run(t, bin, "record", "--out", rec, "--", bb, "sh", "-c", work), "record")
	must(t, run(t, bin, "profile", "seccomp", rec, "--runtime", "palisade-run", "--out", prof), "profile seccomp")
	c := must(t, run(t, bin, "profile", "caps", rec), "profile caps")
	capsList := strings.Fields(c.stdout)
	if !slices.Contains(capsList, "NET_BIND_SERVICE") {
		t.Fatalf("recorded caps %v lack NET_BIND_SERVICE (bind to port %d)", capsList, port)
	}
	// The kernel's own check, not only the bind inference.
	if !strings.Contains(c.stderr, "NET_BIND_SERVICE: checked by the kernel, granted") {
		t.Errorf("NET_BIND_SERVICE not among the kernel's granted checks: %s", c.stderr)
	}
	args := []string{"run", "--cap-drop", "ALL"}
	for _, c := range capsList {
		args = append(args, "--cap-add", c)
	}
	args = append(args, "--no-new-privileges", "--seccomp", prof, "--", bb, "sh", "-c", work)
	r := must(t, run(t, bin, args...), "run with the recorded capabilities and profile")
	if !strings.Contains(r.stdout, "palisade-served") {
		t.Errorf("served %q", r.stdout)
	}
	r = run(t, bin, "run", "--cap-drop", "ALL", "--no-new-privileges", "--seccomp", prof, "--", bb, "sh", "-c", work)
	if r.code == 0 || strings.Contains(r.stdout, "palisade-served") {
		t.Errorf("without NET_BIND_SERVICE the server still served (exit %d, %q)", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "ermission denied") {
		t.Errorf("without NET_BIND_SERVICE: stderr %q, want the bind refusal", r.stderr)
	}
}

// TestRecordedChownCapability: root chowning a file it does not own makes
// the kernel check CAP_CHOWN; profile caps adds it from that check alone
// (no syscall inference covers chown), and the command runs under
// palisade run with it but fails without it.
func TestRecordedChownCapability(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	bb := testutil.RequireTool(t, "busybox")
	bin := palisade(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "owned")
	reset := func() {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	reset()
	rec := filepath.Join(dir, "rec.json")
	must(t, run(t, bin, "record", "--out", rec, "--", bb, "chown", "1234:1234", f), "record")
	c := must(t, run(t, bin, "profile", "caps", rec), "profile caps")
	capsList := strings.Fields(c.stdout)
	if !slices.Contains(capsList, "CHOWN") {
		t.Fatalf("recorded caps %v lack CHOWN; evidence: %s", capsList, c.stderr)
	}
	if strings.Contains(c.stderr, "partial") {
		t.Errorf("caps still marked partial: %s", c.stderr)
	}
	j := must(t, run(t, bin, "profile", "caps", "-o", "json", rec), "profile caps -o json")
	if !strings.Contains(j.stdout, `"collected": true`) || !strings.Contains(j.stdout, `"partial": false`) {
		t.Errorf("caps json: %s", j.stdout)
	}
	reset()
	args := []string{"run", "--cap-drop", "ALL"}
	for _, c := range capsList {
		args = append(args, "--cap-add", c)
	}
	args = append(args, "--no-new-privileges", "--", bb, "chown", "1234:1234", f)
	must(t, run(t, bin, args...), "chown with the recorded capabilities")
	reset()
	r := run(t, bin, "run", "--cap-drop", "ALL", "--no-new-privileges", "--", bb, "chown", "1234:1234", f)
	if r.code == 0 {
		t.Errorf("chown without CHOWN succeeded")
	}
}
