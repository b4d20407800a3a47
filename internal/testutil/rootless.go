package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerdRootless is the script Debian's docker.io ships to start a
// rootless daemon under rootlesskit.
const dockerdRootless = "/usr/share/docker.io/contrib/dockerd-rootless.sh"

// RootlessDocker is a rootless Docker daemon a test started for a user it
// created, with its own data root, exec root and socket under
// /run/user/UID (where Palisade looks for rootless daemons).
type RootlessDocker struct {
	ExtraDocker
	User     string
	UID, GID int
	SubUID   int // first host uid of the user's subordinate range (container uid 1)
}

// StartRootlessDocker creates a user with subordinate uid and gid ranges
// and starts a rootless dockerd for it with dockerd-rootless.sh, then
// imports BusyboxImage into it. Everything is removed when the test ends:
// the daemon and its processes, its directories, the user and its ranges.
//
// Two settings differ from a laptop's: rootlesskit runs with --net=host
// and dockerd in a network namespace of its own (unshare -n). slirp4netns
// needs /dev/net/tun, which is root-only (0600) on this kind of host, and
// with --net=host alone dockerd would try to remove the host's docker0
// (it fails without privilege, but it must not try). The containers run
// with --network none; networking is not what is tested.
func StartRootlessDocker(t testing.TB) *RootlessDocker {
	t.Helper()
	RequireRoot(t)
	RequireInstalled(t, Need{"rootlesskit", "rootlesskit"}, Need{"newuidmap", "uidmap"}, Need{"dockerd", "docker.io"},
		Need{dockerdRootless, "docker.io"}, Need{"docker", "docker.io"}, Need{"unshare", "util-linux"}, Need{"useradd", "passwd"})
	u := newRootlessUser(t, "palrl")
	d := &RootlessDocker{User: u.name, UID: u.uid, GID: u.gid, SubUID: u.subUID}
	home, run := u.home, u.run
	bin := filepath.Join(home, "bin")
	os.MkdirAll(bin, 0o755)
	// dockerd-rootless.sh execs `dockerd` from PATH inside rootlesskit's
	// namespaces; this one gives it its own network namespace first.
	shim := "#!/bin/sh\nexec unshare --net " + mustLook(t, "dockerd") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "dockerd"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(bin, d.UID, d.GID); err != nil {
		t.Fatal(err)
	}

	host := "unix://" + run + "/docker.sock"
	cmd := u.command([]string{"PATH=" + bin + ":/usr/share/docker.io/contrib:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host", "DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none"},
		dockerdRootless, "--data-root", filepath.Join(home, "data"), "--exec-root", filepath.Join(run, "docker-exec"),
		"--pidfile", filepath.Join(run, "docker.pid"), "-H", host, "--bridge", "none", "--iptables=false", "--storage-driver", "vfs")
	d.ExtraDocker = startExtraDocker(t, "rootless dockerd", cmd, host, filepath.Join(home, "dockerd.log"))
	return d
}

// rootlessUser is a user a test created for a rootless engine: subordinate
// uid and gid ranges, a home directory and /run/user/UID, all removed
// when the test ends (with every process the user still runs).
type rootlessUser struct {
	name      string
	uid, gid  int
	subUID    int // first host uid of the subordinate range (container uid 1)
	home, run string
}

func newRootlessUser(t testing.TB, prefix string) *rootlessUser {
	t.Helper()
	u := &rootlessUser{name: fmt.Sprintf("%s%d", prefix, os.Getpid()%100000)}
	if out, err := exec.Command("useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", u.name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v %s", u.name, err, out)
	}
	t.Cleanup(func() { removeUser(t, u.name) })
	pw, err := user.Lookup(u.name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(pw.Uid)
	u.gid, _ = strconv.Atoi(pw.Gid)
	// useradd gives a new user subordinate ranges when login.defs says
	// so (Debian's does); add them if it did not.
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		start, ok := subRange(f, u.name)
		if !ok {
			start = 300000 + (os.Getpid()%1000)*65536
			if err := appendLine(f, fmt.Sprintf("%s:%d:65536", u.name, start)); err != nil {
				t.Fatal(err)
			}
		}
		if f == "/etc/subuid" {
			u.subUID = start
		}
	}
	u.home, err = os.MkdirTemp("", "palisade-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(u.home) })
	u.run = fmt.Sprintf("/run/user/%d", u.uid)
	if _, err := os.Stat(u.run); err == nil {
		t.Fatalf("%s exists already: not this test's to use", u.run)
	}
	if err := os.MkdirAll(u.run, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(u.run) })
	for _, p := range []string{u.home, u.run} {
		if err := os.Chown(p, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(u.home, 0o755)
	// Registered after the directories' cleanups, so it runs before them:
	// a process left (a shim, conmon starting `podman container cleanup`
	// as its container dies, podman's pause process) would write there again.
	t.Cleanup(func() { killUser(u.uid) })
	return u
}

// command runs name as the user, in its home, with env.
func (u *rootlessUser) command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append([]string{"HOME=" + u.home, "XDG_RUNTIME_DIR=" + u.run, "USER=" + u.name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	cmd.Dir = u.home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}}
	return cmd
}

func mustLook(t testing.TB, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stopDaemon stops a daemon the test started (SIGTERM, then its process
// group killed after 20 s).
func stopDaemon(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// killUser kills whatever the test's user still runs: shims, conmon,
// podman's pause process and container processes live in sessions of
// their own.
func killUser(uid int) {
	for i := 0; i < 50; i++ {
		pids := processesOf(uid)
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesOf lists the pids whose real uid is uid.
func processesOf(uid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		zombie, mine := false, false
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 1 && f[0] == "State:":
				zombie = f[1] == "Z" // gone already; its parent reaps it
			case len(f) > 1 && f[0] == "Uid:":
				mine = f[1] == strconv.Itoa(uid)
			}
		}
		if mine && !zombie {
			out = append(out, pid)
		}
	}
	return out
}

// removeUser deletes the test's user and its subordinate ranges (userdel
// removes those it knows of; lines the test appended go too).
func removeUser(t testing.TB, name string) {
	if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
		t.Logf("userdel %s: %v %s", name, err, out)
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var keep []string
		changed := false
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if strings.HasPrefix(line, name+":") {
				changed = true
				continue
			}
			keep = append(keep, line)
		}
		if changed {
			os.WriteFile(f, []byte(strings.Join(keep, "")), 0o644)
		}
	}
}

// subRange is the start of name's range in a subuid/subgid file.
func subRange(file, name string) (int, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) == 3 && parts[0] == name {
			if n, err := strconv.Atoi(parts[1]); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// RootlessPodman is rootless podman for a user a test created: its
// storage in the user's home (vfs), its Docker-compatible API service on
// /run/user/UID/podman/podman.sock (where Palisade looks for it).
type RootlessPodman struct {
	User     string
	UID, GID int
	SubUID   int
	Host     string // unix:///run/user/UID/podman/podman.sock
	Image    string // localhost/palisade-test:busybox-2
	u        *rootlessUser
}

// Podman runs podman as the user (vfs storage, as the service uses).
func (p *RootlessPodman) Podman(args ...string) *exec.Cmd {
	return p.u.command(nil, "podman", append([]string{"--storage-driver", "vfs"}, args...)...)
}

// StartRootlessPodman creates a user with subordinate ranges, imports
// BusyboxImage into its podman storage and starts its API service. All is
// removed when the test ends.
func StartRootlessPodman(t testing.TB) *RootlessPodman {
	t.Helper()
	RequireRoot(t)
	RequireInstalled(t, Need{"podman", "podman"}, Need{"conmon", "conmon"}, Need{"newuidmap", "uidmap"}, Need{"useradd", "passwd"})
	u := newRootlessUser(t, "palrp")
	p := &RootlessPodman{User: u.name, UID: u.uid, GID: u.gid, SubUID: u.subUID, u: u,
		Host: "unix://" + filepath.Join(u.run, "podman", "podman.sock"), Image: "localhost/" + BusyboxImage}
	tarFile := filepath.Join(u.home, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", busyboxRootfs(t), "-cf", tarFile, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	os.Chown(tarFile, u.uid, u.gid)
	if out, err := p.Podman("import", "-q", "-c", `CMD ["/bin/sleep", "3600"]`, tarFile, BusyboxImage).CombinedOutput(); err != nil {
		t.Fatalf("podman import (rootless): %v %s", err, out)
	}
	os.MkdirAll(filepath.Dir(strings.TrimPrefix(p.Host, "unix://")), 0o700)
	os.Chown(filepath.Dir(strings.TrimPrefix(p.Host, "unix://")), u.uid, u.gid)
	log, err := os.Create(filepath.Join(u.home, "service.log"))
	if err != nil {
		t.Fatal(err)
	}
	svc := p.Podman("system", "service", "--time=0", p.Host)
	svc.Stdout, svc.Stderr = log, log
	if err := svc.Start(); err != nil {
		t.Fatalf("podman system service (rootless): %v", err)
	}
	t.Cleanup(func() { stopDaemon(svc) })
	sock := strings.TrimPrefix(p.Host, "unix://")
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return p
		}
		if time.Since(start) > 30*time.Second {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("rootless podman's socket %s never answered:\n%s", sock, tail(string(b), 3000))
		}
	}
}
