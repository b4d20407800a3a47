package profile_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/profile"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// breakoutProbe builds testdata/breakout (static C, libc only: it starts
// under any profile a glibc program starts under) into dir.
func breakoutProbe(t *testing.T, dir string) {
	t.Helper()
	gcc := testutil.RequireTool(t, "gcc")
	src := filepath.Join(testutil.RepoRoot(t), "internal/profile/testdata/breakout/breakout.c")
	if out, err := exec.Command(gcc, "-static", "-O1", "-o", filepath.Join(dir, "breakout"), src).CombinedOutput(); err != nil {
		t.Fatalf("build the breakout probe: %v\n%s", err, out)
	}
}

// workloadImage builds an image with the test workload (a Go HTTP server,
// testdata/workload) and the breakout probe on the busybox test image.
func workloadImage(t *testing.T) string {
	t.Helper()
	base := testutil.RequireBusyboxImage(t)
	dir := t.TempDir()
	testutil.BuildStatic(t, "./internal/profile/testdata/workload", filepath.Join(dir, "workload"))
	breakoutProbe(t, dir)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY workload /workload\nCOPY breakout /breakout\n"), 0o644)
	img := fmt.Sprintf("palisade-test:profile-workload-%d", os.Getpid())
	must(t, run(t, "docker", "build", "-q", "-t", img, dir), "docker build")
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", img).Run() })
	return img
}

func containerIP(t *testing.T, name string) string {
	t.Helper()
	r := must(t, run(t, "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name), "docker inspect")
	return strings.TrimSpace(r.stdout)
}

// httpCheck is a functional test: GET path answers 200 with a body that
// starts with want.
func httpCheck(path, want string) func(addr string) error {
	return func(addr string) error {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), want) {
			return fmt.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
		}
		return nil
	}
}

// redisCheck is redis's functional test: PING, SET, GET over RESP.
func redisCheck(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("PING\r\nSET palisade k1\r\nGET palisade\r\nQUIT\r\n")); err != nil {
		return err
	}
	got, _ := io.ReadAll(c)
	if want := "+PONG\r\n+OK\r\n$2\r\nk1\r\n+OK\r\n"; string(got) != want {
		return fmt.Errorf("redis answered %q, want %q", got, want)
	}
	return nil
}

// functional runs a server's check five times (retrying while it starts).
func functional(t *testing.T, name string, check func(addr string) error) error {
	t.Helper()
	addr := containerIP(t, name) + ":8080"
	deadline := time.Now().Add(20 * time.Second)
	for ok := 0; ok < 5; {
		err := check(addr)
		if err == nil {
			ok++
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func breakoutResults(t *testing.T, args ...string) map[string]string {
	t.Helper()
	r := must(t, run(t, "docker", args...), "breakout")
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			out[k] = v
		}
	}
	return out
}

// server is one containerized workload for recordHardenRun.
type server struct {
	name, image string
	env         []string                // -e VAR=VALUE for both runs
	cmd         string                  // the server, exec'd once /tmp/go exists
	check       func(addr string) error // functional test against IP:8080
	breakout    bool                    // run the breakout probe (/breakout) inside
}

// recordHardenRun records srv in a container while its functional test
// runs, generates the seccomp profile and docker flags, runs it again
// hardened with Docker (the functional test must pass), and with
// srv.breakout runs the breakout suite inside the hardened container:
// every attempt must get EPERM, while the same suite mostly succeeds in an
// unconfined container with SYS_ADMIN, NET_RAW and SYS_PTRACE (so the
// suite is live). It returns the syscalls allowed and capabilities added.
func recordHardenRun(t *testing.T, srv server) (allowed, capsAdded int) {
	t.Helper()
	dir := t.TempDir()
	name := fmt.Sprintf("palisade-profile-%s-%d", srv.name, os.Getpid())
	var envArgs []string
	for _, e := range srv.env {
		envArgs = append(envArgs, "-e", e)
	}
	// The container waits for /tmp/go before starting the server, so the
	// recording sees the server from its exec on.
	shCmd := "while [ ! -e /tmp/go ]; do sleep 0.1; done; exec " + srv.cmd
	must(t, run(t, "docker", append(append([]string{"run", "-d", "--name", name}, envArgs...), srv.image, "sh", "-c", shCmd)...), "docker run")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	id := strings.TrimSpace(must(t, run(t, "docker", "inspect", "-f", "{{.Id}}", name), "inspect").stdout)

	ready := make(chan struct{})
	type liveResult struct {
		res *record.Result
		err error
	}
	done := make(chan liveResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := record.Live(ctx, record.Options{ContainerID: id, ContainerName: name, Ready: func() { close(ready) }})
		done <- liveResult{res, err}
	}()
	select {
	case <-ready:
	case lr := <-done:
		t.Fatalf("record: %v", lr.err)
	}
	must(t, run(t, "docker", "exec", name, "touch", "/tmp/go"), "start the server")
	if err := functional(t, name, srv.check); err != nil {
		t.Fatalf("functional test while recording: %v", err)
	}
	must(t, run(t, "docker", "kill", name), "docker kill")
	lr := <-done
	if lr.err != nil {
		t.Fatal(lr.err)
	}
	rec := lr.res.Recording
	if rec.Sources[0].Ended != "exited" {
		t.Errorf("recording ended %q, want exited", rec.Sources[0].Ended)
	}
	data, _ := rec.Marshal()
	os.WriteFile(filepath.Join(dir, "rec.json"), data, 0o644)
	// runc init (for docker exec) calls these before its filter exists;
	// they are the runtime's, not the workload's, and must stay out.
	for _, c := range []string{"keyctl", "setns", "unshare", "pivot_root", "mount"} {
		if rec.Syscalls["x86_64"][c] > 0 {
			t.Errorf("the recording holds %s: the runtime's own calls were recorded as the workload's", c)
		}
	}

	var uts unix.Utsname
	unix.Uname(&uts)
	env := seccomp.Env{} // this host's kernel, as palisade profile uses
	fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &env.Kernel.Kernel, &env.Kernel.Major)
	// The generated flags include no-new-privileges (checked below), so
	// runc installs the filter late and the runc-nnp set is enough.
	st0 := profile.Derive(rec, "", "")
	if !st0.NoNewPrivs {
		t.Fatalf("no-new-privileges not derived: %v", st0.Notes)
	}
	res, err := profile.Seccomp(rec, "runc-nnp")
	if err != nil {
		t.Fatal(err)
	}
	chk, err := profile.SeccompJSON(res, env)
	if err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "seccomp.json")
	os.WriteFile(prof, chk.JSON, 0o644)
	dd, _ := profile.DockerDefaultAllowed(env)
	alone := -1
	if r0, err := profile.Seccomp(rec, "none"); err == nil {
		if c0, err := profile.SeccompJSON(r0, env); err == nil {
			alone = c0.Allowed
		}
	}
	st := profile.Derive(rec, prof, "")
	flags := st.DockerFlags()
	t.Logf("%s: %d syscalls allowed with zero args (%d from the recording alone; Docker default %d counted the same way), %d capabilities (Docker default 14): %s", srv.name, chk.Allowed, alone, dd, len(st.CapAdd), strings.Join(flags, " "))
	if chk.Allowed > 100 {
		t.Errorf("%d syscalls allowed: the recording is not least-privilege", chk.Allowed)
	}

	hard := name + "-hardened"
	args := append(append(append([]string{"run", "-d", "--name", hard}, flags...), envArgs...), srv.image, "sh", "-c", shCmd)
	must(t, run(t, "docker", args...), "docker run with the generated flags")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", hard).Run() })
	must(t, run(t, "docker", "exec", hard, "touch", "/tmp/go"), "start the hardened server")
	if err := functional(t, hard, srv.check); err != nil {
		logs, _ := exec.Command("docker", "logs", hard).CombinedOutput()
		t.Fatalf("functional test under the generated profile: %v\n%s", err, logs)
	}
	if !srv.breakout {
		return chk.Allowed, len(st.CapAdd)
	}
	got := breakoutResults(t, "exec", "-e", "PALISADE_BREAKOUT_IN_CONTAINER=1", hard, "/breakout")
	// Control: SYS_ADMIN, NET_RAW and SYS_PTRACE without a filter (not
	// --privileged: a host whose bounding set lacks a capability cannot
	// start privileged containers).
	control := breakoutResults(t, "run", "--rm", "--cap-add", "SYS_ADMIN", "--cap-add", "NET_RAW", "--cap-add", "SYS_PTRACE",
		"--security-opt", "seccomp=unconfined", "-e", "PALISADE_BREAKOUT_IN_CONTAINER=1", srv.image, "/breakout")
	t.Logf("breakout errnos: hardened %v, control %v", got, control)
	for _, a := range []string{"mount", "unshare", "ptrace", "finit_module", "chmod_setuid", "raw_socket", "open_by_handle_at", "keyctl", "bpf"} {
		if got[a] != "1" {
			t.Errorf("%s in the hardened container: errno %q, want 1 (EPERM)", a, got[a])
		}
	}
	for _, a := range []string{"mount", "unshare", "chmod_setuid", "raw_socket", "keyctl", "bpf"} {
		if control[a] != "0" {
			t.Errorf("control: %s failed (errno %s) with the capability and no filter: the probe is broken", a, control[a])
		}
	}
	return chk.Allowed, len(st.CapAdd)
}

// TestGoServerInDocker: a Go HTTP server (testdata/workload).
func TestGoServerInDocker(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	img := workloadImage(t)
	recordHardenRun(t, server{name: "go-http", image: img, cmd: "/workload serve :8080", check: httpCheck("/hello", "hello from "), breakout: true})
}

// hostFilesImage builds an image from this host's Debian package files:
// the busybox test image plus bins with their shared libraries (from ldd),
// the trees in extra, links (name -> target) and the breakout probe.
func hostFilesImage(t *testing.T, name string, bins, extra []string, links map[string]string) string {
	t.Helper()
	base := testutil.RequireBusyboxImage(t)
	files := append([]string(nil), extra...)
	for _, b := range bins {
		_, err := os.Stat(b)
		testutil.RequireFeature(t, err == nil, "%v (install its Debian package)", err)
		files = append(files, b)
		ldd := must(t, run(t, "ldd", b), "ldd "+b)
		for _, f := range strings.Fields(ldd.stdout) {
			if strings.HasPrefix(f, "/") {
				files = append(files, f)
			}
		}
	}
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	os.Mkdir(rootfs, 0o755)
	tarArgs := []string{"-C", "/", "-chf", "-", "--exclude=/usr/lib/python3.11/test", "--exclude=__pycache__"}
	for _, f := range files {
		tarArgs = append(tarArgs, strings.TrimPrefix(f, "/"))
	}
	pack := exec.Command("sh", append([]string{"-c", `tar "$@" | tar -C "$0" -xf -`, rootfs}, tarArgs...)...)
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("copy host files into a rootfs: %v\n%s", err, out)
	}
	for l, target := range links {
		if err := os.Symlink(target, filepath.Join(rootfs, l)); err != nil {
			t.Fatal(err)
		}
	}
	breakoutProbe(t, dir)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY rootfs/ /\nCOPY breakout /breakout\n"), 0o644)
	img := fmt.Sprintf("palisade-test:profile-%s-%d", name, os.Getpid())
	must(t, run(t, "docker", "build", "-q", "-t", img, dir), "docker build")
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", img).Run() })
	return img
}

// TestPythonServerInDocker: Debian's python3.11 (package python3.11-minimal
// and libpython3.11-stdlib, copied from this host) serving /etc with
// http.server.
func TestPythonServerInDocker(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	// Debian's interpreter, not a pyenv shim that PATH may find first.
	py := "/usr/bin/python3.11"
	img := hostFilesImage(t, "python", []string{py}, []string{"/usr/lib/python3.11"}, nil)
	recordHardenRun(t, server{name: "python-http", image: img, env: []string{"PYTHONDONTWRITEBYTECODE=1"},
		cmd: py + " -m http.server 8080 --directory /etc", check: httpCheck("/hostname", ""), breakout: true})
}

// TestRedisInDocker: Debian's redis (package redis-tools, whose
// redis-check-rdb is the server when called redis-server), with a RESP
// functional test.
func TestRedisInDocker(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	img := hostFilesImage(t, "redis", []string{"/usr/bin/redis-check-rdb"}, nil, map[string]string{"usr/bin/redis-server": "redis-check-rdb"})
	recordHardenRun(t, server{name: "redis", image: img,
		cmd: "/usr/bin/redis-server --port 8080 --save '' --appendonly no --protected-mode no", check: redisCheck, breakout: true})
}
