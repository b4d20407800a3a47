package container

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// initsDaemon is a fakeDaemon that also lists its containers' init pids,
// as a rootless Docker daemon does.
type initsDaemon struct {
	*fakeDaemon
	imu   sync.Mutex
	inits map[string]int
	lists int
}

func (d *initsDaemon) InitPIDs(ctx context.Context) (map[string]int, error) {
	if err := d.Ping(ctx); err != nil {
		return nil, err
	}
	d.imu.Lock()
	defer d.imu.Unlock()
	d.lists++
	out := map[string]int{}
	for k, v := range d.inits {
		out[k] = v
	}
	return out, nil
}

// fakeProc makes procRoot/PID/ns/{pid,mnt} as plain files: their inodes
// stand for the namespaces. It returns the two inodes.
func fakeProc(t *testing.T, procRoot string, pid int) (pidNS, mntNS uint32) {
	t.Helper()
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "ns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pid", "mnt"} {
		if err := os.WriteFile(filepath.Join(dir, k), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return nsInode(procRoot, strconv.Itoa(pid), "pid"), nsInode(procRoot, strconv.Itoa(pid), "mnt")
}

func TestByNamespace(t *testing.T) {
	id := idOf("rootless-web")
	procRoot := t.TempDir()
	ctrPid, ctrMnt := fakeProc(t, procRoot, 4242)
	hostPid, hostMnt := fakeProc(t, procRoot, 1)
	otherPid, otherMnt := fakeProc(t, procRoot, 77) // an `unshare` on the host: no container's

	rootless := &initsDaemon{fakeDaemon: newFake(RuntimeDocker, 1001, map[string]string{id: "web"}), inits: map[string]int{id: 4242}}
	r := NewResolver(nil, rootless)
	r.procRoot, r.hostNS = procRoot, Namespaces{PID: hostPid, Mnt: hostMnt}
	ctx := context.Background()

	for _, tc := range []struct {
		name       string
		pidNS, mnt uint32
		want       string // container name, "" for none
	}{
		{"container init's pid namespace", ctrPid, hostMnt, "web"},
		{"its mount namespace (a container run with --pid host)", hostPid, ctrMnt, "web"},
		{"pid namespace unknown (lean record), mount namespace known", 0, ctrMnt, "web"},
		{"the host", hostPid, hostMnt, ""},
		{"nothing known", 0, 0, ""},
		{"a namespace no container holds", otherPid, otherMnt, ""},
	} {
		c := r.ByNamespace(ctx, tc.pidNS, tc.mnt)
		switch {
		case tc.want == "" && c != nil:
			t.Errorf("%s: got container %+v, want none", tc.name, c)
		case tc.want != "" && (c == nil || c.Name != tc.want || c.ID != id[:12] || c.Type != RuntimeDocker):
			t.Errorf("%s: got %+v, want %s (%s, docker)", tc.name, c, tc.want, id[:12])
		}
	}

	// The namespace no container holds was looked for once; asking again
	// within the retry interval asks no engine.
	rootless.imu.Lock()
	before := rootless.lists
	rootless.imu.Unlock()
	for i := 0; i < 100; i++ {
		r.ByNamespace(ctx, otherPid, otherMnt)
	}
	rootless.imu.Lock()
	after := rootless.lists
	rootless.imu.Unlock()
	if after != before {
		t.Errorf("a known miss listed the engine's containers %d more times, want 0", after-before)
	}

	// A container started later is found on its first process.
	id2 := idOf("rootless-db")
	db, _ := fakeProc(t, procRoot, 5151)
	rootless.mu.Lock()
	rootless.containers[id2] = "db"
	rootless.mu.Unlock()
	rootless.imu.Lock()
	rootless.inits[id2] = 5151
	rootless.imu.Unlock()
	if c := r.ByNamespace(ctx, db, 0); c == nil || c.Name != "db" {
		t.Errorf("container started later: %+v, want db", c)
	}
}

// TestByNamespaceOnlyRootless: rootful engines' containers have cgroups,
// so a resolver without a rootless engine never lists anything, and a
// down rootless engine is skipped without a wait.
func TestByNamespaceOnlyRootless(t *testing.T) {
	id := idOf("rootful")
	procRoot := t.TempDir()
	ns, _ := fakeProc(t, procRoot, 10)
	rootful := &initsDaemon{fakeDaemon: newFake(RuntimeDocker, -1, map[string]string{id: "x"}), inits: map[string]int{id: 10}}
	r := NewResolver(nil, rootful)
	r.procRoot = procRoot
	if c := r.ByNamespace(context.Background(), ns, 0); c != nil || rootful.lists != 0 {
		t.Errorf("rootful engine: %+v after %d lists, want nothing asked", c, rootful.lists)
	}

	down := &initsDaemon{fakeDaemon: newFake(RuntimeDocker, 1001, map[string]string{id: "x"}), inits: map[string]int{id: 10}}
	down.set(false, true) // hung
	r = NewResolver(nil, down)
	r.procRoot, r.timeout = procRoot, 50*time.Millisecond
	start := time.Now()
	if c := r.ByNamespace(context.Background(), ns, 0); c != nil {
		t.Errorf("hung engine: %+v, want none", c)
	}
	r.nsMiss = map[nsKey]time.Time{} // as if the retry interval passed
	r.ByNamespace(context.Background(), ns, 0)
	if d := time.Since(start); d > time.Second {
		t.Errorf("two lookups with a hung engine took %v: the engine should be skipped once marked down", d)
	}
}

// idOf makes a 64-hex container id from a name.
func idOf(name string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(name))) }

func TestShimRef(t *testing.T) {
	id := idOf("shim")
	for _, tc := range []struct {
		name string
		args []string
		want Ref
		ok   bool
	}{
		{"containerd-shim", []string{"-namespace", "moby", "-id", id, "-address", "/run/user/1001/docker-exec/containerd/containerd.sock"},
			Ref{ID: id, Runtime: RuntimeDocker, User: 1001, Unverified: true}, true},
		{"containerd-shim", []string{"-namespace=default", "-id=web"},
			Ref{ID: "web", Runtime: RuntimeContainerd, Namespace: "default", User: 1001, Unverified: true}, true},
		{"conmon", []string{"--api-version", "1", "-c", id, "-u", id, "-r", "/usr/bin/crun"},
			Ref{ID: id, Runtime: RuntimePodman, User: 1001, Unverified: true}, true},
		{"containerd-shim", []string{"-namespace", "moby"}, Ref{}, false}, // no id
		{"containerd-shim", []string{"-id"}, Ref{}, false},                // flag without a value
		{"sh", []string{"-namespace", "moby", "-id", id}, Ref{}, false},   // not a shim
	} {
		got, ok := ShimRef(tc.name, tc.args, 1001)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s %v: %+v %v, want %+v %v", tc.name, tc.args, got, ok, tc.want, tc.ok)
		}
	}
}

// BenchmarkByNamespace is the cost the state pays per exec or fork of a
// process whose cgroup says host while a rootless engine is known: in the
// host's namespaces, in a known container's, and in a namespace already
// looked for and held by no container.
func BenchmarkByNamespace(b *testing.B) {
	procRoot := b.TempDir()
	mk := func(pid int) (uint32, uint32) {
		dir := filepath.Join(procRoot, strconv.Itoa(pid), "ns")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "pid"), nil, 0o644)
		os.WriteFile(filepath.Join(dir, "mnt"), nil, 0o644)
		return nsInode(procRoot, strconv.Itoa(pid), "pid"), nsInode(procRoot, strconv.Itoa(pid), "mnt")
	}
	hostPid, hostMnt := mk(1)
	inits := map[string]int{}
	names := map[string]string{}
	var ctrPid, ctrMnt uint32
	for i := 0; i < 1000; i++ {
		id := idOf(strconv.Itoa(i))
		inits[id], names[id] = 100+i, "c"+strconv.Itoa(i)
		ctrPid, ctrMnt = mk(100 + i)
	}
	otherPid, otherMnt := mk(50)
	r := NewResolver(nil, &initsDaemon{fakeDaemon: newFake(RuntimeDocker, 1001, names), inits: inits})
	r.procRoot, r.hostNS = procRoot, Namespaces{PID: hostPid, Mnt: hostMnt}
	ctx := context.Background()
	if c := r.ByNamespace(ctx, ctrPid, ctrMnt); c == nil || c.Name != "c999" {
		b.Fatalf("known container: %+v", c)
	}
	r.ByNamespace(ctx, otherPid, otherMnt)
	for _, bc := range []struct {
		name     string
		pid, mnt uint32
	}{{"host", hostPid, hostMnt}, {"known-of-1000", ctrPid, ctrMnt}, {"miss-remembered", otherPid, otherMnt}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.ByNamespace(ctx, bc.pid, bc.mnt)
			}
		})
	}
}

// TestOwnerOfElsewhere: DOCKER_HOST may name a rootless daemon's socket
// outside /run/user (XDG_RUNTIME_DIR=/tmp/... where no logind makes
// /run/user/UID); its file's owner says whose it is.
func TestOwnerOfElsewhere(t *testing.T) {
	testutil.RequireRoot(t) // chown
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if o := ownerOf("unix://" + sock); o != -1 {
		t.Errorf("root's socket: owner %d, want -1 (rootful)", o)
	}
	os.Chown(sock, 1234, 1234)
	if o := ownerOf("unix://" + sock); o != 1234 {
		t.Errorf("user 1234's socket: owner %d, want 1234", o)
	}
	if o := ownerOf("tcp://127.0.0.1:2375"); o != -1 {
		t.Errorf("tcp: owner %d, want -1", o)
	}
}
