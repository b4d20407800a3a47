package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RemapDocker is a second rootful dockerd a test started with
// --userns-remap=default: its own config file, data root, exec root,
// pidfile, socket and managed containerd, all under Dir.
type RemapDocker struct {
	ExtraDocker
	Dir    string
	SubUID int // first host uid of dockremap's range: root in its containers
}

// StartRemapDocker starts a rootful dockerd with --userns-remap=default
// beside the host's, and imports BusyboxImage into it. It never touches the
// host's network: dockerd runs in a network namespace of its own (unshare
// --net), with --bridge none and --iptables=false, so the host's docker0
// and its rules are out of its reach. The dockremap user and its
// subordinate ranges, which dockerd creates when they are missing, are
// removed when the test ends if the test's daemon created them; so are the
// daemon, its containerd and shims, its mounts and its directory.
func StartRemapDocker(t testing.TB) *RemapDocker {
	t.Helper()
	RequireRoot(t)
	RequireInstalled(t, Need{"dockerd", "docker.io"}, Need{"docker", "docker.io"}, Need{"unshare", "util-linux"},
		Need{"useradd", "passwd"}, Need{"busybox", "busybox-static"})
	if _, err := user.Lookup("dockremap"); err != nil {
		// dockerd creates dockremap and its ranges; the test removes them.
		t.Cleanup(func() {
			removeUser(t, "dockremap")
			exec.Command("groupdel", "dockremap").Run()
		})
	}
	// Short (a unix socket path is at most 107 bytes) and traversable by
	// the remapped root, as dockerd requires of its roots' parents.
	dir, err := os.MkdirTemp("/tmp", "palrm")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { removeTree(t, dir) })
	host := "unix://" + filepath.Join(dir, "docker.sock")
	cfg := filepath.Join(dir, "daemon.json")
	// The host's /etc/docker/daemon.json sets a data root and a storage
	// driver; this daemon reads an empty one.
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mustLook(t, "unshare"), "--net", mustLook(t, "dockerd"),
		"--config-file", cfg, "--userns-remap", "default",
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "-H", host,
		"--bridge", "none", "--iptables=false", "--ip6tables=false", "--storage-driver", "vfs")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Runs after the daemon stopped: whatever still names the directory
	// (its containerd, shims).
	t.Cleanup(func() { killNaming(dir) })
	d := &RemapDocker{Dir: dir, ExtraDocker: startExtraDocker(t, "dockerd --userns-remap", cmd, host, filepath.Join(dir, "dockerd.log"))}
	start, ok := subRange("/etc/subuid", "dockremap")
	if !ok {
		t.Fatal("dockerd --userns-remap=default runs, but /etc/subuid has no dockremap range")
	}
	d.SubUID = start
	return d
}

// killNaming kills every process whose command line names dir (the
// containerd and shims a test's daemon started).
func killNaming(dir string) {
	for i := 0; i < 50; i++ {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && strings.Contains(string(b), dir+"/") {
				pids = append(pids, pid)
			}
		}
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeTree unmounts whatever is mounted under dir (deepest first: netns
// files, the daemon's own bind mounts) and removes it.
func removeTree(t testing.TB, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err == nil {
		var mounts []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
				mounts = append(mounts, fields[4])
			}
		}
		f.Close()
		sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
		for _, m := range mounts {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				t.Logf("unmount %s: %v", m, err)
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Logf("remove %s: %v", dir, err)
	}
}
